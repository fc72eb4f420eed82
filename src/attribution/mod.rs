//! Attribution maps (RQ1, interpretability): GradCAM, Guided Backprop, Guided GradCAM,
//! Integrated Gradients and attention maps, computed for every pooled model and scored against
//! ground-truth masks with RMA and RRA ([`crate::metrics::localization`]).
//!
//! Every method explains one target class per image (the predicted class by default, as the
//! study) on normalised images, and works through [`crate::models::Network`]'s analysis hooks
//! only, so it applies to every architecture where it is defined and says so where it is not.

pub mod attention;
pub mod baseline;
pub mod eval_set;
pub mod gradcam;
pub mod guided;
pub mod integrated_gradients;
pub mod maps;
pub mod method;
pub mod quadrature;
pub mod report;
pub mod resize;
pub mod stages;
pub mod tensors;
mod validate;

pub use maps::Maps;

use crate::analysis::{Analysis, AnalysisPlan, PoolPlan};
use crate::spec::{Problems, Spec};

/// Attribution maps scored against masks as an analysis of the pool: `[[attribution]]`.
pub struct Attribution;

impl Analysis for Attribution {
    fn name(&self) -> &'static str {
        "attribution"
    }
    fn validate(&self, spec: &Spec) -> Problems {
        validate::validate(spec)
    }
    fn plan(&self, spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<AnalysisPlan> {
        stages::plan(spec, pool)
    }
}

#[cfg(test)]
mod tests;
