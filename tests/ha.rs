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

    // Human trials are matched to the benchmark's images, not to embedded analogues.
    ws.write_spec("humans.toml", &tiny_with_ha("human_path = \"raw\"\n"));
    let out = ws.pvr(&["check", "humans.toml"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("ha.human_path") && err.contains("embedded analogues"),
        "{err}"
    );

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
    assert!(!report.join("ha_human.parquet").exists());

    human_trials_are_matched_to_the_benchmark_images(&ws, &samples, &spec);

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

/// Made-up observers for the real edge images (the benchmark's raw-data layout, its column
/// names): subject-01 right on every trial, subject-02 only on the images numbered 1 to 5.
fn write_edge_observers(samples: &Path, raw: &Path) {
    let dir = raw.join("edge");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files: Vec<(String, String)> = Vec::new();
    for category in std::fs::read_dir(samples.join("edge")).unwrap() {
        let category = category.unwrap().path();
        for file in std::fs::read_dir(&category).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            let class = category.file_name().unwrap().to_string_lossy().into_owned();
            files.push((class, name));
        }
    }
    files.sort();
    for subject in ["01", "02"] {
        let mut text =
            "subj,Session,trial,rt,object_response,category,condition,imagename\n".to_string();
        for (i, (class, name)) in files.iter().enumerate() {
            let number: u32 = name
                .trim_start_matches(class.as_str())
                .trim_end_matches(".png")
                .parse()
                .unwrap();
            let right = subject == "01" || number <= 5;
            let response = if right { class.as_str() } else { "na" };
            text += &format!(
                "subject-{subject},1,{},0.8,{response},{class},0,{:04}_edg_s{subject}_0_{class}_{name}\n",
                i + 1,
                i + 1
            );
        }
        std::fs::write(
            dir.join(format!("edge_subject-{subject}_session_1.csv")),
            text,
        )
        .unwrap();
    }
}

/// Cohen's kappa of two correct/incorrect records, 1 when they agree on every trial.
fn kappa(a: &[bool], b: &[bool]) -> f64 {
    let n = a.len() as f64;
    let rate = |x: &[bool]| x.iter().filter(|v| **v).count() as f64 / n;
    let observed = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / n;
    let expected = rate(a) * rate(b) + (1.0 - rate(a)) * (1.0 - rate(b));
    if observed == 1.0 {
        1.0
    } else {
        (observed - expected) / (1.0 - expected)
    }
}

fn human_trials_are_matched_to_the_benchmark_images(ws: &Workspace, samples: &Path, spec: &str) {
    // Given but not there: a data problem in the table, and report[ha] fails saying so.
    let missing = spec.to_string() + "human_path = \"raw\"\n";
    ws.write_spec("inet.toml", &missing);
    let out = stdout(&ws.pvr(&["check", "inet.toml"]));
    assert!(
        out.contains("model-vs-human human trials")
            && out.contains("missing")
            && out.contains("raw does not exist"),
        "{out}"
    );
    write_edge_observers(samples, &ws.path().join("raw"));
    let out = stdout(&ws.pvr(&["check", "inet.toml"]));
    assert!(
        out.contains("1 of 3 datasets (none for contrast, cue-conflict)"),
        "{out}"
    );
    let run = ws.run_ok("inet.toml", &[]);
    // Only the report reads the trials.
    assert_eq!(labels_with(&run, StageStatus::Ran), ["report[ha]"]);
    let report = ws.path().join("reports/inet");
    let rows = read_parquet(&report.join("ha_human.parquet")).unwrap();
    let images = read_parquet(&report.join("ha_images.parquet")).unwrap();
    let rounds = rows.column("round").unwrap().u32().unwrap().len();
    assert_eq!(rounds, 1, "one pool member, edge's one condition");
    let get = |name: &str| rows.column(name).unwrap().f64().unwrap().get(0).unwrap();
    assert_eq!(
        rows.column("trials").unwrap().u32().unwrap().get(0),
        Some(40)
    );
    assert_eq!(
        rows.column("observers").unwrap().u32().unwrap().get(0),
        Some(2)
    );
    // The model's 20 capped edge images, by file number: subject-02 is right on 1..=5.
    let ids = images.column("image_id").unwrap().str().unwrap();
    let correct = images.column("correct").unwrap().bool().unwrap();
    let (mut model, mut second) = (Vec::new(), Vec::new());
    for (id, hit) in ids.iter().zip(correct.iter()) {
        let id = id.unwrap();
        if let Some(file) = id.strip_prefix("edge/") {
            let (class, name) = file.split_once('/').unwrap();
            let number: u32 = name
                .trim_start_matches(class)
                .trim_end_matches(".png")
                .parse()
                .unwrap();
            model.push(hit.unwrap());
            second.push(number <= 5);
        }
    }
    assert_eq!(model.len(), 20);
    let model_rate = model.iter().filter(|v| **v).count() as f64 / 20.0;
    let second_rate = second.iter().filter(|v| **v).count() as f64 / 20.0;
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(get("model_accuracy"), model_rate));
    assert!(close(get("human_accuracy"), (1.0 + second_rate) / 2.0));
    let expected_kappa = (kappa(&model, &[true; 20]) + kappa(&model, &second)) / 2.0;
    assert!(
        close(get("error_consistency"), expected_kappa),
        "{} vs {expected_kappa}",
        get("error_consistency")
    );
    // The observers among themselves, on the same 20 images.
    assert!(close(
        get("human_error_consistency"),
        kappa(&[true; 20], &second)
    ));
    let squared = ((model_rate - 1.0).powi(2) + (model_rate - second_rate).powi(2)) / 2.0;
    assert!(close(get("squared_accuracy_difference"), squared));
    let datasets = read_parquet(&report.join("ha_human_datasets.parquet")).unwrap();
    assert_eq!(datasets.height(), 1);
    assert_eq!(
        datasets.column("experiment").unwrap().str().unwrap().get(0),
        Some("inet")
    );
    let summary = std::fs::read_to_string(report.join("ha.md")).unwrap();
    assert!(
        summary.contains("## Consistency with the human observers")
            && summary.contains("No human trials for contrast, cue-conflict"),
        "{summary}"
    );
    ws.write_spec("inet.toml", spec);
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
