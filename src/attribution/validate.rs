//! Checks of the `[[attribution]]` tables that types alone cannot express, one concern per
//! function; each problem names `attribution.<index>.<key>`.

use crate::metrics::ChannelPooling;
use crate::models::Architecture;
use crate::spec::attribution::{
    AttributionMethod, AttributionSpec, BaselineKind, Compat, EvalSet, MaskPolicy, Quadrature,
    TargetPolicy,
};
use crate::spec::{DataSource, MAX_BATCH, MAX_IMAGES, Problems, Spec};

/// Largest blur of the blurred IG baseline, in pixels: past a few image sides the baseline is
/// the image's mean colour, and the kernel would only cost memory.
const MAX_BLUR_SIGMA: f32 = 1000.0;

/// Problems of one `[[attribution]]` table, under its key prefix.
struct TableProblems<'a> {
    index: usize,
    problems: &'a mut Problems,
}

impl TableProblems<'_> {
    fn check(&mut self, ok: bool, key: &str, message: impl Into<String>) {
        self.problems
            .check(ok, &format!("attribution.{}.{key}", self.index), message);
    }
}

/// Every problem of every `[[attribution]]` table.
pub fn validate(spec: &Spec) -> Problems {
    let mut problems = Problems::new();
    let arch = spec.model.arch.parse::<Architecture>().ok();
    let mut names: Vec<String> = Vec::new();
    for (index, entry) in spec.attribution.iter().enumerate() {
        let mut table = TableProblems {
            index,
            problems: &mut problems,
        };
        check_name(&mut table, entry, &mut names);
        check_method_keys(&mut table, entry);
        check_ig(&mut table, entry);
        check_sizes(&mut table, entry);
        check_eval_set(&mut table, entry, spec.data.source);
        if let Some(arch) = arch {
            check_architecture(&mut table, entry.method, arch);
        }
    }
    problems
}

/// A name usable in stage labels, distinct from the other tables'.
fn check_name(table: &mut TableProblems<'_>, entry: &AttributionSpec, names: &mut Vec<String>) {
    let name = entry.display_name();
    table.check(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')),
        "name",
        format!("`{name}` must be non-empty and use only letters, digits, `-` and `_`"),
    );
    table.check(
        !names.contains(&name),
        if entry.name.is_some() {
            "name"
        } else {
            "method"
        },
        format!(
            "a second `[[attribution]]` named `{name}`: give each table of the same method a distinct `name`"
        ),
    );
    names.push(name);
}

/// Keys that belong to one method only, and the pooling that fits the method's maps.
fn check_method_keys(table: &mut TableProblems<'_>, entry: &AttributionSpec) {
    let method = entry.method;
    let ig_only = [
        ("steps", entry.steps.is_some()),
        ("quadrature", entry.quadrature.is_some()),
        ("baseline", entry.baseline.is_some()),
        ("blur_sigma", entry.blur_sigma.is_some()),
        ("internal_batch", entry.internal_batch.is_some()),
        ("noise_samples", entry.noise_samples.is_some()),
        ("noise_sigma", entry.noise_sigma.is_some()),
    ];
    let attention_only = [
        ("heads", entry.heads.is_some()),
        ("rollout", entry.rollout.is_some()),
    ];
    for (owner, keys) in [
        (AttributionMethod::Ig, &ig_only[..]),
        (AttributionMethod::Attention, &attention_only[..]),
    ] {
        for &(key, given) in keys {
            table.check(
                !given || method == owner,
                key,
                format!("applies to method \"{owner}\" only, not \"{method}\""),
            );
        }
    }
    table.check(
        method.per_channel() == (entry.pooling() != ChannelPooling::None),
        "pooling",
        if method.per_channel() {
            format!(
                "\"{method}\" maps have 3 channels: choose a pooling ({})",
                ChannelPooling::NAMES[1..].join(", ")
            )
        } else {
            format!("\"{method}\" maps have one channel: pooling must be \"none\"")
        },
    );
}

