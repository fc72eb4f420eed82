//! The forward pass of a dense convolution as GEMMs over tiles of output rows:
//! `out (out x positions) = weight (out x patch_rows) * patches`, the patches channel-major.
//!
//! `flex`'s own forward copies the whole batch to channels-last on one thread, zeroes a fresh
//! patch buffer per tile, packs it through a transpose and scatters each tile's result into the
//! output one value at a time (a whole plane between neighbours): at ResNet-18's first stage,
//! half of its time (`cargo bench --bench conv_backward`). Here each tile's patches are built
//! channel-major (contiguous runs of input rows) in a buffer its thread reuses, and its result
//! is copied into the output plane by plane.

use std::ops::Range;

use rayon::prelude::*;

use super::super::flex_host::with_scratch;
use super::super::fused_batch_norm::ChannelAffine;
use super::super::guided_relu::relu_value;
use super::patches::im2col_channel_major;
use super::shape::ConvShape;

/// The most values one tile's patch matrix holds (1 MiB of f32); a tile has one output row at
/// least. gemm blocks its operands for the caches itself: budgets from 256 KiB to 4 MiB measured
/// alike on ResNet-18's layers with its AVX2 kernels; with its AVX-512 kernels (an Intel Xeon,
/// `cargo bench --bench conv_backward`) 2 and 4 MiB ran ResNet-18 w64's 4x4 layer4 faster (10.7
/// → 8.6-9.2 ms) and its layer1 and the quickstart's layers slower, so 1 MiB stayed.
const TILE_BUDGET: usize = 1 << 18;

/// Tiles per convolution, at least, where the output has that many rows: enough for the threads
/// to finish together. Fixed, not taken from the thread count: the tiles decide gemm's blocking
/// and so the rounding, and the output must not depend on the machine.
const MIN_TILES: usize = 8;

/// What the copy of each tile into the output applies on the way, per output channel: an
/// inference batch norm's `y * scale + shift`, then a ReLU if asked. It saves a frozen
/// network's forward pass the two passes over the activations these would take on their own,
/// and gives their values bit for bit (the same float operations on the same sums).
#[derive(Debug, Clone, PartialEq)]
pub struct Epilogue {
    pub affine: ChannelAffine,
    pub relu: bool,
}

impl Epilogue {
    /// The epilogue of output channel `channel`'s sums (see [`ChannelAffine::for_channel`]).
    #[inline(always)]
    fn for_channel(&self, channel: usize) -> impl Fn(f32) -> f32 + Copy {
        let (affine, relu) = (self.affine.for_channel(channel), self.relu);
        move |y| {
            let y = affine(y);
            if relu { relu_value(y) } else { y }
        }
    }

    /// Applies the epilogue to a whole output, `[images, channels, plane]` row-major.
    pub(super) fn apply_to_planes(&self, output: &mut [f32], plane: usize) {
        let channels = self.affine.scale.len().max(1);
        for (index, values) in output.chunks_mut(plane.max(1)).enumerate() {
            let epilogue = self.for_channel(index % channels);
            for value in values {
                *value = epilogue(*value);
            }
        }
    }
}

/// The output (`[images, out, oh, ow]`, contiguous) of `input` (`[images, in, h, w]`) convolved
/// with `weight` (`[out, in, kh, kw]`), both contiguous, `epilogue` applied if any.
pub fn forward(
    input: &[f32],
    weight: &[f32],
    shape: &ConvShape,
    epilogue: Option<&Epilogue>,
) -> Vec<f32> {
    forward_in_tiles(input, weight, shape, TILE_BUDGET, epilogue)
}

/// [`forward`] with patch tiles of at most `budget` values (one output row at least).
pub(super) fn forward_in_tiles(
    input: &[f32],
    weight: &[f32],
    shape: &ConvShape,
    budget: usize,
    epilogue: Option<&Epilogue>,
) -> Vec<f32> {
    let positions = shape.positions();
    let mut output = vec![0.0f32; shape.images * shape.out_channels * positions];
    if output.is_empty() {
        return output;
    }
    assert_eq!(
        input.len(),
        shape.images * shape.in_channels * shape.plane()
    );
    assert_eq!(weight.len(), shape.out_channels * shape.patch_rows());
    if let Some(epilogue) = epilogue {
        assert!(
            epilogue.affine.scale.len() == shape.out_channels
                && epilogue.affine.shift.len() == shape.out_channels,
            "one scale and shift per output channel"
        );
    }
    let target = OutputPointer(output.as_mut_ptr(), output.len());
    tiles(shape, budget).into_par_iter().for_each(|lines| {
        let columns = lines.len() * shape.out_width;
        let lens = [shape.patch_rows() * columns, shape.out_channels * columns];
        with_scratch(lens, |patches, product| {
            tile_product(input, weight, shape, lines.clone(), patches, product);
            // SAFETY: the tiles are disjoint ranges of output lines, and a tile writes only
            // the values of its own lines (`scatter_tile`), so no two threads write one value
            // and nothing reads `output` until every tile is done.
            unsafe { scatter_tile(target, product, shape, lines, epilogue) };
        });
    });
    output
}

