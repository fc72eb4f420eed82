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

fn uses_imagefolder(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .unwrap()
        .contains("source = \"imagefolder\"")
}

/// `root/{train,val}/<wnid>/<image>.png`, two classes.
fn fabricate_imagenet(root: &Path) {
    for split in ["train", "val"] {
        for (i, wnid) in ["n01440764", "n01443537"].iter().enumerate() {
            let dir = root.join(split).join(wnid);
            std::fs::create_dir_all(&dir).unwrap();
            image::RgbImage::from_pixel(300, 260, image::Rgb([40 * i as u8, 90, 160]))
                .save(dir.join("a.png"))
                .unwrap();
        }
    }
}

#[test]
fn every_experiment_file_checks() {
    let ws = Workspace::new();
    let imagenet = ws.path().join("imagenet");
    fabricate_imagenet(&imagenet);
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
    for file in &files {
        let output = ws
            .command(&["check", file.to_str().unwrap()])
            .env("PVR_IMAGENET", &imagenet)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            file.display(),
            stderr(&output)
        );
        let out = stdout(&output);
        if uses_imagefolder(file) {
            assert!(out.contains("2 train / 2 val images"), "{out}");
        }
    }
}

#[test]
fn imagenet_experiments_without_a_data_path_say_how_to_give_one() {
    let ws = Workspace::new();
    let imagenet: Vec<PathBuf> = experiment_files()
        .into_iter()
        .filter(|f| uses_imagefolder(f))
        .collect();
    assert_eq!(imagenet.len(), 4);
    for file in &imagenet {
        let output = ws
            .command(&["check", file.to_str().unwrap()])
            .env_remove("PVR_IMAGENET")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let err = stderr(&output);
        assert!(err.contains("--set data.path="), "{err}");
        assert!(err.contains("PVR_IMAGENET"), "{err}");
        // A path on the command line wins over the environment.
        let output = ws
            .command(&[
                "check",
                file.to_str().unwrap(),
                "--set",
                "data.path=/nonexistent/imagenet",
            ])
            .env("PVR_IMAGENET", ws.path())
            .output()
            .unwrap();
        let err = stderr(&output);
        assert!(err.contains("/nonexistent/imagenet/train"), "{err}");
    }
}
