//! Input-pipeline throughput: ImageNet-style training preprocessing (decode, RandomResizedCrop
//! to 224, horizontal flip, normalisation) of an ImageFolder's `train/` split on worker threads,
//! as the training loop runs it. `scripts/loader-vs-torchvision.sh` runs it beside torchvision's
//! DataLoader on the same JPEGs.
//!
//! `cargo bench --bench loader -- ROOT [WORKERS...]` (default workers: 1 2); prints one
//! line per worker count: images per second, and per worker thread.

use std::path::PathBuf;
use std::time::Instant;

use pvr::data::{Dataset, ImageFolder, Split};
use pvr::spec::{AugmentSpec, RandomResizedCropSpec};
use pvr::train::loader::{Augmentation, epoch_order};
use pvr::train::prefetch::{EpochBatches, for_each_batch};

const BATCH: usize = 64;
const EPOCHS: usize = 3;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"));
    let root = PathBuf::from(args.next().ok_or_else(|| {
        anyhow::anyhow!("usage: cargo bench --bench loader -- IMAGEFOLDER_ROOT [WORKERS...]")
    })?);
    let mut worker_counts: Vec<usize> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    if worker_counts.is_empty() {
        worker_counts = vec![1, 2];
    }
    let dataset = ImageFolder::open(&root, Split::Train, 224)?;
    let spec = AugmentSpec {
        crop_padding: 0,
        horizontal_flip: true,
        random_resized_crop: Some(RandomResizedCropSpec::default()),
        ..AugmentSpec::default()
    };
    breakdown(&dataset, &root)?;
    for workers in worker_counts {
        let started = Instant::now();
        let mut images = 0;
        for epoch in 0..EPOCHS {
            let order = epoch_order(dataset.len(), 0, epoch);
            let plan = EpochBatches {
                dataset: &dataset,
                order: &order,
                batch_size: BATCH,
                augmentation: Some(Augmentation {
                    spec: &spec,
                    seed: 0,
                    epoch,
                }),
                workers,
            };
            for_each_batch(&plan, |_, batch| {
                images += batch.count;
                Ok(())
            })?;
        }
        let rate = images as f64 / started.elapsed().as_secs_f64();
        println!(
            "pvr workers={workers} images={images} images/s={rate:.1} per-worker={:.1}",
            rate / workers as f64
        );
    }
    Ok(())
}

/// Milliseconds per image of the stages on one thread: JPEG decoding alone, decoding into
/// pvr's float image, and the whole preparation.
fn breakdown(dataset: &ImageFolder, root: &std::path::Path) -> anyhow::Result<()> {
    let count = dataset.len().min(100);
    let per_image = |started: Instant| started.elapsed().as_secs_f64() * 1e3 / count as f64;
    let started = Instant::now();
    for index in 0..count {
        let path = root.join(dataset.relative_path(index).unwrap_or_default());
        std::hint::black_box(image::open(path)?);
    }
    let decode = per_image(started);
    let started = Instant::now();
    for index in 0..count {
        std::hint::black_box(dataset.load_raw(index)?);
    }
    let load = per_image(started);
    let spec = AugmentSpec {
        crop_padding: 0,
        random_resized_crop: Some(RandomResizedCropSpec::default()),
        ..AugmentSpec::default()
    };
    let order: Vec<usize> = (0..count).collect();
    let plan = EpochBatches {
        dataset,
        order: &order,
        batch_size: BATCH,
        augmentation: Some(Augmentation {
            spec: &spec,
            seed: 0,
            epoch: 0,
        }),
        workers: 1,
    };
    let started = Instant::now();
    for_each_batch(&plan, |_, batch| {
        std::hint::black_box(batch);
        Ok(())
    })?;
    let whole = per_image(started);
    let decoded: Vec<_> = (0..count.min(30))
        .map(|i| dataset.load_raw(i))
        .collect::<Result<_, _>>()?;
    let mut rng = pvr::data::Rng::new(1);
    let started = Instant::now();
    for _ in 0..count / decoded.len() {
        for image in &decoded {
            std::hint::black_box(pvr::data::resized_crop::random_resized_crop(
                image,
                224,
                [0.08, 1.0],
                [0.75, 4.0 / 3.0],
                &mut rng,
            ));
        }
    }
    let crop = per_image(started);
    println!(
        "pvr ms/image on one thread: decode {decode:.2}, decode to f32 {load:.2}, crop+resize {crop:.2}, whole {whole:.2}"
    );
    Ok(())
}