/// `weight * patches` of the output lines `lines` into `product` (`out x (lines.len() *
/// out_width)`), the patches built in `patches` (`patch_rows x (lines.len() * out_width)`); both
/// may hold any values before.
fn tile_product(
    input: &[f32],
    weight: &[f32],
    shape: &ConvShape,
    lines: Range<usize>,
    patches: &mut [f32],
    product: &mut [f32],
) {
    let rows = shape.patch_rows();
    let columns = lines.len() * shape.out_width;
    assert_eq!(patches.len(), rows * columns);
    assert_eq!(product.len(), shape.out_channels * columns);
    im2col_channel_major(input, shape, lines, patches);
    // SAFETY: `product` is `out x columns` and `patches` `rows x columns` (both asserted),
    // `weight` `out x rows` (asserted by the caller), all row-major with the strides given; the
    // destination aliases neither operand, and gemm overwrites it without reading it.
    unsafe {
        gemm::gemm(
            shape.out_channels,
            columns,
            rows,
            product.as_mut_ptr(),
            1,
            columns as isize,
            false,
            weight.as_ptr(),
            1,
            rows as isize,
            patches.as_ptr(),
            1,
            columns as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Copies a tile's product (`out x (lines.len() * out_width)`) into the output planes of the
/// images its lines belong to, through `epilogue` if any.
///
/// # Safety
/// No other thread may read or write the output values of `lines` meanwhile.
unsafe fn scatter_tile(
    output: OutputPointer,
    product: &[f32],
    shape: &ConvShape,
    lines: Range<usize>,
    epilogue: Option<&Epilogue>,
) {
    let (width, height) = (shape.out_width, shape.out_height);
    let columns = lines.len() * width;
    let mut line = lines.start;
    while line < lines.end {
        let image = line / height;
        let end = lines.end.min((image + 1) * height);
        let (from, count) = ((line - lines.start) * width, (end - line) * width);
        for (channel, source) in product.chunks(columns).enumerate() {
            let plane = (image * shape.out_channels + channel) * shape.positions();
            let start = plane + (line % height) * width;
            // SAFETY: the caller owns these values; `run` checks they lie inside the output.
            let run = unsafe { output.run(start, count) };
            let source = &source[from..from + count];
            match epilogue {
                None => run.copy_from_slice(source),
                Some(epilogue) => {
                    let epilogue = epilogue.for_channel(channel);
                    for (out, &y) in run.iter_mut().zip(source) {
                        *out = epilogue(y);
                    }
                }
            }
        }
        line = end;
    }
}

/// The tiles of the output: ranges of output lines (one output row of one image, counted across
/// the batch) whose patches fit `budget`, [`MIN_TILES`] at least.
fn tiles(shape: &ConvShape, budget: usize) -> Vec<Range<usize>> {
    let lines = shape.images * shape.out_height;
    let by_budget = budget / (shape.out_width * shape.patch_rows()).max(1);
    let by_balance = lines.div_ceil(MIN_TILES);
    let per_tile = by_budget.min(by_balance).max(1);
    (0..lines)
        .step_by(per_tile)
        .map(|start| start..(start + per_tile).min(lines))
        .collect()
}

/// The output's address and length, shared by the threads that fill its disjoint tiles.
#[derive(Clone, Copy)]
struct OutputPointer(*mut f32, usize);

// SAFETY: the threads write through it only to disjoint values (see `forward_in_tiles`).
unsafe impl Send for OutputPointer {}
unsafe impl Sync for OutputPointer {}

impl OutputPointer {
    /// The `count` values from `start`, checked to lie inside the output.
    ///
    /// # Safety
    /// No other thread may access them while the slice lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn run(&self, start: usize, count: usize) -> &mut [f32] {
        assert!(start + count <= self.1, "a tile's run leaves the output");
        // SAFETY: inside the allocation (asserted), and exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), count) }
    }
}
