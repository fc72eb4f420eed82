//! Rotation by quarter turns (counter-clockwise, as `numpy.rot90`).

use crate::data::ImageF32;

/// `image` rotated counter-clockwise by `quarter_turns * 90` degrees.
pub fn rotate_quarter_turns(image: &ImageF32, quarter_turns: u8) -> ImageF32 {
    let mut out = image.clone();
    for _ in 0..quarter_turns % 4 {
        out = rotate_once(&out);
    }
    out
}

/// 90 degrees counter-clockwise: the new pixel (x, y) is the old (w - 1 - y, x).
fn rotate_once(image: &ImageF32) -> ImageF32 {
    let (w, h) = (image.width, image.height);
    // The result is h wide and w tall.
    let mut out = ImageF32::zeros(h, w);
    for y in 0..w {
        for x in 0..h {
            out.set_pixel(x, y, image.pixel(w - 1 - y, x));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(w: usize, h: usize) -> ImageF32 {
        let mut img = ImageF32::zeros(w, h);
        for (i, v) in img.data.iter_mut().enumerate() {
            *v = i as f32;
        }
        img
    }

    #[test]
    fn four_quarter_turns_return_the_image() {
        for (w, h) in [(5, 5), (4, 3)] {
            let img = numbered(w, h);
            let mut turned = img.clone();
            for step in 1..=4 {
                turned = rotate_quarter_turns(&turned, 1);
                assert_eq!(turned == img, step == 4, "{w}x{h} after {step}");
            }
            assert_eq!(rotate_quarter_turns(&img, 2), {
                let once = rotate_quarter_turns(&img, 1);
                rotate_quarter_turns(&once, 1)
            });
        }
    }

    #[test]
    fn counter_clockwise() {
        // Top-right pixel goes to the top-left.
        let mut img = ImageF32::zeros(3, 3);
        img.set_pixel(2, 0, [1.0, 0.5, 0.25]);
        let out = rotate_quarter_turns(&img, 1);
        assert_eq!(out.pixel(0, 0), [1.0, 0.5, 0.25]);
        let out = rotate_quarter_turns(&img, 3);
        assert_eq!(out.pixel(2, 2), [1.0, 0.5, 0.25]);
    }
}
