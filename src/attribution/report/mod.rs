//! The attribution report: per-image scores of every method on every pooled model, summaries with
//! bootstrap confidence intervals, sweet spots, the metric-against-sparsity figure (the study's
//! Figure 3) and the qualitative grid (its Figure 2).

pub mod correlation;
pub mod figures;
pub mod grid;
pub mod summary;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// One pooled model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundInfo {
    pub round: usize,
    pub sparsity: f64,
    pub top1: f64,
}

/// One image's scores under one method and model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageScore {
    /// Position in the eval set (the same image at the same position in every round).
    pub position: usize,
    pub image: String,
    pub label: Option<u32>,
    pub target: u32,
    pub predicted: u32,
    pub correct: Option<bool>,
    pub rma: f64,
    pub rra: f64,
    /// Why the scores are NaN, when they are.
    pub undefined: Option<String>,
    /// IG only: `|sum attr - (F(x) - F(x'))| / |F(x) - F(x')|`.
    pub completeness_gap: Option<f64>,
}

/// Every image of one method on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodRound {
    pub method: String,
    pub round: usize,
    pub scores: Vec<ImageScore>,
}

/// Everything the report reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionResults {
    pub rounds: Vec<RoundInfo>,
    /// Method names in spec order.
    pub methods: Vec<String>,
    pub cells: Vec<MethodRound>,
}

/// Which metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    Rma,
    Rra,
}

impl Metric {
    pub const ALL: [Metric; 2] = [Metric::Rma, Metric::Rra];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Rma => "RMA",
            Metric::Rra => "RRA",
        }
    }

    pub fn of(self, score: &ImageScore) -> f64 {
        match self {
            Metric::Rma => score.rma,
            Metric::Rra => score.rra,
        }
    }
}

impl AttributionResults {
    pub fn cell(&self, method: &str, round: usize) -> Option<&MethodRound> {
        self.cells
            .iter()
            .find(|c| c.method == method && c.round == round)
    }

    pub fn round(&self, round: usize) -> Option<&RoundInfo> {
        self.rounds.iter().find(|r| r.round == round)
    }

    /// `attribution.parquet`: one row per (round, method, image).
    pub fn frame(&self) -> PolarsResult<DataFrame> {
        let rows: Vec<(&RoundInfo, &MethodRound, &ImageScore)> = self
            .cells
            .iter()
            .filter_map(|cell| self.round(cell.round).map(|r| (r, cell)))
            .flat_map(|(r, cell)| cell.scores.iter().map(move |s| (r, cell, s)))
            .collect();
        df!(
            "round" => rows.iter().map(|(r, _, _)| r.round as u32).collect::<Vec<_>>(),
            "sparsity" => rows.iter().map(|(r, _, _)| r.sparsity).collect::<Vec<_>>(),
            "top1" => rows.iter().map(|(r, _, _)| r.top1).collect::<Vec<_>>(),
            "method" => rows.iter().map(|(_, c, _)| c.method.clone()).collect::<Vec<_>>(),
            "position" => rows.iter().map(|(_, _, s)| s.position as u32).collect::<Vec<_>>(),
            "image" => rows.iter().map(|(_, _, s)| s.image.clone()).collect::<Vec<_>>(),
            "rma" => rows.iter().map(|(_, _, s)| s.rma).collect::<Vec<_>>(),
            "rra" => rows.iter().map(|(_, _, s)| s.rra).collect::<Vec<_>>(),
            "undefined" => rows.iter().map(|(_, _, s)| s.undefined.clone()).collect::<Vec<_>>(),
            "label" => rows.iter().map(|(_, _, s)| s.label).collect::<Vec<_>>(),
            "target" => rows.iter().map(|(_, _, s)| s.target).collect::<Vec<_>>(),
            "predicted" => rows.iter().map(|(_, _, s)| s.predicted).collect::<Vec<_>>(),
            "correct" => rows.iter().map(|(_, _, s)| s.correct).collect::<Vec<_>>(),
            "completeness_gap" => rows.iter().map(|(_, _, s)| s.completeness_gap).collect::<Vec<_>>(),
        )
    }
}
