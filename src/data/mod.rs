//! Datasets as plain f32 buffers: the embedded procedural `shapes` dataset, an ImageFolder
//! reader for real data, augmentation, and a deterministic RNG.
//!
//! Nothing here knows about tensors: the trainer turns [`ImageF32`] buffers (CHW, RGB, [0,1])
//! into tensors with [`augment::batch_to_nchw`]. Keeping this layer pure Rust makes it fast to
//! test and lets the procedural renderer be reused for the cue-conflict / silhouette / edge /
//! stylized variants without touching the model code.

pub mod augment;
pub mod decode;
pub mod fingerprint;
pub mod imagefolder;
pub mod imagenet;
pub mod imagenet_val;
pub mod jpeg;
pub mod listing;
pub mod mat5;
pub mod open;
pub mod resized_crop;
pub mod rng;
pub mod root;
pub mod shapes;
pub mod sheet;
pub mod voc_boxes;
pub mod voc_classes;
pub mod voc_segmentation;

pub use augment::{
    IMAGENET_MEAN, IMAGENET_STD, batch_to_nchw, horizontal_flip, normalize,
    random_crop_with_padding, random_horizontal_flip, resize_bilinear,
};
pub use imagefolder::ImageFolder;
pub use rng::Rng;
pub use shapes::{
    Distractor, GENERATOR_VERSION, HELD_OUT_TEXTURES, SHAPE_CLASSES, SceneSpec, ShapesConfig,
    ShapesDataset, TextureId, render_scene, render_texture, shape_mask,
};
pub use sheet::contact_sheet;

/// A CHW float image, RGB, values in [0,1].
#[derive(Clone, Debug, PartialEq)]
pub struct ImageF32 {
    pub width: usize,
    pub height: usize,
    /// Channel-major: all of R (row-major), then G, then B. Length `3 * height * width`.
    pub data: Vec<f32>,
}

impl ImageF32 {
    /// A black image.
    pub fn zeros(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            data: vec![0.0; 3 * width * height],
        }
    }

    /// Number of pixels per channel.
    pub fn plane_len(&self) -> usize {
        self.width * self.height
    }

    /// The RGB value at (x, y).
    #[inline]
    pub fn pixel(&self, x: usize, y: usize) -> [f32; 3] {
        let plane = self.plane_len();
        let i = y * self.width + x;
        [self.data[i], self.data[plane + i], self.data[2 * plane + i]]
    }

    /// Set the RGB value at (x, y).
    #[inline]
    pub fn set_pixel(&mut self, x: usize, y: usize, rgb: [f32; 3]) {
        let plane = self.plane_len();
        let i = y * self.width + x;
        self.data[i] = rgb[0];
        self.data[plane + i] = rgb[1];
        self.data[2 * plane + i] = rgb[2];
    }

    /// From an 8-bit RGB image (values / 255).
    pub fn from_rgb8(img: &image::RgbImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        // One division per possible byte instead of one per sample: same values, and the
        // loop below is a plain de-interleave (it runs on every training image).
        let table: [f32; 256] = std::array::from_fn(|v| v as f32 / 255.0);
        let mut data = vec![0.0; 3 * w * h];
        let (red, rest) = data.split_at_mut(w * h);
        let (green, blue) = rest.split_at_mut(w * h);
        for (((rgb, r), g), b) in img.as_raw().chunks_exact(3).zip(red).zip(green).zip(blue) {
            *r = table[rgb[0] as usize];
            *g = table[rgb[1] as usize];
            *b = table[rgb[2] as usize];
        }
        Self {
            width: w,
            height: h,
            data,
        }
    }

    /// To an 8-bit RGB image, clamping to [0,1] and rounding.
    pub fn to_rgb8(&self) -> image::RgbImage {
        let to_u8 = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        image::RgbImage::from_fn(self.width as u32, self.height as u32, |x, y| {
            let p = self.pixel(x as usize, y as usize);
            image::Rgb([to_u8(p[0]), to_u8(p[1]), to_u8(p[2])])
        })
    }
}

/// One training/evaluation example.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub image: ImageF32,
    pub label: usize,
    /// `height * width`, 1 = object, 0 = background (None for ImageFolder).
    pub mask: Option<Vec<u8>>,
    /// Pixel boxes `[x0, y0, x1, y1]`, x1/y1 exclusive; empty when unknown.
    pub boxes: Vec<[f32; 4]>,
}

