//! LOST step 6: from grid cells to a pixel box on the image.

use serde::{Deserialize, Serialize};

use crate::metrics::corloc::localised;

/// A box on the patch grid: columns `x0..x1`, rows `y0..y1`, ends exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellBox {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl CellBox {
    /// Pixel box `[x0, y0, x1, y1]` (ends exclusive) of the cells on an image whose patches are
    /// `stride` pixels wide, clipped to the `width x height` image before zero padding: a box
    /// reaching into the padding stops at the image border.
    pub fn to_pixels(&self, stride: usize, width: usize, height: usize) -> [f32; 4] {
        let clip = |v: usize, limit: usize| (v * stride).min(limit) as f32;
        [
            clip(self.x0, width),
            clip(self.y0, height),
            clip(self.x1, width),
            clip(self.y1, height),
        ]
    }

    /// Number of cells covered.
    pub fn area(&self) -> usize {
        (self.x1 - self.x0) * (self.y1 - self.y0)
    }
}

/// Chance CorLoc of one image: the probability that a box drawn uniformly among every box LOST
/// can output on a `(rows, columns)` grid of `stride`-pixel patches (any rectangle of whole
/// cells, clipped to the `width x height` image) localises the object. Averaged over images it
/// is the score of a localiser that ignores the image, which a real one must beat.
pub fn grid_chance(
    truth: &[[f32; 4]],
    grid: (usize, usize),
    stride: usize,
    width: usize,
    height: usize,
) -> f64 {
    let (rows, columns) = grid;
    let (mut hits, mut total) = (0u64, 0u64);
    for y0 in 0..rows {
        for y1 in y0 + 1..=rows {
            for x0 in 0..columns {
                for x1 in x0 + 1..=columns {
                    let cells = CellBox { x0, y0, x1, y1 };
                    total += 1;
                    hits += u64::from(localised(cells.to_pixels(stride, width, height), truth));
                }
            }
        }
    }
    if total == 0 {
        0.0
    } else {
        hits as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_by_the_stride_and_clips_to_the_unpadded_image() {
        let cells = CellBox {
            x0: 1,
            y0: 0,
            x1: 4,
            y1: 2,
        };
        assert_eq!(cells.to_pixels(16, 100, 100), [16.0, 0.0, 64.0, 32.0]);
        // A 60 x 30 image padded to 64 x 32: the last column and row end at the image border.
        assert_eq!(cells.to_pixels(16, 60, 30), [16.0, 0.0, 60.0, 30.0]);
        assert_eq!(cells.area(), 6);
    }

    #[test]
    fn chance_on_a_tiny_grid_by_hand() {
        // A 2 x 2 grid of 10-px cells has 9 boxes: 4 single cells, 4 two-cell strips, the whole
        // image. Object = the top-left cell: IoU 1 with that cell, 0.5 with the two strips
        // through it, 0.25 with the whole image, 0 with the other cells.
        let chance = grid_chance(&[[0.0, 0.0, 10.0, 10.0]], (2, 2), 10, 20, 20);
        assert!((chance - 3.0 / 9.0).abs() < 1e-12, "{chance}");
        // An object filling the image: IoU 1 with the whole image, 0.5 with the four two-cell
        // strips, 0.25 with the single cells.
        let chance = grid_chance(&[[0.0, 0.0, 20.0, 20.0]], (2, 2), 10, 20, 20);
        assert!((chance - 5.0 / 9.0).abs() < 1e-12, "{chance}");
    }
}
