//! Sparse (CSR weight x im2col patches, `pvr::models::sparse`) against flex's dense convolution,
//! per ResNet layer shape and sparsity, on this machine's CPU: milliseconds per call (best of
//! 3, tensor read-back and upload included on the sparse side) and the crossover, the lowest
//! measured sparsity from which the sparse path is faster at every higher sparsity.
//!
//! Then whole networks pruned layer by layer (magnitude, 90% and 95%): ResNet-18 logits at
//! 224 px and ResNet-50's dilated LOST features at 500 x 375, dense against
//! `with_sparse_inference` (its per-shape rule).
//!
//! `cargo bench --bench sparse` runs all; `-- --batch N` sets the layers' batch (default 4, the
//! attribution bench's; LOST runs batch 1); `-- layers` or `-- networks` runs one part.

use std::time::Instant;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use pvr::models::sparse::{ConvGeometry, Csr, conv, with_sparse_inference};
use pvr::models::{Architecture, NetworkConfig, PatchOptions, Stem};

/// (name, in, out, kernel, stride, input side).
const SHAPES: &[(&str, usize, usize, usize, usize, usize)] = &[
    ("r18 conv1 7x7/2", 3, 64, 7, 2, 224),
    ("r18 layer1 3x3", 64, 64, 3, 1, 56),
    ("r18 layer2.0 3x3/2", 64, 128, 3, 2, 56),
    ("r18 layer2 3x3", 128, 128, 3, 1, 28),
    ("r18 layer3 3x3", 256, 256, 3, 1, 14),
    ("r18 layer4 3x3", 512, 512, 3, 1, 7),
    ("r18 down 1x1/2", 64, 128, 1, 2, 56),
    ("r50 1x1 256->64", 256, 64, 1, 1, 56),
    ("r50 1x1 64->256", 64, 256, 1, 1, 56),
    ("r50 1x1 2048->512", 2048, 512, 1, 1, 7),
];

const SPARSITIES: [f64; 7] = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99];

fn best_ms(mut f: impl FnMut()) -> f64 {
    f();
    (0..3)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let part = |name: &str| {
        !args.iter().any(|a| a == "layers" || a == "networks") || args.iter().any(|a| a == name)
    };
    if part("layers") {
        layers(&args);
    }
    if part("networks") {
        networks();
    }
}

/// Zeroes the `share` smallest-magnitude weights of every conv and linear weight.
struct PruneEach {
    share: f64,
}

impl ModuleMapper for PruneEach {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if D < 2 {
            return param;
        }
        let share = self.share;
        param.map(|t| {
            let mut magnitudes: Vec<f32> = t
                .clone()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
                .iter()
                .map(|v| v.abs())
                .collect();
            magnitudes.sort_by(f32::total_cmp);
            let threshold = magnitudes[(magnitudes.len() as f64 * share) as usize];
            let keep = t.clone().abs().greater_elem(threshold).float();
            t * keep
        })
    }
}

fn networks() {
    let device = Device::flex();
    println!(
        "\n{:<34} {:>9} {:>9} {:>9} {:>8}",
        "network", "sparsity", "dense ms", "sparse ms", "speed-up"
    );
    for share in [0.9, 0.95] {
        for (name, arch, size, batch, dilate) in [
            (
                "resnet18 224 logits, batch 4",
                Architecture::ResNet18,
                (224, 224),
                4,
                None,
            ),
            (
                "resnet50 500x375 LOST features",
                Architecture::ResNet50,
                (512, 384),
                1,
                Some(true),
            ),
        ] {
            let net = NetworkConfig {
                arch,
                width: 64,
                stem: Stem::Imagenet,
                num_classes: 1000,
            }
            .init(&device, 0)
            .map(&mut PruneEach { share });
            let x = Tensor::<4>::random(
                [batch, 3, size.1, size.0],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let run = || match dilate {
                None => {
                    let _ = net.forward(x.clone()).into_data();
                }
                Some(dilate) => {
                    let options = PatchOptions {
                        dilate_last_stage: dilate,
                    };
                    let _ = net
                        .patch_features_with(x.clone(), options)
                        .features
                        .into_data();
                }
            };
            let dense = best_ms(run);
            let sparse = with_sparse_inference(|| best_ms(run));
            println!(
                "{name:<34} {:>8.0}% {dense:>9.1} {sparse:>9.1} {:>7.2}x",
                share * 100.0,
                dense / sparse
            );
        }
    }
}

fn layers(args: &[String]) {
    let batch = args
        .iter()
        .position(|a| a == "--batch")
        .and_then(|i| args.get(i + 1))
        .map_or(4, |n| n.parse().expect("--batch N"));
    let device = Device::flex();
    print!("{:<20} {:>9}", "layer (batch {batch})", "dense ms");
    for s in SPARSITIES {
        print!(" {:>8}", format!("{:.0}%", s * 100.0));
    }
    println!(" {:>10}", "crossover");
    for &(name, cin, cout, k, stride, side) in SHAPES {
        let pad = k / 2;
        let x = Tensor::<4>::random(
            [batch, cin, side, side],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let dense_w =
            Tensor::<4>::random([cout, cin, k, k], Distribution::Normal(0.0, 1.0), &device);
        let options = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
        let dense = best_ms(|| {
            let _ = conv2d(x.clone(), dense_w.clone(), None, options.clone()).into_data();
        });
        print!("{name:<20} {dense:>9.2}");
        let geometry = ConvGeometry {
            kernel: [k, k],
            stride: [stride, stride],
            padding: [pad, pad],
            dilation: [1, 1],
        };
        let mut faster = Vec::new();
        for s in SPARSITIES {
            let keep =
                Tensor::<4>::random([cout, cin, k, k], Distribution::Uniform(0.0, 1.0), &device)
                    .greater_elem(s)
                    .float();
            let w = (dense_w.clone() * keep)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let csr = Csr::from_dense(&w, cout, cin * k * k);
            let sparse = best_ms(|| {
                let host = x.clone().into_data().try_to_vec::<f32>().unwrap();
                let (out, shape) = conv::conv2d(&host, x.dims(), &csr, None, geometry);
                let _ = Tensor::<4>::from_data(TensorData::new(out, shape), &device);
            });
            print!(" {sparse:>8.2}");
            faster.push(sparse < dense);
        }
        // The lowest sparsity from which sparse wins at every higher one.
        let from = (0..SPARSITIES.len())
            .rev()
            .take_while(|&i| faster[i])
            .last()
            .map_or("none".to_string(), |i| {
                format!("{:.0}%", SPARSITIES[i] * 100.0)
            });
        println!(" {from:>10}");
    }
}
