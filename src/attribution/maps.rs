//! Attribution maps of a batch of images, on the host.

use anyhow::ensure;

/// Row-major `[count, channels, height, width]` maps: `channels` is 1 for maps over pixels
/// (GradCAM, attention) and 3 for maps over input values (Guided Backprop, IG).
#[derive(Clone, Debug, PartialEq)]
pub struct Maps {
    pub count: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Maps {
    pub fn new(
        count: usize,
        channels: usize,
        height: usize,
        width: usize,
        data: Vec<f32>,
    ) -> anyhow::Result<Self> {
        ensure!(
            data.len() == count * channels * height * width,
            "{} values do not make {count} maps of {channels}x{height}x{width}",
            data.len()
        );
        Ok(Self {
            count,
            channels,
            height,
            width,
            data,
        })
    }

    /// Values per image.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The map of image `index`, `[channels, height, width]`.
    pub fn image(&self, index: usize) -> &[f32] {
        let len = self.image_len();
        &self.data[index * len..(index + 1) * len]
    }

    /// Appends another batch of the same per-image shape.
    pub fn append(&mut self, other: Maps) -> anyhow::Result<()> {
        ensure!(
            (other.channels, other.height, other.width) == (self.channels, self.height, self.width),
            "cannot append {}x{}x{} maps to {}x{}x{} maps",
            other.channels,
            other.height,
            other.width,
            self.channels,
            self.height,
            self.width
        );
        self.count += other.count;
        self.data.extend(other.data);
        Ok(())
    }

    /// The NPY shape: `(N, H, W)` for one channel, `(N, C, H, W)` otherwise.
    pub fn npy_shape(&self) -> Vec<usize> {
        if self.channels == 1 {
            vec![self.count, self.height, self.width]
        } else {
            vec![self.count, self.channels, self.height, self.width]
        }
    }
}
