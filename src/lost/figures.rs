//! The LOST report's figures: CorLoc against sparsity (the study's Figure 5) and a grid of
//! example boxes, predicted against ground truth, at a few sparsities.

use image::RgbImage;
use image::imageops::{self, FilterType};

use super::summary::CorLocSummary;
use super::table::LostRow;
use crate::data::Dataset;
use crate::plot::{
    Anchor, Axes, Band, Figure, GridCell, PixelRect, Scene, SecondaryAxis, Series, TickFormat,
    draw_box, font_size, image_grid, text_box,
};

/// Ground-truth boxes in the examples (bluish green) and LOST's (vermillion), from the palette.
pub const TRUTH_COLOR: [u8; 3] = [0, 158, 115];
pub const PREDICTED_COLOR: [u8; 3] = [213, 94, 0];

/// CorLoc with its bootstrap band against measured sparsity, top-1 on the right axis, the dense
/// model's CorLoc as the reference line, chance as a dashed line (sweet spots are the verdict's).
pub fn corloc_figure(experiment: &str, dataset: &str, rows: &[CorLocSummary]) -> Figure {
    let corloc = Series::new("CorLoc", rows.iter().map(|r| (r.sparsity, r.corloc)));
    let band = Band::new(
        "CorLoc",
        rows.iter()
            .map(|r| (r.sparsity, r.corloc_ci.low, r.corloc_ci.high)),
    );
    let chance = Series::new(
        "chance (random patch box)",
        rows.iter().map(|r| (r.sparsity, r.chance)),
    )
    .with_markers(false)
    .with_color([204, 121, 167])
    .dashed();
    let top1 = Series::new("top-1", rows.iter().map(|r| (r.sparsity, r.top1)))
        .with_color([0, 0, 0])
        .dashed();
    let mut axes = Axes::new(
        format!("{experiment}: LOST CorLoc, {dataset}"),
        "sparsity (share of prunable weights removed)",
        "CorLoc (95% bootstrap band)",
    )
    .with_series(corloc)
    .with_band(band)
    .with_series(chance)
    .with_x_format(TickFormat::Percent)
    .with_y_format(TickFormat::Percent)
    .with_secondary(
        SecondaryAxis::new("validation top-1")
            .with_series(top1)
            .with_y_format(TickFormat::Percent),
    );
    if let Some(dense) = rows.iter().find(|r| r.round == 0) {
        axes = axes.with_reference_line(dense.corloc, "dense CorLoc");
    }
    Figure::single(axes)
}

/// At most four pool members to show: the dense model, the sparsest, and two evenly between.
pub fn example_rounds(rounds: &[usize]) -> Vec<usize> {
    if rounds.len() <= 4 {
        return rounds.to_vec();
    }
    let last = rounds.len() - 1;
    let mut picked: Vec<usize> = [0, last / 3, 2 * last / 3, last]
        .iter()
        .map(|&i| rounds[i])
        .collect();
    picked.dedup();
    picked
}

/// Side of the example cells, in pixels.
const CELL: u32 = 192;

/// `image` scaled so its longer side is [`CELL`] pixels (nearest neighbour when enlarging, so
/// small renders stay crisp), with its boxes scaled alike: the truth, then the prediction.
fn annotated(image: &RgbImage, truth: &[[f32; 4]], predicted: Option<[f32; 4]>) -> RgbImage {
    let (w, h) = image.dimensions();
    let scale = CELL as f32 / w.max(h) as f32;
    let (nw, nh) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    let filter = if scale >= 1.0 {
        FilterType::Nearest
    } else {
        FilterType::Triangle
    };
    let mut out = imageops::resize(image, nw, nh, filter);
    let scaled = |b: [f32; 4]| b.map(|v| v * scale);
    for &b in truth {
        draw_box(&mut out, scaled(b), TRUTH_COLOR, 3);
    }
    if let Some(b) = predicted {
        draw_box(&mut out, scaled(b), PREDICTED_COLOR, 2);
    }
    out
}

/// Caption colours: a correct localisation (IoU >= 0.5) and a miss.
const HIT_COLOR: [u8; 3] = [0, 120, 40];
const MISS_COLOR: [u8; 3] = [190, 20, 20];

