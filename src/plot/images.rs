//! Image figures: attribution heat-map overlays with mask outlines and a colour
//! bar, labelled image grids with captions, and bounding boxes (e.g. LOST
//! object-discovery examples).

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

use super::canvas::PixelRect;
use super::layout::font_size;
use super::scene::{Anchor, Scene, fit_text, text_box};

const TEXT: [u8; 3] = [25, 25, 25];

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

/// One picture of an [`image_grid`], with an optional caption under it in a colour.
#[derive(Clone, Debug)]
pub struct GridCell {
    pub image: RgbImage,
    pub caption: Option<(String, [u8; 3])>,
}

impl GridCell {
    pub fn new(image: RgbImage) -> Self {
        Self {
            image,
            caption: None,
        }
    }

    pub fn with_caption(mut self, text: impl Into<String>, color: [u8; 3]) -> Self {
        self.caption = Some((text.into(), color));
        self
    }
}

/// `label` on at most two lines of `width` px: broken at the last space, '_' or '-'
/// that lets the first line fit, each line shortened with "…" if still too long.
fn wrap2(label: &str, size: f32, width: i32) -> Vec<String> {
    if text_box(label, size).0 <= width {
        return vec![label.to_string()];
    }
    let mut breaks = label
        .char_indices()
        .filter(|(_, c)| matches!(c, ' ' | '_' | '-'))
        .map(|(i, c)| i + c.len_utf8());
    match breaks.rfind(|&i| text_box(label[..i].trim_end(), size).0 <= width) {
        Some(i) => vec![
            label[..i].trim_end().to_string(),
            fit_text(label[i..].trim_start(), size, width),
        ],
        None => vec![fit_text(label, size, width)],
    }
}

/// Lays images out in a labelled grid: `cells[row][col]`, each scaled to fit a
/// `cell_size` square (aspect kept, centred), captions under the pictures, row
/// labels on the left and column labels (up to two lines) on top. Rows may have
/// different lengths; missing cells stay blank. Labels that do not fit are
/// shortened with "…".
pub fn image_grid(
    cells: &[Vec<GridCell>],
    row_labels: &[String],
    col_labels: &[String],
    cell_size: u32,
) -> Scene {
    let cell = cell_size.max(1) as i32;
    let s = if cell >= 160 { 2 } else { 1 };
    let size = font_size(1) * if s == 2 { 1.15 } else { 1.0 };
    let (gap, margin) = (4 * s, 6 * s);
    let th = size.ceil() as i32;
    let rows = cells.len().max(row_labels.len()) as i32;
    let cols = cells
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .max(col_labels.len()) as i32;
    let row_labels: Vec<String> = row_labels
        .iter()
        .map(|l| fit_text(l, size, 3 * cell))
        .collect();
    let col_lines: Vec<Vec<String>> = col_labels.iter().map(|l| wrap2(l, size, cell)).collect();
    let label_w = row_labels
        .iter()
        .map(|l| text_box(l, size).0)
        .max()
        .unwrap_or(0);
    let left = if label_w > 0 {
        label_w + 2 * margin
    } else {
        margin
    };
    let header_lines = col_lines.iter().map(Vec::len).max().unwrap_or(0) as i32;
    let top = if header_lines > 0 {
        header_lines * th + 2 * margin
    } else {
        margin
    };
    let captions = cells.iter().flatten().any(|c| c.caption.is_some());
    let caption_h = if captions { th + 2 * s } else { 0 };
    let (pitch_x, pitch_y) = (cell + gap, cell + caption_h + gap);
    let span = |n: i32, pitch: i32| if n == 0 { 0 } else { n * pitch - gap };
    let mut out = Scene::new(
        (left + span(cols, pitch_x) + margin) as u32,
        (top + span(rows, pitch_y) + margin) as u32,
    );
    for (c, lines) in col_lines.iter().enumerate() {
        let x = left + c as i32 * pitch_x + cell / 2;
        // Bottom-aligned, so one-line labels sit right above their column.
        let y0 = top - margin - lines.len() as i32 * th;
        for (k, line) in lines.iter().enumerate() {
            out.text(line, (x, y0 + k as i32 * th), Anchor::TopCentre, size, TEXT);
        }
    }
    for (r, label) in row_labels.iter().enumerate() {
        let y = top + r as i32 * pitch_y + cell / 2;
        out.text(label, (left - margin, y), Anchor::CentreRight, size, TEXT);
    }
    for (r, row) in cells.iter().enumerate() {
        for (c, gc) in row.iter().enumerate() {
            let (x0, y0) = (left + c as i32 * pitch_x, top + r as i32 * pitch_y);
            let img = &gc.image;
            if img.width() > 0 && img.height() > 0 {
                let scale =
                    (cell as f64 / img.width() as f64).min(cell as f64 / img.height() as f64);
                let nw = ((img.width() as f64 * scale).round() as u32).clamp(1, cell as u32);
                let nh = ((img.height() as f64 * scale).round() as u32).clamp(1, cell as u32);
                let resized = if (nw, nh) == img.dimensions() {
                    img.clone()
                } else {
                    imageops::resize(img, nw, nh, FilterType::Triangle)
                };
                let x = x0 + (cell - nw as i32) / 2;
                let y = y0 + (cell - nh as i32) / 2;
                out.image(resized, x, y);
            }
            if let Some((text, color)) = &gc.caption {
                let text = fit_text(text, size, cell);
                out.text(
                    &text,
                    (x0 + cell / 2, y0 + cell + s),
                    Anchor::TopCentre,
                    size,
                    *color,
                );
            }
        }
    }
    out
}

