//! The paper files run unchanged but for `--set` overrides that make them tiny: every stage kind
//! runs and every report appears, on an ImageNet-layout tree of 1000 classes, the labelme VOC
//! photos (fetched by `scripts/fetch-test-data.sh`) and a model-vs-human folder: the real
//! edge, silhouette and cue-conflict samples in `../shared/data/model-vs-human` plus the 12
//! parametric sets `pvr render-ha` renders from them. Data roots come from the variables the
//! paper files name (`PVR_IMAGENET`, `PVR_VOC`, `PVR_MVH`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{Workspace, stderr};
use pvr::data::imagenet::imagenet_classes;
use pvr::exec::{RunSummary, StageStatus};
use pvr::files::tables::read_parquet;

const CATEGORIES: [&str; 16] = [
    "airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat", "chair", "clock", "dog",
    "elephant", "keyboard", "knife", "oven", "truck",
];

fn labelme(example: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".data/labelme-examples/examples")
        .join(example)
        .join("data_dataset_voc");
    dir.is_dir().then_some(dir)
}

fn mvh_samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/model-vs-human")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// ImageNet as it ships: `train/<wnid>/*.JPEG` for the 1000 ImageNet-1k classes and a flat
/// `val/` labelled by the devkit (ground truth + `meta.mat`; the fixture's IDs are a shuffled
/// numbering, so labels go through it), one tiny JPEG each.
fn imagenet_tree(root: &Path) {
    let colour = |class: usize| image::Rgb([(class % 251) as u8, (class / 4) as u8, 90]);
    for (class, info) in imagenet_classes().iter().enumerate() {
        let dir = root.join("train").join(info.wnid);
        std::fs::create_dir_all(&dir).unwrap();
        image::RgbImage::from_pixel(40, 36, colour(class))
            .save(dir.join(format!("{}_1.JPEG", info.wnid)))
            .unwrap();
    }
    let val = root.join("val");
    std::fs::create_dir_all(&val).unwrap();
    let mut truth = String::new();
    for image in 1..=1000usize {
        // Devkit IDs 1..=1000, one image each, in the file order of the ground truth.
        truth.push_str(&format!("{image}\n"));
        image::RgbImage::from_pixel(40, 36, colour(image))
            .save_with_format(
                val.join(format!("ILSVRC2012_val_{image:08}.JPEG")),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
    }
    let devkit = root.join("ILSVRC2012_devkit_t12/data");
    std::fs::create_dir_all(&devkit).unwrap();
    std::fs::write(devkit.join("ILSVRC2012_validation_ground_truth.txt"), truth).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/imagenet/meta-1k.mat"),
        devkit.join("meta.mat"),
    )
    .unwrap();
}

/// `VOCdevkit/VOC2012` from the labelme photos: segmentation class masks and detection boxes.
fn voc_devkit(root: &Path) -> Option<()> {
    let segmentation = labelme("semantic_segmentation")?;
    let boxes = labelme("bbox_detection")?;
    let year = root.join("VOC2012");
    copy_dir(&segmentation.join("JPEGImages"), &year.join("JPEGImages"));
    copy_dir(
        &segmentation.join("SegmentationClassPNG"),
        &year.join("SegmentationClass"),
    );
    copy_dir(&boxes.join("Annotations"), &year.join("Annotations"));
    let ids = "2011_000003\n2011_000006\n2011_000025\n";
    for list in ["Segmentation/val.txt", "Main/trainval.txt"] {
        let path = year.join("ImageSets").join(list);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, ids).unwrap();
    }
    Some(())
}

