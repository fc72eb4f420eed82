//! The attribution stages end to end on the tiny experiment: files anyone can reopen, scores that
//! match a recomputation from those files, exact invalidation, clear spec errors, and VOC
//! scoring on the real labelme-examples images when they were fetched.

mod common;

use std::path::Path;

use common::{TINY, Workspace, labels_with, stderr, stdout};
use pvr::exec::StageStatus;
use pvr::files::npy::read_npy;
use pvr::files::tables::read_parquet;
use pvr::metrics::{ChannelPooling, localization_scores};

const ATTRIBUTION: &str = r#"
[[attribution]]
method = "gradcam"
images = 10

[[attribution]]
method = "ig"
images = 10
steps = 4
batch_size = 4
"#;

fn tiny_with_attribution() -> String {
    format!("{TINY}{ATTRIBUTION}")
}

fn f64s(frame: &polars::prelude::DataFrame, name: &str) -> Vec<f64> {
    frame
        .column(name)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

/// The cache entry of stage `label` of the last run.
fn entry_dir(ws: &Workspace, summary: &pvr::exec::RunSummary, label: &str) -> std::path::PathBuf {
    let stage = summary.stages.iter().find(|s| s.stage == label).unwrap();
    ws.path()
        .join("cache/entries")
        .join(&stage.key[..2])
        .join(&stage.key)
}

#[test]
fn attribution_stages_write_reopenable_files_and_rerun_exactly() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", &tiny_with_attribution());
    let first = ws.run_ok("tiny.toml", &[]);
    let ran = labels_with(&first, StageStatus::Ran);
    for round in 0..=2 {
        for name in ["gradcam", "ig"] {
            assert!(
                ran.contains(&format!("attribute[{round},{name}]")),
                "{ran:?}"
            );
            assert!(ran.contains(&format!("score[{round},{name}]")), "{ran:?}");
        }
    }
    assert!(ran.contains(&"report[attribution]".to_string()));

    // The maps and masks reopen as NumPy arrays and reproduce the stored scores.
    let attribute = entry_dir(&ws, &first, "attribute[1,ig]");
    let maps = read_npy::<f32>(&attribute.join("maps.npy")).unwrap();
    let masks = read_npy::<u8>(&attribute.join("masks.npy")).unwrap();
    assert_eq!(maps.shape, vec![10, 3, 16, 16]);
    assert_eq!(masks.shape, vec![10, 16, 16]);
    assert!(masks.values.iter().all(|&m| m <= 1) && masks.values.contains(&1));
    let scores =
        read_parquet(&entry_dir(&ws, &first, "score[1,ig]").join("scores.parquet")).unwrap();
    let rma = f64s(&scores, "rma");
    let rra = f64s(&scores, "rra");
    for image in 0..10 {
        let map = &maps.values[image * 768..(image + 1) * 768];
        let pooled = ChannelPooling::L2NormSq.pool(map, 3);
        let again = localization_scores(&pooled, &masks.values[image * 256..(image + 1) * 256]);
        assert!((again.rma - rma[image]).abs() < 1e-12, "image {image}");
        assert!((again.rra - rra[image]).abs() < 1e-12, "image {image}");
    }
    let index = read_parquet(&attribute.join("index.parquet")).unwrap();
    assert_eq!(index.height(), 10);
    assert!(
        f64s(&index, "completeness_delta")
            .iter()
            .all(|d| d.is_finite())
    );
    let gradcam =
        read_npy::<f32>(&entry_dir(&ws, &first, "attribute[0,gradcam]").join("maps.npy")).unwrap();
    assert_eq!(gradcam.shape, vec![10, 16, 16]);
    assert!(gradcam.values.iter().all(|v| (0.0..=1.0).contains(v)));

    // The report: one row per (round, method, image), and its figures.
    let report = ws.path().join("reports/tiny");
    let table = read_parquet(&report.join("attribution.parquet")).unwrap();
    assert_eq!(table.height(), 3 * 2 * 10);
    for name in [
        "sparsity",
        "rma",
        "rra",
        "target",
        "predicted",
        "correct",
        "method",
        "image",
    ] {
        assert!(
            table.column(name).is_ok(),
            "attribution.parquet lacks {name}"
        );
    }
    for file in [
        "attribution.md",
        "attribution.png",
        "attribution_grid.png",
        "attribution_summary.parquet",
        "summary.md",
    ] {
        assert!(report.join(file).is_file(), "missing {file}");
    }
    let md = std::fs::read_to_string(report.join("attribution.md")).unwrap();
    assert!(
        md.contains("verdict") && !md.contains("## Sweet spots") && md.contains("## gradcam"),
        "{md}"
    );

    // A second run is all cache hits; changing the pooling reruns scoring and the report only.
    let second = ws.run_ok("tiny.toml", &[]);
    assert!(labels_with(&second, StageStatus::Ran).is_empty());
    let third = ws.run_ok("tiny.toml", &["--set", "attribution.1.pooling=l1-norm"]);
    assert_eq!(
        labels_with(&third, StageStatus::Ran),
        vec![
            "report[attribution]",
            "report[verdict]",
            "score[0,ig]",
            "score[1,ig]",
            "score[2,ig]"
        ]
    );
    // IG's internal batch changes speed, not maps: nothing reruns.
    let fourth = ws.run_ok("tiny.toml", &["--set", "attribution.1.internal_batch=3"]);
    assert!(labels_with(&fourth, StageStatus::Ran).is_empty());
}

