//! Range and consistency checks of the core sections that types alone cannot express, one
//! validator per section. Checks that need other parts of pvr (the device, the architecture,
//! each analysis's section) live with those parts; the `pipeline` module runs them all.

use std::path::Path;

use super::{DataSource, OptimizerSpec, Problems, ScheduleSpec, Spec, TrainSpec, rounds_to_reach};

/// Longest experiment name: it names a folder, and messages and plots show it.
pub const MAX_NAME_CHARS: usize = 64;
/// Most pruning rounds, given or derived from `target_sparsity`: 100 rounds at rate 0.2 leave
/// 2e-10 of the weights.
pub const MAX_ROUNDS: usize = 100;
/// Most images a generated split, an analysis or a condition may ask for. Sizes far past any
/// study's would otherwise surface as an allocation failure that aborts the process.
pub const MAX_IMAGES: usize = 10_000_000;
/// Largest batch of any stage.
pub const MAX_BATCH: usize = 65_536;
/// Largest image side.
pub const MAX_IMAGE_SIZE: usize = 4096;

/// Every problem of the core sections.
pub fn validate_core(spec: &Spec) -> Problems {
    let mut problems = Problems::new();
    validate_experiment(spec, &mut problems);
    validate_data(spec, &mut problems);
    validate_model(spec, &mut problems);
    validate_optimizer(&spec.train, &mut problems);
    validate_schedule(&spec.train, &mut problems);
    validate_train(&spec.train, &mut problems);
    validate_prune(spec, &mut problems);
    check_batch(&mut problems, "eval.batch_size", spec.eval.batch_size);
    for kind in spec.executor.slurm.kinds.keys() {
        problems.check(
            super::executor::SLURM_KINDS.contains(&kind.as_str()),
            &format!("executor.slurm.{kind}"),
            format!(
                "`{kind}` is not a stage kind; resources go under {}",
                super::executor::SLURM_KINDS.join(", ")
            ),
        );
    }
    problems
}

/// A batch size of at least 1 and at most [`MAX_BATCH`].
pub fn check_batch(problems: &mut Problems, key: &str, batch: usize) {
    problems.check(
        (1..=MAX_BATCH).contains(&batch),
        key,
        format!("{batch} is not in 1..={MAX_BATCH}"),
    );
}

/// An image count of at least 1 and at most [`MAX_IMAGES`].
pub fn check_images(problems: &mut Problems, key: &str, images: usize) {
    problems.check(
        (1..=MAX_IMAGES).contains(&images),
        key,
        format!("{images} images is not in 1..={MAX_IMAGES}"),
    );
}

fn validate_experiment(spec: &Spec, problems: &mut Problems) {
    let name = &spec.experiment.name;
    let shown: String = name.chars().take(MAX_NAME_CHARS).collect();
    let ellipsis = if name.chars().count() > MAX_NAME_CHARS {
        "..."
    } else {
        ""
    };
    problems.check(
        name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && name.chars().count() <= MAX_NAME_CHARS
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
        "experiment.name",
        format!(
            "`{shown}{ellipsis}` must start with a letter or digit, use only letters, digits, `-`, `_` and `.`, and have at most {MAX_NAME_CHARS} characters (it names the report folder)"
        ),
    );
    problems.check(
        !spec.control.matched_dense || spec.model.pool.is_empty(),
        "control.matched_dense",
        "a given pool (`model.pool`) is not trained, so there is no training to match",
    );
    let seeds = &spec.experiment.seeds;
    let distinct: std::collections::BTreeSet<_> = seeds.iter().collect();
    problems.check(
        distinct.len() == seeds.len(),
        "experiment.seeds",
        format!("{seeds:?} repeats a seed; each seed trains its own pool"),
    );
    problems.check(
        seeds.len() <= 1 || spec.model.given_weights().is_empty(),
        "experiment.seeds",
        "several seeds need trained pools: `model.pretrained` and `model.pool` give the same weights to every seed".to_string(),
    );
}

fn validate_data(spec: &Spec, problems: &mut Problems) {
    let data = &spec.data;
    // A data folder that is not given is not a spec problem: the plan needs no data, and
    // `pvr check`'s data table says what to put where.
    problems.check(
        data.source.is_on_disk() || (data.path.is_none() && data.path_env.is_none()),
        if data.path.is_some() {
            "data.path"
        } else {
            "data.path_env"
        },
        "`shapes` is generated: `path` and `path_env` are for `imagefolder` and `imagenet`",
    );
    if data.source == DataSource::Shapes {
        check_images(problems, "data.train_size", data.train_size);
        check_images(problems, "data.val_size", data.val_size);
    }
    problems.check(
        (8..=MAX_IMAGE_SIZE).contains(&data.image_size),
        "data.image_size",
        format!("{} px is not in 8..={MAX_IMAGE_SIZE}", data.image_size),
    );
    problems.check(
        (0.0..=1.0).contains(&data.texture_correlation),
        "data.texture_correlation",
        format!(
            "{} is not a probability in [0, 1]",
            data.texture_correlation
        ),
    );
}

