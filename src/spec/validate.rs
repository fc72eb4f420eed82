//! Range and consistency checks that types alone cannot express. Each problem is reported with
//! the dotted key it concerns, so the loader can point at it in the file.

use super::{DataSource, OptimizerSpec, ScheduleSpec, Spec};
use crate::backend::DeviceChoice;
use crate::models::Architecture;

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

    let data = &spec.data;
    check(
        data.source != DataSource::Imagefolder || data.path.is_some(),
        "data.path",
        "`source = \"imagefolder\"` needs `path` (the folder holding train/ and val/), e.g. `--set data.path=/datasets/imagenet`".into(),
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

    match spec.model.arch.parse::<Architecture>() {
        Err(message) => check(false, "model.arch", message),
        Ok(arch) => {
            let minimum = arch.min_image_size(spec.model.stem);
            check(
                data.image_size >= minimum && data.image_size <= 1024,
                "data.image_size",
                format!(
                    "{} px is outside what {} with the {:?} stem accepts ({minimum}..=1024 px)",
                    data.image_size, spec.model.arch, spec.model.stem
                ),
            );
        }
    }
    check(
        (1..=1024).contains(&spec.model.width),
        "model.width",
        format!("{} is not in 1..=1024", spec.model.width),
    );
    if let Some(classes) = spec.model.num_classes {
        check(
            classes >= 2,
            "model.num_classes",
            format!("{classes} classes: a classifier needs at least 2"),
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
    let warmup = match &train.schedule {
        ScheduleSpec::Cosine {
            warmup_epochs,
            min_lr,
        } => {
            check(
                *min_lr >= 0.0 && *min_lr < lr,
                "train.schedule.min_lr",
                format!("{min_lr} must be in [0, lr = {lr})"),
            );
            *warmup_epochs
        }
        ScheduleSpec::Step {
            every,
            gamma,
            warmup_epochs,
        } => {
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
            *warmup_epochs
        }
        ScheduleSpec::Constant { warmup_epochs } => *warmup_epochs,
    };
    check(
        warmup >= 0.0 && warmup < train.epochs as f64,
        "train.schedule.warmup_epochs",
        format!("{warmup} must be in [0, epochs = {}) epochs", train.epochs),
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
    problems
}
