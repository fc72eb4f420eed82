//! Pictures for figures: attribution heat-map overlays, mask outlines and
//! bounding boxes (e.g. LOST object-discovery examples), drawn on rasters.

use image::{Rgb, RgbImage};

/// Nine evenly spaced samples of matplotlib's viridis; linear interpolation
/// between them stays within a few levels of the full 256-entry table while
/// keeping the map perceptually uniform and readable for colour-blind viewers.
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 45, 123],
    [59, 82, 139],
    [44, 114, 142],
    [33, 144, 140],
    [39, 173, 129],
    [93, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
];

/// Viridis colour of `v` (clamped to [0, 1]; NaN counts as 0).
pub fn viridis(v: f32) -> [u8; 3] {
    let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    let pos = v * (VIRIDIS.len() - 1) as f32;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let t = pos - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    std::array::from_fn(|k| (a[k] as f32 + (b[k] as f32 - a[k] as f32) * t).round() as u8)
}

/// Samples a square `n x n` map at pixel `(x, y)` of a `w x h` image with
/// bilinear interpolation (pixel centres aligned, edges clamped).
fn sample_square(map: &[f32], n: usize, x: u32, y: u32, w: u32, h: u32) -> f32 {
    let coord = |p: u32, len: u32| {
        ((p as f32 + 0.5) * n as f32 / len as f32 - 0.5).clamp(0.0, (n - 1) as f32)
    };
    let (fx, fy) = (coord(x, w), coord(y, h));
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(n - 1), (y0 + 1).min(n - 1));
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let at = |xx: usize, yy: usize| clean(map[yy * n + xx]);
    let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
    let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
    top * (1.0 - ty) + bottom * ty
}

fn clean(v: f32) -> f32 {
    if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) }
}

/// Blends the viridis rendering of `map` over `image_rgb`:
/// `out = (1 - alpha) * image + alpha * viridis(map)`, so `alpha = 0` returns
/// the image and `alpha = 1` the pure colour map.
///
/// `map` is row-major with values in [0, 1] (clamped; NaN counts as 0). It is
/// either `width * height` long, or a square `n x n` grid (e.g. a ViT's 14 x 14
/// patch attributions) that is upsampled bilinearly to the image size.
///
/// # Panics
/// If `map` has neither of those lengths; that is a caller bug, and guessing a
/// shape would silently produce a wrong figure.
pub fn heatmap_overlay(image_rgb: &RgbImage, map: &[f32], alpha: f32) -> RgbImage {
    let (w, h) = image_rgb.dimensions();
    let exact = map.len() == w as usize * h as usize;
    let n = (map.len() as f64).sqrt().round() as usize;
    assert!(
        exact || (n > 0 && n * n == map.len()),
        "heatmap_overlay: map has {} values, expected {w}x{h} = {} or a square grid",
        map.len(),
        w as usize * h as usize
    );
    let alpha = if alpha.is_nan() {
        0.0
    } else {
        alpha.clamp(0.0, 1.0)
    };
    let mut out = image_rgb.clone();
    for (x, y, px) in out.enumerate_pixels_mut() {
        let v = if exact {
            clean(map[y as usize * w as usize + x as usize])
        } else {
            sample_square(map, n, x, y, w, h)
        };
        let c = viridis(v);
        for (dst, src) in px.0.iter_mut().zip(c) {
            *dst = (*dst as f32 * (1.0 - alpha) + src as f32 * alpha).round() as u8;
        }
    }
    out
}

/// Draws the outline of the box `[x0, y0, x1, y1]` (pixel coordinates,
/// corners in either order), `thickness` pixels wide, inside the box edges.
/// The box is clamped to the image; boxes with non-finite coordinates or
/// entirely outside the image are skipped.
pub fn draw_box(img: &mut RgbImage, box_xyxy: [f32; 4], color: [u8; 3], thickness: u32) {
    if box_xyxy.iter().any(|v| !v.is_finite()) || img.width() == 0 || img.height() == 0 {
        return;
    }
    let [a, b, c, d] = box_xyxy;
    let (x0, x1) = (a.min(c).round(), a.max(c).round());
    let (y0, y1) = (b.min(d).round(), b.max(d).round());
    let (w, h) = (img.width() as f32, img.height() as f32);
    if x1 < 0.0 || y1 < 0.0 || x0 > w - 1.0 || y0 > h - 1.0 {
        return;
    }
    let (x0, x1) = (x0.clamp(0.0, w - 1.0) as u32, x1.clamp(0.0, w - 1.0) as u32);
    let (y0, y1) = (y0.clamp(0.0, h - 1.0) as u32, y1.clamp(0.0, h - 1.0) as u32);
    let t = thickness.max(1);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let edge = x < x0 + t || x + t > x1 || y < y0 + t || y + t > y1;
            if edge {
                img.put_pixel(x, y, Rgb(color));
            }
        }
    }
}

