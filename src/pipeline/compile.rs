//! From a checked spec to the DAG of stages: resolve the device, open the data, build the
//! network once to learn its parameters, and catch model/data mismatches before anything runs.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

use super::ANALYSES;
use super::control::{ControlPool, Controlled, in_control_pool};
use super::seeded::{SeedPool, Seeded};
use crate::analysis::PoolPlan;
use crate::backend::DeviceChoice;
use crate::data::open::open_datasets;
use crate::data::root::DataStatus;
use crate::graph::{Plan, Stage, StageLabel};
use crate::metrics::Hierarchical;
use crate::models::params::{list_params, prunable_set, read_params};
use crate::pool::{ModelContext, network_config};
use crate::spec::Spec;
use crate::stages::{
    ControlStage, EvalStage, GivenWeights, ImportStage, PruneStage, ReportStage, TrainStage,
    given_weights,
};
use crate::verdict::{VerdictStage, metric_sources};

/// A compiled experiment.
pub struct Pipeline {
    pub spec: Spec,
    pub plan: Plan,
    pub context: Arc<ModelContext>,
    /// Every dataset folder the plan reads, found or not (`pvr check`'s data table).
    pub data: Vec<DataStatus>,
    /// What the plan may get wrong without being invalid (`pvr check` prints them).
    pub warnings: Vec<String>,
}

/// Training this short or shorter leaves a zero-initialised tensor small enough for global
/// magnitude pruning to remove it entirely in the first rounds (ViT-Small's head with 2 epochs
/// was pruned to 100% in round 1).
pub const SHORT_TRAINING_EPOCHS: usize = 10;

/// Compiles `spec`; `spec_path` is used in messages and to resolve relative data paths from the
/// working directory, as a user expects.
pub fn compile(spec: &Spec, spec_path: &Path) -> anyhow::Result<Pipeline> {
    let (context, given, mut data) = model_context(spec, spec_path)?;
    let mut warnings = if spec.model.given_weights().is_empty() && spec.prune.round_count() > 0 {
        zero_init_warnings(&context, spec.train.epochs)
    } else {
        Vec::new()
    };
    warnings.extend(sync_bn_warning(spec, &context));
    // `[model] pool` fixes the rounds (one per file); otherwise LRR makes them.
    let rounds = if spec.model.pool.is_empty() {
        spec.prune.round_count()
    } else {
        given.len() - 1
    };
    if rounds > 0 && context.prunable.is_empty() {
        bail!(
            "{}: prune.include/exclude select no parameter; prunable ones are e.g. {}",
            spec_path.display(),
            prunable_examples(&context)
        );
    }
    let mut stages: Vec<Box<dyn Stage>> = Vec::new();
    let mut given = Some(given);
    for seed in spec.experiment.training_seeds() {
        let context = Arc::new(context.with_seed(seed));
        // Several seeds are checked to have no given weights.
        let mut seed_stages = pool_stages(spec, &context, given.take().unwrap_or_default(), rounds);
        let pool = PoolPlan {
            context: &context,
            rounds,
            spec_path,
        };
        let mut analysed = Vec::new();
        for analysis in ANALYSES {
            let planned = analysis.plan(spec, &pool)?;
            analysed.push(planned.stages);
            if seed == spec.experiment.training_seeds()[0] {
                data.extend(planned.data);
            }
        }
        seed_stages.extend(analysed.into_iter().flatten());
        if spec.control.matched_dense {
            seed_stages.extend(control_stages(spec, &pool)?);
        }
        stages.extend(seed_stages.into_iter().map(|inner| -> Box<dyn Stage> {
            Box::new(Seeded {
                inner,
                naming: SeedPool {
                    seed,
                    multi: spec.experiment.multi_seed(),
                    experiment: spec.experiment.name.clone(),
                    arch: spec.model.arch.clone(),
                },
            })
        }));
    }
    if rounds > 0 {
        // The labels of one pool, without seed and control marks, each once.
        let mut seed_zero: Vec<StageLabel> = stages
            .iter()
            .map(|s| s.label().without_seed().without_control())
            .collect();
        seed_zero.sort();
        seed_zero.dedup();
        stages.push(Box::new(VerdictStage {
            experiment: spec.experiment.name.clone(),
            arch: spec.model.arch.clone(),
            seeds: spec.experiment.training_seeds(),
            multi: spec.experiment.multi_seed(),
            control: spec.control.matched_dense,
            rounds,
            sources: metric_sources(&seed_zero),
            bootstrap: Hierarchical::default(),
        }));
    }
    let plan = Plan::new(&spec.experiment.name, stages)?;
    Ok(Pipeline {
        spec: spec.clone(),
        plan,
        context,
        data,
        warnings,
    })
}

