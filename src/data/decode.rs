//! Reading an image file as RGB: the one decoder every dataset uses.
//!
//! JPEGs go through libjpeg-turbo's decoder ([`super::jpeg`]), so pixels equal PIL's, strictly:
//! damaged data is an error naming the file, where PIL would fill the damage with grey and
//! train on it without a word. Other formats go through `image`.

use std::path::Path;

use anyhow::Context;
use image::RgbImage;

use super::ImageF32;

/// The image at `path`, RGB in [0, 1].
pub fn read_rgb(path: &Path) -> anyhow::Result<ImageF32> {
    Ok(ImageF32::from_rgb8(&read_rgb8(path)?))
}

/// The image at `path`, 8-bit RGB. The format is sniffed from the content, not the extension
/// (ImageNet has a PNG named `.JPEG`).
pub fn read_rgb8(path: &Path) -> anyhow::Result<RgbImage> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return decode_jpeg(&bytes).with_context(|| format!("decoding {}", path.display()));
    }
    Ok(image::load_from_memory(&bytes)
        .with_context(|| format!("decoding {}", path.display()))?
        .into_rgb8())
}

fn decode_jpeg(bytes: &[u8]) -> anyhow::Result<RgbImage> {
    let decoded = super::jpeg::decode(bytes)?;
    RgbImage::from_raw(decoded.width as u32, decoded.height as u32, decoded.pixels)
        .context("JPEG data of the wrong size")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo_jpeg() -> Vec<u8> {
        let image = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
        });
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
            .encode_image(&image)
            .unwrap();
        bytes
    }

    #[test]
    fn jpegs_and_pngs_are_sniffed_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        std::fs::write(&path, photo_jpeg()).unwrap();
        let jpeg = read_rgb8(&path).unwrap();
        assert_eq!(jpeg.dimensions(), (64, 48));
        assert_eq!(jpeg, {
            let decoded = super::super::jpeg::decode(&photo_jpeg()).unwrap();
            RgbImage::from_raw(64, 48, decoded.pixels).unwrap()
        });
        let png = dir.path().join("b.JPEG");
        jpeg.save_with_format(&png, image::ImageFormat::Png)
            .unwrap();
        assert_eq!(read_rgb8(&png).unwrap(), jpeg);
    }

    #[test]
    fn damaged_jpeg_data_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.jpg");
        let mut bytes = photo_jpeg();
        // Scramble the entropy-coded data after the headers, keeping the end marker.
        let start = bytes.len() / 2;
        let end = bytes.len() - 2;
        let mut state = 12345u32;
        for byte in &mut bytes[start..end] {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *byte = (state >> 16) as u8;
        }
        std::fs::write(&path, &bytes).unwrap();
        let err = format!("{:#}", read_rgb(&path).unwrap_err());
        assert!(err.contains("broken.jpg"), "{err}");
    }
}
