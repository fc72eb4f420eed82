//! Training and inference throughput of ResNet-18 and ViT-B/32 at 224 px on given devices,
//! through pvr's own training step (data-parallel over the devices, in the given precision).
//! `scripts/gpu-smoke.sh` runs it on a GPU machine.
//!
//! `cargo bench --bench device_throughput -- DEVICES [PRECISION] [BATCH] [STEPS]`, e.g.
//! `-- vulkan bf16 64 10` or `-- cuda:0,cuda:1 f32 128 10`; `cpu` works too (slowly).

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Tensor};
use pvr::backend::DeviceChoice;
use pvr::data::Rng;
use pvr::models::Stem;
use pvr::models::{Architecture, Network, NetworkConfig, VitShape};
use pvr::spec::{OptimizerSpec, Precision};
use pvr::train::loader::Batch;
use pvr::train::optimizer::build_optimizer;
use pvr::train::precision::step_dtype;
use pvr::train::replicas::StepDevices;
use pvr::train::shard::{StepSettings, split_batch};

fn main() -> anyhow::Result<()> {
    // As `pvr` itself runs (src/host.rs).
    pvr::host::keep_freed_memory();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let choices: Vec<DeviceChoice> = args
        .first()
        .map_or("cpu", String::as_str)
        .split(',')
        .map(|name| name.parse().map_err(|m: String| anyhow::anyhow!(m)))
        .collect::<anyhow::Result<_>>()?;
    let precision: Precision = match args.get(1).map_or("f32", String::as_str) {
        "bf16" => Precision::Bf16,
        "f16" => Precision::F16,
        _ => Precision::F32,
    };
    let batch: usize = args.get(2).map_or(Ok(64), |b| b.parse())?;
    let steps: usize = args.get(3).map_or(Ok(5), |s| s.parse())?;
    let names: Vec<String> = choices.iter().map(ToString::to_string).collect();
    println!(
        "devices {} · {precision:?} · batch {batch} · 224 px · {steps} timed steps",
        names.join(",")
    );
    println!(
        "{:<10} {:>14} {:>14}",
        "model", "train img/s", "infer img/s"
    );
    let networks = [
        (
            "resnet18",
            NetworkConfig {
                arch: Architecture::ResNet18,
                width: 64,
                stem: Stem::Imagenet,
                num_classes: 1000,
            },
        ),
        (
            "vit_b_32",
            NetworkConfig {
                arch: Architecture::Vit(VitShape::B_32),
                width: 768,
                stem: Stem::Small,
                num_classes: 1000,
            },
        ),
    ];
    for (name, config) in networks {
        let train = train_rate(&config, &choices, precision, batch, steps)?;
        let infer = infer_rate(&config, &choices[0], batch, steps);
        println!("{name:<10} {train:>14.1} {infer:>14.1}");
    }
    Ok(())
}

fn random_batch(batch: usize) -> Batch {
    let mut rng = Rng::new(1);
    Batch {
        images: (0..batch * 3 * 224 * 224)
            .map(|_| rng.uniform() - 0.5)
            .collect(),
        labels: (0..batch as i64).map(|i| i % 1000).collect(),
        count: batch,
        height: 224,
        width: 224,
    }
}

fn train_rate(
    config: &NetworkConfig,
    choices: &[DeviceChoice],
    precision: Precision,
    batch: usize,
    steps: usize,
) -> anyhow::Result<f64> {
    let devices: Vec<Device> = choices.iter().map(DeviceChoice::autodiff_device).collect();
    let mut network: Option<Network> = Some(config.init(&devices[0], 0));
    let mut optimizer = build_optimizer(&OptimizerSpec::default());
    let template = random_batch(batch);
    std::thread::scope(|scope| {
        let step_devices = StepDevices::start(scope, &devices);
        let mut step = || -> anyhow::Result<()> {
            let batch = Batch {
                images: template.images.clone(),
                labels: template.labels.clone(),
                ..template
            };
            let settings = StepSettings {
                global_count: batch.count,
                classes: 1000,
                dtype: step_dtype(precision),
                loss_scale: 1.0,
                sync_bn: false,
            };
            let shards = split_batch(batch, None, step_devices.count());
            let current = network.take().expect("network");
            let summed = step_devices.gradients(&current, shards, settings)?;
            let grads: GradientsParams = summed.grads;
            network = Some(optimizer.step(0.01, current, grads));
            Ok(())
        };
        step()?; // warm-up: allocations, kernel compilation
        let started = Instant::now();
        for _ in 0..steps {
            step()?;
        }
        Ok((steps * batch) as f64 / started.elapsed().as_secs_f64())
    })
}

fn infer_rate(config: &NetworkConfig, choice: &DeviceChoice, batch: usize, steps: usize) -> f64 {
    let device = choice.device();
    let network = config.init(&device, 0);
    let images = Tensor::<4>::random(
        [batch, 3, 224, 224],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let _ = network.forward(images.clone()).into_data();
    let started = Instant::now();
    for _ in 0..steps {
        let _ = network.forward(images.clone()).into_data();
    }
    (steps * batch) as f64 / started.elapsed().as_secs_f64()
}