/// The device, the data and the network the pool shares, and the weights files the spec
/// gives; a model/data mismatch is caught here, before anything runs.
fn model_context(
    spec: &Spec,
    spec_path: &Path,
) -> anyhow::Result<(Arc<ModelContext>, Vec<GivenWeights>, Vec<DataStatus>)> {
    let device: DeviceChoice = spec
        .experiment
        .device
        .parse()
        .map_err(|message: String| anyhow::anyhow!(message))?;
    device
        .check_available()
        .map_err(|message| anyhow::anyhow!(message))?;
    let train_devices = super::devices::training_devices(device, spec.experiment.devices.as_ref())
        .map_err(|message| {
            anyhow::anyhow!("{}: experiment.devices: {message}", spec_path.display())
        })?;
    let data = open_datasets(&spec.data, spec.experiment.seed)
        .with_context(|| format!("opening the data of {}", spec_path.display()))?;
    // A pool of given weights (`model.pool`) is only evaluated and analysed: no `train/`.
    let statuses = data.statuses(spec.model.pool.is_empty());
    let data_classes = match (data.num_classes(&spec.data), spec.model.num_classes) {
        (Some(classes), _) | (None, Some(classes)) => classes,
        (None, None) => bail!(
            "{}: the class count comes from the image folder, which cannot be read ({}); give `model.num_classes` to plan without it",
            spec_path.display(),
            data.train
                .problem()
                .map(ToString::to_string)
                .unwrap_or_default()
        ),
    };
    if let Some(model_classes) = spec.model.num_classes
        && model_classes != data_classes
    {
        bail!(
            "{}: model/dataset mismatch: model.num_classes = {model_classes}, but the {:?} data has {data_classes} classes",
            spec_path.display(),
            spec.data.source
        );
    }
    for (split, opened) in [("train", &data.train), ("val", &data.val)] {
        if let Ok(split_data) = opened.get()
            && split_data.num_classes() != data_classes
        {
            bail!(
                "{}: the {split} split has {} classes, but the data has {data_classes}",
                spec_path.display(),
                split_data.num_classes()
            );
        }
    }
    let network = network_config(&spec.model, spec.data.image_size, data_classes)
        .map_err(|m| anyhow::anyhow!(m))?;
    let params = list_params(&network.skeleton(&burn::tensor::Device::flex()));
    let prunable = prunable_set(&params, &spec.prune.include, &spec.prune.exclude);
    let given = given_weights(&spec.model)?;
    let context = Arc::new(ModelContext {
        network,
        device,
        train_devices,
        seed: spec.experiment.seed,
        recipe: spec.train.clone(),
        class_names: data.class_names(&spec.data, data_classes),
        train_data: data.train,
        val_data: data.val,
        prunable,
    });
    Ok((context, given, statuses))
}

/// The matched-compute control pool of one seed: per round after the dense one, a control
/// model, its evaluation and every analysis's stages, named `...@control`.
fn control_stages(spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<Vec<Box<dyn Stage>>> {
    let mut inner: Vec<Box<dyn Stage>> = Vec::new();
    for round in 1..=pool.rounds {
        inner.push(Box::new(ControlStage {
            context: pool.context.clone(),
            round,
        }));
        inner.push(Box::new(EvalStage {
            context: pool.context.clone(),
            round,
            batch_size: spec.eval.batch_size,
        }));
    }
    for analysis in ANALYSES {
        inner.extend(
            analysis
                .plan(spec, pool)?
                .stages
                .into_iter()
                .filter(|stage| in_control_pool(stage.as_ref())),
        );
    }
    Ok(inner
        .into_iter()
        .map(|inner| -> Box<dyn Stage> {
            Box::new(Controlled {
                inner,
                naming: ControlPool,
            })
        })
        .collect())
}

/// `train.sync_bn` where it changes nothing (one training device, no batch norm); the stage
/// keys are then those without it.
fn sync_bn_warning(spec: &Spec, context: &ModelContext) -> Option<String> {
    if !spec.train.sync_bn {
        return None;
    }
    if context.network.arch.is_transformer() {
        return Some(format!(
            "train.sync_bn has no effect: `{}` has no batch norm",
            spec.model.arch
        ));
    }
    (context.train_devices.len() == 1).then(|| {
        "train.sync_bn has no effect: training runs on one device (list several in experiment.devices)"
            .to_string()
    })
}

/// A warning per prunable tensor the network initialises to zero, when training is short.
fn zero_init_warnings(context: &ModelContext, epochs: usize) -> Vec<String> {
    if epochs > SHORT_TRAINING_EPOCHS {
        return Vec::new();
    }
    let network = context
        .network
        .init(&burn::tensor::Device::flex(), context.seed);
    let prunable: Vec<&str> = context.prunable_paths();
    read_params(&network, &|path| prunable.contains(&path))
        .into_iter()
        .filter(|(_, values)| values.iter().all(|v| *v == 0.0))
        .map(|(path, _)| {
            format!(
                "`{path}` starts at zero and training is short (train.epochs = {epochs} <= \
                 {SHORT_TRAINING_EPOCHS}): its weights may stay small enough for global magnitude \
                 pruning to remove all of them, collapsing every later model. Exclude it \
                 (prune.exclude = [\"{path}\"]) or train longer"
            )
        })
        .collect()
}

/// A few prunable parameter paths, for a message about an empty selection.
fn prunable_examples(context: &ModelContext) -> String {
    let params = list_params(&context.network.skeleton(&burn::tensor::Device::flex()));
    params
        .iter()
        .filter(|p| p.prunable)
        .take(6)
        .map(|p| p.path.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pool: the dense model, one model per LRR round, an evaluation of each, the report.
/// Round 0 (and with a pool, every round) may come from weights files instead of training.
fn pool_stages(
    spec: &Spec,
    context: &Arc<ModelContext>,
    given: Vec<GivenWeights>,
    rounds: usize,
) -> Vec<Box<dyn Stage>> {
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
            max_layer_sparsity: spec.prune.max_layer_sparsity,
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
        skipped_images: [&context.train_data, &context.val_data]
            .iter()
            .flat_map(|data| data.skipped().iter().cloned())
            .collect(),
    }));
    stages
}
