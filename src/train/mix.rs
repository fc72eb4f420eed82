//! MixUp and CutMix over a batch, as torchvision's reference recipes apply them (v2
//! `MixUp`/`CutMix` inside a `RandomChoice`, each with probability 1: every batch gets one of
//! the enabled two), and the soft targets that they and label smoothing train against.
//!
//! As in torchvision, image `i` is mixed with image `i - 1` (the batch rolled by one), which
//! the shuffled epoch order makes a random partner.

use crate::data::rng::Rng;
use crate::spec::AugmentSpec;

/// What one batch gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mix {
    None,
    /// `lambda * own + (1 - lambda) * partner`, pixels and targets alike.
    MixUp {
        lambda: f64,
    },
    /// The partner's pixels in `[x0, x1) x [y0, y1)`; `lambda` is the share of own pixels.
    CutMix {
        x0: usize,
        y0: usize,
        x1: usize,
        y1: usize,
        lambda: f64,
    },
}

impl Mix {
    /// Draws the batch's mix for `width` x `height` images.
    pub fn sample(spec: &AugmentSpec, width: usize, height: usize, rng: &mut Rng) -> Mix {
        let mut enabled = Vec::new();
        if spec.mixup_alpha > 0.0 {
            enabled.push(false);
        }
        if spec.cutmix_alpha > 0.0 {
            enabled.push(true);
        }
        if enabled.is_empty() || (rng.uniform() as f64) >= spec.mix_prob {
            return Mix::None;
        }
        let cutmix = enabled[rng.below(enabled.len())];
        if !cutmix {
            return Mix::MixUp {
                lambda: beta(spec.mixup_alpha, rng),
            };
        }
        // torchvision's CutMix box: centre uniform over the image, half-sides
        // int(0.5 * sqrt(1 - lambda) * side), clipped; lambda recomputed from the box.
        let lambda = beta(spec.cutmix_alpha, rng);
        let cx = rng.below(width) as i64;
        let cy = rng.below(height) as i64;
        let r = 0.5 * (1.0 - lambda).sqrt();
        let half_w = (r * width as f64) as i64;
        let half_h = (r * height as f64) as i64;
        let x0 = (cx - half_w).max(0) as usize;
        let y0 = (cy - half_h).max(0) as usize;
        let x1 = (cx + half_w).min(width as i64) as usize;
        let y1 = (cy + half_h).min(height as i64) as usize;
        let lambda = 1.0 - ((x1 - x0) * (y1 - y0)) as f64 / (width * height) as f64;
        Mix::CutMix {
            x0,
            y0,
            x1,
            y1,
            lambda,
        }
    }

    /// Share of each image's own content (1 without mixing).
    pub fn lambda(&self) -> f64 {
        match self {
            Mix::None => 1.0,
            Mix::MixUp { lambda } | Mix::CutMix { lambda, .. } => *lambda,
        }
    }

    /// Mixes an NCHW batch in place.
    pub fn apply(&self, images: &mut [f32], count: usize, height: usize, width: usize) {
        if count == 0 || *self == Mix::None {
            return;
        }
        let size = images.len() / count;
        let original = images.to_vec();
        for i in 0..count {
            let partner = &original[((i + count - 1) % count) * size..][..size];
            let own = &mut images[i * size..][..size];
            match *self {
                Mix::None => {}
                Mix::MixUp { lambda } => {
                    let lambda = lambda as f32;
                    for (o, p) in own.iter_mut().zip(partner) {
                        *o = *o * lambda + *p * (1.0 - lambda);
                    }
                }
                Mix::CutMix { x0, y0, x1, y1, .. } => {
                    for plane in 0..size / (height * width) {
                        for y in y0..y1 {
                            let row = plane * height * width + y * width;
                            own[row + x0..row + x1].copy_from_slice(&partner[row + x0..row + x1]);
                        }
                    }
                }
            }
        }
    }
}

/// Targets `[count, classes]` for `labels` under `mix` and label smoothing `smoothing`:
/// `lambda * onehot(own) + (1 - lambda) * onehot(partner)`, then
/// `(1 - smoothing) * t + smoothing / classes` (torch's `CrossEntropyLoss(label_smoothing)`).
pub fn soft_targets(labels: &[i64], classes: usize, mix: &Mix, smoothing: f64) -> Vec<f32> {
    let count = labels.len();
    let lambda = mix.lambda();
    let mut targets = vec![0.0f64; count * classes];
    for (i, &label) in labels.iter().enumerate() {
        let partner = labels[(i + count - 1) % count];
        targets[i * classes + label as usize] += lambda;
        targets[i * classes + partner as usize] += 1.0 - lambda;
    }
    targets
        .into_iter()
        .map(|t| ((1.0 - smoothing) * t + smoothing / classes as f64) as f32)
        .collect()
}

