//! pvr: when does pruning benefit vision representations?
//!
//! A declarative pipeline runner: an experiment TOML compiles into a DAG of content-hashed
//! stages, executed against an atomic, verified cache, with results written as Parquet reports.
//!
//! The modules are layered; each imports only modules listed above it (a test checks this,
//! see `docs/architecture.md`). Read top to bottom, they follow the pipeline:
//! spec -> graph -> cache -> exec -> pool stages -> analyses -> report.

// Plain inputs and leaf utilities.
/// Where tensors live: the CPU (`flex`) or a GPU.
pub mod backend;
/// The file formats pvr writes: `.npy` arrays and Parquet tables.
pub mod files;
/// The machine a run executes on: host name, CPU model.
pub mod host;
/// The figure library every report draws with.
pub mod plot;
/// What a running stage reports about its progress.
pub mod progress;
/// The experiment file: serde types, defaults, parsing, line/column errors.
pub mod spec;

// The runner: plan, cache, scheduler.
/// The content-hashed cache of stage outputs.
pub mod cache;
/// Runs a plan against the cache.
pub mod exec;
/// The DAG of stages, their keys and labels.
pub mod graph;

// Building blocks of the study.
/// Datasets: embedded `shapes`, image folders, VOC.
pub mod data;
/// Metrics: accuracy, RMA/RRA, CorLoc, bootstrap intervals.
pub mod metrics;
/// The architectures: ResNet, ViT, Swin.
pub mod models;
/// Global magnitude pruning and masks.
pub mod prune;
/// Training under masks.
pub mod train;
/// torchvision weights in and out.
pub mod weights;

// The pool and its stages.
/// What every stage and analysis of the pool shares: context, checkpoints, records.
pub mod pool;
/// The pool's stages: train, prune, import, eval, report.
pub mod stages;

// Analyses of the pool.
/// The interface every analysis implements.
pub mod analysis;
/// Attribution maps scored with RMA/RRA (interpretability).
pub mod attribution;
/// Human alignment on the model-vs-human benchmark.
pub mod ha;
/// LOST object discovery scored with CorLoc.
pub mod lost;

// Across analyses and seeds.
/// The one verdict per experiment: where pruning beats the reference, per metric.
pub mod verdict;

// From a spec to a run.
/// The command line.
pub mod cli;
/// Spec checking and compilation into a plan, with the list of analyses.
pub mod pipeline;
/// The run-level report: one folder per configuration, provenance and the `index.html` page.
pub mod report;

/// Version of the on-disk cache layout and stage-key encoding. Bump it to invalidate every entry.
pub const CACHE_SCHEMA_VERSION: u32 = 1;
/// pvr's own version, recorded in manifests.
pub const PVR_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit pvr was built from (`build.rs`), `unknown` outside a checkout.
pub const PVR_GIT_COMMIT: &str = env!("PVR_GIT_COMMIT");