/// The benchmark's `datasets` folder: one real edge, silhouette and cue-conflict image per
/// category, and the 12 parametric sets rendered by `pvr render-ha` from 32 px silhouettes.
fn model_vs_human(ws: &Workspace, root: &Path) {
    let samples = mvh_samples();
    let from = ws.path().join("mvh-from");
    for category in CATEGORIES {
        for dataset in ["edge", "silhouette", "cue-conflict"] {
            let dir = samples.join(dataset).join(category);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            let to = root.join(dataset).join(category);
            std::fs::create_dir_all(&to).unwrap();
            std::fs::copy(&files[0], to.join(files[0].file_name().unwrap())).unwrap();
            if dataset == "silhouette" {
                let small = image::open(&files[0]).unwrap().thumbnail_exact(32, 32);
                std::fs::create_dir_all(from.join(category)).unwrap();
                small.save(from.join(category).join("s.png")).unwrap();
            }
        }
    }
    let output = ws.pvr(&[
        "render-ha",
        "--from",
        from.to_str().unwrap(),
        "--out",
        root.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// The 15 datasets the test folder holds (sketch and stylized are not redistributable).
const HA_DATASETS: &str = "ha.datasets=[\"colour\", \"contrast\", \"high-pass\", \"low-pass\", \
     \"phase-scrambling\", \"power-equalisation\", \"false-colour\", \"rotation\", \"eidolonI\", \
     \"eidolonII\", \"eidolonIII\", \"uniform-noise\", \"edge\", \"silhouette\", \"cue-conflict\"]";

struct PaperData {
    ws: Workspace,
    imagenet: PathBuf,
    voc: PathBuf,
    mvh: PathBuf,
}

fn paper_data() -> Option<PaperData> {
    let ws = Workspace::new();
    let voc = ws.path().join("VOCdevkit");
    if voc_devkit(&voc).is_none() {
        eprintln!("skipping: the labelme VOC photos are absent (run scripts/fetch-test-data.sh)");
        return None;
    }
    let imagenet = ws.path().join("imagenet");
    imagenet_tree(&imagenet);
    let mvh = ws.path().join("mvh");
    model_vs_human(&ws, &mvh);
    Some(PaperData {
        ws,
        imagenet,
        voc,
        mvh,
    })
}

/// Runs `experiments/<file>` with `overrides`, the data roots in the paper files' variables.
fn run_paper_file(data: &PaperData, file: &str, overrides: &[&str]) -> RunSummary {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("experiments")
        .join(file);
    let mut args = vec!["run", spec.to_str().unwrap(), "--quiet"];
    for set in overrides {
        args.extend(["--set", set]);
    }
    let output = data
        .ws
        .command(&args)
        .env("PVR_IMAGENET", &data.imagenet)
        .env("PVR_VOC", &data.voc)
        .env("PVR_MVH", &data.mvh)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{file}:\n{}\n{}",
        common::stdout(&output),
        stderr(&output)
    );
    RunSummary::read(&data.ws.report_dir(&output).join("run.json")).unwrap()
}

/// Every stage kind ran, every report is there, and the per-image tables join on `image_id`.
fn assert_whole_study(data: &PaperData, run: &RunSummary) {
    let kinds: BTreeSet<&str> = run.stages.iter().map(|s| s.kind.as_str()).collect();
    for kind in [
        "train",
        "prune",
        "eval",
        "attribute",
        "score",
        "lost",
        "ha",
        "report",
    ] {
        assert!(kinds.contains(kind), "no {kind} stage in {kinds:?}");
    }
    assert!(
        run.stages.iter().all(|s| s.status == StageStatus::Ran),
        "{:?}",
        run.stages
            .iter()
            .filter(|s| s.status != StageStatus::Ran)
            .map(|s| (&s.stage, s.status))
            .collect::<Vec<_>>()
    );
    let report = data.ws.path().join(&run.report_dir);
    for file in [
        "summary.md",
        "attribution.parquet",
        "attribution.md",
        "lost.parquet",
        "lost.md",
        "ha.parquet",
        "ha_images.parquet",
        "ha.md",
        "index.html",
    ] {
        assert!(
            report.join(file).is_file(),
            "no {file} in {}",
            report.display()
        );
    }
    let eval = run.stages.iter().find(|s| s.stage == "eval[1]").unwrap();
    let predictions = read_parquet(
        &eval
            .output_dir
            .as_ref()
            .expect("eval entry")
            .join("predictions.parquet"),
    )
    .unwrap();
    assert_eq!(predictions.height(), 1000);
    let first = predictions
        .column("image_id")
        .unwrap()
        .str()
        .unwrap()
        .get(0);
    assert_eq!(first, Some("val/ILSVRC2012_val_00000001.JPEG"));
    // Every class is there once: the devkit's numbering reaches all 1000 torchvision indices.
    let labels: BTreeSet<u32> = predictions
        .column("label")
        .unwrap()
        .u32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(labels.len(), 1000);
    let lost = read_parquet(&report.join("lost.parquet")).unwrap();
    let ids: BTreeSet<&str> = lost
        .column("image_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert!(ids.contains("trainval/2011_000003"), "{ids:?}");
    let ha = read_parquet(&report.join("ha_images.parquet")).unwrap();
    assert!(ha.column("prob_truck").is_ok(), "16-category probabilities");
}

#[test]
fn resnet18_paper_file_runs_the_whole_study_tiny() {
    let Some(data) = paper_data() else { return };
    let run = run_paper_file(
        &data,
        "resnet18.toml",
        &[
            "data.image_size=32",
            "model.width=8",
            "train.epochs=1",
            "train.batch_size=100",
            "prune.rounds=1",
            "attribution.2.steps=4",
            "ha.images_per_condition=1",
            HA_DATASETS,
        ],
    );
    assert_whole_study(&data, &run);
}

#[test]
fn vit_b_32_paper_file_runs_the_whole_study_tiny() {
    let Some(data) = paper_data() else { return };
    let run = run_paper_file(
        &data,
        "vit_b_32.toml",
        &[
            "data.image_size=64",
            "model.width=24",
            "train.epochs=2",
            "train.schedule.warmup_epochs=1",
            "train.batch_size=100",
            "prune.rounds=1",
            "attribution.1.steps=4",
            "ha.images_per_condition=1",
            HA_DATASETS,
        ],
    );
    assert_whole_study(&data, &run);
}
