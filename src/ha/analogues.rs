//! Embedded analogues of the benchmark's five non-parametric sets, drawn with pvr's `shapes`
//! generator so that models trained on `shapes` can be tested without any download. Each takes
//! the scene of a validation image (class, pose) and redraws it:
//!
//! - silhouette: the object filled black on white;
//! - edge: the object's outline only, black on white;
//! - sketch: two jittered, gappy, hand-drawn-like outline strokes in pencil grey;
//! - stylized: object, background and distractors re-textured with the held-out textures that
//!   training never shows;
//! - cue-conflict: the shape of one class wearing the class texture of another (no
//!   distractors), labelled with the shape; shape bias as in the benchmark.

use std::f32::consts::TAU;

use super::datasets::HaDataset;
use crate::data::shapes::{HELD_OUT_TEXTURES, SHAPE_CLASSES, ShapesDataset, render_scene};
use crate::data::{ImageF32, Rng, TextureId, shape_mask};

/// An analogue image with its shape label and, for cue-conflict, the texture class.
#[derive(Clone, Debug, PartialEq)]
pub struct Analogue {
    pub image: ImageF32,
    pub label: usize,
    pub texture: Option<usize>,
}

/// Random-stream id of each analogue (see [`Rng::for_item`]).
fn stream(dataset: HaDataset) -> u64 {
    0x4841_0000 + dataset as u64
}

/// Whether `dataset` is one of the five drawn here.
pub fn is_analogue(dataset: HaDataset) -> bool {
    matches!(
        dataset,
        HaDataset::Sketch
            | HaDataset::Stylized
            | HaDataset::Edge
            | HaDataset::Silhouette
            | HaDataset::CueConflict
    )
}

/// Whether the analogue draws random numbers (silhouette and edge are pure geometry).
pub fn analogue_uses_seed(dataset: HaDataset) -> bool {
    matches!(
        dataset,
        HaDataset::Sketch | HaDataset::Stylized | HaDataset::CueConflict
    )
}

/// Analogue `index` of `dataset`, built on the scene of `base`'s sample `index`.
pub fn analogue(dataset: HaDataset, base: &ShapesDataset, index: usize, seed: u64) -> Analogue {
    assert!(is_analogue(dataset), "{dataset} is not drawn from scenes");
    let size = base.config().image_size;
    let mut scene = base.scene(index);
    let mut rng = Rng::for_item(seed, stream(dataset), index as u64);
    let label = scene.shape;
    let render_seed = rng.next_u64();
    match dataset {
        HaDataset::Silhouette => {
            scene.object_texture = TextureId::Solid([0.0; 3]);
            scene.background = TextureId::Solid([1.0; 3]);
            scene.distractors.clear();
            let image = render_scene(&scene, size, render_seed).image;
            Analogue {
                image,
                label,
                texture: None,
            }
        }
        HaDataset::Edge => {
            let mask = shape_mask(scene.shape, scene.center, scene.scale, scene.rotation, size);
            let outline = outline(&mask, size);
            let mut image = ImageF32::zeros(size, size);
            for (i, on) in outline.iter().enumerate() {
                let v = if *on { 0.0 } else { 1.0 };
                image.set_pixel(i % size, i / size, [v; 3]);
            }
            Analogue {
                image,
                label,
                texture: None,
            }
        }
        HaDataset::Sketch => {
            let mask = shape_mask(scene.shape, scene.center, scene.scale, scene.rotation, size);
            Analogue {
                image: sketch(&mask, size, &mut rng),
                label,
                texture: None,
            }
        }
        HaDataset::Stylized => {
            let n = HELD_OUT_TEXTURES.len();
            let object = rng.below(n);
            let background = (object + 1 + rng.below(n - 1)) % n;
            scene.object_texture = TextureId::HeldOut(object);
            scene.background = TextureId::HeldOut(background);
            for d in &mut scene.distractors {
                d.texture = TextureId::HeldOut(rng.below(n));
            }
            let image = render_scene(&scene, size, render_seed).image;
            Analogue {
                image,
                label,
                texture: None,
            }
        }
        HaDataset::CueConflict => {
            let n = SHAPE_CLASSES.len();
            let texture = (label + 1 + rng.below(n - 1)) % n;
            scene.object_texture = TextureId::Class(texture);
            scene.distractors.clear();
            let image = render_scene(&scene, size, render_seed).image;
            Analogue {
                image,
                label,
                texture: Some(texture),
            }
        }
        _ => unreachable!(),
    }
}

