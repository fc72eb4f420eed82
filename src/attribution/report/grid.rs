//! The study's Figure 2: a grid with one row per pooled model (by sparsity) and, for each shown
//! image (titled with its class), the image with the model's predicted class (green when right,
//! red when wrong) followed by every method's map overlaid; the object mask that RMA/RRA score
//! against is outlined on every picture, and a colour bar reads the maps.

use image::RgbImage;
use image::imageops::{self, FilterType};

use crate::plot::{
    GridCell, PixelRect, Scene, colour_bar, colour_bar_width, draw_outline, font_size,
    heatmap_overlay, image_grid,
};

/// The mask outline: white (with a dark halo from [`draw_outline`]).
const OUTLINE: [u8; 3] = [255, 255, 255];

/// One row: a model.
pub struct GridRow {
    pub label: String,
    /// Predicted class name per shown image, and whether it is right (when the label is known).
    pub predicted: Vec<(String, Option<bool>)>,
    /// `maps[method][image]`: one relevance value per pixel (any scale; see [`display_scale`]).
    pub maps: Vec<Vec<Vec<f32>>>,
}

pub struct QualitativeGrid {
    /// The shown images, at the network's input size.
    pub images: Vec<RgbImage>,
    /// Column title of each image: its class when known.
    pub titles: Vec<String>,
    pub methods: Vec<String>,
    pub rows: Vec<GridRow>,
    /// Object pixels of each shown image (row-major at the image's size), outlined on its cells.
    pub masks: Vec<Option<Vec<bool>>>,
}

/// Relevance scaled for display: minimum to 0, the 99th percentile to 1 (clipped above), so a few
/// extreme pixels (common in gradient maps) do not wash out the rest, as captum's visualiser
/// clips outliers.
pub fn display_scale(map: &[f32]) -> Vec<f32> {
    let finite: Vec<f32> = map.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return vec![0.0; map.len()];
    }
    let min = finite.iter().copied().fold(f32::INFINITY, f32::min);
    let mut sorted: Vec<f32> = finite.iter().map(|v| v - min).collect();
    sorted.sort_by(f32::total_cmp);
    let top = sorted[((sorted.len() - 1) as f64 * 0.99).round() as usize];
    map.iter()
        .map(|v| {
            if !v.is_finite() || top <= 0.0 {
                0.0
            } else {
                ((v - min) / top).clamp(0.0, 1.0)
            }
        })
        .collect()
}

impl QualitativeGrid {
    /// The figure; `cell` is the side of each picture in pixels.
    pub fn render(&self, cell: u32) -> Scene {
        let upscale = |img: &RgbImage, index: usize| {
            let filter = if img.width() <= 64 {
                FilterType::Nearest
            } else {
                FilterType::Triangle
            };
            let mut out = imageops::resize(img, cell, cell, filter);
            if let Some(Some(mask)) = self.masks.get(index) {
                let thickness = (cell / 96).max(1);
                draw_outline(&mut out, mask, img.width() as usize, OUTLINE, thickness);
            }
            out
        };
        let mut columns = Vec::new();
        for index in 0..self.images.len() {
            columns.push(
                self.titles
                    .get(index)
                    .cloned()
                    .unwrap_or_else(|| format!("image {}", index + 1)),
            );
            columns.extend(self.methods.iter().cloned());
        }
        let cells: Vec<Vec<GridCell>> = self
            .rows
            .iter()
            .map(|row| {
                let mut line = Vec::new();
                for (index, image) in self.images.iter().enumerate() {
                    let (class, correct) = &row.predicted[index];
                    let color = match correct {
                        Some(true) => [0, 120, 40],
                        Some(false) => [190, 20, 20],
                        None => [40, 40, 40],
                    };
                    let mark = match correct {
                        Some(true) => " ✓",
                        Some(false) => " ✗",
                        None => "",
                    };
                    line.push(
                        GridCell::new(upscale(image, index))
                            .with_caption(format!("{class}{mark}"), color),
                    );
                    for method_maps in &row.maps {
                        let overlay =
                            heatmap_overlay(image, &display_scale(&method_maps[index]), 0.55);
                        line.push(GridCell::new(upscale(&overlay, index)));
                    }
                }
                line
            })
            .collect();
        let labels: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        let grid = image_grid(&cells, &labels, &columns, cell);
        with_colour_bar(grid, if cell >= 160 { 2 } else { 1 })
    }
}

