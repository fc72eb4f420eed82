//! Batches of normalised images from a [`Dataset`], with augmentation that depends only on
//! (seed, epoch, image index): any thread count and a resumed run see exactly the same pixels.

use anyhow::Context;
use rayon::prelude::*;

use crate::data::augment::{
    IMAGENET_MEAN, IMAGENET_STD, flip_in_place, normalize, random_crop_with_padding,
};
use crate::data::resized_crop::{random_resized_crop, random_resized_crop_rgb8};
use crate::data::rng::Rng;
use crate::data::{Dataset, ImageF32};
use crate::spec::AugmentSpec;

/// Images as one NCHW buffer plus their labels.
pub struct Batch {
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
    pub count: usize,
    pub height: usize,
    pub width: usize,
}

/// Training-time augmentation of one epoch.
#[derive(Clone, Copy)]
pub struct Augmentation<'a> {
    pub spec: &'a AugmentSpec,
    pub seed: u64,
    pub epoch: usize,
}

/// The order in which an epoch visits the training set.
pub fn epoch_order(len: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    Rng::for_item(seed, 0x5eed_0bde, epoch as u64).shuffle(&mut order);
    order
}

/// Loads, augments and normalises `indices`, spread over the machine's cores.
pub fn load_batch(
    dataset: &dyn Dataset,
    indices: &[usize],
    augmentation: Option<Augmentation<'_>>,
) -> anyhow::Result<Batch> {
    let results: Vec<(ImageF32, usize)> = indices
        .par_iter()
        .map(|&i| prepare(dataset, i, augmentation))
        .collect::<anyhow::Result<_>>()?;
    let mut images = Vec::new();
    let mut labels = Vec::with_capacity(indices.len());
    let (mut height, mut width) = (0, 0);
    for (image, label) in results {
        height = image.height;
        width = image.width;
        images.extend_from_slice(&image.data);
        labels.push(label as i64);
    }
    Ok(Batch {
        count: labels.len(),
        images,
        labels,
        height,
        width,
    })
}

pub(super) fn prepare(
    dataset: &dyn Dataset,
    index: usize,
    augmentation: Option<Augmentation<'_>>,
) -> anyhow::Result<(ImageF32, usize)> {
    let load_error = || format!("loading image {index}");
    let Some(aug) = augmentation else {
        let sample = dataset.get(index).with_context(load_error)?;
        let mut image = sample.image;
        normalize(&mut image, IMAGENET_MEAN, IMAGENET_STD);
        return Ok((image, sample.label));
    };
    let mut rng = Rng::for_item(aug.seed, aug.epoch as u64 + 1, index as u64);
    let (mut image, label) = match &aug.spec.random_resized_crop {
        Some(crop) => match dataset.get_uncropped_rgb8(index).with_context(load_error)? {
            // Decoded bytes: only the window becomes floats (same values as below).
            Some((sample, side)) => {
                let image =
                    random_resized_crop_rgb8(&sample.image, side, crop.scale, crop.ratio, &mut rng);
                (image, sample.label)
            }
            None => {
                let (sample, side) = dataset.get_uncropped(index).with_context(load_error)?;
                let image =
                    random_resized_crop(&sample.image, side, crop.scale, crop.ratio, &mut rng);
                (image, sample.label)
            }
        },
        None => {
            let sample = dataset.get(index).with_context(load_error)?;
            let mut image = sample.image;
            if aug.spec.crop_padding > 0 {
                image = random_crop_with_padding(&image, aug.spec.crop_padding, &mut rng);
            }
            (image, sample.label)
        }
    };
    if aug.spec.horizontal_flip && rng.uniform() < 0.5 {
        flip_in_place(&mut image);
    }
    normalize(&mut image, IMAGENET_MEAN, IMAGENET_STD);
    Ok((image, label))
}
