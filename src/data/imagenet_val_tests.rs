use std::path::Path;

use super::*;
use crate::data::imagenet::{imagenet_classes, imagenet_name};
use crate::data::{Dataset, ImageFolder, Split};

fn meta_1k() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/imagenet/meta-1k.mat")
}

fn tiny_image(path: &Path, shade: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let image = image::RgbImage::from_pixel(6, 5, image::Rgb([shade, 40, 90]));
    image
        .save_with_format(path, image::ImageFormat::Png)
        .unwrap();
}

/// `root/val/ILSVRC2012_val_0000000{1,2,3}.JPEG` and the devkit under
/// `ILSVRC2012_devkit_t12/data/`, whose ground truth gives IDs 2, 1, 1000.
fn devkit_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=3 {
        tiny_image(
            &dir.path().join(format!("val/ILSVRC2012_val_{i:08}.JPEG")),
            i as u8,
        );
    }
    let data = dir.path().join("ILSVRC2012_devkit_t12/data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join(DEVKIT_GROUND_TRUTH), "2\n1\n1000\n").unwrap();
    std::fs::copy(meta_1k(), data.join(DEVKIT_META)).unwrap();
    dir
}

#[test]
fn devkit_ids_map_through_meta_mat_to_torchvision_indices() {
    let wnids = devkit_wnids(&meta_1k()).unwrap();
    // 1000 leaves; the inner node (1001, "entity") is left out.
    assert_eq!(wnids.len(), 1000);
    assert!(!wnids.contains_key(&1001));
    let dir = devkit_tree();
    let truth = find_val_ground_truth(dir.path()).unwrap().unwrap();
    // In the fixture, ID 1 is n02094114 (Norfolk terrier) and ID 2 is n04192698 (shield).
    let name = |key: &str| imagenet_name(truth.labels[key]).unwrap();
    assert_eq!(name("ILSVRC2012_val_00000001"), "shield");
    assert_eq!(name("ILSVRC2012_val_00000002"), "Norfolk terrier");
    assert_eq!(truth.labels["ILSVRC2012_val_00000002"], 185);
    assert!(truth.source.contains(DEVKIT_GROUND_TRUTH));

    let val = ImageFolder::open(dir.path(), Split::Val, 4).unwrap();
    assert_eq!(val.num_classes(), 1000);
    assert_eq!(val.len(), 3);
    assert_eq!(
        val.relative_path(0),
        Some("val/ILSVRC2012_val_00000001.JPEG")
    );
    assert_eq!(val.label(1), Some(185));
    assert_eq!(val.get(1).unwrap().label, 185);
    assert!(val.labels_from().unwrap().contains("meta.mat"));
    let val = ImageFolder::open_imagenet(dir.path(), Split::Val, 4).unwrap();
    assert_eq!(val.class_names()[185], "Norfolk terrier");

    // The labels are part of the fingerprint: the same files, other ground truth.
    let before = val.fingerprint();
    let truth_file = dir
        .path()
        .join("ILSVRC2012_devkit_t12/data")
        .join(DEVKIT_GROUND_TRUTH);
    std::fs::write(&truth_file, "1\n2\n1000\n").unwrap();
    let after = ImageFolder::open_imagenet(dir.path(), Split::Val, 4).unwrap();
    assert_eq!(after.label(0), Some(185));
    assert_ne!(after.fingerprint(), before);
}

#[test]
fn kaggle_loc_solution_three_folders_up() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ILSVRC/Data/CLS-LOC");
    tiny_image(&root.join("val/ILSVRC2012_val_00000007.JPEG"), 1);
    tiny_image(&root.join("val/ILSVRC2012_val_00000009.JPEG"), 2);
    std::fs::write(
        dir.path().join(LOC_SOLUTION),
        "ImageId,PredictionString\n\
         ILSVRC2012_val_00000009,n15075141 1 2 3 4 n15075141 5 6 7 8\n\
         ILSVRC2012_val_00000007,n01440764 10 20 30 40\n",
    )
    .unwrap();
    let val = ImageFolder::open(&root, Split::Val, 4).unwrap();
    assert_eq!(val.label(0), Some(0)); // tench
    assert_eq!(val.label(1), Some(999)); // toilet tissue
}

