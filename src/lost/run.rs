//! LOST on real images through a [`Network`]: normalise, optionally resize, zero-pad to the
//! patch stride, take the patch features, then run the algorithm per image and map its box
//! back onto the original image.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use burn::tensor::{Device, Tensor, TensorData};

use super::{Discovery, discover, similarity_batch};
use crate::data::ImageF32;
use crate::data::augment::{IMAGENET_MEAN, IMAGENET_STD, normalize, resize_bilinear};
use crate::models::{Network, PatchOptions};

/// How LOST runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostSettings {
    /// Candidate patches for the seed expansion.
    pub k: usize,
    pub patch: PatchOptions,
    /// Square side every image is resized to first; None keeps images at their own size
    /// (except for networks with a fixed input size, see [`Network::fixed_input_size`]).
    pub resize: Option<usize>,
    /// Images per forward pass (only images of one padded size share a batch).
    pub batch_size: usize,
}

/// One image ready for the network.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Normalised, resized when asked, and zero-padded at the right and bottom to a multiple
    /// of the stride.
    pub image: ImageF32,
    /// Size before padding (after the resize).
    pub content: (usize, usize),
    /// Size of the original image.
    pub original: (usize, usize),
}

/// Normalises with the ImageNet statistics (as the models were trained), resizes to
/// `resize x resize` when given, and pads with zeros to a multiple of `stride`. Padding comes
/// after normalisation, as in LOST, so it is zero (the mean colour) in the network's input.
pub fn prepare(image: &ImageF32, resize: Option<usize>, stride: usize) -> Prepared {
    let original = (image.width, image.height);
    let mut content = match resize {
        Some(side) => resize_bilinear(image, side, side),
        None => image.clone(),
    };
    normalize(&mut content, IMAGENET_MEAN, IMAGENET_STD);
    let (w, h) = (content.width, content.height);
    let (pw, ph) = (w.div_ceil(stride) * stride, h.div_ceil(stride) * stride);
    let padded = if (pw, ph) == (w, h) {
        content
    } else {
        let mut out = ImageF32::zeros(pw, ph);
        for c in 0..3 {
            for y in 0..h {
                let src = &content.data[(c * h + y) * w..][..w];
                out.data[(c * ph + y) * pw..][..w].copy_from_slice(src);
            }
        }
        out
    };
    Prepared {
        image: padded,
        content: (w, h),
        original,
    }
}

/// LOST's result on one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub discovery: Discovery,
    /// (rows, columns) of the patch grid.
    pub grid: (usize, usize),
    /// Pixels per patch in the network's input.
    pub stride: usize,
    /// Size of the network's input before padding (the original size unless resized).
    pub content: (usize, usize),
    /// The predicted box on the original image, `[x0, y0, x1, y1]` with exclusive ends; None
    /// when LOST found no object (see [`Discovery::cells`]).
    pub predicted: Option<[f32; 4]>,
}

/// Where the time went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// Preprocessing, the forward pass and the similarity matrices (on the device).
    pub network: Duration,
    /// Degrees, seed, expansion, component and box (on the host).
    pub algorithm: Duration,
}

/// Runs LOST on every image, in order. Consecutive images of one padded size share a batch.
pub fn discover_images(
    network: &Network,
    device: &Device,
    images: &[ImageF32],
    settings: &LostSettings,
    timing: &mut Timing,
) -> anyhow::Result<Vec<Found>> {
    ensure!(
        !settings.patch.dilate_last_stage || network.can_dilate_last_stage(),
        "lost.dilate: this network has no strided last stage to dilate (only CNNs do)"
    );
    let resize = input_side(network, settings.resize)?;
    let stride = network.patch_stride(settings.patch);
    let mut found = Vec::with_capacity(images.len());
    let mut start = 0;
    while start < images.len() {
        let started = Instant::now();
        let first = prepare(&images[start], resize, stride);
        let size = (first.image.width, first.image.height);
        let mut batch = vec![first];
        while batch.len() < settings.batch_size.max(1) && start + batch.len() < images.len() {
            let next = prepare(&images[start + batch.len()], resize, stride);
            if (next.image.width, next.image.height) != size {
                break;
            }
            batch.push(next);
        }
        let mut pixels = Vec::with_capacity(batch.len() * batch[0].image.data.len());
        for prepared in &batch {
            pixels.extend_from_slice(&prepared.image.data);
        }
        let input = Tensor::<4>::from_data(
            TensorData::new(pixels, [batch.len(), 3, size.1, size.0]),
            device,
        );
        let patches = network.patch_features_with(input, settings.patch);
        ensure!(
            patches.stride == stride && patches.grid == (size.1 / stride, size.0 / stride),
            "{size:?} px images gave a {:?} patch grid of stride {}, not whole {stride} px patches",
            patches.grid,
            patches.stride
        );
        let grid = patches.grid;
        let similarities = similarity_batch(patches.features)?;
        timing.network += started.elapsed();

        let started = Instant::now();
        for (prepared, similarity) in batch.iter().zip(&similarities) {
            let discovery = discover(similarity, grid, settings.k)
                .ok_or_else(|| anyhow::anyhow!("an image of {size:?} px gave no patches"))?;
            let predicted = discovery.cells.map(|cells| {
                to_original(
                    cells.to_pixels(patches.stride, prepared.content.0, prepared.content.1),
                    prepared,
                )
            });
            found.push(Found {
                discovery,
                grid,
                stride: patches.stride,
                content: prepared.content,
                predicted,
            });
        }
        timing.algorithm += started.elapsed();
        start += batch.len();
    }
    Ok(found)
}

