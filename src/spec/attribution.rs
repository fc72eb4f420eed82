//! `[[attribution]]`: attribution maps of every pooled model, scored with RMA and RRA. Each table
//! is one method with its parameters, the images it explains and the masks it is scored against.
//! Keys are documented in `docs/spec.md`.

use serde::{Deserialize, Serialize};

use super::{DataSource, Spec};
use crate::attribution::attention::HeadFusion;
use crate::attribution::quadrature::Quadrature;
use crate::metrics::ChannelPooling;
use crate::models::Architecture;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionMethod {
    Gradcam,
    GuidedBackprop,
    GuidedGradcam,
    Ig,
    Attention,
}

impl AttributionMethod {
    pub fn name(self) -> &'static str {
        match self {
            AttributionMethod::Gradcam => "gradcam",
            AttributionMethod::GuidedBackprop => "guided_backprop",
            AttributionMethod::GuidedGradcam => "guided_gradcam",
            AttributionMethod::Ig => "ig",
            AttributionMethod::Attention => "attention",
        }
    }

    /// Whether the maps have one value per input value (3 channels) rather than per pixel.
    pub fn per_channel(self) -> bool {
        matches!(
            self,
            AttributionMethod::GuidedBackprop
                | AttributionMethod::GuidedGradcam
                | AttributionMethod::Ig
        )
    }

    /// The channel pooling used when the spec names none: none for one-channel maps, the
    /// study's sum of squares otherwise.
    pub fn default_pooling(self) -> ChannelPooling {
        if self.per_channel() {
            ChannelPooling::L2NormSq
        } else {
            ChannelPooling::None
        }
    }
}

/// Which class a map explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TargetPolicy {
    /// The model's predicted class (the study's choice).
    #[default]
    Predicted,
    /// The image's ground-truth class.
    Label,
}

/// Which images are explained and where their masks come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EvalSet {
    /// The experiment's validation split (`shapes`: each image's object mask).
    #[default]
    Val,
    /// PASCAL VOC segmentation images and class masks, from `voc_path`.
    Voc,
}

/// Which pixels count as the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MaskPolicy {
    /// Every object pixel (VOC: every class but the background).
    #[default]
    Objects,
    /// Only pixels of the target class (VOC: through the VOC-to-ImageNet table; shapes: the
    /// object when the target is its class, nothing otherwise).
    Target,
}

/// Whether to reproduce the original study's code instead of pvr's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compat {
    #[default]
    None,
    /// VOC masks from the palette's red channel (void as object, ten classes as background),
    /// relevance min-max normalised before scoring, the first 101 masks sorted by name.
    Study,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineKind {
    Zeros,
    Black,
    Blurred,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionSpec {
    pub method: AttributionMethod,
    /// Names the stages (`attribute[3,gradcam]`) and the method in the report; defaults to the
    /// method. Two tables with the same method need distinct names.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub target: TargetPolicy,
    #[serde(default)]
    pub eval_set: EvalSet,
    /// `VOCdevkit/VOC2012` (or a folder holding it) for `eval_set = "voc"`.
    #[serde(default)]
    pub voc_path: Option<String>,
    #[serde(default = "default_voc_split")]
    pub voc_split: String,
    #[serde(default)]
    pub mask: MaskPolicy,
    /// The first `images` images of the eval set; all of them when absent.
    #[serde(default)]
    pub images: Option<usize>,
    #[serde(default)]
    pub compat: Compat,
    /// Images per forward/backward pass.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Channel pooling of 3-channel maps before scoring (default: `l2-norm,sq`; 2-D maps: `none`).
    #[serde(default)]
    pub pooling: Option<ChannelPooling>,
    // Integrated Gradients.
    #[serde(default)]
    pub steps: Option<usize>,
    #[serde(default)]
    pub quadrature: Option<Quadrature>,
    #[serde(default)]
    pub baseline: Option<BaselineKind>,
    /// Gaussian sigma in pixels of the blurred baseline (default: image side / 10).
    #[serde(default)]
    pub blur_sigma: Option<f32>,
    /// Path points per forward/backward pass (default 64).
    #[serde(default)]
    pub internal_batch: Option<usize>,
    /// SmoothGrad noise tunnel around IG: number of noisy samples (the study: 2).
    #[serde(default)]
    pub noise_samples: Option<usize>,
    /// Noise standard deviation in normalised units (default 1.0, the study's).
    #[serde(default)]
    pub noise_sigma: Option<f32>,
    // Attention.
    #[serde(default)]
    pub heads: Option<HeadFusion>,
    #[serde(default)]
    pub rollout: Option<bool>,
}

fn default_voc_split() -> String {
    "val".into()
}
fn default_batch_size() -> usize {
    32
}

/// IG's defaults (captum's).
pub const DEFAULT_IG_STEPS: usize = 50;
pub const DEFAULT_IG_INTERNAL_BATCH: usize = 64;
/// The study's noise tunnel sigma.
pub const DEFAULT_NOISE_SIGMA: f32 = 1.0;
/// Images `compat = "study"` takes when `images` is absent.
pub const STUDY_IMAGES: usize = 101;

impl AttributionSpec {
    /// The name in stage labels and the report.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.method.name().to_string())
    }

    pub fn pooling(&self) -> ChannelPooling {
        self.pooling.unwrap_or(self.method.default_pooling())
    }

    /// How many images to explain, when limited.
    pub fn image_limit(&self) -> Option<usize> {
        match (self.images, self.compat) {
            (Some(n), _) => Some(n),
            (None, Compat::Study) => Some(STUDY_IMAGES),
            (None, Compat::None) => None,
        }
    }
}

