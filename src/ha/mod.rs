//! RQ3, human alignment: the model-vs-human benchmark (Geirhos et al., NeurIPS 2021) over the
//! pruning pool.
//!
//! Seventeen datasets ([`datasets`]): twelve parametric distortions pvr implements
//! ([`distortions`], [`eidolon`]) and five drawn sets. ImageNet-1000 models are scored on the
//! benchmark's own folders ([`reader`]) with its 16-class decision ([`mapping`]); models
//! trained on pvr's `shapes` data are scored on embedded analogues ([`analogues`], and the
//! distortions applied to validation images) in their own class space. Shape bias comes from
//! cue-conflict images ([`shape_bias`]). `ha[round,dataset]` stages ([`stage`]) feed
//! `report[ha]` ([`report`]); `pvr render-ha` ([`render`]) writes the parametric sets from any
//! images in the benchmark's layout.

pub mod analogues;
pub mod datasets;
pub mod distortions;
pub mod eidolon;
pub mod evaluate;
pub mod figures;
pub mod human;
pub mod human_tables;
pub mod images;
pub mod mapping;
pub mod markdown;
pub mod plan;
pub mod reader;
pub mod render;
pub mod report;
pub mod shape_bias;
pub mod stage;
pub mod summary;
mod validate;

pub use datasets::HaDataset;

use crate::analysis::{Analysis, AnalysisPlan, PoolPlan};
use crate::spec::{Problems, Spec};

/// Human alignment as an analysis of the pool: `[ha]`.
pub struct HumanAlignment;

impl Analysis for HumanAlignment {
    fn name(&self) -> &'static str {
        "ha"
    }
    fn validate(&self, spec: &Spec) -> Problems {
        validate::validate(spec)
    }
    fn plan(&self, spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<AnalysisPlan> {
        plan::plan(spec, pool)
    }
}
