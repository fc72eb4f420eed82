//! The one interface every analysis of the pool implements (attribution, LOST, human
//! alignment): check its spec section, plan its stages over the pool, including the report
//! stage that gathers them. the `pipeline` module keeps the list of analyses and calls each.
//!
//! Adding an analysis is a folder that implements [`Analysis`] plus one line in
//! `pipeline::ANALYSES`; see `docs/architecture.md`.

use std::path::Path;
use std::sync::Arc;

use crate::data::root::DataStatus;
use crate::graph::Stage;
use crate::pool::ModelContext;
use crate::spec::{Problems, Spec};

/// What an analysis plans over: the pool's shared context and its size.
pub struct PoolPlan<'a> {
    pub context: &'a Arc<ModelContext>,
    /// The pool holds models `0..=rounds`.
    pub rounds: usize,
    /// The experiment file, for messages and paths relative to it.
    pub spec_path: &'a Path,
}

/// One analysis of every pool member.
pub trait Analysis: Sync {
    /// The spec section it reads and the name of its report (`report[<name>]`).
    fn name(&self) -> &'static str;

    /// Problems of its spec section (empty when the section is absent or usable).
    fn validate(&self, spec: &Spec) -> Problems;

    /// Its stages over the pool, the report stage among them, and the datasets they read;
    /// nothing when the spec does not ask for it. A dataset that is not on disk is not an
    /// error: its stages fail when they run, saying what to put where.
    fn plan(&self, spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<AnalysisPlan>;
}

/// An analysis's stages and the dataset folders they read.
#[derive(Default)]
pub struct AnalysisPlan {
    pub stages: Vec<Box<dyn Stage>>,
    /// One row per dataset folder read from disk, for `pvr check`'s data table.
    pub data: Vec<DataStatus>,
}
