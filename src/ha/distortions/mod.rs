//! The 12 parametric distortions of Geirhos et al. (2018), with the benchmark's condition
//! values. Images are float RGB in [0, 1]; all but colour and false colour work on the
//! luminance and return it on three channels.
//!
//! Spatial parameters (filter widths, eidolon reach and grain) are given in pixels of the
//! benchmark's 224 px images; [`Distortion::apply`] takes the image side over 224 as
//! `pixel_scale`, so a 32 px image is distorted like a 224 px one seen at 32 px.

pub mod colour;
pub mod contrast;
pub mod false_colour;
pub mod fft;
pub mod filters;
pub mod noise;
pub mod phase;
pub mod power;
pub mod rotation;

use colour::Plane;

use super::datasets::HaDataset;
use super::eidolon::{EidolonParams, eidolon};
use crate::data::{ImageF32, Rng};

/// The image side the benchmark's parameters are given for.
pub const BENCHMARK_SIDE: usize = 224;

/// One condition of one parametric dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distortion {
    /// `cr` keeps the colour image, `bw` is its luminance.
    Colour {
        greyscale: bool,
    },
    /// Contrast as a fraction (`c05` is 0.05).
    Contrast {
        contrast: f32,
    },
    LowPass {
        sigma: f32,
    },
    /// `None` for the unfiltered `inf` condition.
    HighPass {
        sigma: Option<f32>,
    },
    PhaseScrambling {
        degrees: f32,
    },
    /// Condition `0` is the grey original, `pow` the equalised image.
    PowerEqualisation {
        equalise: bool,
    },
    /// Condition `True` is the colour original, `False` the opponent colours.
    FalseColour {
        opponent: bool,
    },
    Rotation {
        quarter_turns: u8,
    },
    /// Condition `reach-coherence*10-grain`, e.g. `8-3-10`.
    Eidolon(EidolonParams),
    UniformNoise {
        width: f32,
    },
}

impl Distortion {
    /// The distortion of `condition` (as [`HaDataset::conditions`] spells it), or `None` for a
    /// non-parametric dataset or an unknown condition.
    pub fn new(dataset: HaDataset, condition: &str) -> Option<Distortion> {
        let number = |text: &str| text.parse::<f32>().ok();
        Some(match dataset {
            HaDataset::Colour => match condition {
                "cr" => Distortion::Colour { greyscale: false },
                "bw" => Distortion::Colour { greyscale: true },
                _ => return None,
            },
            HaDataset::Contrast => Distortion::Contrast {
                contrast: number(condition.strip_prefix('c')?)? / 100.0,
            },
            HaDataset::HighPass => Distortion::HighPass {
                sigma: if condition == "inf" {
                    None
                } else {
                    Some(number(condition)?)
                },
            },
            HaDataset::LowPass => Distortion::LowPass {
                sigma: number(condition)?,
            },
            HaDataset::PhaseScrambling => Distortion::PhaseScrambling {
                degrees: number(condition)?,
            },
            HaDataset::PowerEqualisation => match condition {
                "0" => Distortion::PowerEqualisation { equalise: false },
                "pow" => Distortion::PowerEqualisation { equalise: true },
                _ => return None,
            },
            HaDataset::FalseColour => match condition {
                "True" => Distortion::FalseColour { opponent: false },
                "False" => Distortion::FalseColour { opponent: true },
                _ => return None,
            },
            HaDataset::Rotation => {
                let degrees = number(condition)?;
                if degrees.rem_euclid(90.0) != 0.0 {
                    return None;
                }
                Distortion::Rotation {
                    quarter_turns: (degrees / 90.0).rem_euclid(4.0) as u8,
                }
            }
            HaDataset::EidolonI | HaDataset::EidolonII | HaDataset::EidolonIII => {
                let mut parts = condition.split('-').map(number);
                let (reach, coherence, grain) = (parts.next()??, parts.next()??, parts.next()??);
                if parts.next().is_some() {
                    return None;
                }
                Distortion::Eidolon(EidolonParams {
                    reach,
                    coherence: coherence / 10.0,
                    grain,
                })
            }
            HaDataset::UniformNoise => Distortion::UniformNoise {
                width: number(condition)?,
            },
            _ => return None,
        })
    }

    /// Whether the result depends on random draws (and so on the seed).
    pub fn is_random(&self) -> bool {
        match self {
            Distortion::PhaseScrambling { degrees } => *degrees != 0.0,
            Distortion::Eidolon(_) | Distortion::UniformNoise { .. } => true,
            _ => false,
        }
    }

    /// Whether [`Distortion::apply`] needs the mean amplitude spectrum of the image set.
    pub fn needs_amplitude_spectrum(&self) -> bool {
        matches!(self, Distortion::PowerEqualisation { equalise: true })
    }

