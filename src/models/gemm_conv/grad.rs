//! The weight gradient of a dense convolution as one matrix product per chunk of images:
//! `grad (out x columns) * patches (columns x patch_rows)`, as in PyTorch's and Caffe's CPU
//! convolutions.
//!
//! Burn's generic backward computes it as a convolution whose kernel is the output gradient, a
//! kernel the size of the feature map. The product's inner dimension is every image's every
//! output position, far longer than its sides (a 3x3 layer of 64 channels: 64 x 576 x 32768 at
//! batch 32), and gemm parallelises over the sides only; so the images are split into
//! [`IMAGE_GROUPS`] groups that run in parallel, each summing its own chunks, and the partial
//! sums are added in group order: the result does not depend on the number of threads.

use std::ops::Range;

use rayon::prelude::*;

use super::patches::{channels_major, im2col};
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

/// `dst (m x n) = [dst +] lhs (m x k) * rhs (k x n)`; each matrix given by its row and column
/// strides.
struct Product<'a> {
    m: usize,
    n: usize,
    k: usize,
    lhs: (&'a [f32], isize, isize),
    rhs: (&'a [f32], isize, isize),
}

impl Product<'_> {
    /// Writes (or with `accumulate`, adds) the product into row-major `dst`.
    fn write(self, dst: &mut [f32], accumulate: bool, parallelism: gemm::Parallelism) {
        let (lhs, lhs_rs, lhs_cs) = self.lhs;
        let (rhs, rhs_rs, rhs_cs) = self.rhs;
        let extent = |rows: usize, cols: usize, rs: isize, cs: isize| {
            (rows.saturating_sub(1) as isize * rs + cols.saturating_sub(1) as isize * cs) as usize
        };
        assert!(dst.len() >= self.m * self.n);
        if self.m == 0 || self.n == 0 {
            return;
        }
        if self.k == 0 {
            if !accumulate {
                dst[..self.m * self.n].fill(0.0);
            }
            return;
        }
        assert!(lhs.len() > extent(self.m, self.k, lhs_rs, lhs_cs));
        assert!(rhs.len() > extent(self.k, self.n, rhs_rs, rhs_cs));
        // SAFETY: the asserts above keep every index gemm computes from the strides inside the
        // three slices, and `dst` does not alias the inputs (it is borrowed mutably).
        unsafe {
            gemm::gemm(
                self.m,
                self.n,
                self.k,
                dst.as_mut_ptr(),
                1,
                self.n as isize,
                accumulate,
                lhs.as_ptr(),
                lhs_cs,
                lhs_rs,
                rhs.as_ptr(),
                rhs_cs,
                rhs_rs,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
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
    if groups == 0 {
        return vec![0.0; shape.out_channels * shape.patch_rows()];
    }
    let partials: Vec<Vec<f32>> = (0..groups)
        .into_par_iter()
        .map(|group| {
            let start = group * per_group;
            let images = start..(start + per_group).min(shape.images);
            group_weight_grad(input, output_grad, shape, images, budget, parallelism)
        })
        .collect();
    let mut partials = partials.into_iter();
    let mut sum = partials.next().unwrap_or_default();
    for partial in partials {
        for (total, value) in sum.iter_mut().zip(partial) {
            *total += value;
        }
    }
    sum
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
    let mut patches = Vec::new();
    for (index, chunk) in image_chunks(shape, images, budget).enumerate() {
        let columns = chunk.len() * shape.positions();
        patches.resize(rows * columns, 0.0);
        im2col(input, shape, chunk.clone(), &mut patches);
        let grad = channels_major(output_grad, shape, chunk);
        Product {
            m: shape.out_channels,
            n: rows,
            k: columns,
            lhs: (&grad, columns as isize, 1),
            rhs: (&patches, rows as isize, 1),
        }
        .write(&mut weight_grad, index > 0, parallelism);
    }
    weight_grad
}