/// The model section's file-level checks (the `pool` module checks the architecture's keys).
fn validate_model(spec: &Spec, problems: &mut Problems) {
    let model = &spec.model;
    if let Some(classes) = model.num_classes {
        problems.check(
            classes >= 2,
            "model.num_classes",
            format!("{classes} classes: a classifier needs at least 2"),
        );
    }
    problems.check(
        model.pretrained.is_none() || model.pool.is_empty(),
        "model.pool",
        "give either `pretrained` (a model to prune from) or `pool` (the models to evaluate), not both",
    );
    for (key, path) in model
        .pretrained
        .iter()
        .map(|p| ("model.pretrained", p))
        .chain(model.pool.iter().map(|p| ("model.pool", p)))
    {
        problems.check(
            Path::new(path).is_file(),
            key,
            format!("`{path}` is not a file (weights paths are relative to the working directory)"),
        );
    }
    if !model.pool.is_empty() {
        problems.check(
            spec.prune.rounds.is_none() && spec.prune.target_sparsity.is_none(),
            "prune.rounds",
            "`model.pool` gives the rounds (round n is its n-th file): drop `prune.rounds` and `prune.target_sparsity`",
        );
    }
}

fn validate_optimizer(train: &TrainSpec, problems: &mut Problems) {
    let lr = train.optimizer.lr();
    problems.check(
        lr > 0.0 && lr.is_finite(),
        "train.optimizer.lr",
        format!("{lr} is not a positive learning rate"),
    );
    let mut unit_interval = |value: f64, key: &str| {
        problems.check(
            (0.0..1.0).contains(&value),
            key,
            format!("{value} is not in [0, 1)"),
        );
    };
    let weight_decay = match &train.optimizer {
        OptimizerSpec::Sgd {
            momentum,
            weight_decay,
            ..
        } => {
            unit_interval(*momentum, "train.optimizer.momentum");
            *weight_decay
        }
        OptimizerSpec::Adamw {
            beta1,
            beta2,
            weight_decay,
            eps,
            ..
        } => {
            unit_interval(*beta1, "train.optimizer.beta1");
            unit_interval(*beta2, "train.optimizer.beta2");
            problems.check(
                *eps > 0.0,
                "train.optimizer.eps",
                format!("{eps} is not positive"),
            );
            *weight_decay
        }
    };
    problems.check(
        weight_decay >= 0.0 && weight_decay.is_finite(),
        "train.optimizer.weight_decay",
        format!("{weight_decay} is not a finite, non-negative weight decay"),
    );
}

fn validate_schedule(train: &TrainSpec, problems: &mut Problems) {
    let lr = train.optimizer.lr();
    match &train.schedule {
        ScheduleSpec::Cosine { min_lr, .. } => {
            problems.check(
                *min_lr >= 0.0 && *min_lr < lr,
                "train.schedule.min_lr",
                format!("{min_lr} must be in [0, lr = {lr})"),
            );
        }
        ScheduleSpec::Step { every, gamma, .. } => {
            problems.check(
                *every >= 1,
                "train.schedule.every",
                "must be at least 1 epoch",
            );
            problems.check(
                *gamma > 0.0 && *gamma <= 1.0,
                "train.schedule.gamma",
                format!("{gamma} is not in (0, 1]"),
            );
        }
        ScheduleSpec::Constant { .. } => {}
    }
    let (warmup, start_factor, _) = train.schedule.warmup_and_update();
    if let Some(factor) = start_factor {
        problems.check(
            factor > 0.0 && factor <= 1.0,
            "train.schedule.warmup_start_factor",
            format!("{factor} is not in (0, 1]: the warmup starts at this share of lr"),
        );
        problems.check(
            warmup > 0.0,
            "train.schedule.warmup_start_factor",
            "needs `warmup_epochs` > 0",
        );
    }
    problems.check(
        warmup >= 0.0 && warmup < train.epochs as f64,
        "train.schedule.warmup_epochs",
        format!("{warmup} must be in [0, epochs = {}) epochs", train.epochs),
    );
}