/// Problems in the `[[attribution]]` tables, as (dotted key, message).
pub fn validate_attribution(spec: &Spec, problems: &mut Vec<(String, String)>) {
    let arch = spec.model.arch.parse::<Architecture>().ok();
    let mut names: Vec<String> = Vec::new();
    for (index, entry) in spec.attribution.iter().enumerate() {
        let mut check = |ok: bool, key: &str, message: String| {
            if !ok {
                problems.push((format!("attribution.{index}.{key}"), message));
            }
        };
        let name = entry.display_name();
        check(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')),
            "name",
            format!("`{name}` must be non-empty and use only letters, digits, `-` and `_`"),
        );
        check(
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

        let method = entry.method;
        let ig_only: [(&str, bool); 7] = [
            ("steps", entry.steps.is_some()),
            ("quadrature", entry.quadrature.is_some()),
            ("baseline", entry.baseline.is_some()),
            ("blur_sigma", entry.blur_sigma.is_some()),
            ("internal_batch", entry.internal_batch.is_some()),
            ("noise_samples", entry.noise_samples.is_some()),
            ("noise_sigma", entry.noise_sigma.is_some()),
        ];
        for (key, given) in ig_only {
            check(
                !given || method == AttributionMethod::Ig,
                key,
                format!("applies to method \"ig\" only, not \"{}\"", method.name()),
            );
        }
        for (key, given) in [
            ("heads", entry.heads.is_some()),
            ("rollout", entry.rollout.is_some()),
        ] {
            check(
                !given || method == AttributionMethod::Attention,
                key,
                format!(
                    "applies to method \"attention\" only, not \"{}\"",
                    method.name()
                ),
            );
        }
        let pooling = entry.pooling();
        check(
            method.per_channel() == (pooling != ChannelPooling::None),
            "pooling",
            if method.per_channel() {
                format!(
                    "\"{}\" maps have 3 channels: choose a pooling (sum,abs, sum,pos, max-norm, l1-norm, l2-norm, l2-norm,sq)",
                    method.name()
                )
            } else {
                format!(
                    "\"{}\" maps have one channel: pooling must be \"none\"",
                    method.name()
                )
            },
        );
        if let Some(steps) = entry.steps {
            check(
                (1..=1000).contains(&steps),
                "steps",
                format!("{steps} is not in 1..=1000"),
            );
            check(
                steps >= 2 || entry.quadrature != Some(Quadrature::RiemannTrapezoid),
                "steps",
                "the trapezoid rule needs at least 2 steps".into(),
            );
        }
        if let Some(sigma) = entry.blur_sigma {
            check(
                entry.baseline == Some(BaselineKind::Blurred),
                "blur_sigma",
                "applies to `baseline = \"blurred\"` only".into(),
            );
            check(
                sigma > 0.0,
                "blur_sigma",
                format!("{sigma} is not a positive number of pixels"),
            );
        }
        if let Some(batch) = entry.internal_batch {
            check(batch >= 1, "internal_batch", "must be at least 1".into());
        }
        if let Some(samples) = entry.noise_samples {
            check(samples >= 1, "noise_samples", "must be at least 1".into());
        }
        if let Some(sigma) = entry.noise_sigma {
            check(
                entry.noise_samples.is_some(),
                "noise_sigma",
                "needs `noise_samples` (the noise tunnel is off without it)".into(),
            );
            check(
                sigma > 0.0 && sigma.is_finite(),
                "noise_sigma",
                format!("{sigma} is not positive"),
            );
        }
        if let Some(images) = entry.images {
            check(images >= 1, "images", "must be at least 1".into());
        }
        check(
            entry.batch_size >= 1,
            "batch_size",
            "must be at least 1".into(),
        );

        match entry.eval_set {
            EvalSet::Val => {
                check(
                    spec.data.source == DataSource::Shapes,
                    "eval_set",
                    "the validation split has ground-truth masks only with `data.source = \"shapes\"`; use `eval_set = \"voc\"` with `voc_path`".into(),
                );
                check(
                    entry.voc_path.is_none(),
                    "voc_path",
                    "applies to `eval_set = \"voc\"` only".into(),
                );
                check(
                    entry.compat == Compat::None,
                    "compat",
                    "`compat = \"study\"` reproduces the study's VOC scoring: it needs `eval_set = \"voc\"`".into(),
                );
            }
            EvalSet::Voc => {
                check(
                    entry.voc_path.is_some(),
                    "voc_path",
                    "`eval_set = \"voc\"` needs `voc_path` (VOCdevkit/VOC2012), e.g. `--set attribution.0.voc_path=/data/VOCdevkit`".into(),
                );
                check(
                    entry.target == TargetPolicy::Predicted,
                    "target",
                    "VOC images have no class among the model's: use `target = \"predicted\"`"
                        .into(),
                );
                check(
                    entry.compat == Compat::None || entry.mask == MaskPolicy::Objects,
                    "mask",
                    "`compat = \"study\"` uses the red-channel mask; `mask = \"target\"` does not apply".into(),
                );
            }
        }
        if let Some(arch) = arch {
            check(
                !matches!(
                    method,
                    AttributionMethod::GuidedBackprop | AttributionMethod::GuidedGradcam
                ) || arch.relu_only(),
                "method",
                format!(
                    "Guided Backprop is defined for ReLU networks; {arch} uses GELU, which has no guided variant"
                ),
            );
            check(
                method != AttributionMethod::Attention || arch.has_attention(),
                "method",
                format!("{arch} has no attention; attention maps need a transformer (ViT, Swin)"),
            );
        }
    }
}
