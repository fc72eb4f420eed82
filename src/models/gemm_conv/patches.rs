//! The patch matrix of a convolution (im2col) in the two layouts its products read, and the
//! output gradient laid out to multiply it. Sequential: [`super::grad`] and [`super::forward`]
//! run chunks in parallel.
//!
//! For the weight gradient the patch matrix has one row per image and output position, holding
//! the `in * kh * kw` input values the kernel reads there, by channel then tap (zero in the
//! padding). In that layout both operands of the weight gradient's product reach gemm's kernels
//! without a transposing copy (the channel-major layout spent a third of the time in gemm's
//! packing). The forward pass's product reads the transpose, channel-major
//! ([`im2col_channel_major`]), the other way round.

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

/// Writes the patches of output lines `lines` channel-major into `patches`
/// (`patch_rows x (lines.len() * out_width)`, row-major): one row per channel and tap, one
/// column per output position. A line is one output row of one image, counted across the batch
/// (`image * out_height + oy`). Each run of a patch row is a strided (at stride 1, contiguous)
/// run of one input row, and the forward pass's GEMM reads the matrix without a transposing
/// pack.
pub fn im2col_channel_major(
    input: &[f32],
    shape: &ConvShape,
    lines: Range<usize>,
    patches: &mut [f32],
) {
    let [kernel_h, kernel_w] = shape.kernel;
    let columns = lines.len() * shape.out_width;
    let stride = shape.stride[1];
    for (row, target) in patches.chunks_mut(columns).enumerate() {
        let channel = row / (kernel_h * kernel_w);
        let (ky, kx) = ((row / kernel_w) % kernel_h, row % kernel_w);
        let cols = shape.valid_outputs(1, kx);
        let valid_rows = shape.valid_outputs(0, ky);
        for (line, run) in lines.clone().zip(target.chunks_mut(shape.out_width)) {
            let (image, oy) = (line / shape.out_height, line % shape.out_height);
            if !valid_rows.contains(&oy) || cols.is_empty() {
                run.fill(0.0);
                continue;
            }
            run[..cols.start].fill(0.0);
            run[cols.end..].fill(0.0);
            let plane = (image * shape.in_channels + channel) * shape.plane();
            let iy = shape.input_coord(0, ky, oy);
            let first = shape.input_coord(1, kx, cols.start);
            let source = &input[plane + iy * shape.width + first..];
            let run = &mut run[cols.clone()];
            if stride == 1 {
                run.copy_from_slice(&source[..run.len()]);
            } else {
                for (value, source) in run.iter_mut().zip(source.iter().step_by(stride)) {
                    *value = *source;
                }
            }
        }
    }
}
