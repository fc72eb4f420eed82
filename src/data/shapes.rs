//! `shapes`: the embedded procedural dataset.
//!
//! Each image holds one textured object whose class is its shape, on a cluttered textured
//! background with a few distractor blobs. The object's texture agrees with its class with
//! probability `texture_correlation` (otherwise it is another class's texture), so a model can
//! solve the task with either cue — which is what the study measures (shape vs texture bias,
//! localisation via masks and boxes). Every sample is a pure function of (config, index):
//! nothing is stored, any image size works, and train/val come from different random streams.

mod geometry;
mod pattern;
mod scene;
mod texture;

use std::f32::consts::TAU;

use anyhow::{bail, ensure};
use serde::{Deserialize, Serialize};

pub use geometry::{SHAPE_CLASSES, Shape, shape_mask};
pub use scene::{Distractor, SceneSpec, render_scene};
pub use texture::{
    BACKGROUND_TEXTURES, CLASS_TEXTURES, HELD_OUT_TEXTURES, TextureId, TextureInstance,
    render_texture,
};

use super::rng::Rng;
use super::{Dataset, Sample, Split};

/// Version of the generator's output. Bump whenever any change alters generated pixels, masks,
/// labels or scene sampling, so cached results keyed on [`Dataset::fingerprint`] are invalidated.
pub const GENERATOR_VERSION: u32 = 1;

/// Smallest supported image side: below it thin shapes (ring, crescent, star) can lose every
/// pixel centre.
pub const MIN_IMAGE_SIZE: usize = 16;

/// Range of the object's bounding-circle diameter, as a fraction of the image side.
const SCALE_RANGE: (f32, f32) = (0.35, 0.75);
/// The object centre stays this fraction of its radius away from the border, so at most a thin
/// sliver (20% of the radius) can leave the image.
const CENTER_MARGIN: f32 = 0.8;
/// Distractor radius range as a fraction of the image side (much smaller than any object).
const DISTRACTOR_RADIUS: (f32, f32) = (0.045, 0.085);

/// Random-stream ids (see [`Rng::for_item`]); separate streams for scenes and render noise so
/// the geometry of a sample never depends on how many texture draws rendering makes.
const fn scene_stream(split: Split) -> u64 {
    match split {
        Split::Train => 0x5343_454E_0001,
        Split::Val => 0x5343_454E_0002,
    }
}
const fn render_stream(split: Split) -> u64 {
    match split {
        Split::Train => 0x5245_4E44_0001,
        Split::Val => 0x5245_4E44_0002,
    }
}

/// Parameters of a `shapes` dataset. Serialises to the experiment spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShapesConfig {
    pub seed: u64,
    /// Image side in pixels (square images), at least [`MIN_IMAGE_SIZE`].
    pub image_size: usize,
    /// Number of samples.
    pub len: usize,
    pub split: Split,
    /// Probability that the object wears its own class texture.
    pub texture_correlation: f32,
    /// Maximum number of distractor blobs per image (uniform in 0..=max).
    pub distractors: usize,
}

impl Default for ShapesConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            image_size: 32,
            len: 10_000,
            split: Split::Train,
            texture_correlation: 0.8,
            distractors: 3,
        }
    }
}

/// The procedural dataset: a config plus pure generation functions.
#[derive(Clone, Debug)]
pub struct ShapesDataset {
    config: ShapesConfig,
}

impl ShapesDataset {
    pub fn new(config: ShapesConfig) -> anyhow::Result<Self> {
        ensure!(
            config.image_size >= MIN_IMAGE_SIZE,
            "shapes: image_size {} is below the minimum {MIN_IMAGE_SIZE}",
            config.image_size
        );
        ensure!(
            (0.0..=1.0).contains(&config.texture_correlation),
            "shapes: texture_correlation {} must be in [0, 1]",
            config.texture_correlation
        );
        ensure!(
            config.distractors < 200,
            "shapes: at most 199 distractors per image (got {})",
            config.distractors
        );
        Ok(Self { config })
    }

