use std::path::{Path, PathBuf};

use super::*;
use crate::files::npy::read_npy;

/// labelme-examples' three VOC 2011 photos, fetched by `scripts/fetch-test-data.sh`.
fn labelme_voc() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".data/labelme-examples/examples/semantic_segmentation/data_dataset_voc");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} is absent (run scripts/fetch-test-data.sh)",
            dir.display()
        );
        None
    }
}

#[test]
fn palette_colours_follow_the_devkit() {
    assert_eq!(voc_color(0), [0, 0, 0]);
    assert_eq!(voc_color(1), [128, 0, 0]);
    assert_eq!(voc_color(2), [0, 128, 0]);
    assert_eq!(voc_color(15), [192, 128, 128]); // person
    assert_eq!(voc_color(20), [0, 64, 128]); // tvmonitor
    assert_eq!(voc_color(VOC_VOID), [224, 224, 192]);
}

#[test]
fn the_study_red_channel_mask_drops_even_classes_and_keeps_void() {
    let mask = ClassMask {
        width: 5,
        height: 1,
        classes: vec![0, 1, 2, 15, VOC_VOID],
    };
    assert_eq!(mask.red_channel_mask(), vec![0, 1, 0, 1, 1]);
    let dropped: Vec<usize> = (1..=20).filter(|&c| voc_color(c as u8)[0] <= 127).collect();
    assert_eq!(dropped, vec![2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
}

#[test]
fn real_voc_palette_pngs_decode_to_the_class_indices() {
    let Some(dir) = labelme_voc() else { return };
    let voc = VocSegmentation::open(&dir, "val", None).unwrap();
    assert_eq!(voc.ids(), ["2011_000003", "2011_000006", "2011_000025"]);
    for (index, id) in voc.ids().iter().enumerate() {
        let mask = voc.mask(index).unwrap();
        // labelme saved the same labels as int32 arrays, -1 for void.
        let reference = read_npy::<i32>(&dir.join(format!("SegmentationClass/{id}.npy"))).unwrap();
        assert_eq!(reference.shape, vec![mask.height, mask.width]);
        let expected: Vec<u8> = reference
            .values
            .iter()
            .map(|&v| if v < 0 { VOC_VOID } else { v as u8 })
            .collect();
        assert_eq!(mask.classes, expected, "{id}");
        let image = voc.image(index).unwrap();
        assert_eq!((image.width, image.height), (mask.width, mask.height));
    }
    // 2011_000003: person (15) and bottle (5) on background, with void boundaries.
    let mask = voc.mask(0).unwrap();
    let count = |c: u8| mask.classes.iter().filter(|&&v| v == c).count();
    assert_eq!((count(15), count(5), count(VOC_VOID)), (32900, 873, 9460));
}

#[test]
fn rgb_masks_map_back_through_the_palette() {
    let dir = tempfile::tempdir().unwrap();
    let classes = [0u8, 1, 15, VOC_VOID, 20, 0];
    let rgb = image::RgbImage::from_fn(3, 2, |x, y| {
        image::Rgb(voc_color(classes[(y * 3 + x) as usize]))
    });
    let path = dir.path().join("m.png");
    rgb.save(&path).unwrap();
    assert_eq!(read_class_mask(&path).unwrap().classes, classes);
    let bad = image::RgbImage::from_pixel(2, 2, image::Rgb([1, 2, 3]));
    bad.save(&path).unwrap();
    let err = read_class_mask(&path).unwrap_err().to_string();
    assert!(
        err.contains("not in the VOC palette") && err.contains("m.png"),
        "{err}"
    );
}

#[test]
fn splits_come_from_image_sets_in_file_order_with_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("VOCdevkit/VOC2012");
    for sub in ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    for id in ["a", "b", "c"] {
        image::GrayImage::new(2, 2)
            .save(root.join(format!("SegmentationClass/{id}.png")))
            .unwrap();
    }
    std::fs::write(root.join("ImageSets/Segmentation/val.txt"), "c\na\n\nb\n").unwrap();
    let voc = VocSegmentation::open(dir.path(), "val", Some(2)).unwrap();
    assert_eq!(voc.ids(), ["c", "a"]);
    let all = VocSegmentation::open_all_masks(dir.path(), None).unwrap();
    assert_eq!(all.ids(), ["a", "b", "c"]);
    let err = VocSegmentation::open(dir.path(), "test", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("test.txt does not exist"), "{err}");
    let err = VocSegmentation::open(&dir.path().join("nowhere"), "val", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a PASCAL VOC folder"), "{err}");
}

#[test]
fn masks_are_resized_and_cropped_like_their_images() {
    // 6x3 with a class per column: shorter side 3 -> 3, so 6x3 -> centre crop columns 1..4 at
    // size 3 (offset round_ties_even(1.5) = 2): columns 2, 3, 4.
    let mask = ClassMask {
        width: 6,
        height: 3,
        classes: (0..3).flat_map(|_| 0..6u8).collect(),
    };
    let cropped = mask.resize_and_crop(3);
    assert_eq!(cropped.classes, vec![2, 3, 4, 2, 3, 4, 2, 3, 4]);
    // The image goes through the same geometry: a column ramp keeps its columns.
    let mut image = ImageF32::zeros(6, 3);
    for y in 0..3 {
        for x in 0..6 {
            image.set_pixel(x, y, [x as f32 / 10.0; 3]);
        }
    }
    let out = resize_and_crop(&image, 3);
    assert!((out.pixel(0, 1)[0] - 0.2).abs() < 1e-6 && (out.pixel(2, 1)[0] - 0.4).abs() < 1e-6);
    // Downscaling by 2: mask pixel centres sample the middle of each 2x2 block.
    let big = ClassMask {
        width: 4,
        height: 4,
        classes: (0..16).collect(),
    };
    assert_eq!(big.resize_and_crop(2).classes, vec![5, 7, 13, 15]);
}