    /// Distorts `image`. `pixel_scale` is the image side over 224; `amplitude` the set's mean
    /// amplitude spectrum of the grey images (power equalisation only); `rng` the image's own
    /// random stream.
    pub fn apply(
        &self,
        image: &ImageF32,
        pixel_scale: f32,
        amplitude: Option<&[f32]>,
        rng: &mut Rng,
    ) -> ImageF32 {
        let grey = || Plane::grey(image);
        match *self {
            Distortion::Colour { greyscale: false }
            | Distortion::FalseColour { opponent: false } => image.clone(),
            Distortion::Colour { greyscale: true } => colour::greyscale(image),
            Distortion::FalseColour { opponent: true } => false_colour::false_colour(image),
            Distortion::Contrast { contrast } => {
                let mut plane = grey();
                contrast::reduce_contrast(&mut plane, contrast);
                plane.to_image()
            }
            Distortion::LowPass { sigma } => {
                filters::low_pass(&grey(), sigma * pixel_scale).to_image()
            }
            Distortion::HighPass { sigma } => {
                filters::high_pass(&grey(), sigma.map(|s| s * pixel_scale)).to_image()
            }
            Distortion::PhaseScrambling { degrees } => {
                phase::phase_scramble(&grey(), degrees, rng).to_image()
            }
            Distortion::PowerEqualisation { equalise: false } => colour::greyscale(image),
            Distortion::PowerEqualisation { equalise: true } => {
                let amplitude =
                    amplitude.expect("power equalisation needs the set's amplitude spectrum");
                power::equalise_power(&grey(), amplitude).to_image()
            }
            Distortion::Rotation { quarter_turns } => {
                rotation::rotate_quarter_turns(&colour::greyscale(image), quarter_turns)
            }
            Distortion::Eidolon(params) => {
                let scaled = EidolonParams {
                    reach: params.reach * pixel_scale,
                    grain: params.grain * pixel_scale,
                    coherence: params.coherence,
                };
                eidolon(&grey(), &scaled, rng).to_image()
            }
            Distortion::UniformNoise { width } => {
                noise::uniform_noise(&grey(), width, rng).to_image()
            }
        }
    }
}

/// The mean amplitude spectrum of the grey versions of `images` (all one size).
pub fn set_amplitude_spectrum<'a>(images: impl IntoIterator<Item = &'a ImageF32>) -> Vec<f32> {
    let planes: Vec<Plane> = images.into_iter().map(Plane::grey).collect();
    power::mean_amplitude_spectrum(&planes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grey image with structure (not flat), values well inside (0, 1).
    fn grey_scene(side: usize) -> ImageF32 {
        let mut image = ImageF32::zeros(side, side);
        for y in 0..side {
            for x in 0..side {
                let v = 0.45 + 0.2 * ((x as f32 * 0.5).sin() * (y as f32 * 0.3).cos());
                image.set_pixel(x, y, [v; 3]);
            }
        }
        image
    }

    fn max_difference(a: &ImageF32, b: &ImageF32) -> f32 {
        a.data
            .iter()
            .zip(&b.data)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn every_benchmark_condition_parses() {
        for dataset in HaDataset::PARAMETRIC {
            for condition in dataset.conditions() {
                assert!(
                    Distortion::new(dataset, condition).is_some(),
                    "{dataset} {condition}"
                );
            }
        }
        assert_eq!(
            Distortion::new(HaDataset::Contrast, "c05"),
            Some(Distortion::Contrast { contrast: 0.05 })
        );
        assert_eq!(
            Distortion::new(HaDataset::EidolonII, "16-3-10"),
            Some(Distortion::Eidolon(EidolonParams {
                reach: 16.0,
                coherence: 0.3,
                grain: 10.0
            }))
        );
        assert_eq!(
            Distortion::new(HaDataset::Rotation, "270"),
            Some(Distortion::Rotation { quarter_turns: 3 })
        );
        assert_eq!(Distortion::new(HaDataset::Rotation, "45"), None);
        assert_eq!(Distortion::new(HaDataset::Sketch, "all"), None);
    }

    #[test]
    fn the_undistorted_conditions_leave_a_grey_image_unchanged() {
        let image = grey_scene(24);
        let amplitude = set_amplitude_spectrum([&image]);
        for (dataset, condition) in [
            (HaDataset::Colour, "cr"),
            (HaDataset::Colour, "bw"),
            (HaDataset::Contrast, "c100"),
            (HaDataset::HighPass, "inf"),
            (HaDataset::LowPass, "0"),
            (HaDataset::PhaseScrambling, "0"),
            (HaDataset::PowerEqualisation, "0"),
            (HaDataset::PowerEqualisation, "pow"),
            (HaDataset::FalseColour, "True"),
            (HaDataset::FalseColour, "False"),
            (HaDataset::Rotation, "0"),
            (HaDataset::EidolonI, "0-10-10"),
            (HaDataset::EidolonIII, "0-0-10"),
        ] {
            let distortion = Distortion::new(dataset, condition).unwrap();
            let out = distortion.apply(&image, 24.0 / 224.0, Some(&amplitude), &mut Rng::new(1));
            assert!(
                max_difference(&image, &out) < 1e-4,
                "{dataset} {condition} changed the image by {}",
                max_difference(&image, &out)
            );
        }
        // And the distorting conditions do change it.
        for (dataset, condition) in [
            (HaDataset::Contrast, "c10"),
            (HaDataset::HighPass, "3.0"),
            (HaDataset::LowPass, "10"),
            (HaDataset::PhaseScrambling, "90"),
            (HaDataset::Rotation, "90"),
            (HaDataset::EidolonII, "32-3-10"),
            (HaDataset::UniformNoise, "0.2"),
        ] {
            let distortion = Distortion::new(dataset, condition).unwrap();
            let out = distortion.apply(&image, 1.0, None, &mut Rng::new(1));
            assert!(max_difference(&image, &out) > 0.05, "{dataset} {condition}");
        }
    }

    #[test]
    fn spatial_parameters_scale_with_the_image() {
        // Low-pass 40 px at 224 px blurs far more than at the same image shown at 1/7 scale
        // with the parameter left in 224 px units.
        let image = grey_scene(32);
        let blur = Distortion::LowPass { sigma: 3.0 };
        let scaled = blur.apply(&image, 32.0 / 224.0, None, &mut Rng::new(0));
        let unscaled = blur.apply(&image, 1.0, None, &mut Rng::new(0));
        assert!(max_difference(&image, &scaled) < max_difference(&image, &unscaled));
    }
}
