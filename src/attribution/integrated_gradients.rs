//! Integrated Gradients (Sundararajan et al. 2017), optionally inside a SmoothGrad noise tunnel.
//!
//! `attr_i = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i da`, with `F` the target
//! class's logit and `x'` the [`Baseline`]. The integral is a [`Quadrature`] over `steps` path
//! points; the points of several images go through the network together (per-image gradients are
//! independent in inference mode). The completeness axiom, `sum_i attr_i = F(x) - F(x')`, holds
//! up to the quadrature error, which [`Completeness`] records per image (captum's "convergence
//! delta").
//!
//! The study's "IG" was SmoothGrad over IG (captum's `NoiseTunnel`, `smoothgrad`): the mean of IG
//! over `samples` copies of the input with Gaussian noise of standard deviation `sigma` added in
//! normalised space, the baseline unchanged. [`NoiseTunnel`] reproduces it (2 samples, sigma 1.0).

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::baseline::Baseline;
use super::maps::Maps;
use super::quadrature::Quadrature;
use super::tensors::{HostImages, images_tensor, target_logits, to_host};
use crate::data::rng::Rng;
use crate::models::Network;

/// Random stream of the noise tunnel's draws (see [`Rng::for_item`]).
const NOISE_STREAM: u64 = 0x4E4F_4953_4531;

/// SmoothGrad around IG: average over noisy copies of the input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseTunnel {
    pub samples: usize,
    /// Standard deviation of the noise, in normalised units.
    pub sigma: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgConfig {
    pub steps: usize,
    pub quadrature: Quadrature,
    pub baseline: Baseline,
    /// Path points (images x steps) per forward/backward pass: a memory/speed trade-off that
    /// does not change the result.
    pub internal_batch: usize,
    pub noise: Option<NoiseTunnel>,
}

/// How well one image's attributions add up (captum's convergence delta is `delta()`). With a
/// noise tunnel, each value is the mean over the noisy samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Completeness {
    /// `F(x)`: the target logit at the input.
    pub f_input: f64,
    /// `F(x')`: the target logit at the baseline.
    pub f_baseline: f64,
    /// `sum_i attr_i`.
    pub attribution_sum: f64,
}

impl Completeness {
    /// `sum_i attr_i - (F(x) - F(x'))`.
    pub fn delta(&self) -> f64 {
        self.attribution_sum - (self.f_input - self.f_baseline)
    }

    /// `|delta| / |F(x) - F(x')|`: the share of the logit change the attributions miss.
    pub fn relative_gap(&self) -> f64 {
        self.delta().abs() / (self.f_input - self.f_baseline).abs()
    }
}

/// IG maps `[count, 3, H, W]` and each image's completeness.
#[derive(Debug, Clone)]
pub struct IgOutput {
    pub maps: Maps,
    pub completeness: Vec<Completeness>,
}

/// Integrated Gradients of each image for its target class. `noise_keys` (one per image, e.g. its
/// dataset index) and `seed` fix the noise tunnel's draws, so an image gets the same noise
/// whatever batch it is in. `device` must be an autodiff device.
pub fn integrated_gradients(
    network: &Network,
    images: HostImages<'_>,
    targets: &[usize],
    noise_keys: &[u64],
    seed: u64,
    config: &IgConfig,
    device: &Device,
) -> anyhow::Result<IgOutput> {
    anyhow::ensure!(
        targets.len() == images.count && noise_keys.len() == images.count,
        "IG: {} images, {} targets, {} noise keys",
        images.count,
        targets.len(),
        noise_keys.len()
    );
    let baselines: Vec<f32> = (0..images.count)
        .flat_map(|i| {
            config
                .baseline
                .of(images.image(i), images.height, images.width)
        })
        .collect();
    let Some(noise) = config.noise else {
        return ig_pass(network, images, &baselines, targets, config, device);
    };
    let samples = noise.samples.max(1);
    let mut sum: Option<IgOutput> = None;
    for sample in 0..samples {
        let mut noisy = images.data.to_vec();
        for (index, image) in noisy.chunks_mut(images.image_len()).enumerate() {
            let key = noise_keys[index] * samples as u64 + sample as u64;
            let mut rng = Rng::for_item(seed, NOISE_STREAM, key);
            image
                .iter_mut()
                .for_each(|v| *v += noise.sigma * rng.normal());
        }
        let noisy_images = HostImages {
            data: &noisy,
            ..images
        };
        let pass = ig_pass(network, noisy_images, &baselines, targets, config, device)?;
        sum = Some(match sum {
            None => pass,
            Some(mut total) => {
                total
                    .maps
                    .data
                    .iter_mut()
                    .zip(&pass.maps.data)
                    .for_each(|(t, v)| *t += v);
                for (t, v) in total.completeness.iter_mut().zip(&pass.completeness) {
                    t.f_input += v.f_input;
                    t.f_baseline += v.f_baseline;
                    t.attribution_sum += v.attribution_sum;
                }
                total
            }
        });
    }
    let mut mean = sum.expect("at least one sample");
    let scale = 1.0 / samples as f64;
    mean.maps.data.iter_mut().for_each(|v| *v *= scale as f32);
    for c in &mut mean.completeness {
        c.f_input *= scale;
        c.f_baseline *= scale;
        c.attribution_sum *= scale;
    }
    Ok(mean)
}