/// The caption under an example: LOST's best IoU with the ground truth, ✓ from 0.5 up.
fn iou_caption(row: Option<&LostRow>) -> (String, [u8; 3]) {
    match row {
        Some(r) if r.predicted.is_some() => {
            let (mark, color) = if r.correct {
                ("✓", HIT_COLOR)
            } else {
                ("✗", MISS_COLOR)
            };
            (format!("IoU {:.2} {mark}", r.best_iou), color)
        }
        Some(_) => ("no box".into(), MISS_COLOR),
        None => ("not run".into(), [90, 90, 90]),
    }
}

/// Rows: the first `count` LOST images; columns: the given pool members (`(round, sparsity,
/// rows)`), each cell the image with its ground truth (green) and LOST's box (vermillion) and
/// the IoU under it; a legend of the box colours on top.
pub fn examples_figure(
    dataset: &dyn Dataset,
    ids: &[String],
    models: &[(usize, f64, &[LostRow])],
    count: usize,
) -> anyhow::Result<Scene> {
    let count = count.min(ids.len());
    let mut cells = Vec::with_capacity(count);
    for index in 0..count {
        let sample = dataset.get(index)?;
        let rgb = sample.image.to_rgb8();
        cells.push(
            models
                .iter()
                .map(|(_, _, rows)| {
                    let row = rows.iter().find(|r| r.image as usize == index);
                    let image = annotated(&rgb, &sample.boxes, row.and_then(|r| r.predicted));
                    let (caption, color) = iou_caption(row);
                    GridCell::new(image).with_caption(caption, color)
                })
                .collect(),
        );
    }
    let columns: Vec<String> = models
        .iter()
        .map(|(round, sparsity, _)| format!("round {round}: {:.0}% sparse", 100.0 * sparsity))
        .collect();
    let row_labels: Vec<String> = ids[..count].to_vec();
    Ok(with_box_legend(image_grid(
        &cells,
        &row_labels,
        &columns,
        CELL,
    )))
}

/// `grid` under a one-line legend: the two box colours and what the IoU means.
fn with_box_legend(grid: Scene) -> Scene {
    let size = font_size(1) * 1.15;
    let th = size.ceil() as i32;
    let (margin, swatch, gap) = (12, 2 * th, 8);
    let entries = [
        (TRUTH_COLOR, "ground truth", 3),
        (PREDICTED_COLOR, "LOST box", 2),
    ];
    let note = "IoU: LOST box vs. best ground truth (✓ from 0.5)";
    let widths: i32 = entries
        .iter()
        .map(|e| swatch + gap + text_box(e.1, size).0 + 3 * gap)
        .sum::<i32>()
        + text_box(note, size).0;
    let width = (grid.width as i32).max(widths + 2 * margin);
    let band = th + 2 * margin;
    let mut out = Scene::new(width as u32, grid.height + band as u32);
    let mut x = (width - widths) / 2;
    let y = margin;
    for (color, label, thickness) in entries {
        let rect = PixelRect::new(x, y + 2, swatch, th - 4);
        out.stroke_rect(rect, color, thickness);
        x += swatch + gap;
        x = out
            .text(label, (x, y), Anchor::TopLeft, size, [25, 25, 25])
            .x1
            + 3 * gap;
    }
    out.text(note, (x, y), Anchor::TopLeft, size, [60, 60, 60]);
    out.place(grid, 0, band);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_dense_sparsest_and_two_between() {
        assert_eq!(example_rounds(&[0, 1, 2]), vec![0, 1, 2]);
        assert_eq!(example_rounds(&[0, 1, 2, 3, 4, 5, 6]), vec![0, 2, 4, 6]);
        assert_eq!(example_rounds(&[0, 1, 2, 3, 4, 5]), vec![0, 1, 3, 5]);
    }

    #[test]
    fn boxes_are_drawn_where_they_belong() {
        let image = RgbImage::from_pixel(32, 16, image::Rgb([255, 255, 255]));
        let out = annotated(
            &image,
            &[[0.0, 0.0, 16.0, 16.0]],
            Some([16.0, 8.0, 32.0, 16.0]),
        );
        assert_eq!(out.dimensions(), (192, 96));
        // Scale 6: the truth's left edge at x = 0, the prediction's top edge at y = 48.
        assert_eq!(out.get_pixel(0, 40).0, TRUTH_COLOR);
        assert_eq!(out.get_pixel(150, 48).0, PREDICTED_COLOR);
        assert_eq!(out.get_pixel(150, 20).0, [255, 255, 255]);
    }
}