/// Mask pixels with a 4-neighbour outside the mask (or on the image border).
pub fn outline(mask: &[u8], size: usize) -> Vec<bool> {
    let inside = |x: isize, y: isize| {
        x >= 0
            && y >= 0
            && (x as usize) < size
            && (y as usize) < size
            && mask[y as usize * size + x as usize] != 0
    };
    (0..size * size)
        .map(|i| {
            let (x, y) = ((i % size) as isize, (i / size) as isize);
            inside(x, y)
                && !(inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1))
        })
        .collect()
}

/// A smooth random field on the image: a sum of a few random plane waves of wavelengths
/// between a third and the whole image side, unit-ish amplitude.
struct Wobble {
    waves: Vec<([f32; 2], f32, f32)>,
}

impl Wobble {
    fn new(size: usize, rng: &mut Rng) -> Self {
        let waves = (0..4)
            .map(|_| {
                let angle = rng.range(0.0, TAU);
                let cycles = rng.range(1.0, 3.0) / size as f32;
                let direction = [angle.cos() * cycles * TAU, angle.sin() * cycles * TAU];
                (direction, rng.range(0.0, TAU), rng.range(0.5, 1.0))
            })
            .collect();
        Self { waves }
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        self.waves
            .iter()
            .map(|(k, phase, amp)| amp * (k[0] * x + k[1] * y + phase).sin())
            .sum::<f32>()
            * 0.5
    }
}

