//! The pool table (one row per model: round, sparsity, accuracy) and the per-layer sparsity
//! table, as Polars frames.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// One pooled model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolRow {
    pub round: usize,
    /// Measured from the weights.
    pub sparsity: f64,
    pub expected_sparsity: f64,
    pub top1: f64,
    /// Wilson 95% interval of top-1 over the evaluated images.
    pub top1_low: f64,
    pub top1_high: f64,
    /// One over the classes.
    pub chance: f64,
    pub top5: f64,
    pub loss: f64,
    /// Why the model counts as collapsed ([`crate::pool::collapse`]); empty when it does not.
    pub collapse_reason: String,
    pub stage_key: String,
    pub train_seconds: f64,
    pub eval_seconds: f64,
}

impl PoolRow {
    pub fn collapsed(&self) -> bool {
        !self.collapse_reason.is_empty()
    }
    /// Top-1 below chance: worse than guessing.
    pub fn below_chance(&self) -> bool {
        self.top1 < self.chance
    }
}

/// Sparsity of one prunable tensor of one pooled model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRow {
    pub round: usize,
    pub layer: String,
    pub parameters: u64,
    pub sparsity: f64,
}

pub fn pool_frame(rows: &[PoolRow]) -> PolarsResult<DataFrame> {
    df!(
        "round" => rows.iter().map(|r| r.round as u32).collect::<Vec<_>>(),
        "sparsity" => rows.iter().map(|r| r.sparsity).collect::<Vec<_>>(),
        "expected_sparsity" => rows.iter().map(|r| r.expected_sparsity).collect::<Vec<_>>(),
        "top1" => rows.iter().map(|r| r.top1).collect::<Vec<_>>(),
        "top1_low" => rows.iter().map(|r| r.top1_low).collect::<Vec<_>>(),
        "top1_high" => rows.iter().map(|r| r.top1_high).collect::<Vec<_>>(),
        "chance" => rows.iter().map(|r| r.chance).collect::<Vec<_>>(),
        "top5" => rows.iter().map(|r| r.top5).collect::<Vec<_>>(),
        "loss" => rows.iter().map(|r| r.loss).collect::<Vec<_>>(),
        "collapsed" => rows.iter().map(|r| r.collapsed()).collect::<Vec<_>>(),
        "collapse_reason" => rows.iter().map(|r| r.collapse_reason.clone()).collect::<Vec<_>>(),
        "stage_key" => rows.iter().map(|r| r.stage_key.clone()).collect::<Vec<_>>(),
        "train_seconds" => rows.iter().map(|r| r.train_seconds).collect::<Vec<_>>(),
        "eval_seconds" => rows.iter().map(|r| r.eval_seconds).collect::<Vec<_>>(),
    )
}

pub fn layers_frame(rows: &[LayerRow]) -> PolarsResult<DataFrame> {
    df!(
        "round" => rows.iter().map(|r| r.round as u32).collect::<Vec<_>>(),
        "layer" => rows.iter().map(|r| r.layer.clone()).collect::<Vec<_>>(),
        "parameters" => rows.iter().map(|r| r.parameters).collect::<Vec<_>>(),
        "sparsity" => rows.iter().map(|r| r.sparsity).collect::<Vec<_>>(),
    )
}
