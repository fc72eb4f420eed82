//! Metrics computed on the host from model outputs, and the statistics every report shares
//! (bootstrap intervals, Holm's correction, the sweet-spot rule, rank correlation).

pub mod bootstrap;
pub mod classification;
pub mod consistency;
pub mod corloc;
pub mod holm;
pub mod localization;
pub mod pooling;
pub mod rank;
pub mod sweet_spot;

pub use bootstrap::{Bootstrap, Hierarchical, Interval, one_sided_p};
pub use classification::{ClassificationTally, EvalMetrics};
pub use localization::{LocalizationScores, Undefined, localization_scores};
pub use pooling::ChannelPooling;
