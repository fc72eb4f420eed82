//! Training and inference throughput of pvr's models on this machine's CPU (Burn `flex`).
//!
//! `cargo bench --bench throughput` runs every configuration, each in its own child process so
//! that the reported peak memory (VmHWM) is that configuration's alone. Pass names to run a
//! subset: `cargo bench --bench throughput -- quickstart resnet18-w64-32`.

use std::process::Command;
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use pvr::backend::DeviceChoice;
use pvr::models::Stem;
use pvr::models::{Architecture, NetworkConfig};
use pvr::spec::OptimizerSpec;
use pvr::train::optimizer::build_optimizer;

struct Config {
    name: &'static str,
    arch: Architecture,
    width: usize,
    stem: Stem,
    image_size: usize,
    batch: usize,
    steps: usize,
}

const CONFIGS: &[Config] = &[
    Config {
        name: "quickstart",
        arch: Architecture::ResNet18,
        width: 8,
        stem: Stem::Small,
        image_size: 32,
        batch: 64,
        steps: 8,
    },
    Config {
        name: "resnet18-w16-32",
        arch: Architecture::ResNet18,
        width: 16,
        stem: Stem::Small,
        image_size: 32,
        batch: 32,
        steps: 6,
    },
    Config {
        name: "resnet18-w64-32",
        arch: Architecture::ResNet18,
        width: 64,
        stem: Stem::Small,
        image_size: 32,
        batch: 32,
        steps: 3,
    },
    Config {
        name: "resnet18-w64-224",
        arch: Architecture::ResNet18,
        width: 64,
        stem: Stem::Imagenet,
        image_size: 224,
        batch: 32,
        steps: 2,
    },
    Config {
        name: "resnet50-w64-224",
        arch: Architecture::ResNet50,
        width: 64,
        stem: Stem::Imagenet,
        image_size: 224,
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
        "{:<18} {:>6} {:>6} {:>14} {:>14} {:>10}",
        "config", "params", "batch", "train img/s", "infer img/s", "peak MiB"
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
    let network_config = NetworkConfig {
        arch: config.arch,
        width: config.width,
        stem: config.stem,
        num_classes: 10,
    };
    let device = DeviceChoice::Cpu.autodiff_device();
    let mut network = network_config.init(&device, 0);
    let params = network.num_params();
    let shape = [config.batch, 3, config.image_size, config.image_size];
    let images = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let labels: Vec<i64> = (0..config.batch as i64).map(|i| i % 10).collect();
    let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [config.batch]), &device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut optimizer = build_optimizer(&OptimizerSpec::Sgd {
        lr: 0.01,
        momentum: 0.9,
        weight_decay: 5e-4,
        nesterov: false,
    });

    let mut train_step = || {
        let loss = loss_fn.forward(network.forward(images.clone()), targets.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &network);
        network = optimizer.step(0.01, network.clone(), grads);
        let _ = loss.into_scalar::<f32>();
    };
    train_step(); // warm-up: allocations, kernel selection
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
        "{:<18} {:>5.1}M {:>6} {:>14.1} {:>14.1} {:>10.0}",
        config.name,
        params as f64 / 1e6,
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