/// Integrated Gradients' path, baseline and noise tunnel.
fn check_ig(table: &mut TableProblems<'_>, entry: &AttributionSpec) {
    if let Some(steps) = entry.steps {
        table.check(
            (1..=1000).contains(&steps),
            "steps",
            format!("{steps} is not in 1..=1000"),
        );
        table.check(
            steps >= 2 || entry.quadrature != Some(Quadrature::RiemannTrapezoid),
            "steps",
            "the trapezoid rule needs at least 2 steps",
        );
    }
    if let Some(sigma) = entry.blur_sigma {
        table.check(
            entry.baseline == Some(BaselineKind::Blurred),
            "blur_sigma",
            "applies to `baseline = \"blurred\"` only",
        );
        table.check(
            sigma > 0.0 && sigma <= MAX_BLUR_SIGMA,
            "blur_sigma",
            format!("{sigma} is not a number of pixels in (0, {MAX_BLUR_SIGMA}]"),
        );
    }
    if let Some(sigma) = entry.noise_sigma {
        table.check(
            entry.noise_samples.is_some(),
            "noise_sigma",
            "needs `noise_samples` (the noise tunnel is off without it)",
        );
        table.check(
            sigma > 0.0 && sigma.is_finite(),
            "noise_sigma",
            format!("{sigma} is not positive"),
        );
    }
}

/// Counts and batch sizes: at least one, and bounded so that no size aborts on allocation.
fn check_sizes(table: &mut TableProblems<'_>, entry: &AttributionSpec) {
    for (key, value, most) in [
        ("internal_batch", entry.internal_batch, MAX_BATCH),
        ("noise_samples", entry.noise_samples, 1000),
        ("images", entry.images, MAX_IMAGES),
        ("batch_size", Some(entry.batch_size), MAX_BATCH),
    ] {
        if let Some(value) = value {
            table.check(
                (1..=most).contains(&value),
                key,
                format!("{value} is not in 1..={most}"),
            );
        }
    }
}

/// The images and masks: the validation split needs `shapes`; VOC needs a path.
fn check_eval_set(table: &mut TableProblems<'_>, entry: &AttributionSpec, source: DataSource) {
    match entry.eval_set {
        EvalSet::Val => {
            table.check(
                source == DataSource::Shapes,
                "eval_set",
                "the validation split has ground-truth masks only with `data.source = \"shapes\"`; use `eval_set = \"voc\"` with `voc_path`",
            );
            table.check(
                entry.voc_path.is_none() && entry.voc_path_env.is_none(),
                "voc_path",
                "applies to `eval_set = \"voc\"` only",
            );
            table.check(
                entry.compat == Compat::None,
                "compat",
                "`compat = \"study\"` reproduces the study's VOC scoring: it needs `eval_set = \"voc\"`",
            );
        }
        EvalSet::Voc => {
            table.check(
                entry.target == TargetPolicy::Predicted,
                "target",
                "VOC images have no class among the model's: use `target = \"predicted\"`",
            );
            table.check(
                entry.compat == Compat::None || entry.mask == MaskPolicy::Objects,
                "mask",
                "`compat = \"study\"` uses the red-channel mask; `mask = \"target\"` does not apply",
            );
        }
    }
}

/// Methods that need ReLUs or attention.
fn check_architecture(
    table: &mut TableProblems<'_>,
    method: AttributionMethod,
    arch: Architecture,
) {
    table.check(
        !matches!(
            method,
            AttributionMethod::GuidedBackprop | AttributionMethod::GuidedGradcam
        ) || arch.relu_only(),
        "method",
        format!(
            "Guided Backprop is defined for ReLU networks; {arch} uses GELU, which has no guided variant"
        ),
    );
    table.check(
        method != AttributionMethod::Attention || arch.has_attention(),
        "method",
        format!("{arch} has no attention; attention maps need a transformer (ViT, Swin)"),
    );
}
