use super::*;

fn write_png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(w, h, image::Rgb(rgb))
        .save(path)
        .unwrap();
}

/// root/train/{zebra,apple,mango}/..., root/val/{apple,mango,zebra}/...
fn fabricate() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write_png(&r.join("train/zebra/z1.png"), 40, 30, [0, 0, 255]);
    write_png(&r.join("train/apple/b.PNG"), 20, 50, [255, 0, 0]);
    write_png(&r.join("train/apple/a.png"), 64, 64, [255, 0, 0]);
    write_png(&r.join("train/mango/nested/m.png"), 17, 33, [0, 255, 0]);
    std::fs::write(r.join("train/apple/notes.txt"), "not an image").unwrap();
    std::fs::create_dir_all(r.join("train/.hidden")).unwrap();
    for class in ["apple", "mango", "zebra"] {
        write_png(&r.join(format!("val/{class}/v.png")), 30, 30, [9, 9, 9]);
    }
    dir
}

#[test]
fn classes_sorted_files_sorted_and_preprocessed() {
    let dir = fabricate();
    let ds = ImageFolder::open(dir.path(), Split::Train, 24).unwrap();
    assert_eq!(ds.class_names(), ["apple", "mango", "zebra"]);
    assert_eq!(ds.num_classes(), 3);
    assert_eq!(ds.len(), 4);
    let paths: Vec<&str> = (0..4).map(|i| ds.relative_path(i).unwrap()).collect();
    assert_eq!(
        paths,
        [
            "train/apple/a.png",
            "train/apple/b.PNG",
            "train/mango/nested/m.png",
            "train/zebra/z1.png"
        ]
    );
    assert_eq!(
        (0..4).map(|i| ds.label(i).unwrap()).collect::<Vec<_>>(),
        [0, 0, 1, 2]
    );
    assert_eq!(ds.resize_size(), 27);
    for i in 0..4 {
        let s = ds.get(i).unwrap();
        assert_eq!((s.image.width, s.image.height), (24, 24));
        assert!(s.mask.is_none() && s.boxes.is_empty());
    }
    let zebra = ds.get(3).unwrap();
    assert_eq!(zebra.label, 2);
    assert!(zebra.image.data[..576].iter().all(|v| v.abs() < 1e-5));
    assert!(
        zebra.image.data[1152..]
            .iter()
            .all(|v| (v - 1.0).abs() < 1e-5)
    );
    let val = ImageFolder::open(dir.path(), Split::Val, 8).unwrap();
    assert_eq!(val.len(), 3);
    assert_ne!(val.fingerprint(), ds.fingerprint());
}

#[test]
fn fingerprint_relative_and_sensitive() {
    let a = fabricate();
    let b = fabricate();
    let fa = ImageFolder::open(a.path(), Split::Train, 24)
        .unwrap()
        .fingerprint();
    // Same content at another absolute path: same fingerprint.
    assert_eq!(
        fa,
        ImageFolder::open(b.path(), Split::Train, 24)
            .unwrap()
            .fingerprint()
    );
    assert_ne!(
        fa,
        ImageFolder::open(a.path(), Split::Train, 32)
            .unwrap()
            .fingerprint()
    );
    write_png(&b.path().join("train/zebra/z2.png"), 8, 8, [1, 2, 3]);
    assert_ne!(
        fa,
        ImageFolder::open(b.path(), Split::Train, 24)
            .unwrap()
            .fingerprint()
    );
}

#[test]
fn class_names_override() {
    let dir = fabricate();
    let ds = ImageFolder::open(dir.path(), Split::Val, 8).unwrap();
    let ds = ds
        .with_class_names(vec!["A".into(), "M".into(), "Z".into()])
        .unwrap();
    assert_eq!(ds.class_names(), ["A", "M", "Z"]);
    assert_eq!(ds.class_folders(), ["apple", "mango", "zebra"]);
    assert!(ds.with_class_names(vec!["x".into()]).is_err());
}

#[test]
fn missing_split_names_path_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let err = ImageFolder::open(dir.path(), Split::Val, 8)
        .unwrap_err()
        .to_string();
    let expected = dir.path().join("val");
    assert!(err.contains(&expected.display().to_string()), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains("`<root>/train/<class>/<image>.jpg`"), "{err}");

    std::fs::create_dir_all(dir.path().join("train")).unwrap();
    let err = ImageFolder::open(dir.path(), Split::Train, 8)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no class folders"), "{err}");
    assert!(
        err.contains(&dir.path().join("train").display().to_string()),
        "{err}"
    );
    assert!(err.contains("`<root>/train/<class>/<image>.jpg`"), "{err}");

    std::fs::create_dir_all(dir.path().join("train/cat")).unwrap();
    std::fs::write(dir.path().join("train/cat/readme.txt"), "x").unwrap();
    let err = ImageFolder::open(dir.path(), Split::Train, 8)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no .jpg/.jpeg/.png images"), "{err}");
    assert!(err.contains("`<root>/train/<class>/<image>.jpg`"), "{err}");

    write_png(&dir.path().join("train/dog/d.png"), 4, 4, [0, 0, 0]);
    let err = ImageFolder::open(dir.path(), Split::Train, 8)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("without images") && err.contains("cat"),
        "{err}"
    );
}

#[test]
fn content_sniffed_not_extension() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("train/n01/disguised.png");
    write_png(&png, 10, 6, [10, 20, 30]);
    std::fs::rename(&png, dir.path().join("train/n01/disguised.JPEG")).unwrap();
    let ds = ImageFolder::open(dir.path(), Split::Train, 4).unwrap();
    let raw = ds.load_raw(0).unwrap();
    assert_eq!((raw.width, raw.height), (10, 6));
    assert_eq!(raw.pixel(3, 3), [10.0 / 255.0, 20.0 / 255.0, 30.0 / 255.0]);
    assert_eq!(ds.get(0).unwrap().image.width, 4);
    assert!(ds.get(1).is_err());
}

#[test]
fn preprocess_geometry() {
    // 20x50 portrait, crop 24 from resize 27: width becomes 27, height int(27*50/20) = 67.
    let mut img = ImageF32::zeros(20, 50);
    // Mark the vertical centre rows so the centre crop must keep them.
    for x in 0..20 {
        img.set_pixel(x, 25, [1.0; 3]);
    }
    let out = preprocess_eval(&img, 27, 24);
    assert_eq!((out.width, out.height), (24, 24));
    let row_sums: Vec<f32> = (0..24)
        .map(|y| (0..24).map(|x| out.pixel(x, y)[0]).sum())
        .collect();
    let brightest = row_sums
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert!((11..=13).contains(&brightest), "{row_sums:?}");
    // Crop larger than the resize still yields the requested size.
    assert_eq!(preprocess_eval(&img, 8, 16).width, 16);
}
