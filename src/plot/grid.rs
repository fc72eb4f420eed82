//! Labelled image grids (pictures with captions, row and column labels) and colour bars.

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

use super::canvas::PixelRect;
use super::images::viridis;
use super::layout::font_size;
use super::scene::{Anchor, Scene, fit_text, text_box};

const TEXT: [u8; 3] = [25, 25, 25];

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
