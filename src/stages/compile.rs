//! From a checked spec to the DAG of stages: resolve the device, open the data, build the
//! network once to learn its parameters, and catch model/data mismatches before anything runs.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

use super::ModelContext;
use super::eval::EvalStage;
use super::import::{ImportStage, given_weights};
use super::prune::PruneStage;
use super::report::ReportStage;
use super::train::TrainStage;
use crate::backend::DeviceChoice;
use crate::data::open::open_datasets;
use crate::graph::{Plan, Stage};
use crate::models::NetworkConfig;
use crate::models::params::{list_params, prunable_set};
use crate::spec::Spec;

/// A compiled experiment.
pub struct Pipeline {
    pub spec: Spec,
    pub plan: Plan,
    pub context: Arc<ModelContext>,
}

/// Compiles `spec`; `spec_path` is used in messages and to resolve relative data paths from the
/// working directory, as a user expects.
pub fn compile(spec: &Spec, spec_path: &Path) -> anyhow::Result<Pipeline> {
    let device: DeviceChoice = spec
        .experiment
        .device
        .parse()
        .map_err(|message: String| anyhow::anyhow!(message))?;
    device
        .check_available()
        .map_err(|message| anyhow::anyhow!(message))?;
    let train_devices = crate::backend::training_devices(device, spec.experiment.devices.as_ref())
        .map_err(|message| {
            anyhow::anyhow!("{}: experiment.devices: {message}", spec_path.display())
        })?;
    let (train_data, val_data) = open_datasets(&spec.data, spec.experiment.seed)
        .with_context(|| format!("opening the data of {}", spec_path.display()))?;
    let data_classes = train_data.num_classes();
    if let Some(model_classes) = spec.model.num_classes
        && model_classes != data_classes
    {
        bail!(
            "{}: model/dataset mismatch: model.num_classes = {model_classes}, but the {:?} data has {data_classes} classes",
            spec_path.display(),
            spec.data.source
        );
    }
    if val_data.num_classes() != data_classes {
        bail!(
            "{}: the train split has {data_classes} classes but the val split has {}",
            spec_path.display(),
            val_data.num_classes()
        );
    }
    let network = NetworkConfig::from_spec(&spec.model, spec.data.image_size, data_classes)
        .map_err(|m| anyhow::anyhow!(m))?;
    let params = list_params(&network.init(&burn::tensor::Device::flex(), 0));
    let prunable = prunable_set(&params, &spec.prune.include, &spec.prune.exclude);
    // `[model] pool` fixes the rounds (one per file); otherwise LRR makes them.
    let given = given_weights(&spec.model)?;
    let rounds = if spec.model.pool.is_empty() {
        spec.prune.round_count()
    } else {
        given.len() - 1
    };
    if rounds > 0 && prunable.is_empty() {
        let candidates: Vec<&str> = params
            .iter()
            .filter(|p| p.prunable)
            .map(|p| p.path.as_str())
            .collect();
        bail!(
            "{}: prune.include/exclude select no parameter; prunable ones are e.g. {}",
            spec_path.display(),
            candidates
                .iter()
                .take(6)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let context = Arc::new(ModelContext {
        network,
        device,
        train_devices,
        seed: spec.experiment.seed,
        recipe: spec.train.clone(),
        train_data,
        val_data,
        prunable,
    });
    // The pool: the dense model, one model per LRR round, an evaluation of each, the report.
    // Analyses (attribution, LOST, human alignment) add their stages over the same pool.
    // Round 0 (and with a pool, every round) may come from weights files instead of training.
    let mut stages: Vec<Box<dyn Stage>> = Vec::new();
    let imported = given.len();
    if imported == 0 {
        stages.push(Box::new(TrainStage {
            context: context.clone(),
        }));
    }
    for (round, weights) in given.into_iter().enumerate() {
        stages.push(Box::new(ImportStage {
            context: context.clone(),
            round,
            weights,
        }));
    }
    for round in imported.max(1)..=rounds {
        stages.push(Box::new(PruneStage {
            context: context.clone(),
            round,
            rate: spec.prune.rate,
        }));
    }
    for round in 0..=rounds {
        stages.push(Box::new(EvalStage {
            context: context.clone(),
            round,
            batch_size: spec.eval.batch_size,
        }));
    }
    stages.push(Box::new(ReportStage {
        experiment: spec.experiment.name.clone(),
        rounds,
        rate: spec.prune.rate,
    }));
    stages.extend(crate::lost::plan(spec, &context, rounds)?);
    stages.extend(crate::attribution::plan(spec, &context, rounds, spec_path)?);
    stages.extend(crate::ha::plan(spec, spec_path, &context, rounds)?);
    let plan = Plan::new(&spec.experiment.name, stages)?;
    Ok(Pipeline {
        spec: spec.clone(),
        plan,
        context,
    })
}