/// Two pencil strokes along the outline of smoothly warped copies of `mask`, with gaps.
fn sketch(mask: &[u8], size: usize, rng: &mut Rng) -> ImageF32 {
    let paper = 0.97;
    let mut value = vec![paper; size * size];
    let amplitude = (0.025 * size as f32).max(0.6);
    for _ in 0..2 {
        let (wx, wy, gaps) = (
            Wobble::new(size, rng),
            Wobble::new(size, rng),
            Wobble::new(size, rng),
        );
        let pencil = rng.range(0.1, 0.35);
        let gap_level = rng.range(0.45, 0.7);
        let warped: Vec<u8> = (0..size * size)
            .map(|i| {
                let (x, y) = ((i % size) as f32, (i / size) as f32);
                let sx = (x + amplitude * wx.at(x, y))
                    .round()
                    .clamp(0.0, (size - 1) as f32);
                let sy = (y + amplitude * wy.at(x, y))
                    .round()
                    .clamp(0.0, (size - 1) as f32);
                mask[sy as usize * size + sx as usize]
            })
            .collect();
        for (i, on) in outline(&warped, size).into_iter().enumerate() {
            let (x, y) = ((i % size) as f32, (i / size) as f32);
            if on && gaps.at(x, y) < gap_level {
                value[i] = f32::min(value[i], pencil);
            }
        }
    }
    let mut image = ImageF32::zeros(size, size);
    for (i, v) in value.iter().enumerate() {
        image.set_pixel(i % size, i / size, [*v; 3]);
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::ShapesConfig;
    use crate::data::{Dataset, Split};

    fn base(size: usize) -> ShapesDataset {
        ShapesDataset::new(ShapesConfig {
            seed: 4,
            image_size: size,
            len: 40,
            split: Split::Val,
            texture_correlation: 0.8,
            distractors: 3,
        })
        .unwrap()
    }

    fn dark_pixels(image: &ImageF32) -> Vec<usize> {
        (0..image.plane_len())
            .filter(|&i| image.pixel(i % image.width, i / image.width)[0] < 0.5)
            .collect()
    }

    #[test]
    fn silhouette_and_edge_are_the_shape_in_black_on_white() {
        let base = base(48);
        for index in 0..10 {
            let scene = base.scene(index);
            let mask = shape_mask(scene.shape, scene.center, scene.scale, scene.rotation, 48);
            let silhouette = analogue(HaDataset::Silhouette, &base, index, 1);
            assert_eq!(silhouette.label, scene.shape);
            for (i, m) in mask.iter().enumerate() {
                let expected = if *m == 1 { 0.0 } else { 1.0 };
                assert_eq!(silhouette.image.pixel(i % 48, i / 48), [expected; 3]);
            }
            // Pure geometry: the seed changes nothing.
            assert_eq!(
                analogue(HaDataset::Silhouette, &base, index, 99),
                silhouette
            );
            let edge = analogue(HaDataset::Edge, &base, index, 1);
            assert_eq!(analogue(HaDataset::Edge, &base, index, 99), edge);
            let dark = dark_pixels(&edge.image);
            let filled = mask.iter().filter(|m| **m == 1).count();
            // Only the outline: inside the mask, white wherever all four neighbours are inside,
            // so fewer pixels than the filled shape (except for the thin ring).
            assert!(!dark.is_empty() && dark.iter().all(|&i| mask[i] == 1));
            for y in 1..47 {
                for x in 1..47 {
                    // The pixel and its 4 neighbours, as offsets from (x - 1, y - 1).
                    let inner = [(1, 1), (0, 1), (2, 1), (1, 0), (1, 2)]
                        .iter()
                        .all(|(dx, dy)| mask[(y + dy - 1) * 48 + x + dx - 1] == 1);
                    if inner {
                        assert_eq!(edge.image.pixel(x, y), [1.0; 3]);
                    }
                }
            }
            if SHAPE_CLASSES[scene.shape] != "ring" {
                assert!(dark.len() < filled, "{} of {filled}", dark.len());
            }
        }
    }

    #[test]
    fn sketch_strokes_follow_the_outline_loosely() {
        let base = base(64);
        for index in 0..8 {
            let scene = base.scene(index);
            let mask = shape_mask(scene.shape, scene.center, scene.scale, scene.rotation, 64);
            let edge: Vec<usize> = (0..64 * 64).filter(|&i| outline(&mask, 64)[i]).collect();
            let sketch = analogue(HaDataset::Sketch, &base, index, 2);
            let strokes = dark_pixels(&sketch.image);
            assert!(!strokes.is_empty());
            // Strokes stay near the true outline (within the jitter) but are not a copy of it.
            let near = strokes
                .iter()
                .filter(|&&i| {
                    edge.iter().any(|&e| {
                        let (dx, dy) = (
                            (i % 64) as i32 - (e % 64) as i32,
                            (i / 64) as i32 - (e / 64) as i32,
                        );
                        dx * dx + dy * dy <= 16
                    })
                })
                .count();
            assert!(
                near * 10 >= strokes.len() * 9,
                "{near} of {}",
                strokes.len()
            );
            assert_ne!(strokes, edge);
            // Deterministic per seed, different across seeds.
            assert_eq!(analogue(HaDataset::Sketch, &base, index, 2), sketch);
            assert_ne!(
                analogue(HaDataset::Sketch, &base, index, 3).image,
                sketch.image
            );
        }
    }

    #[test]
    fn cue_conflict_and_stylized_swap_textures_but_keep_the_shape() {
        let base = base(32);
        let mut textures = [0usize; 10];
        for index in 0..40 {
            let scene = base.scene(index);
            let cue = analogue(HaDataset::CueConflict, &base, index, 5);
            assert_eq!(cue.label, scene.shape);
            let texture = cue.texture.unwrap();
            assert_ne!(texture, scene.shape);
            textures[texture] += 1;
            let stylized = analogue(HaDataset::Stylized, &base, index, 5);
            assert_eq!(stylized.label, scene.shape);
            assert_eq!(stylized.texture, None);
            assert_ne!(stylized.image, base.get(index).unwrap().image);
        }
        // Texture classes are spread over the other classes.
        assert!(
            textures.iter().filter(|t| **t > 0).count() >= 8,
            "{textures:?}"
        );
    }
}