/// `grid` with the maps' colour bar on its right.
fn with_colour_bar(grid: Scene, s: u32) -> Scene {
    let size = font_size(1) * if s == 2 { 1.15 } else { 1.0 };
    let labels = ["min", "p99 and above"];
    let title = "relevance (per map)";
    let bar_w = colour_bar_width(&labels, title, size);
    let (w, h) = (grid.width as i32, grid.height as i32);
    let mut out = Scene::new((w + bar_w + 6) as u32, h as u32);
    out.place(grid, 0, 0);
    let margin = 6 * s as i32;
    let top = (size.ceil() as i32) * 2 + 2 * margin;
    let rect = PixelRect::new(
        w,
        top,
        bar_w,
        (h - top - margin).max(8 * size.ceil() as i32),
    );
    colour_bar(&mut out, rect, &labels, title, size);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_scale_clips_outliers_and_handles_flat_maps() {
        let mut map: Vec<f32> = (0..200).map(|i| i as f32 / 200.0).collect();
        map[0] = 1000.0;
        let scaled = display_scale(&map);
        assert_eq!(scaled[0], 1.0);
        assert!(scaled[100] > 0.4 && scaled[100] < 0.6, "{}", scaled[100]);
        assert_eq!(display_scale(&[3.0; 4]), vec![0.0; 4]);
        assert_eq!(display_scale(&[f32::NAN, 1.0]), vec![0.0, 0.0]);
    }

    #[test]
    fn the_grid_has_a_cell_per_image_and_method_and_a_row_per_model() {
        let image = RgbImage::from_pixel(8, 8, image::Rgb([200, 10, 10]));
        let grid = QualitativeGrid {
            images: vec![image.clone(), image],
            titles: vec!["circle".into(), "star".into()],
            methods: vec!["gradcam".into(), "ig".into()],
            rows: (0..3)
                .map(|round| GridRow {
                    label: format!("round {round}"),
                    predicted: vec![("circle".into(), Some(true)), ("ring".into(), Some(false))],
                    maps: vec![vec![vec![0.5; 64]; 2]; 2],
                })
                .collect(),
            masks: vec![Some((0..64).map(|i| i % 8 > 3).collect()), None],
        };
        let scene = grid.render(64);
        // 6 columns and 3 rows of 64 px cells with 4 px gaps, plus labels, captions, the
        // colour bar and margins.
        assert!(scene.width > 6 * 64 + 5 * 4 && scene.width < 6 * 64 + 5 * 4 + 220);
        assert!(scene.height > 3 * 64 + 2 * 4 && scene.height < 3 * 64 + 2 * 4 + 100);
        assert!(
            scene.text_layout_problems().is_empty(),
            "{:?}",
            scene.text_layout_problems()
        );
        let texts: Vec<&str> = scene.text_boxes().iter().map(|t| t.0).collect();
        assert!(
            texts.contains(&"ring ✗") && texts.contains(&"circle ✓"),
            "{texts:?}"
        );
        assert!(texts.contains(&"p99 and above"), "{texts:?}");
        // The first image's mask edge (column 4 of 8, x = 32 of 64) is outlined in every cell
        // of it; the second image has none.
        let img = scene.to_png();
        let cells = scene.items.iter().filter_map(|i| match i {
            crate::plot::Item::Image { image, x, y } if image.width() == 64 => Some((*x, *y)),
            _ => None,
        });
        let firsts: Vec<(i32, i32)> = cells.collect();
        let (x, y) = firsts[0];
        assert_eq!(img.get_pixel((x + 32) as u32, (y + 16) as u32).0, OUTLINE);
        let (x2, y2) = firsts[3];
        assert_ne!(img.get_pixel((x2 + 32) as u32, (y2 + 16) as u32).0, OUTLINE);
    }
}
