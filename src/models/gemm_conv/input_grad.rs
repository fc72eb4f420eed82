//! The input gradient of a stride-1 convolution as a convolution of its own: the output gradient
//! convolved with the weight flipped in space and with its two channel axes swapped, padded so
//! that the result has the input's size. It then runs on [`super::forward`]'s tiles.
//!
//! `flex`'s transposed convolution (Burn's input gradient) multiplies the weight by the whole
//! output gradient and then adds every column of that product into the input planes tap by tap;
//! on the quickstart's 8- and 16-channel layers that scatter costs more than its GEMM. Strided
//! convolutions (a ResNet's downsampling 3x3 and 1x1 layers, patch embeddings) keep it: their
//! gradient as a convolution would multiply the zeros between upsampled rows.

use burn::tensor::ops::ConvOptions;

use super::forward::forward;
use super::shape::ConvShape;

/// The geometry of the convolution that gives `shape`'s input gradient, when `shape` has
/// stride 1 and pads no side by more than its kernel's span (then the gradient's own padding is
/// not negative).
pub fn transposed_shape(shape: &ConvShape) -> Option<ConvShape> {
    if shape.stride != [1, 1] {
        return None;
    }
    // Per axis: the gradient pads `span - 1 - before` before and `span - 1 - after` after, where
    // at stride 1 `after = out + span - 1 - size - before`, so its own `after` is
    // `size + before - out`.
    let axis = |kernel: usize, dilation: usize, before: usize, size: usize, out: usize| {
        let reach = dilation * (kernel - 1);
        Some((
            reach.checked_sub(before)?,
            (size + before).checked_sub(out)?,
        ))
    };
    let padding = [
        axis(
            shape.kernel[0],
            shape.dilation[0],
            shape.padding[0],
            shape.height,
            shape.out_height,
        )?,
        axis(
            shape.kernel[1],
            shape.dilation[1],
            shape.padding[1],
            shape.width,
            shape.out_width,
        )?,
    ];
    let options = ConvOptions::new_with_padding([1, 1], padding, shape.dilation, 1);
    let transposed = ConvShape::new(
        [
            shape.images,
            shape.out_channels,
            shape.out_height,
            shape.out_width,
        ],
        [
            shape.in_channels,
            shape.out_channels,
            shape.kernel[0],
            shape.kernel[1],
        ],
        &options,
    )
    .ok()?;
    (transposed.out_height == shape.height && transposed.out_width == shape.width)
        .then_some(transposed)
}

/// `weight` (`[out, in, kh, kw]`) as the kernel of its input gradient: `[in, out, kh, kw]`,
/// flipped along both spatial axes.
fn flipped_transpose(weight: &[f32], shape: &ConvShape) -> Vec<f32> {
    let [kernel_h, kernel_w] = shape.kernel;
    let taps = kernel_h * kernel_w;
    let mut flipped = vec![0.0; weight.len()];
    for (out_channel, filters) in weight.chunks(shape.in_channels * taps).enumerate() {
        for (in_channel, filter) in filters.chunks(taps).enumerate() {
            let target = &mut flipped[(in_channel * shape.out_channels + out_channel) * taps..];
            for (tap, &value) in filter.iter().enumerate() {
                target[taps - 1 - tap] = value;
            }
        }
    }
    flipped
}

/// The gradient of the input (`[images, in, h, w]`) from the weight and the output's gradient;
/// `transposed` is [`transposed_shape`] of `shape`.
pub fn input_grad(
    output_grad: &[f32],
    weight: &[f32],
    shape: &ConvShape,
    transposed: &ConvShape,
) -> Vec<f32> {
    forward(
        output_grad,
        &flipped_transpose(weight, shape),
        transposed,
        None,
    )
}
