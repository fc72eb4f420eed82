//! The weight gradient of a dense convolution as one matrix product per chunk of images, as in
//! PyTorch's and Caffe's CPU convolutions: its transpose, `patches (patch_rows x columns) *
//! grad^T (columns x out)`, the patches channel-major as the forward pass builds them.
//!
//! Burn's generic backward computes it as a convolution whose kernel is the output gradient, a
//! kernel the size of the feature map. The product's inner dimension is every image's every
//! output position, far longer than its sides (a 3x3 layer of 64 channels: 64 x 576 x 32768 at
//! batch 32), and gemm parallelises over the sides only; so the images are split into
//! [`IMAGE_GROUPS`] groups that run in parallel, each summing its own chunks, and the partial
//! sums are added in group order: the result does not depend on the number of threads.

use std::ops::Range;

use rayon::prelude::*;

use super::super::flex_host::with_scratch;
use super::patches::{channels_major, im2col_channel_major};
use super::shape::ConvShape;

/// The most values one chunk's patch matrix may hold (8 MiB of f32, a cache-sized working set);
/// a chunk has at least one image.
const PATCH_BUDGET: usize = 1 << 21;

/// Groups of images whose weight gradients are summed in parallel; fixed, so that the order of
/// the sums is (see the module's note).
const IMAGE_GROUPS: usize = 8;

/// Weight gradients of at least this many values run as one group: their product's sides are
/// long enough for gemm's own threads, and eight partial sums of them cost more than they save
/// (ResNet-18's 512-channel 3x3 layer: 2.4 M values).
const ONE_GROUP_FROM: usize = 1 << 20;

/// Consecutive ranges of `images` whose patch matrices fit the budget.
fn image_chunks(
    shape: &ConvShape,
    images: Range<usize>,
    budget: usize,
) -> impl Iterator<Item = Range<usize>> {
    let per_image = (shape.patch_rows() * shape.positions()).max(1);
    let size = (budget / per_image).clamp(1, images.len().max(1));
    let end = images.end;
    images
        .step_by(size)
        .map(move |start| start..(start + size).min(end))
}

/// `weight_grad (out x rows) = [weight_grad +] grad (out x columns) * patches^T`, `patches`
/// being `rows x columns`, all row-major.
///
/// gemm computes the transpose, `patches * grad^T`, into `weight_grad` read column-major: its
/// kernels then stream the long inner dimension (every position of every image) of both
/// operands, packing the patches' rows as they come, and write the result in the layout they
/// keep it in. With a patch matrix laid out one row per position (whose build is a transposing
/// scatter) ResNet layers took 1.1-3x as long, multiplied the other way round (`grad *
/// patches^T`) up to 1.2x (`cargo bench --bench conv_backward`).
fn multiply_into(
    weight_grad: &mut [f32],
    grad: &[f32],
    patches: &[f32],
    [out, columns, rows]: [usize; 3],
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    assert_eq!(weight_grad.len(), out * rows);
    assert_eq!(grad.len(), out * columns);
    assert_eq!(patches.len(), columns * rows);
    if weight_grad.is_empty() || columns == 0 {
        return;
    }
    // SAFETY: the asserts above size each slice to the matrix its strides describe, and
    // `weight_grad` does not alias the inputs (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            rows,
            out,
            columns,
            weight_grad.as_mut_ptr(),
            rows as isize,
            1,
            accumulate,
            patches.as_ptr(),
            1,
            columns as isize,
            grad.as_ptr(),
            columns as isize,
            1,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// The gradient of the weight (`[out, in, kh, kw]`) from the input and the output's gradient:
/// `grad (out x columns) * patches (columns x patch_rows)`, summed over the chunks.
pub fn weight_grad(input: &[f32], output_grad: &[f32], shape: &ConvShape) -> Vec<f32> {
    weight_grad_in_chunks(input, output_grad, shape, PATCH_BUDGET)
}

/// [`weight_grad`] with patch matrices of at most `budget` values (one image at least).
pub(super) fn weight_grad_in_chunks(
    input: &[f32],
    output_grad: &[f32],
    shape: &ConvShape,
    budget: usize,
) -> Vec<f32> {
    let weight_values = shape.out_channels * shape.patch_rows();
    let (groups, parallelism) = if weight_values >= ONE_GROUP_FROM {
        (1, gemm::Parallelism::Rayon(0))
    } else {
        (IMAGE_GROUPS, gemm::Parallelism::None)
    };
    let per_group = shape.images.div_ceil(groups).max(1);
    let groups = shape.images.div_ceil(per_group);
    let partials: Vec<Vec<f32>> = (0..groups)
        .into_par_iter()
        .map(|group| {
            let start = group * per_group;
            let images = start..(start + per_group).min(shape.images);
            group_weight_grad(input, output_grad, shape, images, budget, parallelism)
        })
        .collect();
    // In group order, whatever order the threads finished in.
    partials
        .into_iter()
        .reduce(|mut sum, partial| {
            sum.iter_mut()
                .zip(partial)
                .for_each(|(total, value)| *total += value);
            sum
        })
        .unwrap_or_else(|| vec![0.0; weight_values])
}

/// The weight gradient of `images` alone.
fn group_weight_grad(
    input: &[f32],
    output_grad: &[f32],
    shape: &ConvShape,
    images: Range<usize>,
    budget: usize,
    parallelism: gemm::Parallelism,
) -> Vec<f32> {
    let rows = shape.patch_rows();
    let mut weight_grad = vec![0.0; shape.out_channels * rows];
    let chunks: Vec<Range<usize>> = image_chunks(shape, images, budget).collect();
    let widest = chunks.iter().map(|c| c.len()).max().unwrap_or(0) * shape.positions();
    with_scratch(
        [rows * widest, shape.out_channels * widest],
        |patches, grad| {
            for (index, chunk) in chunks.into_iter().enumerate() {
                let columns = chunk.len() * shape.positions();
                let (patches, grad) = (
                    &mut patches[..rows * columns],
                    &mut grad[..shape.out_channels * columns],
                );
                let lines = chunk.start * shape.out_height..chunk.end * shape.out_height;
                im2col_channel_major(input, shape, lines, patches);
                channels_major(output_grad, shape, chunk, grad);
                multiply_into(
                    &mut weight_grad,
                    grad,
                    patches,
                    [shape.out_channels, columns, rows],
                    index > 0,
                    parallelism,
                );
            }
        },
    );
    weight_grad
}
