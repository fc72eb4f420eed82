//! Training and inference throughput and peak memory of every architecture on this machine's
//! CPU (Burn `flex`): the paper-scale ViT-B/32 and SwinV2-T at 224x224, batch 8, and the small
//! `vit`/`swin` defaults at 32 px next to the quickstart's ResNet-18.
//!
//! `cargo bench --bench models` runs every configuration, each in its own child process so that
//! the reported peak memory (VmHWM) is that configuration's alone. Pass names to run a subset:
//! `cargo bench --bench models -- vit-small swin-small`.

use std::process::Command;
use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use pvr::backend::DeviceChoice;
use pvr::models::flops::summarize;
use pvr::spec::{ModelSpec, OptimizerSpec, Stem};
use pvr::train::optimizer::build_optimizer;

struct Config {
    name: &'static str,
    arch: &'static str,
    width: Option<usize>,
    image_size: usize,
    /// 1000 (ImageNet) for the paper-scale models, so that their sizes are torchvision's.
    classes: usize,
    batch: usize,
    steps: usize,
}

const CONFIGS: &[Config] = &[
    Config {
        name: "resnet18-quickstart",
        arch: "resnet18",
        width: Some(8),
        image_size: 32,
        classes: 10,
        batch: 64,
        steps: 6,
    },
    Config {
        name: "vit-small",
        arch: "vit",
        width: None,
        image_size: 32,
        classes: 10,
        batch: 64,
        steps: 6,
    },
    Config {
        name: "swin-small",
        arch: "swin",
        width: None,
        image_size: 32,
        classes: 10,
        batch: 64,
        steps: 6,
    },
    Config {
        name: "vit_b_32-224",
        arch: "vit_b_32",
        width: None,
        image_size: 224,
        classes: 1000,
        batch: 8,
        steps: 2,
    },
    Config {
        name: "swin_v2_t-224",
        arch: "swin_v2_t",
        width: None,
        image_size: 224,
        classes: 1000,
        batch: 8,
        steps: 2,
    },
];

fn main() {
    // As `pvr` itself runs (src/host.rs).
    pvr::host::keep_freed_memory();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let Ok(name) = std::env::var("PVR_BENCH_CHILD") {
        let config = CONFIGS
            .iter()
            .find(|c| c.name == name)
            .expect("known config");
        measure(config);
        return;
    }
    println!(
        "{:<20} {:>8} {:>8} {:>6} {:>12} {:>12} {:>9}",
        "config", "params", "GFLOPs", "batch", "train img/s", "infer img/s", "peak MiB"
    );
    for config in CONFIGS
        .iter()
        .filter(|c| args.is_empty() || args.iter().any(|a| a == c.name))
    {
        let output = Command::new(std::env::current_exe().unwrap())
            .env("PVR_BENCH_CHILD", config.name)
            .output()
            .expect("run child");
        print!("{}", String::from_utf8_lossy(&output.stdout));
        if !output.status.success() {
            eprintln!(
                "{} failed: {}",
                config.name,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

fn measure(config: &Config) {
    let spec = ModelSpec {
        arch: config.arch.into(),
        width: config.width,
        stem: Stem::Small,
        ..ModelSpec::default()
    };
    let network_config =
        pvr::pool::network_config(&spec, config.image_size, config.classes).expect("valid config");
    let summary = summarize(&network_config, config.image_size);
    let device = DeviceChoice::Cpu.autodiff_device();
    let mut network = network_config.init(&device, 0);
    let shape = [config.batch, 3, config.image_size, config.image_size];
    let images = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let labels: Vec<i64> = (0..config.batch as i64)
        .map(|i| i % config.classes as i64)
        .collect();
    let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [config.batch]), &device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    // Each family's reference optimizer: SGD for ResNets, AdamW for transformers.
    let mut optimizer = build_optimizer(&if network_config.arch.is_transformer() {
        OptimizerSpec::Adamw {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            weight_decay: 0.05,
            eps: 1e-8,
        }
    } else {
        OptimizerSpec::Sgd {
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 5e-4,
            nesterov: false,
        }
    });

    let mut train_step = || {
        let loss = loss_fn.forward(network.forward(images.clone()), targets.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &network);
        network = optimizer.step(1e-3, network.clone(), grads);
        let _ = loss.into_scalar::<f32>();
    };
    train_step(); // warm-up: allocations, lazy initialisation, kernel selection
    let started = Instant::now();
    for _ in 0..config.steps {
        train_step();
    }
    let train_rate = (config.steps * config.batch) as f64 / started.elapsed().as_secs_f64();

    let plain = DeviceChoice::Cpu.device();
    let eval_network = network_config.init(&plain, 0);
    let eval_images = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &plain);
    let _ = eval_network.forward(eval_images.clone()).into_data();
    let started = Instant::now();
    for _ in 0..config.steps {
        let _ = eval_network.forward(eval_images.clone()).into_data();
    }
    let infer_rate = (config.steps * config.batch) as f64 / started.elapsed().as_secs_f64();
    println!(
        "{:<20} {:>7.2}M {:>8.3} {:>6} {:>12.1} {:>12.1} {:>9.0}",
        config.name,
        summary.params as f64 / 1e6,
        summary.flops as f64 / 1e9,
        config.batch,
        train_rate,
        infer_rate,
        peak_rss_mib()
    );
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|kb| kb.parse::<f64>().ok())
                })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
