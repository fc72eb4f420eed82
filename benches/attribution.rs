//! Attribution throughput on CPU: images/s of GradCAM, Guided GradCAM and Integrated Gradients
//! (50 Gauss-Legendre steps) on the quickstart's ResNet-18 (width 8, 32 px) and on a paper-scale
//! ResNet-18 (width 64, ImageNet stem, 224 px, 1000 classes), random weights.
//!
//! `cargo bench --bench attribution` runs all; name configs (`small`, `paper`) or methods
//! (`gradcam`, `guided_gradcam`, `ig`) to run a subset.

use std::time::Instant;

use burn::tensor::{Distribution, Tensor};
use pvr::attribution::baseline::Baseline;
use pvr::attribution::integrated_gradients::IgConfig;
use pvr::attribution::method::{MethodConfig, run_method};
use pvr::attribution::quadrature::Quadrature;
use pvr::attribution::tensors::{HostImages, attribution_network, to_host};
use pvr::backend::DeviceChoice;
use pvr::models::Stem;
use pvr::models::{Architecture, NetworkConfig};

struct Config {
    name: &'static str,
    width: usize,
    stem: Stem,
    image_size: usize,
    classes: usize,
    /// Images per call for GradCAM and Guided GradCAM, and for IG.
    batch: usize,
    ig_images: usize,
    ig_internal_batch: usize,
    repeats: usize,
}

const CONFIGS: [Config; 2] = [
    Config {
        name: "small",
        width: 8,
        stem: Stem::Small,
        image_size: 32,
        classes: 10,
        batch: 32,
        ig_images: 8,
        ig_internal_batch: 64,
        repeats: 3,
    },
    Config {
        name: "paper",
        width: 64,
        stem: Stem::Imagenet,
        image_size: 224,
        classes: 1000,
        batch: 4,
        ig_images: 1,
        ig_internal_batch: 25,
        repeats: 1,
    },
];

fn main() {
    // As `pvr` itself runs (src/host.rs).
    pvr::host::keep_freed_memory();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| args.iter().any(|a| a == name);
    // Names filter configs and methods independently: `small` alone runs every method on it.
    let any_config = CONFIGS.iter().any(|c| wanted(c.name));
    let configs: Vec<&Config> = CONFIGS
        .iter()
        .filter(|c| !any_config || wanted(c.name))
        .collect();
    let method_names = ["gradcam", "guided_gradcam", "ig"];
    let any_method = method_names.iter().any(|m| args.iter().any(|a| a == m));
    let methods: Vec<(&str, MethodConfig)> = [
        ("gradcam", MethodConfig::Gradcam),
        ("guided_gradcam", MethodConfig::GuidedGradcam),
        ("ig", MethodConfig::Ig(ig(0))),
    ]
    .into_iter()
    .filter(|(name, _)| !any_method || args.iter().any(|a| a == name))
    .collect();
    println!(
        "{:<8} {:>7} {:<16} {:>7} {:>10}",
        "config", "params", "method", "images", "images/s"
    );
    for config in configs {
        for (name, method) in &methods {
            let method = match method {
                MethodConfig::Ig(_) => MethodConfig::Ig(ig(config.ig_internal_batch)),
                other => other.clone(),
            };
            let (rate, images, params) = measure(config, &method);
            println!(
                "{:<8} {:>6.1}M {:<16} {:>7} {:>10.2}",
                config.name,
                params as f64 / 1e6,
                name,
                images,
                rate
            );
        }
    }
}

fn ig(internal_batch: usize) -> IgConfig {
    IgConfig {
        steps: 50,
        quadrature: Quadrature::GaussLegendre,
        baseline: Baseline::Zeros,
        internal_batch: internal_batch.max(1),
        noise: None,
    }
}

/// (images/s, images per call, parameters).
fn measure(config: &Config, method: &MethodConfig) -> (f64, usize, usize) {
    let device = DeviceChoice::Cpu.autodiff_device();
    let network_config = NetworkConfig {
        arch: Architecture::ResNet18,
        width: config.width,
        stem: config.stem,
        num_classes: config.classes,
    };
    let network = attribution_network(network_config.init(&device, 0), &device);
    let params = burn::module::Module::num_params(&network);
    let count = match method {
        MethodConfig::Ig(_) => config.ig_images,
        _ => config.batch,
    };
    let size = config.image_size;
    let data = to_host(Tensor::<4>::random(
        [count, 3, size, size],
        Distribution::Normal(0.0, 1.0),
        &device,
    ))
    .unwrap();
    let images = HostImages {
        data: &data,
        count,
        height: size,
        width: size,
    };
    let targets: Vec<usize> = (0..count).map(|i| i % config.classes).collect();
    let keys: Vec<u64> = (0..count as u64).collect();
    let run = || run_method(method, &network, images, &targets, &keys, 0, &device).unwrap();
    run(); // warm-up: allocations, kernel selection
    let started = Instant::now();
    for _ in 0..config.repeats {
        run();
    }
    let rate = (config.repeats * count) as f64 / started.elapsed().as_secs_f64();
    (rate, count, params)
}
