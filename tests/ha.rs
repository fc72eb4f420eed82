//! Human alignment through the CLI: the embedded analogues on the tiny experiment (stages,
//! report, caching by dataset and seed), the real benchmark layout read for an ImageNet-1000
//! model, `pvr render-ha`, and the errors that stop a spec before anything runs.

mod common;

use std::path::{Path, PathBuf};

use common::{TINY, Workspace, labels_with, stderr, stdout};
use pvr::exec::{RunSummary, StageStatus};
use pvr::files::tables::read_parquet;
use pvr::ha::HaDataset;

fn tiny_with_ha(extra: &str) -> String {
    format!("{TINY}\n[ha]\nimages_per_condition = 3\n{extra}")
}

fn samples() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/model-vs-human");
    if root.is_dir() {
        Some(root)
    } else {
        eprintln!(
            "skipping: the model-vs-human samples are not at {}",
            root.display()
        );
        None
    }
}

#[test]
fn embedded_analogues_run_report_and_cache_by_dataset_and_seed() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", &tiny_with_ha(""));
    let first = ws.run_ok("tiny.toml", &[]);
    let ran = labels_with(&first, StageStatus::Ran);
    // 3 pool members x 17 datasets, plus report[ha], on top of the 7 core stages and the verdict.
    assert_eq!(ran.len(), 7 + 3 * 17 + 1 + 1, "{ran:?}");
    assert!(ran.contains(&"ha[2,eidolonIII]".to_string()));
    assert!(ran.contains(&"report[ha]".to_string()));

    let report = ws.path().join("reports/tiny");
    for file in [
        "ha.parquet",
        "ha_datasets.parquet",
        "ha_shape_bias.parquet",
        "ha.png",
        "ha_shape_bias.png",
        "ha.md",
        "pool.parquet",
    ] {
        assert!(report.join(file).is_file(), "missing {file}");
    }
    let conditions = read_parquet(&report.join("ha.parquet")).unwrap();
    let conditions_per_model: usize = HaDataset::ALL.iter().map(|d| d.conditions().len()).sum();
    assert_eq!(conditions.height(), 3 * conditions_per_model);
    let names: Vec<String> = conditions
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for column in [
        "round",
        "sparsity",
        "dataset",
        "condition",
        "top1",
        "top5",
        "images",
    ] {
        assert!(names.contains(&column.to_string()), "{names:?}");
    }
    let images = conditions.column("images").unwrap().u32().unwrap();
    assert!(images.into_no_null_iter().all(|n| n == 3));
    // Top-5 only for sketch and stylized.
    let datasets = conditions.column("dataset").unwrap().str().unwrap();
    let top5 = conditions.column("top5").unwrap().f64().unwrap();
    for (dataset, top5) in datasets.iter().zip(top5.iter()) {
        let reports = matches!(dataset.unwrap(), "sketch" | "stylized");
        assert_eq!(top5.is_some(), reports, "{dataset:?}");
    }
    let bias = read_parquet(&report.join("ha_shape_bias.parquet")).unwrap();
    assert_eq!(bias.height(), 3);
    let considered = bias.column("considered").unwrap().u32().unwrap();
    assert!(considered.into_no_null_iter().all(|n| n == 3));

    // Nothing changed: every stage is cached.
    let second = ws.run_ok("tiny.toml", &[]);
    assert!(labels_with(&second, StageStatus::Ran).is_empty());

    // A new seed reruns only the datasets that draw random numbers.
    let reseeded = ws.run_ok("tiny.toml", &["--set", "ha.seed=11"]);
    let mut rerun: Vec<String> = labels_with(&reseeded, StageStatus::Ran)
        .into_iter()
        .filter(|l| l.starts_with("ha[0,"))
        .collect();
    rerun.sort();
    let mut expected: Vec<String> = [
        "phase-scrambling",
        "eidolonI",
        "eidolonII",
        "eidolonIII",
        "uniform-noise",
        "sketch",
        "stylized",
        "cue-conflict",
    ]
    .iter()
    .map(|d| format!("ha[0,{d}]"))
    .collect();
    expected.sort();
    assert_eq!(rerun, expected);
    assert!(labels_with(&reseeded, StageStatus::Ran).contains(&"report[ha]".to_string()));

    // Fewer datasets: nothing to score, only the reports reading them are rebuilt.
    let fewer = ws.run_ok("tiny.toml", &["--set", r#"ha.datasets=["edge","colour"]"#]);
    assert_eq!(
        labels_with(&fewer, StageStatus::Ran),
        ["report[ha]", "report[verdict]"]
    );
    // A --set run has its own report folder.
    let fewer_report = ws.path().join(&fewer.report_dir);
    let datasets = read_parquet(&fewer_report.join("ha_datasets.parquet")).unwrap();
    assert_eq!(datasets.height(), 3 * 2);
}

#[test]
fn specs_that_cannot_be_scored_fail_before_running() {
    let ws = Workspace::new();
    ws.write_spec("path.toml", &tiny_with_ha("path = \"mvh\"\n"));
    let out = ws.pvr(&["check", "path.toml"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("ha.path") && err.contains("1000"), "{err}");

    ws.write_spec(
        "folder.toml",
        &format!(
            "{}\n[ha]\n",
            TINY.replace(
                "[data]",
                "[data]\nsource = \"imagefolder\"\npath = \"imgs\""
            )
        ),
    );
    std::fs::create_dir_all(ws.path().join("imgs/train/a")).unwrap();
    std::fs::create_dir_all(ws.path().join("imgs/val/a")).unwrap();
    std::fs::create_dir_all(ws.path().join("imgs/train/b")).unwrap();
    std::fs::create_dir_all(ws.path().join("imgs/val/b")).unwrap();
    for split in ["train", "val"] {
        for class in ["a", "b"] {
            image::RgbImage::new(20, 20)
                .save(ws.path().join(format!("imgs/{split}/{class}/x.png")))
                .unwrap();
        }
    }
    let out = ws.pvr(&["check", "folder.toml"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("1000 ImageNet logits"), "{err}");

    ws.write_spec(
        "dup.toml",
        &tiny_with_ha("datasets = [\"edge\", \"edge\"]\n"),
    );
    let err = stderr(&ws.pvr(&["check", "dup.toml"]));
    assert!(
        err.contains("ha.datasets") && err.contains("more than once"),
        "{err}"
    );
    ws.write_spec("bad.toml", &tiny_with_ha("datasets = [\"eidolon\"]\n"));
    let err = stderr(&ws.pvr(&["check", "bad.toml"]));
    assert!(err.contains("eidolonIII"), "{err}");
}

/// An imagefolder experiment whose model has 1000 classes (two 16 px images per class), the
/// smallest way to drive the benchmark path with its 16-class decision.
fn imagenet_sized_workspace(ha_section: &str) -> Workspace {
    let ws = Workspace::new();
    for split in ["train", "val"] {
        for class in 0..1000 {
            let dir = ws.path().join(format!("inet/{split}/n{class:08}"));
            std::fs::create_dir_all(&dir).unwrap();
            let shade = (class % 251) as u8;
            image::RgbImage::from_pixel(16, 16, image::Rgb([shade, 255 - shade, 0]))
                .save(dir.join("a.png"))
                .unwrap();
        }
    }
    ws.write_spec(
        "inet.toml",
        &format!(
            r#"[experiment]
name = "inet"
seed = 1

[data]
source = "imagefolder"
path = "inet"
image_size = 16

[model]
arch = "resnet18"
width = 4

[train]
epochs = 1
batch_size = 250
optimizer = {{ kind = "sgd", lr = 0.01 }}

[eval]
batch_size = 250

{ha_section}
"#
        ),
    );
    ws
}

#[test]
fn benchmark_layouts_are_scored_with_the_16_class_decision() {
    let Some(samples) = samples() else {
        return;
    };
    let ws = imagenet_sized_workspace("");
    // The benchmark root: the real edge and cue-conflict samples (category folders), and a
    // contrast set rendered by `pvr render-ha` from two real silhouettes (sessions layout).
    let root = ws.path().join("mvh");
    std::fs::create_dir_all(&root).unwrap();
    for dataset in ["edge", "cue-conflict"] {
        std::os::unix::fs::symlink(samples.join(dataset), root.join(dataset)).unwrap();
    }
    let sources = ws.path().join("sources");
    for (category, file) in [("bear", "bear1.png"), ("oven", "oven2.png")] {
        std::fs::create_dir_all(sources.join(category)).unwrap();
        std::fs::copy(
            samples.join("silhouette").join(category).join(file),
            sources.join(category).join(file),
        )
        .unwrap();
    }
    let out = ws.pvr(&[
        "render-ha",
        "--from",
        "sources",
        "--out",
        "mvh",
        "--datasets",
        "contrast",
        "--seed",
        "4",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let spec = std::fs::read_to_string(ws.path().join("inet.toml")).unwrap()
        + "[ha]\npath = \"mvh\"\ndatasets = [\"contrast\", \"edge\", \"cue-conflict\"]\nimages_per_condition = 20\n";
    ws.write_spec("inet.toml", &spec);
    ws.run_ok("inet.toml", &[]);
    let report = ws.path().join("reports/inet");
    let conditions = read_parquet(&report.join("ha.parquet")).unwrap();
    // Contrast: 8 conditions of 2 images; edge and cue-conflict: 20 images (the cap).
    assert_eq!(conditions.height(), 8 + 1 + 1);
    let images: Vec<u32> = conditions
        .column("images")
        .unwrap()
        .u32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(images, [vec![2; 8], vec![20, 20]].concat());
    let bias = read_parquet(&report.join("ha_shape_bias.parquet")).unwrap();
    let considered = bias.column("considered").unwrap().u32().unwrap().get(0);
    let excluded = bias.column("excluded").unwrap().u32().unwrap().get(0);
    // The capped cue-conflict set: each category's first file, then airplane, bear (its
    // bear-bear image is left out), bicycle and bird's second.
    assert_eq!((considered, excluded), (Some(19), Some(1)));
    let summary = std::fs::read_to_string(report.join("ha.md")).unwrap();
    assert!(summary.contains("benchmark read from mvh"), "{summary}");

    // A dataset the root lacks is named with its expected path in the data table, and only
    // its stages fail: the others (cached or run) stand.
    let spec = spec.replace("\"contrast\", \"edge\"", "\"contrast\", \"sketch\"");
    ws.write_spec("inet.toml", &spec);
    let out = stdout(&ws.pvr(&["check", "inet.toml"]));
    assert!(
        out.contains("incomplete") && out.contains("mvh/sketch") && out.contains("dnn/session-1"),
        "{out}"
    );
    let run = ws.pvr(&["run", "inet.toml", "--quiet"]);
    assert!(!run.status.success());
    let summary = RunSummary::read(&ws.report_dir(&run).join("run.json")).unwrap();
    let status_of = |label: &str| {
        summary
            .stages
            .iter()
            .find(|s| s.stage == label)
            .unwrap_or_else(|| panic!("no {label}"))
            .status
    };
    assert_eq!(status_of("ha[0,sketch]"), StageStatus::Failed);
    assert_eq!(status_of("report[ha]"), StageStatus::Skipped);
    assert!(matches!(
        status_of("ha[0,contrast]"),
        StageStatus::Cached | StageStatus::Ran
    ));
    let failed = summary
        .stages
        .iter()
        .find(|s| s.stage == "ha[0,sketch]")
        .unwrap();
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("model-vs-human is incomplete") && error.contains("mvh/sketch"),
        "{error}"
    );
}

#[test]
fn render_ha_needs_category_folders_and_parametric_sets() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path().join("src/tiger")).unwrap();
    image::RgbImage::new(8, 8)
        .save(ws.path().join("src/tiger/t.png"))
        .unwrap();
    let err = stderr(&ws.pvr(&["render-ha", "--from", "src", "--out", "out"]));
    assert!(err.contains("tiger") && err.contains("airplane"), "{err}");
    let err = stderr(&ws.pvr(&[
        "render-ha",
        "--from",
        "src",
        "--out",
        "out",
        "--datasets",
        "sketch",
    ]));
    assert!(err.contains("12 parametric"), "{err}");
    let err = stderr(&ws.pvr(&[
        "render-ha",
        "--from",
        "src",
        "--out",
        "out",
        "--datasets",
        "blur",
    ]));
    assert!(err.contains("unknown model-vs-human dataset"), "{err}");
}
