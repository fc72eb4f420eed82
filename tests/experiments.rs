//! Every experiment file in `experiments/` passes `pvr check`: the ImageNet ones against a
//! fabricated ImageFolder tree named by `PVR_IMAGENET`, and without it they say what is missing.

mod common;

use std::path::{Path, PathBuf};

use common::{Workspace, stderr, stdout};

fn experiment_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn reads_imagenet(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .unwrap()
        .contains("source = \"imagenet\"")
}

/// Every experiment file checks with no dataset on disk: planning needs none, and the
/// paper files end with a data table saying what goes where.
#[test]
fn every_experiment_file_checks_without_data() {
    let ws = Workspace::new();
    let files = experiment_files();
    for name in [
        "quickstart.toml",
        "resnet18.toml",
        "resnet50.toml",
        "vit_b_32.toml",
        "swinv2_t.toml",
        "resnet18-small.toml",
        "resnet50-small.toml",
    ] {
        assert!(
            files.iter().any(|f| f.file_name().unwrap() == name),
            "experiments/{name} is missing"
        );
    }
    let paper: Vec<&PathBuf> = files.iter().filter(|f| reads_imagenet(f)).collect();
    assert_eq!(paper.len(), 4);
    for file in &files {
        let output = ws
            .command(&["check", file.to_str().unwrap()])
            .env_remove("PVR_IMAGENET")
            .env_remove("PVR_VOC")
            .env_remove("PVR_MVH")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            file.display(),
            stderr(&output)
        );
        let out = stdout(&output);
        if reads_imagenet(file) {
            // The study's three analyses are in every paper file, each reading its data root.
            for (dataset, set_by) in [
                ("ImageNet-1k", "PVR_IMAGENET or data.path"),
                ("PASCAL VOC (detection boxes)", "PVR_VOC or lost.path"),
                (
                    "PASCAL VOC2012 segmentation",
                    "PVR_VOC or attribution.0.voc_path",
                ),
                ("model-vs-human", "PVR_MVH or ha.path"),
            ] {
                let row = out
                    .lines()
                    .find(|l| l.starts_with(dataset))
                    .unwrap_or_else(|| panic!("{}: no `{dataset}` row in\n{out}", file.display()));
                assert!(row.contains("missing") && row.contains(set_by), "{row}");
            }
            assert!(out.contains("4 of 4 dataset folder(s) not ready"), "{out}");
            for stage in [
                "attribute[0,gradcam]",
                "lost[1]",
                "ha[2,cue-conflict]",
                "report[ha]",
            ] {
                assert!(out.contains(stage), "{}: no {stage}", file.display());
            }
        }
    }
}

/// A path on the command line wins over the environment, and the table names it.
#[test]
fn a_data_path_on_the_command_line_wins_over_the_environment() {
    let ws = Workspace::new();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/resnet18.toml");
    let output = ws
        .command(&[
            "check",
            file.to_str().unwrap(),
            "--set",
            "data.path=/nonexistent/imagenet",
        ])
        .env("PVR_IMAGENET", ws.path())
        .env("PVR_VOC", ws.path().join("no-voc"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("/nonexistent/imagenet does not exist"),
        "{out}"
    );
    assert!(out.contains("no-voc does not exist"), "{out}");
}

/// Without data, `status` says which stages lack it and which wait behind them, and counts
/// every stage; `gc` removes nothing those stages last built.
#[test]
fn status_and_gc_without_data() {
    let ws = Workspace::new();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/resnet18.toml");
    let output = ws
        .command(&["status", file.to_str().unwrap()])
        .env_remove("PVR_IMAGENET")
        .env_remove("PVR_VOC")
        .env_remove("PVR_MVH")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    let line = |label: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(label))
            .unwrap_or_else(|| panic!("no {label} in\n{out}"))
            .to_string()
    };
    assert!(line("train").contains("no data") && line("train").contains("ImageNet-1k is missing"));
    assert!(line("eval[3]").contains("no data"), "{}", line("eval[3]"));
    let score = line("score[3,gradcam]");
    assert!(score.contains("waiting"), "{score}");
    assert!(line("lost[0]").contains("no data"));
    let total = out.lines().last().unwrap();
    assert!(total.starts_with("total: 733 stages:"), "{total}");
    let output = ws
        .command(&["gc", file.to_str().unwrap(), "--dry-run"])
        .env_remove("PVR_IMAGENET")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("wait for missing data"),
        "{}",
        stdout(&output)
    );
}
