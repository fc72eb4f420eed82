//! `[[attribution]]`: attribution maps of every pooled model, scored with RMA and RRA. Each table
//! is one method with its parameters, the images it explains and the masks it is scored against.
//! Keys are documented in `docs/spec.md`.

use serde::{Deserialize, Serialize};

crate::named_enum! {
    /// An attribution method: the one list of methods pvr knows. the `attribution` module resolves
    /// each to its parameters, checks and runner.
    pub enum AttributionMethod ("attribution method") {
        Gradcam = "gradcam",
        GuidedBackprop = "guided_backprop",
        GuidedGradcam = "guided_gradcam",
        Ig = "ig",
        Attention = "attention",
    }
}

impl AttributionMethod {
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

crate::named_enum! {
    /// How a `(C, H, W)` map becomes one relevance per pixel (Arras et al. 2022); the
    /// arithmetic is the `metrics` module's.
    pub enum ChannelPooling ("channel pooling") {
        /// The map already has one channel; used as it is.
        None = "none",
        /// `|sum_c R_c|`.
        SumAbs = "sum,abs",
        /// `max(0, sum_c R_c)`.
        SumPos = "sum,pos",
        /// `max_c |R_c|`.
        MaxNorm = "max-norm",
        /// `sum_c |R_c|`.
        L1Norm = "l1-norm",
        /// `sqrt(sum_c R_c^2)`.
        L2Norm = "l2-norm",
        /// `sum_c R_c^2` (the study's choice for IG).
        L2NormSq = "l2-norm,sq",
    }
}

/// How per-head attention maps become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadFusion {
    Mean,
    /// The study's choice.
    Sum,
}

/// How the path integral is discretised (captum's `method` names in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quadrature {
    /// Gauss-Legendre nodes and weights (`gausslegendre`, captum's default): exact for
    /// polynomials of degree `2 * steps - 1`.
    GaussLegendre,
    /// Left Riemann sum, `alpha = k / n` (`riemann_left`).
    RiemannLeft,
    /// Right Riemann sum, `alpha = (k + 1) / n` (`riemann_right`).
    RiemannRight,
    /// Midpoint rule, `alpha = (k + 1/2) / n` (`riemann_middle`).
    RiemannMiddle,
    /// Trapezoid rule on `n` evenly spaced points including both ends (`riemann_trapezoid`).
    RiemannTrapezoid,
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
    /// An environment variable holding `voc_path` when it is not given (the paper files:
    /// `PVR_VOC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voc_path_env: Option<String>,
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
    /// Also store the exact (normalised) input tensors explained, `inputs.npy`, so maps can be
    /// recomputed or compared with another tool on the same pixels.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub save_inputs: bool,
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
