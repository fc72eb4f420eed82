//! A contact sheet: a PNG grid of samples, for a human to eyeball a dataset.

use std::path::Path;

use anyhow::{Context, ensure};

use super::Dataset;

/// Write a PNG grid of the first `n` samples of `ds` to `path`.
///
/// Each cell shows the sample twice, side by side: as is, and with the mask outline (green)
/// or, when there is no mask, the boxes (red). Images of any size are shown at 2x when small
/// (< 96 px) so textures are visible. Samples of different sizes are placed in cells of the
/// largest size.
pub fn contact_sheet(ds: &dyn Dataset, n: usize, path: &Path) -> anyhow::Result<()> {
    let n = n.min(ds.len());
    ensure!(n > 0, "contact_sheet: no samples to show");
    let samples = (0..n)
        .map(|i| ds.get(i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let max_side = samples
        .iter()
        .map(|s| s.image.width.max(s.image.height))
        .max()
        .unwrap_or(1);
    let zoom = if max_side < 96 { 2 } else { 1 };
    let cell = max_side * zoom;
    let gap = 4;
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let (width, height) = (cols * (2 * cell + 3 * gap), rows * (cell + 2 * gap));
    let mut sheet =
        image::RgbImage::from_pixel(width as u32, height as u32, image::Rgb([40, 40, 40]));

    for (k, s) in samples.iter().enumerate() {
        let ox = (k % cols) * (2 * cell + 3 * gap) + gap;
        let oy = (k / cols) * (cell + 2 * gap) + gap;
        let rgb = s.image.to_rgb8();
        let (w, h) = (s.image.width, s.image.height);
        let outline = |x: usize, y: usize| -> Option<image::Rgb<u8>> {
            if let Some(mask) = &s.mask {
                let m = |x: isize, y: isize| {
                    x >= 0
                        && y >= 0
                        && (x as usize) < w
                        && (y as usize) < h
                        && mask[y as usize * w + x as usize] != 0
                };
                let (xi, yi) = (x as isize, y as isize);
                let edge = m(xi, yi)
                    && !(m(xi - 1, yi) && m(xi + 1, yi) && m(xi, yi - 1) && m(xi, yi + 1));
                return edge.then_some(image::Rgb([0, 255, 0]));
            }
            let on_box = s.boxes.iter().any(|b| {
                let (fx, fy) = (x as f32, y as f32);
                let inside = fx >= b[0] && fx < b[2] && fy >= b[1] && fy < b[3];
                inside
                    && (fx < b[0] + 1.0 || fx >= b[2] - 1.0 || fy < b[1] + 1.0 || fy >= b[3] - 1.0)
            });
            on_box.then_some(image::Rgb([255, 0, 0]))
        };
        for y in 0..h * zoom {
            for x in 0..w * zoom {
                let (sx, sy) = (x / zoom, y / zoom);
                let p = *rgb.get_pixel(sx as u32, sy as u32);
                sheet.put_pixel((ox + x) as u32, (oy + y) as u32, p);
                let marked = outline(sx, sy).unwrap_or(p);
                sheet.put_pixel((ox + cell + gap + x) as u32, (oy + y) as u32, marked);
            }
        }
    }
    sheet
        .save(path)
        .with_context(|| format!("writing contact sheet {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ShapesConfig, ShapesDataset};

    #[test]
    fn writes_a_png_grid() {
        let ds = ShapesDataset::new(ShapesConfig {
            image_size: 16,
            len: 5,
            ..ShapesConfig::default()
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sheet.png");
        contact_sheet(&ds, 9, &path).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        // 5 samples -> 3 columns x 2 rows of (2 * 32 + 12) x (32 + 8) cells.
        assert_eq!((img.width(), img.height()), (3 * 76, 2 * 40));
        assert!(img.pixels().any(|p| *p == image::Rgb([0, 255, 0])));
    }

    /// For humans: `PVR_SHEET=/tmp/shapes_sheet.png cargo test --release -- --ignored sheet_for_humans`.
    #[test]
    #[ignore]
    fn sheet_for_humans() {
        let path = std::env::var("PVR_SHEET").unwrap_or_else(|_| "/tmp/shapes_sheet.png".into());
        let size = std::env::var("PVR_SHEET_SIZE").map_or(64, |s| s.parse().unwrap());
        let ds = ShapesDataset::new(ShapesConfig {
            image_size: size,
            len: 40,
            ..ShapesConfig::default()
        })
        .unwrap();
        contact_sheet(&ds, 40, Path::new(&path)).unwrap();
    }
}