/// Width of the colour bar [`colour_bar`] draws for labels at `size`, including its labels.
pub fn colour_bar_width(labels: &[&str], title: &str, size: f32) -> i32 {
    let widest = labels
        .iter()
        .map(|l| text_box(l, size).0)
        .max()
        .unwrap_or(0);
    let th = size.ceil() as i32;
    let title_w = if title.is_empty() { 0 } else { th + 6 };
    12 + 16 + 4 + widest + 6 + title_w
}

/// A vertical viridis colour bar in `rect` (bar, its tick labels on the right spaced
/// evenly from the bottom `labels[0]` to the top, and the vertical `title`), appended
/// to `scene`. `rect` should be [`colour_bar_width`] wide.
pub fn colour_bar(scene: &mut Scene, rect: PixelRect, labels: &[&str], title: &str, size: f32) {
    let th = size.ceil() as i32;
    let bar = PixelRect::new(
        rect.x0 + 12,
        rect.y0 + th / 2,
        16,
        (rect.height() - th).max(2),
    );
    let (bw, bh) = (bar.width() as u32, bar.height() as u32);
    let gradient = RgbImage::from_fn(bw, bh, |_, y| {
        Rgb(viridis(1.0 - y as f32 / (bh - 1).max(1) as f32))
    });
    scene.image(gradient, bar.x0, bar.y0);
    scene.stroke_rect(bar.expand(1), [100, 100, 100], 1);
    let n = labels.len().max(2) - 1;
    for (i, label) in labels.iter().enumerate() {
        let y = bar.y1 - 1 - (i as i32 * (bar.height() - 1)) / n as i32;
        scene.fill_rect(PixelRect::new(bar.x1 + 1, y, 4, 1), [100, 100, 100], 1.0);
        scene.text(label, (bar.x1 + 8, y), Anchor::CentreLeft, size, TEXT);
    }
    if !title.is_empty() {
        let title = fit_text(title, size, bar.height());
        let x = rect.x1 - th / 2 - 2;
        scene.vertical_text(&title, (x, bar.y0 + bar.height() / 2), size, TEXT);
    }
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
        let cells = vec![
            vec![GridCell::new(red.clone()), GridCell::new(blue.clone())],
            vec![GridCell::new(blue.clone())],
        ];
        let scene = image_grid(
            &cells,
            &["ViT-B".into(), "ResNet".into()],
            &["input".into(), "map".into()],
            64,
        );
        let size = font_size(1);
        let th = size.ceil() as u32;
        let left = text_box("ResNet", size).0 as u32 + 12;
        let top = th + 12;
        assert_eq!(
            (scene.width, scene.height),
            (left + 2 * 64 + 4 + 6, top + 2 * 64 + 4 + 6)
        );
        assert!(
            scene.text_layout_problems().is_empty(),
            "{:?}",
            scene.text_layout_problems()
        );
        let out = scene.to_png();
        // The tall red image is centred horizontally in its square cell.
        assert_eq!(out.get_pixel(left + 32, top + 10).0, [255, 0, 0]);
        assert_eq!(out.get_pixel(left + 2, top + 32).0, [255; 3]);
        assert_eq!(out.get_pixel(left + 68 + 32, top + 32).0, [0, 0, 255]);
        // The missing cell of the second row stays white.
        assert_eq!(out.get_pixel(left + 68 + 32, top + 68 + 32).0, [255; 3]);
        // Degenerate inputs still produce an image.
        let empty = image_grid(&[], &[], &[], 0);
        assert!(empty.width > 0 && empty.height > 0);
    }

    #[test]
    fn long_column_labels_wrap_and_captions_sit_under_their_cells() {
        let cells = vec![vec![
            GridCell::new(RgbImage::new(8, 8)).with_caption("IoU 0.43", [0, 0, 0]),
            GridCell::new(RgbImage::new(8, 8))
                .with_caption("a caption far too long for it", [0, 0, 0]),
        ]];
        let cols = ["guided_gradcam_plus".to_string(), "ig".to_string()];
        let scene = image_grid(&cells, &["round 0".into()], &cols, 64);
        assert!(
            scene.text_layout_problems().is_empty(),
            "{:?}",
            scene.text_layout_problems()
        );
        let texts: Vec<&str> = scene.text_boxes().iter().map(|t| t.0).collect();
        assert!(
            texts.contains(&"guided_") || texts.contains(&"guided_gradcam_"),
            "{texts:?}"
        );
        assert!(texts.iter().any(|t| t.ends_with('…')), "{texts:?}");
        let caption = scene
            .text_boxes()
            .into_iter()
            .find(|t| t.0 == "IoU 0.43")
            .unwrap()
            .1;
        let header = scene
            .text_boxes()
            .into_iter()
            .find(|t| t.0 == "ig")
            .unwrap()
            .1;
        assert!(caption.y0 >= header.y1 + 64, "{caption:?} under {header:?}");
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

    #[test]
    fn colour_bar_runs_from_low_at_the_bottom_to_high_at_the_top() {
        let size = font_size(1);
        let w = colour_bar_width(&["min", "p99"], "relevance", size);
        let mut scene = Scene::new(w as u32, 120);
        colour_bar(
            &mut scene,
            PixelRect::new(0, 0, w, 120),
            &["min", "p99"],
            "relevance",
            size,
        );
        assert!(
            scene.text_layout_problems().is_empty(),
            "{:?}",
            scene.text_layout_problems()
        );
        let img = scene.to_png();
        let th = size.ceil() as u32;
        let (top, bottom) = (th / 2, th / 2 + (120 - th) - 1);
        assert_eq!(img.get_pixel(20, top).0, viridis(1.0));
        assert_eq!(img.get_pixel(20, bottom).0, viridis(0.0));
    }
}
