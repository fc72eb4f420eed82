//! Reading an image file as RGB: the one decoder every dataset uses.
//!
//! JPEGs go through zune-jpeg (the decoder the `image` crate wraps, so pixels are the same) in
//! strict mode: a damaged entropy-coded segment is an error naming the file, where the lenient
//! default would fill the damage with grey and train on it without a word. Other formats go
//! through `image`.

use std::path::Path;

use anyhow::{Context, anyhow};
use image::RgbImage;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

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
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|err| anyhow!("not a readable JPEG: {err:?}"))?;
    let source = decoder
        .input_colorspace()
        .context("JPEG without a colour space")?;
    // As `image` does: keep grey and RGB(A) as they are, convert the rest (YCbCr, CMYK) to RGB.
    let output = match source {
        ColorSpace::RGB | ColorSpace::RGBA | ColorSpace::Luma | ColorSpace::LumaA => source,
        _ => ColorSpace::RGB,
    };
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(output));
    let pixels = decoder
        .decode()
        .map_err(|err| anyhow!("damaged JPEG data: {err:?}"))?;
    let (width, height) = decoder.dimensions().context("JPEG without dimensions")?;
    let channels = output.num_components();
    // Grey is repeated, alpha dropped: what `image`'s `to_rgb8` does.
    let rgb: Vec<u8> = match channels {
        3 => pixels,
        1 | 2 => pixels
            .chunks_exact(channels)
            .flat_map(|p| [p[0]; 3])
            .collect(),
        _ => pixels
            .chunks_exact(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    RgbImage::from_raw(width as u32, height as u32, rgb).context("JPEG data of the wrong size")
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
    fn pixels_equal_the_image_crates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jpg");
        std::fs::write(&path, photo_jpeg()).unwrap();
        let ours = read_rgb(&path).unwrap();
        let theirs = ImageF32::from_rgb8(&image::open(&path).unwrap().to_rgb8());
        assert_eq!((ours.width, ours.height), (64, 48));
        assert_eq!(ours.data, theirs.data);
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
