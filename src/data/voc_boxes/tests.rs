use std::path::PathBuf;

use super::*;

/// An annotation as the VOC devkit writes them (integer corners, 0/1 flags), with the odd bits
/// XML allows: a comment, an entity, an attribute.
const OFFICIAL: &str = r#"<?xml version="1.0"?>
<annotation>
  <folder>VOC2007</folder>
  <filename>000005.jpg</filename>
  <!-- a comment -->
  <source><database>The VOC2007 Database</database></source>
  <size><width>500</width><height>375</height><depth>3</depth></size>
  <segmented>0</segmented>
  <object>
    <name>chair</name>
    <pose>Rear</pose>
    <truncated>0</truncated>
    <difficult>0</difficult>
    <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox>
  </object>
  <object>
    <name>chair</name>
    <pose kind="x &amp; y">Unspecified</pose>
    <truncated>1</truncated>
    <difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>500</xmax><ymax>375</ymax></bndbox>
  </object>
</annotation>
"#;

#[test]
fn official_annotation_boxes_become_zero_based_with_exclusive_ends() {
    let a = parse_voc_annotation(OFFICIAL).unwrap();
    assert_eq!(a.filename, "000005.jpg");
    assert_eq!((a.width, a.height), (500, 375));
    assert_eq!(a.objects.len(), 2);
    assert_eq!(a.objects[0].name, "chair");
    assert_eq!(a.objects[0].bbox, [262.0, 210.0, 324.0, 339.0]);
    assert!(!a.objects[0].is_hard());
    // A box over the whole image is exactly the image in 0-based, exclusive coordinates.
    assert_eq!(a.objects[1].bbox, [0.0, 0.0, 500.0, 375.0]);
    assert!(a.objects[1].truncated && a.objects[1].difficult);
}

#[test]
fn malformed_annotations_are_rejected_with_the_reason() {
    let no_box = OFFICIAL.replace("<xmax>324</xmax>", "");
    let err = format!("{:#}", parse_voc_annotation(&no_box).unwrap_err());
    assert!(err.contains("no complete <bndbox>"), "{err}");
    let bad_flag = OFFICIAL.replacen("<difficult>0</difficult>", "<difficult>yes</difficult>", 1);
    let err = format!("{:#}", parse_voc_annotation(&bad_flag).unwrap_err());
    assert!(err.contains("object/difficult"), "{err}");
    let no_size = OFFICIAL.replace("<width>500</width>", "");
    assert!(parse_voc_annotation(&no_size).is_err());
    assert!(parse_voc_annotation("<annotation><size>").is_err());
}

/// labelme-examples (Debian), fetched by `scripts/fetch-test-data.sh`.
fn labelme_voc() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".data/labelme-examples/examples/bbox_detection/data_dataset_voc");
    if dir.join("Annotations").is_dir() {
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
fn real_labelme_annotations_parse() {
    let Some(dir) = labelme_voc() else { return };
    // labelme writes fractional corners and empty <truncated/> and <difficult/> flags.
    let a = read_voc_annotation(&dir.join("Annotations/2011_000003.xml")).unwrap();
    assert_eq!(a.filename, "2011_000003.jpg");
    assert_eq!((a.width, a.height), (500, 338));
    assert_eq!(a.objects.len(), 2);
    assert!(a.objects.iter().all(|o| o.name == "person" && !o.is_hard()));
    let b = a.objects[0].bbox;
    assert_eq!((b[0], b[2]), (190.0, 313.0));
    assert!((b[1] - 106.369).abs() < 1e-3 && (b[3] - 329.369).abs() < 1e-3);
    assert_eq!(a.objects[1].bbox, [364.0, 82.0, 500.0, 333.0]);
    let total: usize = ["2011_000003", "2011_000006", "2011_000025"]
        .iter()
        .map(|id| {
            read_voc_annotation(&dir.join(format!("Annotations/{id}.xml")))
                .unwrap()
                .objects
                .len()
        })
        .sum();
    assert_eq!(total, 9);
}

/// A VOC year folder made of the labelme samples plus a split list (labelme has none).
fn voc_root(dir: &Path, split: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for sub in ["Annotations", "JPEGImages"] {
        fs::create_dir_all(root.path().join(sub)).unwrap();
        for entry in fs::read_dir(dir.join(sub)).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), root.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    fs::create_dir_all(root.path().join("ImageSets/Main")).unwrap();
    fs::write(
        root.path().join("ImageSets/Main/trainval.txt"),
        split.join("\n") + "\n",
    )
    .unwrap();
    root
}

#[test]
fn real_voc_folder_as_a_dataset() {
    let Some(dir) = labelme_voc() else { return };
    let root = voc_root(&dir, &["2011_000025", "2011_000003"]);
    let voc = VocBoxes::open(root.path(), "trainval", false).unwrap();
    assert_eq!(voc.len(), 2);
    assert_eq!(voc.id(1), Some("2011_000003"));
    let sample = voc.get(1).unwrap();
    assert_eq!((sample.image.width, sample.image.height), (500, 338));
    assert_eq!(sample.boxes.len(), 2);
    assert_eq!(sample.boxes[1], [364.0, 82.0, 500.0, 333.0]);
    assert_eq!(VOC_OBJECT_CLASSES[sample.label], "person");
    // Marking every object of one image difficult: no_hard skips that image.
    let xml = root.path().join("Annotations/2011_000003.xml");
    let text = fs::read_to_string(&xml).unwrap();
    fs::write(
        &xml,
        text.replace("<difficult/>", "<difficult>1</difficult>"),
    )
    .unwrap();
    let hard = VocBoxes::open(root.path(), "trainval", true).unwrap();
    assert_eq!(hard.len(), 1);
    assert_eq!(hard.id(0), Some("2011_000025"));
    // Without no_hard the difficult objects still count.
    assert_eq!(
        VocBoxes::open(root.path(), "trainval", false)
            .unwrap()
            .len(),
        2
    );
    assert_ne!(hard.fingerprint(), voc.fingerprint());
}

#[test]
fn missing_split_names_the_expected_path() {
    let root = tempfile::tempdir().unwrap();
    let err = format!(
        "{:#}",
        VocBoxes::open(root.path(), "val", false).err().unwrap()
    );
    assert!(err.contains("ImageSets/Main/val.txt"), "{err}");
    assert!(err.contains("VOC2012"), "{err}");
}
