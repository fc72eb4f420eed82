//! Dense convolutions on GEMMs on the CPU (`flex`): the forward pass over tiles of
//! channel-major patches ([`forward`]), the weight gradient as the output gradient times the
//! patch matrix over groups of images in parallel ([`grad`]). Burn's generic backward computes
//! the weight gradient as a convolution whose kernel is the whole output gradient, the slowest
//! part of a ResNet's training step (`perf`, the quickstart: 27% of the run); its forward pass
//! spends most of a wide layer's time outside its GEMM. Per layer shape, 1.3-14x faster
//! backward and up to 2x faster forward (`cargo bench --bench conv_backward`).
//!
//! The input gradient is `flex`'s own. The output and the weight gradient equal Burn's up to
//! float rounding (tested within 1e-5 relative on every geometry), and neither depends on the
//! number of threads. Other devices, biased and grouped convolutions run Burn's `conv2d`.

pub mod extension;
pub mod forward;
pub mod grad;
pub mod input_grad;
pub mod patches;
pub mod shape;
#[cfg(test)]
mod tests;

use burn::nn::conv::Conv2d;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor};

use super::flex_host::is_flex;

pub use extension::{gemm_conv2d, gemm_conv2d_epilogue};
pub use forward::Epilogue;
pub use shape::ConvShape;

/// Whether `conv` on `x` with `options` can run [`gemm_conv2d_epilogue`]: on `flex`, f32, an
/// unbiased ungrouped convolution, in a pass that takes no gradient through it.
pub fn takes_epilogue(conv: &Conv2d, x: &Tensor<4>, options: &ConvOptions<2>) -> bool {
    is_flex(&x.device())
        && x.dtype() == DType::F32
        && conv.bias.is_none()
        && options.groups == 1
        // Tracked, not merely requiring a gradient: an activation inside a tracked pass does not
        // require one itself, yet its gradient flows through (a guided ReLU's too).
        && !x.is_tracked()
        && !conv.weight.val().is_tracked()
}

/// `conv`'s weights (and bias) applied to `x` with `options`.
pub fn dense_conv(conv: &Conv2d, x: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    let on_flex = is_flex(&x.device());
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
