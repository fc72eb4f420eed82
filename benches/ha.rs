//! Human-alignment throughput on this machine's CPU.
//!
//! `cargo bench --bench ha` runs both parts; `-- distortions` or `-- stage` runs one,
//! `--images N` sets the stage's images per condition (default 40) and `--dataset NAME` scores
//! one dataset's condition set instead of all 17 (`scripts/bench-vs-torch.sh` uses `contrast`).
//!
//! - distortions: images/s of each of the 12 parametric distortions at 224 x 224 on one
//!   thread, cycling through the dataset's conditions (power equalisation's set spectrum is
//!   computed beforehand and not counted);
//! - stage: the time `ha[round,dataset]` takes for one quickstart-sized model (ResNet-18, width
//!   8, 32 px, random weights: the same arithmetic as a trained one) on the embedded data, all
//!   17 datasets, i.e. the human-alignment cost of one pooled model.

use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use pvr::data::shapes::{ShapesConfig, ShapesDataset};
use pvr::data::{Dataset, ImageF32, Rng, Split};
use pvr::ha::HaDataset;
use pvr::ha::distortions::{Distortion, set_amplitude_spectrum};
use pvr::ha::stage::{HaImages, HaScorer};
use pvr::models::Stem;
use pvr::models::{Architecture, NetworkConfig};
use pvr::progress::SilentProgress;

fn shapes(size: usize, len: usize) -> ShapesDataset {
    ShapesDataset::new(ShapesConfig {
        seed: 0,
        image_size: size,
        len,
        split: Split::Val,
        texture_correlation: 0.8,
        distractors: 3,
    })
    .expect("shapes config")
}

fn distortions() {
    let base = shapes(224, 8);
    let images: Vec<ImageF32> = (0..base.len())
        .map(|i| base.get(i).unwrap().image)
        .collect();
    let amplitude = set_amplitude_spectrum(&images);
    println!("{:<20} {:>10} {:>12}", "dataset", "images", "images/s");
    for dataset in HaDataset::PARAMETRIC {
        let conditions: Vec<Distortion> = dataset
            .conditions()
            .iter()
            .map(|c| Distortion::new(dataset, c).unwrap())
            .collect();
        let started = Instant::now();
        let mut done = 0usize;
        let mut checksum = 0.0f32;
        while done < conditions.len() * images.len() || started.elapsed().as_secs_f64() < 1.5 {
            let distortion = conditions[done % conditions.len()];
            let image = &images[(done / conditions.len()) % images.len()];
            let mut rng = Rng::new(done as u64);
            let out = distortion.apply(image, 1.0, Some(&amplitude), &mut rng);
            checksum += out.data[out.data.len() / 2];
            done += 1;
        }
        let rate = done as f64 / started.elapsed().as_secs_f64();
        println!("{:<20} {done:>10} {rate:>12.1}", dataset.name());
        std::hint::black_box(checksum);
    }
}

fn stage(images_per_condition: usize, only: Option<&str>) {
    let device = Device::flex();
    let network = NetworkConfig {
        arch: Architecture::ResNet18,
        width: 8,
        stem: Stem::Small,
        num_classes: 10,
    }
    .init(&device, 0);
    let base = Arc::new(shapes(32, images_per_condition));
    println!(
        "ha stage, quickstart model (resnet18 width 8, 32 px), {images_per_condition} images per condition, {} threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<20} {:>10} {:>10} {:>12}",
        "dataset", "images", "seconds", "images/s"
    );
    let started = Instant::now();
    let mut total_images = 0;
    for &dataset in HaDataset::ALL
        .iter()
        .filter(|d| only.is_none_or(|name| d.name() == name))
    {
        let scorer = HaScorer {
            dataset,
            images: HaImages::Embedded(base.clone()),
            image_size: 32,
            seed: 0,
            batch_size: 128,
        };
        let (record, _) = scorer
            .score(0, &network, &device, &SilentProgress)
            .expect("scoring");
        let images: usize = record.conditions.iter().map(|c| c.images()).sum();
        total_images += images;
        println!(
            "{:<20} {images:>10} {:>10.2} {:>12.1}",
            dataset.name(),
            record.seconds,
            record.images_per_second
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{:<20} {total_images:>10} {seconds:>10.2} {:>12.1}   (one pooled model)",
        only.unwrap_or("all 17"),
        total_images as f64 / seconds
    );
}

fn main() {
    // As `pvr` itself runs (src/host.rs).
    pvr::host::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let images = args
        .iter()
        .position(|a| a == "--images")
        .and_then(|i| args.get(i + 1))
        .map_or(40, |n| n.parse().expect("--images N"));
    let dataset = args
        .iter()
        .position(|a| a == "--dataset")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    if let Some(name) = dataset {
        assert!(
            HaDataset::ALL.iter().any(|d| d.name() == name),
            "--dataset {name}: not one of the 17"
        );
    }
    let only = |name: &str| {
        let named: Vec<&String> = args
            .iter()
            .filter(|a| *a == "distortions" || *a == "stage")
            .collect();
        named.is_empty() || named.iter().any(|a| *a == name)
    };
    if only("distortions") {
        distortions();
    }
    if only("stage") {
        stage(images, dataset);
    }
}
