//! False colour: both chromatic opponent axes of DKL colour space (L-M and S-(L+M)) inverted
//! around a mid-grey white point, luminance (L+M) kept.
//!
//! Pixels are decoded with the sRGB transfer function (the original used its monitor's gamma
//! table; sRGB is the portable stand-in), mapped to cone excitations through CIE XYZ (D65) and
//! the Hunt-Pointer-Estevez matrix, inverted in DKL, and mapped back. In linear RGB the whole
//! operation is one affine map, computed once.

use std::sync::OnceLock;

use crate::data::ImageF32;

type Matrix = [[f64; 3]; 3];

/// Linear sRGB to CIE XYZ (D65).
const RGB_TO_XYZ: Matrix = [
    [0.4124, 0.3576, 0.1805],
    [0.2126, 0.7152, 0.0722],
    [0.0193, 0.1192, 0.9505],
];
/// CIE XYZ to LMS cone excitations (Hunt-Pointer-Estevez, D65-normalised).
const XYZ_TO_LMS: Matrix = [
    [0.4002, 0.7076, -0.0808],
    [-0.2263, 1.1653, 0.0457],
    [0.0, 0.0, 0.9182],
];
/// The white point: sRGB mid grey.
const WHITE_SRGB: f64 = 0.5;

fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn apply(m: &Matrix, v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

fn invert(m: &Matrix) -> Matrix {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    assert!(det.abs() > 1e-12, "singular colour matrix");
    let c =
        |r0: usize, c0: usize, r1: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    [
        [c(1, 1, 2, 2), -c(0, 1, 2, 2), c(0, 1, 1, 2)],
        [-c(1, 0, 2, 2), c(0, 0, 2, 2), -c(0, 0, 1, 2)],
        [c(1, 0, 2, 1), -c(0, 0, 2, 1), c(0, 0, 1, 1)],
    ]
    .map(|row| row.map(|v| v / det))
}

pub fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

pub fn linear_to_srgb(l: f32) -> f32 {
    if l <= 0.003_130_8 {
        12.92 * l
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

/// The maps between linear RGB and DKL coordinates relative to the white point.
struct Dkl {
    white_linear: [f64; 3],
    rgb_to_dkl: Matrix,
    /// Linear RGB offset from white -> the same with the chromatic axes inverted.
    flip: Matrix,
}

fn dkl() -> &'static Dkl {
    static DKL: OnceLock<Dkl> = OnceLock::new();
    DKL.get_or_init(|| {
        let rgb_to_lms = mul(&XYZ_TO_LMS, &RGB_TO_XYZ);
        let white = srgb_to_linear(WHITE_SRGB as f32) as f64;
        let white_linear = [white; 3];
        let [l, m, s] = apply(&rgb_to_lms, white_linear);
        // Cone-excitation differences from the white point to (luminance, L-M, S-(L+M)).
        let lms_to_dkl: Matrix = [
            [1.0, 1.0, 0.0],
            [1.0, -l / m, 0.0],
            [-s / (l + m), -s / (l + m), 1.0],
        ];
        let rgb_to_dkl = mul(&lms_to_dkl, &rgb_to_lms);
        let invert_chroma: Matrix = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
        let flip = mul(&invert(&rgb_to_dkl), &mul(&invert_chroma, &rgb_to_dkl));
        Dkl {
            white_linear,
            rgb_to_dkl,
            flip,
        }
    })
}

/// DKL coordinates (luminance, L-M, S-(L+M)) of an sRGB colour, relative to the white point.
pub fn dkl_coordinates(rgb: [f32; 3]) -> [f64; 3] {
    let d = dkl();
    let offset = [0, 1, 2].map(|c| srgb_to_linear(rgb[c]) as f64 - d.white_linear[c]);
    apply(&d.rgb_to_dkl, offset)
}

/// The opponent colour of one sRGB pixel, unclipped.
pub fn opponent_colour(rgb: [f32; 3]) -> [f32; 3] {
    let d = dkl();
    let offset = [0, 1, 2].map(|c| srgb_to_linear(rgb[c]) as f64 - d.white_linear[c]);
    let flipped = apply(&d.flip, offset);
    [0, 1, 2].map(|c| {
        let linear = (d.white_linear[c] + flipped[c]).max(0.0) as f32;
        linear_to_srgb(linear)
    })
}

/// The opponent-colour image, clipped to [0, 1].
pub fn false_colour(image: &ImageF32) -> ImageF32 {
    let mut out = image.clone();
    for y in 0..image.height {
        for x in 0..image.width {
            let rgb = opponent_colour(image.pixel(x, y));
            out.set_pixel(x, y, rgb.map(|v| v.clamp(0.0, 1.0)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLOURS: [[f32; 3]; 5] = [
        [0.55, 0.45, 0.5],
        [0.45, 0.52, 0.6],
        [0.6, 0.58, 0.4],
        [0.5, 0.5, 0.5],
        [0.42, 0.47, 0.44],
    ];

    #[test]
    fn keeps_luminance_and_flips_both_opponent_axes() {
        for rgb in COLOURS {
            let before = dkl_coordinates(rgb);
            let after = dkl_coordinates(opponent_colour(rgb));
            assert!((before[0] - after[0]).abs() < 1e-5, "{before:?} {after:?}");
            assert!((before[1] + after[1]).abs() < 1e-5, "{before:?} {after:?}");
            assert!((before[2] + after[2]).abs() < 1e-5, "{before:?} {after:?}");
        }
        // A reddish colour becomes greenish, a bluish one yellowish.
        let red = opponent_colour([0.6, 0.45, 0.45]);
        assert!(red[1] > red[0]);
        let blue = opponent_colour([0.45, 0.45, 0.65]);
        assert!(blue[2] < blue[0] && blue[2] < blue[1]);
    }

    #[test]
    fn twice_is_the_identity_and_grey_is_fixed() {
        let mut image = ImageF32::zeros(COLOURS.len(), 1);
        for (x, rgb) in COLOURS.iter().enumerate() {
            image.set_pixel(x, 0, *rgb);
        }
        let twice = false_colour(&false_colour(&image));
        for (a, b) in image.data.iter().zip(&twice.data) {
            assert!((a - b).abs() < 1e-4);
        }
        // Greys lie on the luminance axis: unchanged.
        for g in [0.2, 0.5, 0.9] {
            let out = opponent_colour([g; 3]);
            assert!(out.iter().all(|v| (v - g).abs() < 1e-4), "{out:?}");
        }
    }
}
