//! Map post-processing shared by the methods: upsampling a low-resolution map to the input size
//! and per-image min-max scaling.

/// Bilinear resize of a row-major `in_h x in_w` map to `out_h x out_w` with half-pixel centres
/// (`align_corners = False`, as PyTorch's `interpolate` and OpenCV's `resize`, which GradCAM
/// implementations use): output pixel `x` samples the input at `(x + 0.5) * in_w / out_w - 0.5`,
/// clamped to the border.
pub fn resize_bilinear(
    map: &[f32],
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<f32> {
    assert_eq!(
        map.len(),
        in_h * in_w,
        "resize_bilinear: map is not {in_h}x{in_w}"
    );
    let axis = |out: usize, inp: usize| -> Vec<(usize, usize, f32)> {
        let scale = inp as f32 / out as f32;
        (0..out)
            .map(|o| {
                let src = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
                let lo = (src.floor() as usize).min(inp - 1);
                let hi = (lo + 1).min(inp - 1);
                (lo, hi, src - lo as f32)
            })
            .collect()
    };
    let rows = axis(out_h, in_h);
    let cols = axis(out_w, in_w);
    // Separable, in the order of the per-pixel formula `top * (1 - ty) + bottom * ty` with
    // `top` and `bottom` each row's blend at `x`: every input row is blended along x once.
    let blended: Vec<f32> = map
        .chunks(in_w)
        .flat_map(|row| {
            cols.iter()
                .map(|&(x0, x1, tx)| row[x0] * (1.0 - tx) + row[x1] * tx)
        })
        .collect();
    let mut out = Vec::with_capacity(out_h * out_w);
    for &(y0, y1, ty) in &rows {
        let (top, bottom) = (
            &blended[y0 * out_w..][..out_w],
            &blended[y1 * out_w..][..out_w],
        );
        out.extend(
            top.iter()
                .zip(bottom)
                .map(|(&top, &bottom)| top * (1.0 - ty) + bottom * ty),
        );
    }
    out
}

/// Nearest-neighbour resize (PyTorch's `interpolate(mode="nearest")`, which captum's Guided
/// GradCAM uses): output pixel `x` takes input pixel `floor(x * in_w / out_w)`.
pub fn resize_nearest(
    map: &[f32],
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<f32> {
    assert_eq!(
        map.len(),
        in_h * in_w,
        "resize_nearest: map is not {in_h}x{in_w}"
    );
    let mut out = Vec::with_capacity(out_h * out_w);
    for y in 0..out_h {
        let sy = (y * in_h / out_h).min(in_h - 1);
        for x in 0..out_w {
            let sx = (x * in_w / out_w).min(in_w - 1);
            out.push(map[sy * in_w + sx]);
        }
    }
    out
}

/// pytorch-grad-cam's scaling: subtract the minimum, then divide by `max + 1e-7`, so the map
/// spans [0, 1) and a constant map becomes all zeros.
pub fn min_max_scale(map: &mut [f32]) {
    let min = map.iter().copied().fold(f32::INFINITY, f32::min);
    if !min.is_finite() {
        return;
    }
    map.iter_mut().for_each(|v| *v -= min);
    let max = map.iter().copied().fold(0f32, f32::max);
    map.iter_mut().for_each(|v| *v /= max + 1e-7);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_keeps_constants_and_interpolates_between_centres() {
        assert_eq!(resize_bilinear(&[3.0; 4], 2, 2, 5, 7), vec![3.0; 35]);
        // 1x2 -> 1x4: centres of the input pixels fall at output 0.5 and 2.5.
        let out = resize_bilinear(&[0.0, 1.0], 1, 2, 1, 4);
        assert_eq!(out, vec![0.0, 0.25, 0.75, 1.0]);
    }

    /// The separable passes give the per-pixel formula's values bit for bit, shrinking and
    /// growing.
    #[test]
    fn bilinear_equals_the_per_pixel_formula_bit_for_bit() {
        let (in_h, in_w) = (7, 5);
        let map: Vec<f32> = (0..in_h * in_w)
            .map(|i| ((i * 7919 % 113) as f32 - 56.0) / 9.7)
            .collect();
        let source = |out: usize, inp: usize, o: usize| {
            let src = ((o as f32 + 0.5) * (inp as f32 / out as f32) - 0.5).max(0.0);
            let lo = (src.floor() as usize).min(inp - 1);
            (lo, (lo + 1).min(inp - 1), src - lo as f32)
        };
        for (out_h, out_w) in [(224, 224), (3, 11), (7, 5)] {
            let mut expected = Vec::new();
            for y in 0..out_h {
                let (y0, y1, ty) = source(out_h, in_h, y);
                for x in 0..out_w {
                    let (x0, x1, tx) = source(out_w, in_w, x);
                    let at = |y: usize, x: usize| map[y * in_w + x];
                    let top = at(y0, x0) * (1.0 - tx) + at(y0, x1) * tx;
                    let bottom = at(y1, x0) * (1.0 - tx) + at(y1, x1) * tx;
                    expected.push((top * (1.0 - ty) + bottom * ty).to_bits());
                }
            }
            let out = resize_bilinear(&map, in_h, in_w, out_h, out_w);
            let bits: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
            assert_eq!(bits, expected, "{out_h}x{out_w}");
        }
    }

    #[test]
    fn nearest_repeats_blocks() {
        let out = resize_nearest(&[1.0, 2.0, 3.0, 4.0], 2, 2, 4, 4);
        assert_eq!(
            out,
            vec![
                1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 4.0
            ]
        );
    }

    #[test]
    fn min_max_spans_zero_to_one() {
        let mut map = vec![2.0, 4.0, 6.0];
        min_max_scale(&mut map);
        assert_eq!(map[0], 0.0);
        assert!((map[1] - 0.5).abs() < 1e-6 && (map[2] - 1.0).abs() < 1e-6);
        let mut flat = vec![5.0; 3];
        min_max_scale(&mut flat);
        assert_eq!(flat, vec![0.0; 3]);
    }
}