/// Draws the boundary of a binary `mask` (row-major, `mask_w` wide, any size: it is
/// scaled to the image by nearest neighbour) on `img`: pixels inside the mask with a
/// neighbour outside it, thickened to `thickness`, in `color` with a dark halo pixel
/// outside so the line shows on light and dark images alike.
pub fn draw_outline(
    img: &mut RgbImage,
    mask: &[bool],
    mask_w: usize,
    color: [u8; 3],
    thickness: u32,
) {
    if mask_w == 0 || mask.is_empty() || !mask.len().is_multiple_of(mask_w) {
        return;
    }
    let mask_h = mask.len() / mask_w;
    let (w, h) = img.dimensions();
    let inside = |x: i64, y: i64| {
        if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 {
            return false;
        }
        let mx = (x as usize * mask_w / w as usize).min(mask_w - 1);
        let my = (y as usize * mask_h / h as usize).min(mask_h - 1);
        mask[my * mask_w + mx]
    };
    let t = thickness.max(1) as i64;
    let near_edge = |x: i64, y: i64, r: i64, want: bool| {
        (-r..=r).any(|dy| (-r..=r).any(|dx| inside(x + dx, y + dy) == want))
    };
    let mut out = img.clone();
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            if inside(x, y) {
                if near_edge(x, y, t, false) {
                    out.put_pixel(x as u32, y as u32, Rgb(color));
                }
            } else if near_edge(x, y, 1, true) {
                out.put_pixel(x as u32, y as u32, Rgb([20, 20, 20]));
            }
        }
    }
    *img = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| Rgb([(x * 20) as u8, (y * 30) as u8, 77]))
    }

    #[test]
    fn viridis_endpoints_and_clamping() {
        assert_eq!(viridis(0.0), [68, 1, 84]);
        assert_eq!(viridis(1.0), [253, 231, 37]);
        assert_eq!(viridis(0.5), [33, 144, 140]);
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(f32::NAN), viridis(0.0));
        // Brightness rises monotonically, as a perceptual map's should.
        let luma = |c: [u8; 3]| 0.299 * c[0] as f32 + 0.587 * c[1] as f32 + 0.114 * c[2] as f32;
        let l: Vec<f32> = (0..=20).map(|i| luma(viridis(i as f32 / 20.0))).collect();
        assert!(l.windows(2).all(|w| w[1] > w[0]), "{l:?}");
    }

    #[test]
    fn overlay_alpha_extremes() {
        let img = gradient(6, 4);
        let map: Vec<f32> = (0..24).map(|i| i as f32 / 23.0).collect();
        assert_eq!(heatmap_overlay(&img, &map, 0.0), img);
        let full = heatmap_overlay(&img, &map, 1.0);
        for (x, y, px) in full.enumerate_pixels() {
            assert_eq!(px.0, viridis(map[(y * 6 + x) as usize]));
        }
        let half = heatmap_overlay(&img, &map, 0.5);
        let (a, c) = (img.get_pixel(2, 1).0, viridis(map[8]));
        for k in 0..3 {
            assert!(
                (half.get_pixel(2, 1).0[k] as i32 - (a[k] as i32 + c[k] as i32) / 2).abs() <= 1
            );
        }
    }

    #[test]
    fn overlay_upsamples_square_patch_maps() {
        let img = gradient(8, 8);
        let out = heatmap_overlay(&img, &[0.0, 1.0, 1.0, 0.0], 1.0);
        assert_eq!(out.get_pixel(0, 0).0, viridis(0.0));
        assert_eq!(out.get_pixel(7, 0).0, viridis(1.0));
        assert_eq!(out.get_pixel(7, 7).0, viridis(0.0));
    }

    #[test]
    #[should_panic(expected = "heatmap_overlay")]
    fn overlay_rejects_mismatched_map() {
        heatmap_overlay(&gradient(4, 3), &[0.5; 5], 0.5);
    }

    #[test]
    fn boxes_are_drawn_clamped_and_skip_garbage() {
        let mut img = RgbImage::from_pixel(20, 20, Rgb([255; 3]));
        draw_box(&mut img, [12.0, 15.0, 3.0, 5.0], [255, 0, 0], 2);
        assert_eq!(img.get_pixel(3, 10).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(4, 10).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(5, 10).0, [255; 3]);
        assert_eq!(img.get_pixel(8, 5).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(12, 15).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(8, 10).0, [255; 3]);
        draw_box(&mut img, [-5.0, -5.0, 100.0, 100.0], [0, 0, 255], 1);
        assert_eq!(img.get_pixel(0, 7).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(19, 19).0, [0, 0, 255]);
        let before = img.clone();
        draw_box(&mut img, [f32::NAN, 0.0, 3.0, 3.0], [0, 255, 0], 1);
        draw_box(&mut img, [30.0, 30.0, 40.0, 40.0], [0, 255, 0], 1);
        assert_eq!(img, before);
    }

    #[test]
    fn outlines_trace_the_mask_boundary() {
        let mut img = RgbImage::from_pixel(16, 16, Rgb([128; 3]));
        // A 4 x 4 mask whose centre 2 x 2 is set: pixels 4..12 on the 16-px image.
        let mut mask = vec![false; 16];
        for i in [5, 6, 9, 10] {
            mask[i] = true;
        }
        draw_outline(&mut img, &mask, 4, [255, 255, 255], 1);
        assert_eq!(img.get_pixel(4, 8).0, [255; 3], "inner edge");
        assert_eq!(img.get_pixel(8, 8).0, [128; 3], "interior untouched");
        assert_eq!(img.get_pixel(3, 8).0, [20; 3], "dark halo outside");
        assert_eq!(img.get_pixel(0, 0).0, [128; 3], "far outside untouched");
        draw_outline(&mut img, &mask, 3, [0; 3], 1); // a mask of the wrong shape is ignored
    }
}
