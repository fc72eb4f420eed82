//! From an experiment file to a plan: the whole check of a spec (core sections, device, model,
//! every analysis) and the compilation of the pool's stages plus every analysis's into one DAG.
//! [`ANALYSES`] is the one list of analyses pvr runs.

mod compile;
mod control;
mod devices;
mod relabelled;
mod seeded;

pub use compile::{Pipeline, compile};

use std::path::Path;

use crate::analysis::Analysis;
use crate::attribution::Attribution;
use crate::backend::DeviceChoice;
use crate::ha::HumanAlignment;
use crate::lost::ObjectDiscovery;
use crate::models::flops::summarize;
use crate::pool::{model_problems, network_config};
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
    problems.extend(devices::device_problems(spec));
    let model = model_problems(&spec.model, spec.data.image_size);
    if model.is_empty()
        && let Some(message) = training_memory_problem(spec)
    {
        problems.add(
            if spec.model.width.is_some() {
                "model.width"
            } else {
                "model.arch"
            },
            message,
        );
    }
    problems.extend(model);
    for analysis in ANALYSES {
        problems.extend(analysis.validate(spec));
    }
    problems
}

/// Bytes training holds per parameter: the f32 weight, its gradient, up to two optimizer
/// moments (AdamW), and the checkpoint being written.
const TRAINING_BYTES_PER_PARAMETER: u64 = 4 * 5;

/// Whether the network is too large to train on this machine at all (its parameters alone,
/// before activations), so that `check` says so instead of `run` aborting on an allocation.
fn training_memory_problem(spec: &Spec) -> Option<String> {
    let classes = spec.model.num_classes.unwrap_or(1000);
    let config = network_config(&spec.model, spec.data.image_size, classes).ok()?;
    let params = summarize(&config, spec.data.image_size).params as u64;
    let needed = params.saturating_mul(TRAINING_BYTES_PER_PARAMETER);
    let available = host_memory_bytes()?;
    (needed > available).then(|| {
        format!(
            "{} has {params} parameters: training needs at least {:.1} GiB for weights, gradients and optimizer state, and this machine has {:.1} GiB",
            config.describe(),
            needed as f64 / GIB,
            available as f64 / GIB
        )
    })
}

const GIB: f64 = (1u64 << 30) as f64;

/// Total memory of this machine (Linux `/proc/meminfo`), if it can be read.
fn host_memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Reads `path` with `overrides` applied and checks all of it.
pub fn load_spec(path: &Path, overrides: &[Override]) -> Result<Spec, SpecError> {
    crate::spec::load_spec(path, overrides, &validate)
}

/// Parses spec text with `overrides` applied and checks all of it; `file` names it in messages.
pub fn parse_spec(text: &str, file: &Path, overrides: &[Override]) -> Result<Spec, SpecError> {
    crate::spec::parse_spec(text, file, overrides, &validate)
}
