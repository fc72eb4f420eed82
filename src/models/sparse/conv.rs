//! Convolution and linear layers on CSR weights, on host memory: im2col of a tile of output
//! positions (the batch's positions side by side), then the CSR product ([`Csr::times`]).

use rayon::prelude::*;

use super::csr::{CHUNK, Csr};

/// Kernel size, stride, padding and dilation of a 2-d convolution, as (rows, columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

impl ConvGeometry {
    /// The output size for an input of `[height, width]`.
    pub fn output(&self, [h, w]: [usize; 2]) -> [usize; 2] {
        let out = |size: usize, i: usize| {
            (size + 2 * self.padding[i]).saturating_sub(self.dilation[i] * (self.kernel[i] - 1) + 1)
                / self.stride[i]
                + 1
        };
        [out(h, 0), out(w, 1)]
    }
}

/// Output positions per tile: a few column chunks, enough tiles to keep every thread busy.
fn tile_width(columns: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let chunks = columns.div_ceil(CHUNK);
    let per_tile = chunks.div_ceil(2 * threads).clamp(1, 4);
    per_tile * CHUNK
}

/// A convolution (no groups) of `x` (`[n, c, h, w]`, row-major) with `weight`, a CSR
/// `out_channels x (c · kh · kw)` matrix of the row-major `[out, c, kh, kw]` kernel, plus
/// `bias`. Returns the `[n, out, oh, ow]` output, row-major.
pub fn conv2d(
    x: &[f32],
    [n, c, h, w]: [usize; 4],
    weight: &Csr,
    bias: Option<&[f32]>,
    geometry: ConvGeometry,
) -> (Vec<f32>, [usize; 4]) {
    let [kh, kw] = geometry.kernel;
    assert_eq!(x.len(), n * c * h * w, "input shape");
    assert_eq!(
        weight.cols,
        c * kh * kw,
        "weight columns = channels x kernel"
    );
    let [oh, ow] = geometry.output([h, w]);
    let positions = oh * ow;
    let columns = n * positions;
    let tile = tile_width(columns);
    let k = weight.cols;
    let o = weight.rows;
    // Patch rows no output reads (every weight of that input position pruned) stay zero.
    let used = weight.used_columns();
    let [sy, sx] = geometry.stride;
    let [dy, dx] = geometry.dilation;
    let [py, px] = geometry.padding;
    let tiles: Vec<Vec<f32>> = (0..columns.div_ceil(tile))
        .into_par_iter()
        .map(|t| {
            let first = t * tile;
            let valid = tile.min(columns - first);
            // Per column: the image's first value and the top-left input position it reads.
            let origin: Vec<(usize, isize, isize)> = (first..first + valid)
                .map(|g| {
                    let (image, p) = (g / positions, g % positions);
                    let (oy, ox) = (p / ow, p % ow);
                    (
                        image * c * h * w,
                        (oy * sy) as isize - py as isize,
                        (ox * sx) as isize - px as isize,
                    )
                })
                .collect();
            let mut patches = vec![0f32; k * tile];
            for (row, dst) in patches.chunks_exact_mut(tile).enumerate() {
                if !used[row] {
                    continue;
                }
                let (ci, ky, kx) = (row / (kh * kw), (row / kw) % kh, row % kw);
                let (oy, ox) = ((ky * dy) as isize, (kx * dx) as isize);
                for (d, &(plane, y0, x0)) in dst.iter_mut().zip(&origin) {
                    let (iy, ix) = (y0 + oy, x0 + ox);
                    if iy >= 0 && (iy as usize) < h && ix >= 0 && (ix as usize) < w {
                        *d = x[plane + (ci * h + iy as usize) * w + ix as usize];
                    }
                }
            }
            let mut out = vec![0f32; o * tile];
            weight.times(0..o, &patches, tile, &mut out);
            out
        })
        .collect();
    let mut output = vec![0f32; n * o * positions];
    for (t, out) in tiles.iter().enumerate() {
        let first = t * tile;
        let valid = tile.min(columns - first);
        for r in 0..o {
            let b = bias.map_or(0.0, |b| b[r]);
            let src = &out[r * tile..r * tile + valid];
            // Columns run through whole images in order: copy the run within each image.
            let mut j = 0;
            while j < valid {
                let g = first + j;
                let (image, p) = (g / positions, g % positions);
                let run = (positions - p).min(valid - j);
                let dst = &mut output[(image * o + r) * positions + p..][..run];
                for (d, v) in dst.iter_mut().zip(&src[j..j + run]) {
                    *d = v + b;
                }
                j += run;
            }
        }
    }
    (output, [n, o, oh, ow])
}

/// `x · Wᵀ + bias` for `x` `[rows, in]` (row-major) and a CSR `out x in` weight; `[rows, out]`.
pub fn linear(x: &[f32], rows: usize, weight: &Csr, bias: Option<&[f32]>) -> Vec<f32> {
    let k = weight.cols;
    assert_eq!(x.len(), rows * k, "input shape");
    // A linear layer is a 1x1 convolution of `rows` positions.
    let geometry = ConvGeometry {
        kernel: [1, 1],
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
    };
    let mut planes = vec![0f32; rows * k];
    for (r, row) in x.chunks_exact(k.max(1)).enumerate() {
        for (i, &v) in row.iter().enumerate() {
            planes[i * rows + r] = v;
        }
    }
    let (out, _) = conv2d(&planes, [1, k, 1, rows], weight, bias, geometry);
    let o = weight.rows;
    let mut result = vec![0f32; rows * o];
    for r in 0..o {
        for i in 0..rows {
            result[i * o + r] = out[r * rows + i];
        }
    }
    result
}
