//! Metrics computed on the host from model outputs.

pub mod bootstrap;
pub mod classification;
pub mod corloc;

pub use bootstrap::{Bootstrap, Interval};
pub use classification::{ClassificationTally, EvalMetrics};
