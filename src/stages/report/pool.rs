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
    pub top5: f64,
    pub loss: f64,
    pub stage_key: String,
    pub train_seconds: f64,
    pub eval_seconds: f64,
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
        "top5" => rows.iter().map(|r| r.top5).collect::<Vec<_>>(),
        "loss" => rows.iter().map(|r| r.loss).collect::<Vec<_>>(),
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