/// The side images are resized to: `resize`, or the network's own input size when it accepts
/// only one (a ViT's position embedding is sized for it; LOST's ViT code interpolates it instead,
/// which pvr's ViT does not do).
fn input_side(network: &Network, resize: Option<usize>) -> anyhow::Result<Option<usize>> {
    match (network.fixed_input_size(), resize) {
        (Some(side), Some(asked)) if asked != side => bail!(
            "lost.resize = {asked}: this network takes {side} x {side} px images only (its position embedding is sized for them)"
        ),
        (Some(side), _) => Ok(Some(side)),
        (None, asked) => Ok(asked),
    }
}

/// A box on the (possibly resized) network input, on the original image.
fn to_original(b: [f32; 4], prepared: &Prepared) -> [f32; 4] {
    let sx = prepared.original.0 as f32 / prepared.content.0 as f32;
    let sy = prepared.original.1 as f32 / prepared.content.1 as f32;
    [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: usize, h: usize) -> ImageF32 {
        let mut img = ImageF32::zeros(w, h);
        for (i, v) in img.data.iter_mut().enumerate() {
            *v = (i % 7) as f32 / 7.0;
        }
        img
    }

    #[test]
    fn pads_normalised_images_with_zeros_to_the_stride() {
        let p = prepare(&image(10, 7), None, 4);
        assert_eq!((p.image.width, p.image.height), (12, 8));
        assert_eq!((p.content, p.original), ((10, 7), (10, 7)));
        let mut expected = image(10, 7);
        normalize(&mut expected, IMAGENET_MEAN, IMAGENET_STD);
        for c in 0..3 {
            for y in 0..8 {
                for x in 0..12 {
                    let got = p.image.data[(c * 8 + y) * 12 + x];
                    let want = if x < 10 && y < 7 {
                        expected.data[(c * 7 + y) * 10 + x]
                    } else {
                        0.0
                    };
                    assert_eq!(got, want, "({c},{x},{y})");
                }
            }
        }
        // Already a multiple: untouched size.
        assert_eq!(prepare(&image(8, 8), None, 4).image.width, 8);
    }

    fn vit() -> Network {
        crate::models::NetworkConfig {
            arch: crate::models::Architecture::Vit(crate::models::VitShape::SMALL),
            width: 16,
            stem: crate::models::Stem::Small,
            num_classes: 3,
        }
        .init(&crate::backend::DeviceChoice::Cpu.device(), 4)
    }

    #[test]
    fn a_vit_sees_every_image_at_its_own_input_size() {
        let device = crate::backend::DeviceChoice::Cpu.device();
        let settings = LostSettings {
            k: 100,
            patch: PatchOptions::default(),
            resize: None,
            batch_size: 4,
        };
        let images = [image(48, 40), image(20, 36)];
        let mut timing = Timing::default();
        let found = discover_images(&vit(), &device, &images, &settings, &mut timing).unwrap();
        for (found, img) in found.iter().zip(&images) {
            // 32 px input, 4 px patches: an 8 x 8 grid, boxes back on the original image.
            assert_eq!(
                (found.grid, found.stride, found.content),
                ((8, 8), 4, (32, 32))
            );
            let b = found.predicted.unwrap();
            assert!(
                b[2] <= img.width as f32 && b[3] <= img.height as f32,
                "{b:?}"
            );
        }
        let other = LostSettings {
            resize: Some(64),
            ..settings
        };
        let err = discover_images(&vit(), &device, &images, &other, &mut timing).unwrap_err();
        assert!(err.to_string().contains("lost.resize = 64"), "{err}");
        let dilated = LostSettings {
            patch: PatchOptions {
                dilate_last_stage: true,
            },
            ..settings
        };
        let err = discover_images(&vit(), &device, &images, &dilated, &mut timing).unwrap_err();
        assert!(err.to_string().contains("lost.dilate"), "{err}");
    }

    #[test]
    fn resized_boxes_map_back_to_the_original_image() {
        let p = prepare(&image(100, 50), Some(20), 8);
        assert_eq!((p.image.width, p.content), (24, (20, 20)));
        assert_eq!(
            to_original([8.0, 8.0, 20.0, 16.0], &p),
            [40.0, 20.0, 100.0, 40.0]
        );
    }
}
