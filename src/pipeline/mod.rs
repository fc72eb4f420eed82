//! From an experiment file to a plan: the whole check of a spec (core sections, device, model,
//! every analysis) and the compilation of the pool's stages plus every analysis's into one DAG.
//! [`ANALYSES`] is the one list of analyses pvr runs.

mod compile;

pub use compile::{Pipeline, compile};

use std::path::Path;

use crate::analysis::Analysis;
use crate::attribution::Attribution;
use crate::backend::DeviceChoice;
use crate::ha::HumanAlignment;
use crate::lost::ObjectDiscovery;
use crate::pool::model_problems;
use crate::spec::{Override, Problems, Spec, SpecError, validate_core};

/// Every analysis of the pool, in the order their stages are planned.
pub const ANALYSES: &[&dyn Analysis] = &[&ObjectDiscovery, &Attribution, &HumanAlignment];

/// Every problem of `spec`: its core sections, the device, the model and each analysis's
/// section.
pub fn validate(spec: &Spec) -> Problems {
    let mut problems = validate_core(spec);
    if let Err(message) = spec.experiment.device.parse::<DeviceChoice>() {
        problems.add("experiment.device", message);
    }
    problems.extend(model_problems(&spec.model, spec.data.image_size));
    for analysis in ANALYSES {
        problems.extend(analysis.validate(spec));
    }
    problems
}

/// Reads `path` with `overrides` applied and checks all of it.
pub fn load_spec(path: &Path, overrides: &[Override]) -> Result<Spec, SpecError> {
    crate::spec::load_spec(path, overrides, &validate)
}

/// Parses spec text with `overrides` applied and checks all of it; `file` names it in messages.
pub fn parse_spec(text: &str, file: &Path, overrides: &[Override]) -> Result<Spec, SpecError> {
    crate::spec::parse_spec(text, file, overrides, &validate)
}
