//! LOST step 6: from grid cells to a pixel box on the image.

use serde::{Deserialize, Serialize};

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
}