/// Beta(alpha, alpha) as the ratio of two Gamma(alpha) draws.
pub fn beta(alpha: f64, rng: &mut Rng) -> f64 {
    let a = gamma(alpha, rng);
    let b = gamma(alpha, rng);
    if a + b == 0.0 { 0.5 } else { a / (a + b) }
}

/// Gamma(shape, 1): Marsaglia and Tsang's method, boosted for shapes below 1.
fn gamma(shape: f64, rng: &mut Rng) -> f64 {
    if shape < 1.0 {
        // Gamma(k) = Gamma(k + 1) * U^(1/k).
        let u = 1.0 - rng.uniform() as f64;
        return gamma(shape + 1.0, rng) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = rng.normal() as f64;
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - rng.uniform() as f64;
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mixup: f64, cutmix: f64) -> AugmentSpec {
        AugmentSpec {
            mixup_alpha: mixup,
            cutmix_alpha: cutmix,
            ..AugmentSpec::default()
        }
    }

    #[test]
    fn beta_has_the_right_mean_and_variance() {
        let mut rng = Rng::new(11);
        for alpha in [0.2, 0.8, 1.0, 3.0] {
            let n = 40_000;
            let draws: Vec<f64> = (0..n).map(|_| beta(alpha, &mut rng)).collect();
            assert!(draws.iter().all(|x| (0.0..=1.0).contains(x)));
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let expected_var = 1.0 / (4.0 * (2.0 * alpha + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "alpha {alpha}: mean {mean}");
            assert!(
                (var - expected_var).abs() < 0.05 * expected_var,
                "alpha {alpha}: var {var} vs {expected_var}"
            );
        }
    }

    /// Image i of a batch of 3 is filled with the value i + 1.
    fn batch() -> Vec<f32> {
        (0..3)
            .flat_map(|i| vec![(i + 1) as f32; 3 * 4 * 5])
            .collect()
    }

    #[test]
    fn mixup_blends_each_image_with_the_previous_one() {
        let mut images = batch();
        Mix::MixUp { lambda: 0.75 }.apply(&mut images, 3, 4, 5);
        // Image 0 pairs with image 2 (the batch is rolled by one).
        assert!((images[0] - (0.75 * 1.0 + 0.25 * 3.0)).abs() < 1e-6);
        assert!((images[60] - (0.75 * 2.0 + 0.25 * 1.0)).abs() < 1e-6);
        let targets = soft_targets(&[0, 1, 2], 3, &Mix::MixUp { lambda: 0.75 }, 0.0);
        assert_eq!(
            targets,
            vec![0.75, 0.0, 0.25, 0.25, 0.75, 0.0, 0.0, 0.25, 0.75]
        );
    }

    #[test]
    fn cutmix_pastes_the_box_and_weighs_targets_by_area() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let mix = Mix::sample(&spec(0.0, 1.0), 5, 4, &mut rng);
            let Mix::CutMix {
                x0,
                y0,
                x1,
                y1,
                lambda,
            } = mix
            else {
                panic!("{mix:?}")
            };
            let mut images = batch();
            mix.apply(&mut images, 3, 4, 5);
            let image1 = &images[60..120];
            let pasted = image1.iter().filter(|v| **v == 1.0).count();
            // The partner's value fills exactly the box, in all 3 channels.
            assert_eq!(pasted, 3 * (x1 - x0) * (y1 - y0));
            assert!((lambda - (1.0 - pasted as f64 / 60.0)).abs() < 1e-12);
            let t = soft_targets(&[0, 1, 2], 3, &mix, 0.0);
            assert!((t[3] as f64 - (1.0 - lambda)).abs() < 1e-6);
        }
    }

    #[test]
    fn both_enabled_means_one_or_the_other_every_batch() {
        let mut rng = Rng::new(5);
        let (mut mixup, mut cutmix) = (0, 0);
        for _ in 0..1000 {
            match Mix::sample(&spec(0.2, 1.0), 8, 8, &mut rng) {
                Mix::MixUp { .. } => mixup += 1,
                Mix::CutMix { .. } => cutmix += 1,
                Mix::None => panic!("mix_prob 1 mixes every batch"),
            }
        }
        assert!(
            (400..600).contains(&mixup) && mixup + cutmix == 1000,
            "{mixup}"
        );
        let off = AugmentSpec {
            mix_prob: 0.0,
            ..spec(0.2, 1.0)
        };
        assert_eq!(Mix::sample(&off, 8, 8, &mut rng), Mix::None);
        assert_eq!(Mix::sample(&spec(0.0, 0.0), 8, 8, &mut rng), Mix::None);
    }

    #[test]
    fn label_smoothing_spreads_the_given_share() {
        let t = soft_targets(&[1, 0], 4, &Mix::None, 0.1);
        assert!((t[1] - (0.9 + 0.025)).abs() < 1e-6);
        assert!((t[0] - 0.025).abs() < 1e-6);
        for row in t.chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }
}