#[test]
fn attribution_spec_errors_point_at_the_key() {
    let ws = Workspace::new();
    let text =
        tiny_with_attribution().replace("method = \"gradcam\"", "method = \"gradcam\"\nsteps = 8");
    ws.write_spec("bad.toml", &text);
    let err = stderr(&ws.pvr(&["check", "bad.toml"]));
    assert!(err.contains("key `attribution.0.steps`"), "{err}");
    assert!(err.contains("applies to method \"ig\" only"), "{err}");
    assert!(err.contains("bad.toml:29:"), "{err}");

    let text = tiny_with_attribution().replace("method = \"gradcam\"", "method = \"attention\"");
    ws.write_spec("attention.toml", &text);
    let err = stderr(&ws.pvr(&["check", "attention.toml"]));
    assert!(err.contains("resnet18 has no attention"), "{err}");

    let text = format!(
        "{}\n[[attribution]]\nmethod = \"gradcam\"\n",
        tiny_with_attribution()
    );
    ws.write_spec("twice.toml", &text);
    let err = stderr(&ws.pvr(&["check", "twice.toml"]));
    assert!(err.contains("distinct `name`"), "{err}");

    let text = tiny_with_attribution().replace(
        "images = 10\n\n[[attribution]]",
        "images = 10\neval_set = \"voc\"\n\n[[attribution]]",
    );
    ws.write_spec("voc.toml", &text);
    // Planning needs no data: the check passes and its data table says what is missing.
    let output = ws.pvr(&["check", "voc.toml"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("PASCAL VOC2012 segmentation") && out.contains("missing"),
        "{out}"
    );
    assert!(out.contains("attribution.0.voc_path"), "{out}");
    let output = ws.pvr(&[
        "check",
        "voc.toml",
        "--set",
        "attribution.0.voc_path=nowhere/VOC",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("nowhere/VOC does not exist"), "{out}");
    std::fs::create_dir_all(ws.path().join("empty/VOC")).unwrap();
    let out = stdout(&ws.pvr(&[
        "check",
        "voc.toml",
        "--set",
        "attribution.0.voc_path=empty/VOC",
    ]));
    assert!(
        out.contains("incomplete") && out.contains("empty/VOC is not a PASCAL VOC folder"),
        "{out}"
    );
}

#[test]
fn voc_masks_from_the_real_labelme_images_score_every_pooled_model() {
    let voc = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".data/labelme-examples/examples/semantic_segmentation/data_dataset_voc");
    if !voc.is_dir() {
        eprintln!(
            "skipping: {} is absent (run scripts/fetch-test-data.sh)",
            voc.display()
        );
        return;
    }
    let ws = Workspace::new();
    let text = format!(
        "{TINY}\n[[attribution]]\nmethod = \"guided_gradcam\"\neval_set = \"voc\"\nvoc_path = \"{}\"\n",
        voc.display()
    );
    ws.write_spec("voc.toml", &text);
    let summary = ws.run_ok("voc.toml", &[]);
    let masks =
        read_npy::<u8>(&entry_dir(&ws, &summary, "attribute[0,guided_gradcam]").join("masks.npy"))
            .unwrap();
    assert_eq!(masks.shape, vec![3, 16, 16]);
    // Void boundaries are kept out (255) and every image has object pixels.
    for image in masks.values.chunks(256) {
        assert!(image.contains(&1), "an image without object pixels");
        assert!(image.iter().all(|&m| m == 0 || m == 1 || m == 255));
    }
    // The 0/1 variant: ignored pixels count as background.
    let binary = read_npy::<u8>(
        &entry_dir(&ws, &summary, "attribute[0,guided_gradcam]").join("masks_binary.npy"),
    )
    .unwrap();
    assert_eq!(binary.shape, masks.shape);
    for (b, m) in binary.values.iter().zip(&masks.values) {
        assert_eq!(*b, u8::from(*m == 1));
    }
    let table = read_parquet(&ws.path().join("reports/tiny/attribution.parquet")).unwrap();
    assert_eq!(table.height(), 3 * 3);
    let images: Vec<String> = table
        .column("image")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    assert_eq!(
        &images[..3],
        ["val/2011_000003", "val/2011_000006", "val/2011_000025"]
    );
}
