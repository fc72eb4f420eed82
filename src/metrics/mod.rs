//! Metrics computed on the host from model outputs.

pub mod bootstrap;
pub mod classification;
pub mod corloc;
pub mod localization;
pub mod pooling;

pub use bootstrap::{Bootstrap, Interval};
pub use classification::{ClassificationTally, EvalMetrics};
pub use localization::{LocalizationScores, Undefined, localization_scores};
pub use pooling::ChannelPooling;
