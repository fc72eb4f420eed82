//! How a strided, dilated, padded convolution becomes [`accumulate`](super::kernel::accumulate)
//! calls without an im2col matrix.
//!
//! The input is zero-padded and split into `stride x stride` *phase planes*: phase `(a, b)` holds
//! the padded pixels at rows `a, a + s, ...` and columns `b, b + s, ...`, each plane `hq x wq`.
//! A kernel tap `(kh, kw)` of output position `(oh, ow)` reads padded pixel
//! `(oh * s + kh * d, ow * s + kw * d)`, which is phase `(kh * d % s, kw * d % s)` at plane
//! position `(oh + kh * d / s, ow + kw * d / s)`. Computing the output on a grid `wq` wide (the
//! columns past `wo` are discarded), every tap is one constant shift
//! `(kh * d / s) * wq + kw * d / s` into its plane, so an output channel is a weighted sum of
//! shifted planes: one call of `accumulate` of length `(ho - 1) * wq + wo`.
//!
//! The input gradient is the same sum transposed: a plane's gradient is a weighted sum of the
//! output channels' gradients shifted the other way, read from a buffer with a zero margin in
//! front so that the shifts stay non-negative.

use super::kernel::Entry;

/// Stride, padding and dilation of a square-kernel convolution (the same along both axes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvParams {
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

/// The layout of one convolution call on an input of a given size.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub params: ConvParams,
    pub kernel: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
    /// Rows and columns of each phase plane.
    pub plane_h: usize,
    pub plane_w: usize,
    /// The phases `(a, b)` some tap reads, in order; planes of other phases are never built.
    pub phases: Vec<(usize, usize)>,
    /// For each `a * stride + b`, its index in `phases`.
    phase_index: Vec<Option<usize>>,
}

impl Geometry {
    /// `None` when the kernel does not fit the padded input (no output).
    pub fn new(params: ConvParams, kernel: usize, in_h: usize, in_w: usize) -> Option<Self> {
        let ConvParams {
            stride: s,
            padding: p,
            dilation: d,
        } = params;
        assert!(
            s >= 1 && d >= 1 && kernel >= 1,
            "stride, dilation and kernel must be positive"
        );
        let span = d * (kernel - 1) + 1;
        let (padded_h, padded_w) = (in_h + 2 * p, in_w + 2 * p);
        if padded_h < span || padded_w < span {
            return None;
        }
        let out_h = (padded_h - span) / s + 1;
        let out_w = (padded_w - span) / s + 1;
        let mut phases = Vec::new();
        let mut phase_index = vec![None; s * s];
        for kh in 0..kernel {
            for kw in 0..kernel {
                let phase = ((kh * d) % s, (kw * d) % s);
                let slot = &mut phase_index[phase.0 * s + phase.1];
                if slot.is_none() {
                    *slot = Some(phases.len());
                    phases.push(phase);
                }
            }
        }
        Some(Self {
            params,
            kernel,
            in_h,
            in_w,
            out_h,
            out_w,
            plane_h: padded_h.div_ceil(s),
            plane_w: padded_w.div_ceil(s),
            phases,
            phase_index,
        })
    }

    pub fn plane_len(&self) -> usize {
        self.plane_h * self.plane_w
    }

    /// Planes per input channel.
    pub fn phase_count(&self) -> usize {
        self.phases.len()
    }

    /// Length of an output channel on the `plane_w`-wide grid (the last row's discarded columns
    /// left out).
    pub fn grid_len(&self) -> usize {
        (self.out_h - 1) * self.plane_w + self.out_w
    }

    /// The plane (relative to the input channel's first) and shift of tap `(kh, kw)`.
    pub fn tap(&self, kh: usize, kw: usize) -> (usize, usize) {
        let ConvParams {
            stride: s,
            dilation: d,
            ..
        } = self.params;
        let phase = self.phase_index[((kh * d) % s) * s + (kw * d) % s].expect("every tap's phase");
        (phase, (kh * d / s) * self.plane_w + kw * d / s)
    }

    /// The largest shift of any tap: the zero margin the input gradient reads behind.
    pub fn max_shift(&self) -> usize {
        let k = self.kernel - 1;
        self.tap(k, k).1
    }

    /// The plane rows and columns of phase `(a, b)` that hold input pixels, each as
    /// `(plane index, input index)` of its first and the count: `(rows, columns)`.
    fn interior(&self, (a, b): (usize, usize)) -> ((usize, usize, usize), (usize, usize, usize)) {
        let ConvParams {
            stride: s,
            padding: p,
            ..
        } = self.params;
        // Plane index q holds padded index q * s + phase, input index q * s + phase - p.
        let span = |phase: usize, extent: usize, plane: usize| {
            let first = p.saturating_sub(phase).div_ceil(s);
            let end = (extent + p).saturating_sub(phase).div_ceil(s).min(plane);
            let count = end.saturating_sub(first);
            let input = (first * s + phase).saturating_sub(p);
            (first, input, count)
        };
        (
            span(a, self.in_h, self.plane_h),
            span(b, self.in_w, self.plane_w),
        )
    }