/// Epochs, batch, recipe, regularisation and augmentation.
fn validate_train(train: &TrainSpec, problems: &mut Problems) {
    problems.check(
        (1..=100_000).contains(&train.epochs),
        "train.epochs",
        format!("{} is not in 1..=100000", train.epochs),
    );
    check_batch(problems, "train.batch_size", train.batch_size);
    problems.check(
        train.workers != Some(0),
        "train.workers",
        "must be at least 1 (leave it out for one per core)",
    );
    if let Some(name) = &train.recipe {
        problems.check(
            super::presets::find(name).is_some(),
            "train.recipe",
            format!(
                "unknown recipe `{name}`; pvr knows {}",
                super::presets::names().join(", ")
            ),
        );
    }
    problems.check(
        (0.0..1.0).contains(&train.label_smoothing),
        "train.label_smoothing",
        format!("{} is not in [0, 1)", train.label_smoothing),
    );
    if let Some(norm) = train.clip_grad_norm {
        problems.check(
            norm > 0.0 && norm.is_finite(),
            "train.clip_grad_norm",
            format!("{norm} is not a positive norm"),
        );
    }
    validate_augment(train, problems);
}

fn validate_augment(train: &TrainSpec, problems: &mut Problems) {
    let augment = &train.augment;
    if let Some(crop) = &augment.random_resized_crop {
        problems.check(
            augment.crop_padding == 0,
            "train.augment.crop_padding",
            "random_resized_crop replaces the padded crop: set crop_padding = 0",
        );
        let [low, high] = crop.scale;
        problems.check(
            low > 0.0 && low <= high && high <= 1.0,
            "train.augment.random_resized_crop.scale",
            format!("[{low}, {high}] is not a share range within (0, 1]"),
        );
        let [low, high] = crop.ratio;
        problems.check(
            low > 0.0 && low <= high && high.is_finite(),
            "train.augment.random_resized_crop.ratio",
            format!("[{low}, {high}] is not an aspect range (0 < low <= high)"),
        );
    }
    for (key, alpha) in [
        ("train.augment.mixup_alpha", augment.mixup_alpha),
        ("train.augment.cutmix_alpha", augment.cutmix_alpha),
    ] {
        problems.check(
            alpha >= 0.0 && alpha.is_finite(),
            key,
            format!("{alpha} is negative: it is a Beta(alpha, alpha) parameter, 0 disables it"),
        );
    }
    problems.check(
        (0.0..=1.0).contains(&augment.mix_prob),
        "train.augment.mix_prob",
        format!("{} is not a probability", augment.mix_prob),
    );
}

fn validate_prune(spec: &Spec, problems: &mut Problems) {
    let prune = &spec.prune;
    if let Some(limit) = prune.max_layer_sparsity {
        problems.check(
            limit > 0.0 && limit < 1.0,
            "prune.max_layer_sparsity",
            format!("{limit} must lie strictly between 0 and 1 (a fraction of each tensor)"),
        );
    }
    problems.check(
        prune.rate > 0.0 && prune.rate < 1.0,
        "prune.rate",
        format!(
            "{} is outside (0, 1): it is the share of remaining weights removed each round",
            prune.rate
        ),
    );
    if let Some(target) = prune.target_sparsity {
        problems.check(
            (0.0..1.0).contains(&target),
            "prune.target_sparsity",
            format!("{target} is outside [0, 1): a model cannot be pruned to sparsity 1"),
        );
        problems.check(
            prune.rounds.is_none(),
            "prune.rounds",
            "give either `rounds` or `target_sparsity`, not both",
        );
    }
    if let Some(rounds) = prune.rounds {
        problems.check(
            rounds <= MAX_ROUNDS,
            "prune.rounds",
            format!("{rounds} rounds leave under 1e-9 of the weights; at most {MAX_ROUNDS}"),
        );
    }
    if let Some(target) = prune.target_sparsity
        && prune.rate > 0.0
        && prune.rate < 1.0
        && (0.0..1.0).contains(&target)
    {
        let rounds = rounds_to_reach(prune.rate, target);
        problems.check(
            rounds <= MAX_ROUNDS,
            "prune.target_sparsity",
            format!(
                "reaching {target} at rate {} takes more than {MAX_ROUNDS} rounds; raise prune.rate or lower the target",
                prune.rate
            ),
        );
    }
    problems.check(
        !prune.include.is_empty() && prune.include.iter().all(|p| !p.is_empty()),
        "prune.include",
        "needs at least one non-empty pattern (`[\"*\"]` is every prunable weight)",
    );
}
