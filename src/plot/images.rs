//! Image figures: attribution heat-map overlays, labelled image grids and
//! bounding boxes (e.g. LOST object-discovery examples).

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

use super::canvas::{Canvas, PixelRect};
use super::text::{self, draw_text, text_height, text_width};

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
    let clamp_x = |v: f32| v.clamp(0.0, w - 1.0) as i32;
    let clamp_y = |v: f32| v.clamp(0.0, h - 1.0) as i32;
    let rect = PixelRect {
        x0: clamp_x(x0),
        y0: clamp_y(y0),
        x1: clamp_x(x1) + 1,
        y1: clamp_y(y1) + 1,
    };
    Canvas::new(img).stroke_rect(rect, color, thickness.max(1) as i32);
}

/// Lays images out in a labelled grid: `cells[row][col]`, each scaled to fit a
/// `cell_size` square (aspect kept, centred on white), row labels on the left
/// and column labels on top. Rows may have different lengths; missing cells
/// stay blank. Labels that do not fit are shortened with "..".
pub fn image_grid(
    cells: &[Vec<RgbImage>],
    row_labels: &[String],
    col_labels: &[String],
    cell_size: u32,
) -> RgbImage {
    let cell = cell_size.max(1);
    let s = if cell >= 160 { 2 } else { 1 };
    let (gap, margin) = (4 * s, 6 * s);
    let th = text_height(s);
    let rows = cells.len().max(row_labels.len()) as u32;
    let cols = cells
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .max(col_labels.len()) as u32;
    let max_row_label = 3 * cell;
    let row_labels: Vec<String> = row_labels
        .iter()
        .map(|l| text::fit_text(l, s, max_row_label))
        .collect();
    let col_labels: Vec<String> = col_labels
        .iter()
        .map(|l| text::fit_text(l, s, cell))
        .collect();
    let label_w = row_labels
        .iter()
        .map(|l| text_width(l, s))
        .max()
        .unwrap_or(0);
    let left = if label_w > 0 {
        label_w + 2 * margin
    } else {
        margin
    };
    let top = if col_labels.iter().any(|l| !l.is_empty()) {
        th + 2 * margin
    } else {
        margin
    };
    let span = |n: u32| if n == 0 { 0 } else { n * cell + (n - 1) * gap };
    let mut out = RgbImage::from_pixel(
        left + span(cols) + margin,
        top + span(rows) + margin,
        Rgb([255; 3]),
    );

    let origin = |i: u32| i * (cell + gap);
    for (c, label) in col_labels.iter().enumerate() {
        let x = left + origin(c as u32) + (cell - text_width(label, s).min(cell)) / 2;
        draw_text(&mut out, x as i32, margin as i32, label, s, [25, 25, 25]);
    }
    for (r, label) in row_labels.iter().enumerate() {
        let y = top + origin(r as u32) + cell.saturating_sub(th) / 2;
        let x = left - margin - text_width(label, s);
        draw_text(&mut out, x as i32, y as i32, label, s, [25, 25, 25]);
    }
    for (r, row) in cells.iter().enumerate() {
        for (c, img) in row.iter().enumerate() {
            if img.width() == 0 || img.height() == 0 {
                continue;
            }
            let scale = (cell as f64 / img.width() as f64).min(cell as f64 / img.height() as f64);
            let nw = ((img.width() as f64 * scale).round() as u32).clamp(1, cell);
            let nh = ((img.height() as f64 * scale).round() as u32).clamp(1, cell);
            let resized = if (nw, nh) == img.dimensions() {
                img.clone()
            } else {
                imageops::resize(img, nw, nh, FilterType::Triangle)
            };
            let x = left + origin(c as u32) + (cell - nw) / 2;
            let y = top + origin(r as u32) + (cell - nh) / 2;
            imageops::replace(&mut out, &resized, x as i64, y as i64);
        }
    }
    out
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
    fn grid_dimensions_and_placement() {
        let red = RgbImage::from_pixel(10, 20, Rgb([255, 0, 0]));
        let blue = RgbImage::from_pixel(30, 30, Rgb([0, 0, 255]));
        let cells = vec![vec![red.clone(), blue.clone()], vec![blue.clone()]];
        let out = image_grid(
            &cells,
            &["ViT-B".into(), "ResNet".into()],
            &["input".into(), "map".into()],
            64,
        );
        let left = text_width("ResNet", 1) + 12;
        let top = text_height(1) + 12;
        assert_eq!(
            out.dimensions(),
            (left + 2 * 64 + 4 + 6, top + 2 * 64 + 4 + 6)
        );
        // The tall red image is centred horizontally in its square cell.
        assert_eq!(out.get_pixel(left + 32, top + 10).0, [255, 0, 0]);
        assert_eq!(out.get_pixel(left + 2, top + 32).0, [255; 3]);
        assert_eq!(out.get_pixel(left + 68 + 32, top + 32).0, [0, 0, 255]);
        // The missing cell of the second row stays white.
        assert_eq!(out.get_pixel(left + 68 + 32, top + 68 + 32).0, [255; 3]);
        // Degenerate inputs still produce an image.
        let empty = image_grid(&[], &[], &[], 0);
        assert!(empty.width() > 0 && empty.height() > 0);
    }
}
