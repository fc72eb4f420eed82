//! The patch matrix of a convolution (im2col), channel-major: one row per input channel and
//! kernel tap, one column per output position, holding the input value the tap reads there (zero
//! in the padding); and the output gradient laid out to multiply it. The forward pass and the
//! weight gradient both read it. Sequential: [`super::grad`] and [`super::forward`] run chunks in
//! parallel.

use std::ops::Range;

use super::shape::ConvShape;

/// Writes the output gradient of `images` (`[images, out, oh, ow]` in `grad`) into `matrix` as
/// one matrix `out x (images.len() * positions)`: the channel becomes the row, as the GEMM
/// needs it.
pub fn channels_major(grad: &[f32], shape: &ConvShape, images: Range<usize>, matrix: &mut [f32]) {
    let positions = shape.positions();
    let columns = images.len() * positions;
    assert_eq!(matrix.len(), shape.out_channels * columns);
    for (channel, row) in matrix.chunks_mut(columns.max(1)).enumerate() {
        for (slot, image) in images.clone().enumerate() {
            row[slot * positions..][..positions].copy_from_slice(
                &grad[(image * shape.out_channels + channel) * positions..][..positions],
            );
        }
    }
}

/// Writes the patches of output lines `lines` channel-major into `patches`
/// (`patch_rows x (lines.len() * out_width)`, row-major; any values before): one row per channel
/// and tap, one column per output position. A line is one output row of one image, counted
/// across the batch (`image * out_height + oy`). Each run of a patch row is a strided (at stride
/// 1, contiguous) run of one input row, and the forward pass's GEMM reads the matrix without a
/// transposing pack.
pub fn im2col_channel_major(
    input: &[f32],
    shape: &ConvShape,
    lines: Range<usize>,
    patches: &mut [f32],
) {
    let [kernel_h, kernel_w] = shape.kernel;
    let width = shape.out_width;
    let columns = lines.len() * width;
    // At stride 1 with as many output columns as input columns ("same" padding), the runs of
    // consecutive lines continue each other in the input: one copy serves all of an image's
    // lines, and only the columns a tap reads in the padding are zeroed after it. Narrow
    // layers' runs are a few floats long, too short for a copy each.
    let whole_rows = shape.stride == [1, 1] && width == shape.width;
    for (row, target) in patches.chunks_mut(columns).enumerate() {
        let channel = row / (kernel_h * kernel_w);
        let (ky, kx) = ((row / kernel_w) % kernel_h, row % kernel_w);
        let cols = shape.valid_outputs(1, kx);
        let valid_rows = shape.valid_outputs(0, ky);
        let mut line = lines.start;
        while line < lines.end {
            let image = line / shape.out_height;
            let end = lines.end.min((image + 1) * shape.out_height);
            let first_oy = line % shape.out_height;
            let oys = first_oy..first_oy + (end - line);
            let runs = &mut target[(line - lines.start) * width..(end - lines.start) * width];
            let plane =
                &input[(image * shape.in_channels + channel) * shape.plane()..][..shape.plane()];
            // The lines of this image whose tap row lies inside the input.
            let inside = valid_rows.start.max(oys.start)..valid_rows.end.min(oys.end);
            if inside.is_empty() || cols.is_empty() {
                runs.fill(0.0);
            } else {
                runs[..(inside.start - oys.start) * width].fill(0.0);
                runs[(inside.end - oys.start) * width..].fill(0.0);
                let runs = &mut runs[(inside.start - oys.start) * width..][..inside.len() * width];
                let first_iy = shape.input_coord(0, ky, inside.start);
                if whole_rows {
                    copy_shifted_rows(plane, first_iy, kx * shape.dilation[1], shape, &cols, runs);
                } else {
                    for (run, oy) in runs.chunks_mut(width).zip(inside) {
                        copy_run(plane, shape.input_coord(0, ky, oy), kx, shape, &cols, run);
                    }
                }
            }
            line = end;
        }
    }
}

/// One patch row's run for one line: the input row `iy` of `plane` as tap column `kx` reads
/// it, zero where that reads the padding.
fn copy_run(
    plane: &[f32],
    iy: usize,
    kx: usize,
    shape: &ConvShape,
    cols: &Range<usize>,
    run: &mut [f32],
) {
    zero_outside(run, cols);
    let first = shape.input_coord(1, kx, cols.start);
    let source = &plane[iy * shape.width + first..];
    let run = &mut run[cols.clone()];
    if shape.stride[1] == 1 {
        run.copy_from_slice(&source[..run.len()]);
    } else {
        for (value, source) in run.iter_mut().zip(source.iter().step_by(shape.stride[1])) {
            *value = *source;
        }
    }
}

/// The runs of consecutive lines (`runs`, whole lines of `shape.width` values) of a stride-1
/// "same" convolution, the first reading input row `first_iy` of `plane` and each the next
/// row, at column offset `reach - padding` (`reach`: the tap's `kx * dilation`): one copy of
/// the rows shifted by that offset, then zeros over the columns outside `cols` (which read the
/// padding, or, in the copy, the neighbouring row).
fn copy_shifted_rows(
    plane: &[f32],
    first_iy: usize,
    reach: usize,
    shape: &ConvShape,
    cols: &Range<usize>,
    runs: &mut [f32],
) {
    let width = shape.width;
    let start = first_iy * width;
    // Output position `t` of the runs reads `plane[start + t + reach - padding]`; the first
    // `padding - reach` positions (a left shift) or the last `reach - padding` (a right shift)
    // would read outside the rows copied, and lie outside `cols` anyway.
    let (skip_front, skip_back) = (
        shape.padding[1].saturating_sub(reach),
        reach.saturating_sub(shape.padding[1]),
    );
    let len = runs.len();
    if skip_front + skip_back < len {
        let source = start + skip_front + reach - shape.padding[1];
        runs[skip_front..len - skip_back]
            .copy_from_slice(&plane[source..source + len - skip_front - skip_back]);
    }
    for run in runs.chunks_mut(width) {
        zero_outside(run, cols);
    }
}

/// Zeroes the values of a line's run outside the output columns `cols` that read the input.
fn zero_outside(run: &mut [f32], cols: &Range<usize>) {
    run[..cols.start].fill(0.0);
    run[cols.end..].fill(0.0);
}