    /// One image `[channels, in_h, in_w]` as its phase planes, `[channels, phases, plane_len]`,
    /// every value of `out` written (the padding as zeros), whatever it held.
    pub fn planes(&self, image: &[f32], channels: usize, out: &mut [f32]) {
        let (h, w, s) = (self.in_h, self.in_w, self.params.stride);
        let (plane, plane_w) = (self.plane_len(), self.plane_w);
        for c in 0..channels {
            let src = &image[c * h * w..(c + 1) * h * w];
            for (index, &phase) in self.phases.iter().enumerate() {
                let dst = &mut out[(c * self.phases.len() + index) * plane..][..plane];
                let ((r0, y0, rows), (q0, x0, cols)) = self.interior(phase);
                // The padding only: the interior is copied over.
                let (top, left) = ((r0 * plane_w).min(plane), q0.min(plane_w));
                dst[..top].fill(0.0);
                dst[(top + rows * plane_w).min(plane)..].fill(0.0);
                for i in 0..rows {
                    let padded_row = &mut dst[(r0 + i) * plane_w..][..plane_w];
                    padded_row[..left].fill(0.0);
                    padded_row[(left + cols).min(plane_w)..].fill(0.0);
                    let row = &src[(y0 + i * s) * w..][..w];
                    let dst_row = &mut padded_row[q0..][..cols];
                    if s == 1 {
                        dst_row.copy_from_slice(&row[x0..x0 + cols]);
                    } else {
                        for (j, value) in dst_row.iter_mut().enumerate() {
                            *value = row[x0 + j * s];
                        }
                    }
                }
            }
        }
    }

    /// Adds a plane's gradient back onto the input channel's gradient `[in_h, in_w]`: the inverse
    /// of [`Geometry::planes`] (padding positions dropped).
    pub fn scatter_plane(&self, phase: usize, plane: &[f32], channel: &mut [f32]) {
        let (w, s) = (self.in_w, self.params.stride);
        let ((r0, y0, rows), (q0, x0, cols)) = self.interior(self.phases[phase]);
        for i in 0..rows {
            let src_row = &plane[(r0 + i) * self.plane_w + q0..][..cols];
            let row = &mut channel[(y0 + i * s) * w..][..w];
            if s == 1 {
                for (value, &g) in row[x0..x0 + cols].iter_mut().zip(src_row) {
                    *value += g;
                }
            } else {
                for (j, &g) in src_row.iter().enumerate() {
                    row[x0 + j * s] += g;
                }
            }
        }
    }
}

/// The forward entries of one output channel: `(input channel, kh, kw, weight)` per non-zero.
pub fn forward_entries(
    geometry: &Geometry,
    taps: impl Iterator<Item = (usize, usize, usize, f32)>,
) -> Vec<Entry> {
    let plane = geometry.plane_len();
    let phases = geometry.phase_count();
    taps.map(|(c, kh, kw, weight)| {
        let (phase, shift) = geometry.tap(kh, kw);
        Entry::new((c * phases + phase) * plane + shift, weight)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(stride: usize, padding: usize, dilation: usize, kernel: usize) -> Geometry {
        Geometry::new(
            ConvParams {
                stride,
                padding,
                dilation,
            },
            kernel,
            7,
            6,
        )
        .unwrap()
    }

    #[test]
    fn output_sizes_follow_the_convolution_formula() {
        let g = geometry(2, 1, 1, 3);
        assert_eq!((g.out_h, g.out_w), (4, 3));
        let g = geometry(1, 2, 2, 3);
        assert_eq!((g.out_h, g.out_w), (7, 6));
        assert!(Geometry::new(geometry(1, 0, 1, 3).params, 9, 7, 6).is_none());
    }

    #[test]
    fn strided_1x1_reads_a_single_phase() {
        let g = geometry(2, 0, 1, 1);
        assert_eq!(g.phases, vec![(0, 0)]);
        let g = geometry(2, 1, 1, 3);
        assert_eq!(g.phase_count(), 4);
    }

    #[test]
    fn planes_then_scatter_restore_every_pixel_once() {
        for g in [
            geometry(2, 1, 1, 3),
            geometry(1, 2, 2, 3),
            geometry(2, 3, 1, 7),
        ] {
            let image: Vec<f32> = (0..2 * 7 * 6).map(|i| i as f32).collect();
            let mut planes = vec![0.0; 2 * g.phase_count() * g.plane_len()];
            g.planes(&image, 2, &mut planes);
            // Whatever the buffer held, the same planes: the padding is written too.
            let mut reused = vec![f32::NAN; planes.len()];
            g.planes(&image, 2, &mut reused);
            assert_eq!(reused, planes);
            let mut back = vec![0.0; 2 * 7 * 6];
            for c in 0..2 {
                for phase in 0..g.phase_count() {
                    let plane =
                        &planes[(c * g.phase_count() + phase) * g.plane_len()..][..g.plane_len()];
                    g.scatter_plane(phase, plane, &mut back[c * 42..(c + 1) * 42]);
                }
            }
            // With all phases present, each pixel lands in exactly one plane.
            if g.phase_count() == g.params.stride * g.params.stride {
                assert_eq!(back, image);
            }
        }
    }
}
