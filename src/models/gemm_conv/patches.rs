//! The patch matrix of a convolution (im2col) for a range of images, and the output gradient
//! laid out to multiply it. Sequential: [`super::grad`] runs groups of images in parallel.
//!
//! The patch matrix has one row per image and output position, holding the `in * kh * kw`
//! input values the kernel reads there, by channel then tap (zero in the padding). In
//! that layout both operands of the weight gradient's product reach gemm's kernels without a
//! transposing copy (the channel-major layout spent a third of the time in gemm's packing).

use std::ops::Range;

use super::shape::ConvShape;

/// Writes the patch matrix of `images` of `input` (`[images, in, h, w]`, contiguous) into
/// `patches` (`(images.len() * positions) x patch_rows`, row-major).
pub fn im2col(input: &[f32], shape: &ConvShape, images: Range<usize>, patches: &mut [f32]) {
    let [kernel_h, kernel_w] = shape.kernel;
    let width = shape.patch_rows();
    // Per kernel column: the output columns that read inside the input, and the input column
    // the first of them reads (computed once, not per line).
    let column_taps: Vec<(Range<usize>, usize)> = (0..kernel_w)
        .map(|kx| {
            let cols = shape.valid_outputs(1, kx);
            let first = cols
                .clone()
                .next()
                .map_or(0, |ox| shape.input_coord(1, kx, ox));
            (cols, first)
        })
        .collect();
    let row_taps: Vec<Range<usize>> = (0..kernel_h).map(|ky| shape.valid_outputs(0, ky)).collect();
    let stride = shape.stride[1];
    // One output row of one image at a time: its patches (out_width x width) stay in cache
    // while every channel and tap is written into them.
    let lines = patches.chunks_mut(shape.out_width * width);
    let targets = images
        .flat_map(|image| (0..shape.out_height).map(move |oy| (image, oy)))
        .zip(lines);
    for ((image, oy), line) in targets {
        line.fill(0.0);
        for (ky, rows) in row_taps.iter().enumerate() {
            if !rows.contains(&oy) {
                continue;
            }
            let iy = shape.input_coord(0, ky, oy);
            for channel in 0..shape.in_channels {
                let plane = (image * shape.in_channels + channel) * shape.plane();
                let source = &input[plane + iy * shape.width..][..shape.width];
                for (kx, (cols, first)) in column_taps.iter().enumerate() {
                    if cols.is_empty() {
                        continue;
                    }
                    let column = (channel * kernel_h + ky) * kernel_w + kx;
                    let targets = line[cols.start * width + column..]
                        .iter_mut()
                        .step_by(width);
                    let values = source[*first..].iter().step_by(stride);
                    for (target, value) in targets.zip(values).take(cols.len()) {
                        *target = *value;
                    }
                }
            }
        }
    }
}

/// The output gradient of `images` (`[images, out, oh, ow]` in `grad`) as one matrix
/// `out x (images.len() * positions)`: the channel becomes the row, as the GEMM needs it.
pub fn channels_major(grad: &[f32], shape: &ConvShape, images: Range<usize>) -> Vec<f32> {
    let positions = shape.positions();
    let columns = images.len() * positions;
    let mut matrix = vec![0.0; shape.out_channels * columns];
    matrix
        .chunks_mut(columns)
        .enumerate()
        .for_each(|(channel, row)| {
            for (slot, image) in images.clone().enumerate() {
                row[slot * positions..][..positions].copy_from_slice(
                    &grad[(image * shape.out_channels + channel) * positions..][..positions],
                );
            }
        });
    matrix
}