/// One IG evaluation from `images` to `baselines`.
fn ig_pass(
    network: &Network,
    images: HostImages<'_>,
    baselines: &[f32],
    targets: &[usize],
    config: &IgConfig,
    device: &Device,
) -> anyhow::Result<IgOutput> {
    let (h, w, len) = (images.height, images.width, images.image_len());
    let (alphas, weights) = config.quadrature.rule(config.steps);
    // Every (image, step) pair is one path point; batches of them share a forward pass.
    let points: Vec<(usize, usize)> = (0..images.count)
        .flat_map(|i| (0..alphas.len()).map(move |k| (i, k)))
        .collect();
    let mut weighted_grads = vec![0f64; images.count * len];
    for chunk in points.chunks(config.internal_batch.max(1)) {
        let mut inputs = Vec::with_capacity(chunk.len() * len);
        for &(i, k) in chunk {
            let (x, base) = (images.image(i), &baselines[i * len..(i + 1) * len]);
            let a = alphas[k] as f32;
            inputs.extend(x.iter().zip(base).map(|(&x, &b)| b + a * (x - b)));
        }
        let inputs = images_tensor(&inputs, chunk.len(), h, w, device).require_grad();
        let chunk_targets: Vec<usize> = chunk.iter().map(|&(i, _)| targets[i]).collect();
        let logits = network.forward(inputs.clone());
        let grads = target_logits(logits, &chunk_targets)?.sum().backward();
        let gradient = inputs
            .grad(&grads)
            .ok_or_else(|| anyhow::anyhow!("IG: no gradient reached the input"))?;
        let gradient = to_host(gradient)?;
        for (row, &(i, k)) in chunk.iter().enumerate() {
            let weight = weights[k];
            let dst = &mut weighted_grads[i * len..(i + 1) * len];
            let src = &gradient[row * len..(row + 1) * len];
            dst.iter_mut()
                .zip(src)
                .for_each(|(d, &g)| *d += weight * g as f64);
        }
    }
    let mut data = Vec::with_capacity(images.count * len);
    let mut completeness = Vec::with_capacity(images.count);
    let ends = endpoint_logits(
        network,
        images,
        baselines,
        targets,
        config.internal_batch,
        device,
    )?;
    for i in 0..images.count {
        let (x, base) = (images.image(i), &baselines[i * len..(i + 1) * len]);
        let grads = &weighted_grads[i * len..(i + 1) * len];
        let mut sum = 0f64;
        for ((&x, &b), &g) in x.iter().zip(base).zip(grads) {
            let attr = (x as f64 - b as f64) * g;
            sum += attr;
            data.push(attr as f32);
        }
        completeness.push(Completeness {
            f_input: ends[i].0,
            f_baseline: ends[i].1,
            attribution_sum: sum,
        });
    }
    Ok(IgOutput {
        maps: Maps::new(images.count, 3, h, w, data)?,
        completeness,
    })
}

/// `(F(x), F(x'))` per image.
fn endpoint_logits(
    network: &Network,
    images: HostImages<'_>,
    baselines: &[f32],
    targets: &[usize],
    batch: usize,
    device: &Device,
) -> anyhow::Result<Vec<(f64, f64)>> {
    let len = images.image_len();
    let per_chunk = (batch / 2).max(1);
    let mut out = Vec::with_capacity(images.count);
    for start in (0..images.count).step_by(per_chunk) {
        let end = (start + per_chunk).min(images.count);
        let n = end - start;
        let mut inputs = images.data[start * len..end * len].to_vec();
        inputs.extend_from_slice(&baselines[start * len..end * len]);
        let logits = network.forward(images_tensor(
            &inputs,
            2 * n,
            images.height,
            images.width,
            device,
        ));
        let mut both = targets[start..end].to_vec();
        both.extend_from_slice(&targets[start..end]);
        let values = to_host(target_logits(logits, &both)?)?;
        out.extend((0..n).map(|i| (values[i] as f64, values[n + i] as f64)));
    }
    Ok(out)
}