/// A decoded picture and its label (see [`Dataset::get_uncropped_rgb8`]).
pub struct RgbSample {
    pub image: image::RgbImage,
    pub label: usize,
}

/// A random-access, thread-safe collection of samples.
pub trait Dataset: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn get(&self, index: usize) -> anyhow::Result<Sample>;
    /// Sample `index` with the whole picture, before evaluation-time resizing and cropping,
    /// and the side of the network's input: training-time crops (RandomResizedCrop) start
    /// from it. By default the sample of [`Dataset::get`], already at the network's size.
    fn get_uncropped(&self, index: usize) -> anyhow::Result<(Sample, usize)> {
        let sample = self.get(index)?;
        let side = sample.image.width.max(sample.image.height);
        Ok((sample, side))
    }
    /// [`Dataset::get_uncropped`] with the picture as decoded, 8 bits per channel, where the
    /// dataset has it so (files on disk): training crops then convert only their window to
    /// floats. `None`: use [`Dataset::get_uncropped`].
    fn get_uncropped_rgb8(&self, index: usize) -> anyhow::Result<Option<(RgbSample, usize)>> {
        let _ = index;
        Ok(None)
    }
    fn num_classes(&self) -> usize;
    fn class_names(&self) -> Vec<String>;
    /// Image `index`'s id in every per-image table (`docs/tables.md`): `<split>/<index:06>`
    /// for generated data, the file's path under the dataset root for files on disk
    /// (`val/n01440764/ILSVRC2012_val_00000293.JPEG`), the VOC id for VOC.
    fn image_id(&self, index: usize) -> String {
        format!("{index:06}")
    }
    /// Stable content fingerprint (hex blake3) of what this dataset yields: generator version +
    /// config for shapes; relative file paths and their bytes (+ preprocessing params) for
    /// ImageFolder. No absolute paths, so caches survive moving the data.
    fn fingerprint(&self) -> String;

    /// Files left out because they cannot be decoded, each with why (`data.on_bad_image`).
    fn skipped(&self) -> &[String] {
        &[]
    }
}

/// A file name as text; pvr records dataset paths in keys, tables and messages, so a name that
/// is not UTF-8 is an error naming its folder rather than a silently mangled path.
pub fn utf8_name(name: std::ffi::OsString, dir: &std::path::Path) -> anyhow::Result<String> {
    name.into_string().map_err(|raw| {
        anyhow::anyhow!(
            "{}: the name {raw:?} is not valid UTF-8; rename it (pvr records dataset paths as text)",
            dir.display()
        )
    })
}

/// Which part of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
}

impl Split {
    /// The folder / key name: "train" or "val".
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tight pixel box `[x0, y0, x1, y1]` (x1/y1 exclusive) around the nonzero entries of a
/// `width`-wide mask, or None when the mask is empty.
pub fn mask_bbox(mask: &[u8], width: usize) -> Option<[f32; 4]> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m != 0) {
        let (x, y) = (i % width, i / width);
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x + 1);
        y1 = y1.max(y + 1);
    }
    (x0 != usize::MAX).then_some([x0 as f32, y0 as f32, x1 as f32, y1 as f32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb8_roundtrip_and_layout() {
        let mut img = ImageF32::zeros(3, 2);
        img.set_pixel(2, 1, [1.0, 0.5, 0.0]);
        // CHW: R plane first, then G, then B.
        assert_eq!(img.data[5], 1.0);
        assert_eq!(img.data[6 + 5], 0.5);
        let back = ImageF32::from_rgb8(&img.to_rgb8());
        assert_eq!(back.pixel(2, 1), [1.0, 128.0 / 255.0, 0.0]);
        assert_eq!(back.pixel(0, 0), [0.0; 3]);
    }

    #[test]
    fn bbox_of_mask() {
        #[rustfmt::skip]
        let mask = [
            0, 0, 0, 0,
            0, 1, 1, 0,
            0, 0, 1, 0,
        ];
        assert_eq!(mask_bbox(&mask, 4), Some([1.0, 1.0, 3.0, 3.0]));
        assert_eq!(mask_bbox(&[0; 6], 3), None);
    }

    #[test]
    fn split_serde_lowercase() {
        assert_eq!(serde_json::to_string(&Split::Val).unwrap(), "\"val\"");
        let s: Split = serde_json::from_str("\"train\"").unwrap();
        assert_eq!(s, Split::Train);
    }
}
