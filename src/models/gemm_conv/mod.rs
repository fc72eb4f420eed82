//! Dense convolutions whose weight gradient runs on GEMMs on the CPU (`flex`): the output
//! gradient times the patch matrix, over groups of images in parallel (see [`grad`]). Burn's
//! generic backward computes it as a convolution whose kernel is the whole output gradient, the
//! slowest part of a ResNet's training step (`perf`, the quickstart: 27% of the run). Per layer
//! shape, 1.3-14x faster (`cargo bench --bench conv_backward`).
//!
//! The forward pass and the input gradient are `flex`'s own, so logits and every analysis's
//! input gradients are unchanged bit for bit; the weight gradient equals Burn's up to float
//! rounding (tested within 1e-5 relative on every geometry). Other devices, biased and grouped
//! convolutions run Burn's `conv2d`.

pub mod extension;
pub mod grad;
pub mod patches;
pub mod shape;
#[cfg(test)]
mod tests;

use burn::backend::DispatchDevice;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

pub use extension::gemm_conv2d;
pub use shape::ConvShape;

/// `conv`'s weights (and bias) applied to `x` with `options`.
pub fn dense_conv(conv: &Conv2d, x: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    let on_flex = matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_));
    if on_flex && conv.bias.is_none() && options.groups == 1 {
        return gemm_conv2d(x, conv.weight.val(), options);
    }
    conv2d(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|bias| bias.val()),
        options,
    )
}
