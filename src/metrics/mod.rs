//! Metrics computed on the host from model outputs.

pub mod classification;

pub use classification::{ClassificationTally, EvalMetrics};