    pub fn config(&self) -> &ShapesConfig {
        &self.config
    }

    /// The scene of sample `index`: why it looks the way it does (class, textures, pose,
    /// distractors). Valid for any index, also beyond `len`.
    pub fn scene(&self, index: usize) -> SceneSpec {
        let c = &self.config;
        let mut rng = Rng::for_item(c.seed, scene_stream(c.split), index as u64);
        let n = SHAPE_CLASSES.len();
        let shape = rng.below(n);
        // Both draws always happen, so changing the correlation changes only textures, never
        // the geometry of the same index.
        let keep_class_texture = rng.uniform() < c.texture_correlation;
        let other = (shape + 1 + rng.below(n - 1)) % n;
        let texture = if keep_class_texture { shape } else { other };
        let background = TextureId::Background(rng.below(BACKGROUND_TEXTURES.len()));
        let scale = rng.range(SCALE_RANGE.0, SCALE_RANGE.1);
        let rotation = rng.range(0.0, TAU);
        let margin = CENTER_MARGIN * scale * 0.5;
        let center = (
            rng.range(margin, 1.0 - margin),
            rng.range(margin, 1.0 - margin),
        );
        let count = rng.below(c.distractors + 1);
        let distractors = (0..count)
            .map(|_| random_distractor(&mut rng, texture))
            .collect();
        SceneSpec {
            shape,
            object_texture: TextureId::Class(texture),
            background,
            center,
            scale,
            rotation,
            distractors,
        }
    }

    /// The seed [`render_scene`] gets for sample `index`.
    pub fn render_seed(&self, index: usize) -> u64 {
        let c = &self.config;
        Rng::for_item(c.seed, render_stream(c.split), index as u64).next_u64()
    }
}

/// A distractor anywhere in the image, wearing either a class texture other than the object's
/// (so texture alone is ambiguous about which blob is the object) or a flat colour.
fn random_distractor(rng: &mut Rng, object_texture: usize) -> Distractor {
    let n = CLASS_TEXTURES.len();
    let center = (rng.uniform(), rng.uniform());
    let radius = rng.range(DISTRACTOR_RADIUS.0, DISTRACTOR_RADIUS.1);
    let aspect = rng.range(1.0, 2.2);
    let rotation = rng.range(0.0, TAU);
    let wobble = [
        rng.range(0.0, 0.25),
        rng.range(0.0, TAU),
        rng.range(0.0, 0.15),
        rng.range(0.0, TAU),
    ];
    let use_texture = rng.chance(0.5);
    let other = (object_texture + 1 + rng.below(n - 1)) % n;
    let colour = [rng.uniform(), rng.uniform(), rng.uniform()];
    let texture = if use_texture {
        TextureId::Class(other)
    } else {
        TextureId::Solid(colour)
    };
    Distractor {
        center,
        radius,
        aspect,
        rotation,
        wobble,
        texture,
    }
}

impl Dataset for ShapesDataset {
    fn len(&self) -> usize {
        self.config.len
    }

    fn get(&self, index: usize) -> anyhow::Result<Sample> {
        if index >= self.config.len {
            bail!(
                "shapes: index {index} out of range (len {})",
                self.config.len
            );
        }
        Ok(render_scene(
            &self.scene(index),
            self.config.image_size,
            self.render_seed(index),
        ))
    }

    fn num_classes(&self) -> usize {
        SHAPE_CLASSES.len()
    }

    fn image_id(&self, index: usize) -> String {
        format!("{}/{index:06}", self.config.split.as_str())
    }

    fn class_names(&self) -> Vec<String> {
        SHAPE_CLASSES.iter().map(|s| s.to_string()).collect()
    }

    fn fingerprint(&self) -> String {
        let config = serde_json::to_string(&self.config).expect("ShapesConfig always serialises");
        let mut h = blake3::Hasher::new();
        h.update(b"pvr.data.shapes\0");
        h.update(&GENERATOR_VERSION.to_le_bytes());
        h.update(config.as_bytes());
        h.finalize().to_hex().to_string()
    }
}

#[cfg(test)]
mod tests;
