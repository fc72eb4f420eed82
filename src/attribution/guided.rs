//! Guided Backprop (Springenberg et al. 2015) and Guided GradCAM (Selvaraju et al. 2017).
//!
//! Guided Backprop is the gradient of the target logit with respect to the input, with every ReLU
//! of the network passing back only positive gradients at positive inputs
//! ([`Network::forward_guided`]). Guided GradCAM multiplies it elementwise with the GradCAM map
//! upsampled to the input size, as captum does: ReLU'd GradCAM, unscaled, nearest-neighbour
//! upsampling, giving `(N, 3, H, W)`. Both need ReLU networks: transformers (GELU) have no guided
//! variant and get an error, not a substitute.

use burn::tensor::Tensor;

use super::gradcam::layer_gradcam;
use super::maps::Maps;
use super::resize::resize_nearest;
use super::tensors::{target_logits, to_host};
use crate::models::Network;

/// Guided Backprop maps `[count, 3, H, W]` for each image's target class. `images` must be on an
/// autodiff device.
pub fn guided_backprop(
    network: &Network,
    images: Tensor<4>,
    targets: &[usize],
) -> anyhow::Result<Maps> {
    let [count, channels, height, width] = images.dims();
    let images = images.detach().require_grad();
    let logits = network.forward_guided(images.clone())?;
    let grads = target_logits(logits, targets)?.sum().backward();
    let gradient = images
        .grad(&grads)
        .ok_or_else(|| anyhow::anyhow!("Guided Backprop: no gradient reached the input"))?;
    Maps::new(count, channels, height, width, to_host(gradient)?)
}

/// Guided GradCAM maps `[count, 3, H, W]`: Guided Backprop times the upsampled GradCAM.
pub fn guided_gradcam(
    network: &Network,
    images: Tensor<4>,
    targets: &[usize],
) -> anyhow::Result<Maps> {
    let cams = layer_gradcam(network, images.clone(), targets)?.maps;
    let mut guided = guided_backprop(network, images, targets)?;
    let plane = guided.height * guided.width;
    let image_len = guided.image_len();
    for index in 0..guided.count {
        let cam = resize_nearest(
            cams.image(index),
            cams.height,
            cams.width,
            guided.height,
            guided.width,
        );
        let start = index * image_len;
        for channel in guided.data[start..start + image_len].chunks_mut(plane) {
            channel.iter_mut().zip(&cam).for_each(|(g, c)| *g *= c);
        }
    }
    Ok(guided)
}
