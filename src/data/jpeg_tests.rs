use std::path::{Path, PathBuf};

use super::*;
use crate::files::npy::read_npy;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jpeg")
}

/// PIL's decoding of `name`.jpg (see scripts/make-jpeg-fixtures.py), as (width, height, RGB).
fn pil(name: &str) -> (usize, usize, Vec<u8>) {
    let array = read_npy::<u8>(&fixtures().join(format!("{name}.npy"))).unwrap();
    assert_eq!(array.shape.len(), 3, "{name}: {:?}", array.shape);
    assert_eq!(array.shape[2], 3);
    (array.shape[1], array.shape[0], array.values)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(format!("{name}.jpg"))).unwrap()
}

#[test]
fn pixels_equal_pils_for_every_fixture() {
    let names = [
        "ycc444",
        "ycc422",
        "ycc420",
        "ycc420-progressive",
        "ycc420-q30",
        "grey",
        "grey-progressive",
        "cmyk",
    ];
    for name in names {
        let ours = decode(&fixture_bytes(name)).unwrap();
        let (width, height, theirs) = pil(name);
        assert_eq!((ours.width, ours.height), (width, height), "{name}");
        let differing = ours
            .pixels
            .iter()
            .zip(&theirs)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            differing, 0,
            "{name}: {differing} channel values differ from PIL's"
        );
    }
}

#[test]
fn the_fixtures_tell_decoders_apart() {
    // zune-jpeg (the `image` crate's decoder) differs from PIL on these: were the fixtures too
    // easy (flat colour, MCU-aligned), the test above could not fail for a wrong decoder.
    let bytes = fixture_bytes("ycc420");
    let other = image::load_from_memory(&bytes).unwrap().into_rgb8();
    let (_, _, theirs) = pil("ycc420");
    assert_ne!(other.as_raw(), &theirs);
}

#[test]
fn cmyk_follows_pils_conversion() {
    // Inverted (Adobe) CMYK: stored (255, 255, 255, 255) is no ink, white.
    assert_eq!(cmyk_to_rgb(&[255, 255, 255, 255]), [255, 255, 255]);
    // Full black ink: black whatever the other inks.
    assert_eq!(cmyk_to_rgb(&[10, 200, 30, 0]), [0, 0, 0]);
    // No black, full cyan: red channel 0, others full.
    assert_eq!(cmyk_to_rgb(&[0, 255, 255, 255]), [0, 255, 255]);
}

#[test]
fn damage_is_an_error_and_harmless_oddities_are_not() {
    let bytes = fixture_bytes("ycc444");
    let clean = decode(&bytes).unwrap();

    // Cut short: libjpeg would fill the rest with grey; pvr refuses.
    let err = decode(&bytes[..bytes.len() * 2 / 3])
        .unwrap_err()
        .to_string();
    assert!(err.contains("Premature end"), "{err}");

    // A marker inside the entropy-coded data.
    let mut marked = bytes.clone();
    let at = bytes.len() * 2 / 3;
    marked[at] = 0xFF;
    marked[at + 1] = 0xD0 + 5;
    let err = decode(&marked).unwrap_err().to_string();
    assert!(err.contains("Corrupt JPEG data"), "{err}");

    // Spare bytes before the end-of-image marker: every block is there, so are the pixels.
    let mut padded = bytes[..bytes.len() - 2].to_vec();
    padded.extend_from_slice(&[0x12, 0x34, 0x56, 0xFF, 0xD9]);
    assert_eq!(decode(&padded).unwrap(), clean);

    // Not a JPEG at all, and a header with no image.
    assert!(decode(b"\xFF\xD8\xFF\xE0 nothing").is_err());
    assert!(decode(&[]).is_err());
}

#[test]
fn warning_kinds() {
    assert!(harmless_warning(ffi::JWRN_JFIF_MAJOR, 0));
    assert!(harmless_warning(ffi::JWRN_EXTRANEOUS_DATA, 0xD9));
    assert!(!harmless_warning(ffi::JWRN_EXTRANEOUS_DATA, 0xD3));
    assert!(!harmless_warning(ffi::JWRN_HUFF_BAD_CODE, 0));
    assert!(!harmless_warning(ffi::JWRN_JPEG_EOF, 0));
}

/// BLAKE3 of PIL's RGB decoding (`Image.open(f).convert("RGB")`, Pillow 13.0 with
/// libjpeg-turbo 3.2) of the three PASCAL VOC photos in labelme-examples, which
/// scripts/fetch-test-data.sh puts in .data/ (not redistributed here).
const VOC_PHOTOS: [(&str, usize, usize, &str); 3] = [
    (
        "2011_000003",
        500,
        338,
        "75336ed84ebeb99c8e05ab0a8497388696f7af13e34c3d8b9e64568f3cbe4ec6",
    ),
    (
        "2011_000006",
        500,
        375,
        "a504bd024865958a1315680eb7d9f85d002d6d906eeff60a44795f720a26f098",
    ),
    (
        "2011_000025",
        500,
        375,
        "91001416cce80782bc3567c6a760dcc5f110c568d4a2bd5c233f3320d5e0ddc8",
    ),
];

#[test]
fn voc_photos_decode_to_pils_pixels() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".data/labelme-examples/examples/semantic_segmentation/data_dataset_voc/JPEGImages");
    if !dir.is_dir() {
        eprintln!(
            "skipping: {} is absent (scripts/fetch-test-data.sh fetches it)",
            dir.display()
        );
        return;
    }
    for (id, width, height, digest) in VOC_PHOTOS {
        let bytes = std::fs::read(dir.join(format!("{id}.jpg"))).unwrap();
        let ours = decode(&bytes).unwrap();
        assert_eq!((ours.width, ours.height), (width, height), "{id}");
        assert_eq!(
            blake3::hash(&ours.pixels).to_hex().as_str(),
            digest,
            "{id}: the pixels differ from PIL's"
        );
    }
}
