//! What issue 3's part B adds, measured on this machine's CPU (Burn `flex`):
//! - the training loop's images/s with torchvision's recipe features (RandomResizedCrop,
//!   MixUp/CutMix, label smoothing, gradient-norm clipping) against the plain recipe, through
//!   the real `fit` on the embedded data;
//! - import and export of torchvision-size checkpoints (ResNet-50: 25.6 M parameters, 102 MB).
//!
//! `cargo bench --bench weights`; pass `train` or `weights` to run one part.

use std::time::Instant;

use burn::tensor::Device;
use pvr::data::shapes::{ShapesConfig, ShapesDataset};
use pvr::data::{Dataset, Split};
use pvr::models::Stem;
use pvr::models::{Architecture, NetworkConfig};
use pvr::progress::SilentProgress;
use pvr::prune::Masks;
use pvr::spec::{RandomResizedCropSpec, TrainSpec};
use pvr::train::{FitRequest, fit};
use pvr::weights::{MaskLayout, export_safetensors, import_weights};

fn train_images_per_second(recipe: &TrainSpec, dataset: &dyn Dataset) -> f64 {
    let device = Device::flex().autodiff();
    let config = NetworkConfig {
        arch: Architecture::ResNet18,
        width: 8,
        stem: Stem::Small,
        num_classes: dataset.num_classes(),
    };
    let network = config.init(&device, 0);
    let masks = Masks::default().to_device(&device);
    let scratch = tempfile::tempdir().unwrap();
    let request = FitRequest {
        recipe,
        seed: 0,
        dataset,
        masks: &masks,
        devices: std::slice::from_ref(&device),
        scratch: scratch.path(),
        progress: &SilentProgress,
    };
    let started = Instant::now();
    let (_, history) = fit(network, &request).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(history.iter().all(|epoch| epoch.loss.is_finite()));
    (dataset.len() * recipe.epochs) as f64 / seconds
}

fn train_part() {
    let dataset = ShapesDataset::new(ShapesConfig {
        seed: 0,
        image_size: 32,
        len: 512,
        split: Split::Train,
        texture_correlation: 0.8,
        distractors: 3,
    })
    .unwrap();
    let plain = TrainSpec {
        epochs: 2,
        batch_size: 64,
        ..TrainSpec::default()
    };
    let mut torchvision = plain.clone();
    torchvision.label_smoothing = 0.1;
    torchvision.clip_grad_norm = Some(1.0);
    torchvision.augment.crop_padding = 0;
    torchvision.augment.random_resized_crop = Some(RandomResizedCropSpec::default());
    torchvision.augment.mixup_alpha = 0.2;
    torchvision.augment.cutmix_alpha = 1.0;
    // Warm up once (allocator, thread pool), then measure each recipe.
    train_images_per_second(&plain, &dataset);
    for (name, recipe) in [("plain", &plain), ("torchvision features", &torchvision)] {
        let rate = train_images_per_second(recipe, &dataset);
        println!(
            "train resnet18 w8 32px batch 64, {name}: {rate:.0} images/s (512 images x 2 epochs)"
        );
    }
}

fn weights_part() {
    let device = Device::flex();
    let config = NetworkConfig {
        arch: Architecture::ResNet50,
        width: 64,
        stem: Stem::Imagenet,
        num_classes: 1000,
    };
    let network = config.init(&device, 0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resnet50.safetensors");
    let started = Instant::now();
    let summary = export_safetensors(
        &network,
        &Masks::default(),
        config.arch,
        &Default::default(),
        MaskLayout::Applied,
        &file,
    )
    .unwrap();
    let export = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let imported = import_weights(&file, &config, &device).unwrap();
    let import = started.elapsed().as_secs_f64();
    assert_eq!(imported.report.tensors, 267);
    let mb = summary.bytes as f64 / 1e6;
    println!(
        "export resnet50 (torchvision size, {mb:.0} MB): {export:.2} s ({:.0} MB/s)",
        mb / export
    );
    println!(
        "import resnet50 (torchvision size, {mb:.0} MB): {import:.2} s ({:.0} MB/s)",
        mb / import
    );
}

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    if run("train") {
        train_part();
    }
    if run("weights") {
        weights_part();
    }
}
