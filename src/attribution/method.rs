//! One attribution method with its resolved parameters, run on a batch of images.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::attention::{HeadFusion, attention_maps};
use super::baseline::Baseline;
use super::gradcam::gradcam;
use super::guided::{guided_backprop, guided_gradcam};
use super::integrated_gradients::{Completeness, IgConfig, NoiseTunnel, integrated_gradients};
use super::maps::Maps;
use super::quadrature::Quadrature;
use super::tensors::{HostImages, images_tensor};
use crate::models::Network;
use crate::spec::attribution::{
    AttributionMethod, AttributionSpec, BaselineKind, DEFAULT_IG_INTERNAL_BATCH, DEFAULT_IG_STEPS,
    DEFAULT_NOISE_SIGMA,
};

/// A method and every parameter that shapes its maps (these enter the stage key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum MethodConfig {
    Gradcam,
    GuidedBackprop,
    GuidedGradcam,
    Ig(IgConfig),
    Attention { heads: HeadFusion, rollout: bool },
}

impl MethodConfig {
    /// The spec's choices with defaults filled in; `image_size` sizes the blurred baseline.
    pub fn from_spec(entry: &AttributionSpec, image_size: usize) -> Self {
        match entry.method {
            AttributionMethod::Gradcam => MethodConfig::Gradcam,
            AttributionMethod::GuidedBackprop => MethodConfig::GuidedBackprop,
            AttributionMethod::GuidedGradcam => MethodConfig::GuidedGradcam,
            AttributionMethod::Ig => MethodConfig::Ig(IgConfig {
                steps: entry.steps.unwrap_or(DEFAULT_IG_STEPS),
                quadrature: entry.quadrature.unwrap_or(Quadrature::GaussLegendre),
                baseline: match entry.baseline.unwrap_or(BaselineKind::Zeros) {
                    BaselineKind::Zeros => Baseline::Zeros,
                    BaselineKind::Black => Baseline::Black,
                    BaselineKind::Blurred => Baseline::Blurred {
                        sigma: entry.blur_sigma.unwrap_or(image_size as f32 / 10.0),
                    },
                },
                internal_batch: entry.internal_batch.unwrap_or(DEFAULT_IG_INTERNAL_BATCH),
                noise: entry.noise_samples.map(|samples| NoiseTunnel {
                    samples,
                    sigma: entry.noise_sigma.unwrap_or(DEFAULT_NOISE_SIGMA),
                }),
            }),
            AttributionMethod::Attention => MethodConfig::Attention {
                heads: entry.heads.unwrap_or(HeadFusion::Sum),
                rollout: entry.rollout.unwrap_or(false),
            },
        }
    }

    /// What the stage key records: the parameters, minus IG's `internal_batch`, which changes
    /// speed and memory but not the maps.
    pub fn key_params(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("method configs serialise");
        if let Some(object) = value.as_object_mut() {
            object.remove("internal_batch");
        }
        value
    }
}

/// A batch's maps and, for IG, each image's completeness.
pub struct MethodOutput {
    pub maps: Maps,
    pub completeness: Option<Vec<Completeness>>,
}

/// Runs `config` on normalised images for their targets. `network` must be prepared with
/// [`attribution_network`](super::tensors::attribution_network) on the autodiff `device`;
/// `keys` (the images' dataset positions) and `seed` fix the noise tunnel's draws.
pub fn run_method(
    config: &MethodConfig,
    network: &Network,
    images: HostImages<'_>,
    targets: &[usize],
    keys: &[u64],
    seed: u64,
    device: &Device,
) -> anyhow::Result<MethodOutput> {
    let tensor = || {
        images_tensor(
            images.data,
            images.count,
            images.height,
            images.width,
            device,
        )
    };
    let maps = match config {
        MethodConfig::Gradcam => gradcam(network, tensor(), targets)?,
        MethodConfig::GuidedBackprop => guided_backprop(network, tensor(), targets)?,
        MethodConfig::GuidedGradcam => guided_gradcam(network, tensor(), targets)?,
        MethodConfig::Attention { heads, rollout } => {
            attention_maps(network, tensor(), *heads, *rollout)?
        }
        MethodConfig::Ig(ig) => {
            let out = integrated_gradients(network, images, targets, keys, seed, ig, device)?;
            return Ok(MethodOutput {
                maps: out.maps,
                completeness: Some(out.completeness),
            });
        }
    };
    Ok(MethodOutput {
        maps,
        completeness: None,
    })
}
