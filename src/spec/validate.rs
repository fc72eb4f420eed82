//! Range and consistency checks that types alone cannot express. Each problem is reported with
//! the dotted key it concerns, so the loader can point at it in the file.

use super::{DataSource, OptimizerSpec, ScheduleSpec, Spec};
use crate::backend::DeviceChoice;
use crate::models::model_problems;

/// Every problem found, as (dotted key, message). Empty when the spec is usable.
pub fn validate(spec: &Spec) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, key: &str, message: String| {
        if !ok {
            problems.push((key.to_string(), message));
        }
    };

    let name = &spec.experiment.name;
    check(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
        "experiment.name",
        format!(
            "`{name}` must be non-empty and use only letters, digits, `-`, `_` and `.` (it names the report folder)"
        ),
    );
    if let Err(message) = spec.experiment.device.parse::<DeviceChoice>() {
        check(false, "experiment.device", message);
    }
    for (key, message) in super::devices::device_problems(spec) {
        check(false, &key, message);
    }

    let data = &spec.data;
    let from_env = data
        .path_env
        .as_ref()
        .map(|var| format!(" or set the environment variable {var}"))
        .unwrap_or_default();
    check(
        data.source != DataSource::Imagefolder || data.path.is_some(),
        if data.path_env.is_some() {
            "data.path_env"
        } else {
            "data.path"
        },
        format!(
            "`source = \"imagefolder\"` needs `path` (the folder holding train/ and val/): give `--set data.path=/datasets/imagenet`{from_env}"
        ),
    );
    check(
        data.source != DataSource::Shapes || (data.train_size >= 1 && data.val_size >= 1),
        "data.train_size",
        "the shapes dataset needs at least one training and one validation image".into(),
    );
    check(
        (0.0..=1.0).contains(&data.texture_correlation),
        "data.texture_correlation",
        format!(
            "{} is not a probability in [0, 1]",
            data.texture_correlation
        ),
    );

    for (key, message) in model_problems(&spec.model, data.image_size) {
        check(false, &key, message);
    }
    if let Some(classes) = spec.model.num_classes {
        check(
            classes >= 2,
            "model.num_classes",
            format!("{classes} classes: a classifier needs at least 2"),
        );
    }

    let model = &spec.model;
    check(
        model.pretrained.is_none() || model.pool.is_empty(),
        "model.pool",
        "give either `pretrained` (a model to prune from) or `pool` (the models to evaluate), not both".into(),
    );
    for (key, path) in model
        .pretrained
        .iter()
        .map(|p| ("model.pretrained", p))
        .chain(model.pool.iter().map(|p| ("model.pool", p)))
    {
        check(
            std::path::Path::new(path).is_file(),
            key,
            format!("`{path}` is not a file (weights paths are relative to the working directory)"),
        );
    }
    if !model.pool.is_empty() {
        check(
            spec.prune.rounds.is_none() && spec.prune.target_sparsity.is_none(),
            "prune.rounds",
            "`model.pool` gives the rounds (round n is its n-th file): drop `prune.rounds` and `prune.target_sparsity`".into(),
        );
    }

    let train = &spec.train;
    check(
        train.epochs >= 1,
        "train.epochs",
        "must be at least 1".into(),
    );
    check(
        train.batch_size >= 1,
        "train.batch_size",
        "must be at least 1".into(),
    );
    check(
        train.workers != Some(0),
        "train.workers",
        "must be at least 1 (leave it out for one per core)".into(),
    );
    let lr = train.optimizer.lr();
    check(
        lr > 0.0 && lr.is_finite(),
        "train.optimizer.lr",
        format!("{lr} is not a positive learning rate"),
    );
    match &train.optimizer {
        OptimizerSpec::Sgd {
            momentum,
            weight_decay,
            ..
        } => {
            check(
                (0.0..1.0).contains(momentum),
                "train.optimizer.momentum",
                format!("{momentum} is not in [0, 1)"),
            );
            check(
                *weight_decay >= 0.0,
                "train.optimizer.weight_decay",
                format!("{weight_decay} is negative"),
            );
        }
        OptimizerSpec::Adamw {
            beta1,
            beta2,
            weight_decay,
            eps,
            ..
        } => {
            check(
                (0.0..1.0).contains(beta1),
                "train.optimizer.beta1",
                format!("{beta1} is not in [0, 1)"),
            );
            check(
                (0.0..1.0).contains(beta2),
                "train.optimizer.beta2",
                format!("{beta2} is not in [0, 1)"),
            );
            check(
                *weight_decay >= 0.0,
                "train.optimizer.weight_decay",
                format!("{weight_decay} is negative"),
            );
            check(
                *eps > 0.0,
                "train.optimizer.eps",
                format!("{eps} is not positive"),
            );
        }
    }
    match &train.schedule {
        ScheduleSpec::Cosine { min_lr, .. } => {
            check(
                *min_lr >= 0.0 && *min_lr < lr,
                "train.schedule.min_lr",
                format!("{min_lr} must be in [0, lr = {lr})"),
            );
        }
        ScheduleSpec::Step { every, gamma, .. } => {
            check(
                *every >= 1,
                "train.schedule.every",
                "must be at least 1 epoch".into(),
            );
            check(
                *gamma > 0.0 && *gamma <= 1.0,
                "train.schedule.gamma",
                format!("{gamma} is not in (0, 1]"),
            );
        }
        ScheduleSpec::Constant { .. } => {}
    }
    let (warmup, start_factor, _) = train.schedule.warmup_and_update();
    if let Some(factor) = start_factor {
        check(
            factor > 0.0 && factor <= 1.0,
            "train.schedule.warmup_start_factor",
            format!("{factor} is not in (0, 1]: the warmup starts at this share of lr"),
        );
        check(
            warmup > 0.0,
            "train.schedule.warmup_start_factor",
            "needs `warmup_epochs` > 0".into(),
        );
    }
    check(
        warmup >= 0.0 && warmup < train.epochs as f64,
        "train.schedule.warmup_epochs",
        format!("{warmup} must be in [0, epochs = {}) epochs", train.epochs),
    );
    if let Some(name) = &train.recipe {
        check(
            super::presets::find(name).is_some(),
            "train.recipe",
            format!(
                "unknown recipe `{name}`; pvr knows {}",
                super::presets::names().join(", ")
            ),
        );
    }
    check(
        (0.0..1.0).contains(&train.label_smoothing),
        "train.label_smoothing",
        format!("{} is not in [0, 1)", train.label_smoothing),
    );
    if let Some(norm) = train.clip_grad_norm {
        check(
            norm > 0.0 && norm.is_finite(),
            "train.clip_grad_norm",
            format!("{norm} is not a positive norm"),
        );
    }
    let augment = &train.augment;
    if let Some(crop) = &augment.random_resized_crop {
        check(
            augment.crop_padding == 0,
            "train.augment.crop_padding",
            "random_resized_crop replaces the padded crop: set crop_padding = 0".into(),
        );
        let [low, high] = crop.scale;
        check(
            low > 0.0 && low <= high && high <= 1.0,
            "train.augment.random_resized_crop.scale",
            format!("[{low}, {high}] is not a share range within (0, 1]"),
        );
        let [low, high] = crop.ratio;
        check(
            low > 0.0 && low <= high && high.is_finite(),
            "train.augment.random_resized_crop.ratio",
            format!("[{low}, {high}] is not an aspect range (0 < low <= high)"),
        );
    }
    for (key, alpha) in [
        ("train.augment.mixup_alpha", augment.mixup_alpha),
        ("train.augment.cutmix_alpha", augment.cutmix_alpha),
    ] {
        check(
            alpha >= 0.0 && alpha.is_finite(),
            key,
            format!("{alpha} is negative: it is a Beta(alpha, alpha) parameter, 0 disables it"),
        );
    }
    check(
        (0.0..=1.0).contains(&augment.mix_prob),
        "train.augment.mix_prob",
        format!("{} is not a probability", augment.mix_prob),
    );

    let prune = &spec.prune;
    check(
        prune.rate > 0.0 && prune.rate < 1.0,
        "prune.rate",
        format!(
            "{} is outside (0, 1): it is the share of remaining weights removed each round",
            prune.rate
        ),
    );
    if let Some(target) = prune.target_sparsity {
        check(
            (0.0..1.0).contains(&target),
            "prune.target_sparsity",
            format!("{target} is outside [0, 1): a model cannot be pruned to sparsity 1"),
        );
        check(
            prune.rounds.is_none(),
            "prune.rounds",
            "give either `rounds` or `target_sparsity`, not both".into(),
        );
    }
    if let Some(rounds) = prune.rounds {
        check(
            rounds <= 100,
            "prune.rounds",
            format!("{rounds} rounds leave under 1e-9 of the weights; at most 100"),
        );
    }
    check(
        !prune.include.is_empty() && prune.include.iter().all(|p| !p.is_empty()),
        "prune.include",
        "needs at least one non-empty pattern (`[\"*\"]` is every prunable weight)".into(),
    );
    check(
        spec.eval.batch_size >= 1,
        "eval.batch_size",
        "must be at least 1".into(),
    );
    if let Some(ha) = &spec.ha {
        let mut seen = std::collections::HashSet::new();
        let repeated: Vec<&str> = ha
            .datasets
            .iter()
            .filter(|d| !seen.insert(**d))
            .map(|d| d.name())
            .collect();
        check(
            !ha.datasets.is_empty() && repeated.is_empty(),
            "ha.datasets",
            if ha.datasets.is_empty() {
                "needs at least one dataset (leave the key out for all 17)".into()
            } else {
                format!("lists {} more than once", repeated.join(", "))
            },
        );
        check(
            ha.images_per_condition != Some(0),
            "ha.images_per_condition",
            "must be at least 1 (leave it out for the default)".into(),
        );
        check(
            (10..=100_000).contains(&ha.bootstrap_samples),
            "ha.bootstrap_samples",
            format!("{} is not in 10..=100000", ha.bootstrap_samples),
        );
    }
    if let Some(lost) = &spec.lost {
        problems.extend(super::lost::validate(lost, spec));
    }
    super::attribution::validate_attribution(spec, &mut problems);
    problems
}
