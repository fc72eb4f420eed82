//! GradCAM (Selvaraju et al. 2017) at the layer [`Network::attribution_split`] names.
//!
//! With `A` the layer's activations `[C, h, w]` and `G` the gradient of the target class's logit
//! (not its softmax) with respect to `A`: channel weights `w_c = mean_hw G_c`, map
//! `ReLU(sum_c w_c A_c)`. [`gradcam`] then follows pytorch-grad-cam: per-image min-max scaling
//! and a bilinear resize to the input size.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::maps::Maps;
use super::resize::{min_max_scale, resize_bilinear};
use super::tensors::{target_logits, to_host};
use crate::models::Network;

/// GradCAM maps at the layer's own resolution, before any scaling.
#[derive(Clone, Debug)]
pub struct LayerCam {
    /// `[count, height, width]`, ReLU applied, unscaled.
    pub maps: Maps,
}

/// The layer-resolution GradCAM of each image for its target class. `images` must be on an
/// autodiff device and `network` prepared with
/// [`attribution_network`](super::tensors::attribution_network).
pub fn layer_gradcam(
    network: &Network,
    images: Tensor<4>,
    targets: &[usize],
) -> anyhow::Result<LayerCam> {
    let split = network.attribution_split(images);
    let activations = split.activations.detach().require_grad();
    let logits = network.attribution_resume(activations.clone(), &split.rest);
    let grads = target_logits(logits, targets)?.sum().backward();
    let gradient = activations
        .grad(&grads)
        .ok_or_else(|| anyhow::anyhow!("GradCAM: no gradient reached the attribution layer"))?;
    let activations = activations.inner();
    let [count, _, height, width] = activations.dims();
    // w_c: the gradient's spatial mean, [count, C, 1, 1].
    let weights = gradient.mean_dim(3).mean_dim(2);
    let cam = relu((activations * weights).sum_dim(1)).reshape([count, height, width]);
    Ok(LayerCam {
        maps: Maps::new(count, 1, height, width, to_host(cam)?)?,
    })
}

/// GradCAM as pytorch-grad-cam presents it: each map min-max scaled to [0, 1], then resized
/// bilinearly to `out_h x out_w` (the input size).
pub fn gradcam(network: &Network, images: Tensor<4>, targets: &[usize]) -> anyhow::Result<Maps> {
    let [_, _, out_h, out_w] = images.dims();
    let layer = layer_gradcam(network, images, targets)?.maps;
    let mut data = Vec::with_capacity(layer.count * out_h * out_w);
    for index in 0..layer.count {
        let mut map = layer.image(index).to_vec();
        min_max_scale(&mut map);
        data.extend(resize_bilinear(
            &map,
            layer.height,
            layer.width,
            out_h,
            out_w,
        ));
    }
    Maps::new(layer.count, 1, out_h, out_w, data)
}
