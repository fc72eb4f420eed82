//! Contrast reduction towards mid grey: `grey' = (1 - c) / 2 + c * grey`.

use super::colour::Plane;

/// Scales the contrast of `plane` by `c` (1 = unchanged) around 0.5.
pub fn reduce_contrast(plane: &mut Plane, c: f32) {
    let offset = (1.0 - c) / 2.0;
    for v in &mut plane.data {
        *v = offset + c * *v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_one_is_identity_and_zero_is_mid_grey() {
        let original = Plane::new(3, 1, vec![0.0, 0.25, 1.0]);
        let mut same = original.clone();
        reduce_contrast(&mut same, 1.0);
        assert_eq!(same, original);
        let mut flat = original.clone();
        reduce_contrast(&mut flat, 0.0);
        assert_eq!(flat.data, vec![0.5; 3]);
        // 10% contrast: the range shrinks to a tenth around 0.5.
        let mut low = original.clone();
        reduce_contrast(&mut low, 0.1);
        assert!((low.data[0] - 0.45).abs() < 1e-6 && (low.data[2] - 0.55).abs() < 1e-6);
    }
}
