//! The study's Figure 2: a grid with one row per pooled model (by sparsity) and, for each shown
//! image (titled with its class), the image with the model's predicted class (green when right,
//! red when wrong) followed by every method's map overlaid.

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

use crate::plot::{draw_text, heatmap_overlay, image_grid, text_height, text_width};

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
    pub fn render(&self, cell: u32) -> RgbImage {
        let upscale = |img: &RgbImage| {
            let filter = if img.width() <= 64 {
                FilterType::Nearest
            } else {
                FilterType::Triangle
            };
            imageops::resize(img, cell, cell, filter)
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
        let cells: Vec<Vec<RgbImage>> = self
            .rows
            .iter()
            .map(|row| {
                let mut line = Vec::new();
                for (index, image) in self.images.iter().enumerate() {
                    let mut shown = upscale(image);
                    let (class, correct) = &row.predicted[index];
                    caption(&mut shown, class, *correct);
                    line.push(shown);
                    for method_maps in &row.maps {
                        let overlay =
                            heatmap_overlay(image, &display_scale(&method_maps[index]), 0.55);
                        line.push(upscale(&overlay));
                    }
                }
                line
            })
            .collect();
        let labels: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        image_grid(&cells, &labels, &columns, cell)
    }
}

/// Writes the predicted class on a white band along the bottom of `img`: green when right, red
/// when wrong, grey when the image has no label.
fn caption(img: &mut RgbImage, text: &str, correct: Option<bool>) {
    let color = match correct {
        Some(true) => [0, 120, 40],
        Some(false) => [190, 20, 20],
        None => [40, 40, 40],
    };
    let scale = 1;
    let band = text_height(scale) + 4;
    let (w, h) = img.dimensions();
    if h <= band {
        return;
    }
    for y in h - band..h {
        for x in 0..w {
            img.put_pixel(x, y, Rgb([255, 255, 255]));
        }
    }
    let max_chars = (w / text_width("m", scale).max(1)) as usize;
    let text: String = text.chars().take(max_chars).collect();
    let x = (w.saturating_sub(text_width(&text, scale)) / 2) as i32;
    draw_text(img, x, (h - band + 2) as i32, &text, scale, color);
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
        let image = RgbImage::from_pixel(8, 8, Rgb([200, 10, 10]));
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
        };
        let out = grid.render(40);
        // 6 columns and 3 rows of 40 px cells with 4 px gaps, plus labels and margins.
        assert!(out.width() > 6 * 40 + 5 * 4 && out.width() < 6 * 40 + 5 * 4 + 120);
        assert!(out.height() > 3 * 40 + 2 * 4 && out.height() < 3 * 40 + 2 * 4 + 60);
    }
}