#[test]
fn missing_pieces_are_named() {
    // Images but no ground truth: the places looked at are listed.
    let dir = tempfile::tempdir().unwrap();
    tiny_image(&dir.path().join("val/ILSVRC2012_val_00000001.JPEG"), 1);
    let err = format!(
        "{:#}",
        ImageFolder::open(dir.path(), Split::Val, 4).unwrap_err()
    );
    assert!(err.contains("no class folders"), "{err}");
    assert!(
        err.contains(DEVKIT_GROUND_TRUTH) && err.contains(LOC_SOLUTION),
        "{err}"
    );

    // Ground truth without meta.mat.
    std::fs::write(dir.path().join(DEVKIT_GROUND_TRUTH), "1\n").unwrap();
    let err = format!(
        "{:#}",
        ImageFolder::open(dir.path(), Split::Val, 4).unwrap_err()
    );
    assert!(
        err.contains("meta.mat") && err.contains("does not exist"),
        "{err}"
    );

    // An image the ground truth does not cover, and an ID that is no leaf.
    let dir = devkit_tree();
    tiny_image(&dir.path().join("val/ILSVRC2012_val_00000004.JPEG"), 4);
    let err = format!(
        "{:#}",
        ImageFolder::open(dir.path(), Split::Val, 4).unwrap_err()
    );
    assert!(
        err.contains("ILSVRC2012_val_00000004.JPEG") && err.contains("not in the ground truth"),
        "{err}"
    );
    let truth_file = dir
        .path()
        .join("ILSVRC2012_devkit_t12/data")
        .join(DEVKIT_GROUND_TRUTH);
    std::fs::write(&truth_file, "1\n1001\n").unwrap();
    let err = format!("{:#}", find_val_ground_truth(dir.path()).unwrap_err());
    assert!(err.contains("line 2") && err.contains("1001"), "{err}");

    // A Kaggle CSV with a class outside ImageNet-1k.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(LOC_SOLUTION),
        "ImageId,PredictionString\nx,n99999999 1 2 3 4\n",
    )
    .unwrap();
    let err = format!("{:#}", find_val_ground_truth(dir.path()).unwrap_err());
    assert!(err.contains("n99999999") && err.contains("line 2"), "{err}");
}

#[test]
fn imagenet_trees_must_hold_the_1000_classes() {
    let dir = tempfile::tempdir().unwrap();
    for class in ["apple", "n01440764"] {
        tiny_image(&dir.path().join(format!("train/{class}/a.png")), 3);
    }
    // A generic image folder is fine; as ImageNet it is named, with what differs.
    assert_eq!(
        ImageFolder::open(dir.path(), Split::Train, 4)
            .unwrap()
            .num_classes(),
        2
    );
    let err = ImageFolder::open_imagenet(dir.path(), Split::Train, 4)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&dir.path().join("train").display().to_string()),
        "{err}"
    );
    assert!(err.contains("not ImageNet-1k classes: apple"), "{err}");
    assert!(err.contains("missing: n01443537"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    for (i, class) in imagenet_classes().iter().enumerate() {
        tiny_image(
            &dir.path().join(format!("train/{}/x.JPEG", class.wnid)),
            i as u8,
        );
    }
    let train = ImageFolder::open_imagenet(dir.path(), Split::Train, 4).unwrap();
    assert_eq!(train.len(), 1000);
    assert_eq!(train.label(281), Some(281));
    assert_eq!(train.class_names()[281], "tabby");
    assert_eq!(train.class_folders()[281], "n02123045");
    assert!(train.labels_from().is_none());
}

#[test]
fn keys_are_file_stems() {
    assert_eq!(
        image_key("ILSVRC2012_val_00000001.JPEG"),
        "ILSVRC2012_val_00000001"
    );
    assert_eq!(image_key("noext"), "noext");
}
