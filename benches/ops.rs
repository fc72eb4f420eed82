//! The activations' operations pvr runs its own way on the CPU (Burn `flex`), against Burn's:
//! max pooling (`models::max_pool`), batch norm in training and in inference
//! (`models::fused_batch_norm`) and GELU (`models::fast_gelu`, on the same maps for scale),
//! forward alone and forward + backward, on a ResNet stem's
//! output at 224 px (batch 4), a width-64 ResNet-18's first stage at 32 px (batch 32) and the
//! quickstart's first stage (batch 64). Milliseconds, median of the repetitions; the backward
//! pass starts from a weighted sum of the output, whose own cost is in the `baseline` row.
//!
//! `cargo bench --bench ops [-- --reps N] [NAME...]` (shapes whose name contains one). One JSON
//! line per measurement after the table.

use burn::module::Module;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Distribution, Tensor};
use pvr::models::fast_gelu::gelu;
use pvr::models::fused_batch_norm::batch_norm;
use pvr::models::max_pool::max_pool2d;

mod support;
use support::{median_seconds, reps_option};

/// (name, shape).
const SHAPES: &[(&str, [usize; 4])] = &[
    ("r18 stem out 224", [4, 64, 112, 112]),
    ("r18-32 l1", [32, 64, 32, 32]),
    ("qs l1 w8", [64, 8, 32, 32]),
];

/// Median milliseconds of `reps` runs of `f` after one warm-up.
fn millis(reps: usize, f: impl FnMut()) -> f64 {
    1e3 * median_seconds(reps, f)
}

/// One operation, its way in Burn and in pvr.
struct Op {
    name: &'static str,
    burn: Box<dyn Fn(Tensor<4>) -> Tensor<4>>,
    pvr: Box<dyn Fn(Tensor<4>) -> Tensor<4>>,
}

fn ops(channels: usize, device: &Device) -> Vec<Op> {
    let pool: MaxPool2d = MaxPool2dConfig::new([3, 3])
        .with_strides([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init();
    let training: BatchNorm = BatchNormConfig::new(channels).init(device);
    let inference = BatchNormConfig::new(channels)
        .init(device)
        .valid()
        .to_device(device);
    let (pool_burn, pool_pvr) = (pool.clone(), pool);
    let (train_burn, train_pvr) = (training.clone(), training);
    let (infer_burn, infer_pvr) = (inference.clone(), inference);
    vec![
        Op {
            name: "baseline",
            burn: Box::new(|x| x),
            pvr: Box::new(|x| x),
        },
        Op {
            name: "max pool 3x3/2",
            burn: Box::new(move |x| pool_burn.forward(x)),
            pvr: Box::new(move |x| max_pool2d(&pool_pvr, x)),
        },
        Op {
            name: "batch norm train",
            burn: Box::new(move |x| train_burn.forward(x)),
            pvr: Box::new(move |x| batch_norm(&train_pvr, x)),
        },
        Op {
            name: "batch norm infer",
            burn: Box::new(move |x| infer_burn.forward(x)),
            pvr: Box::new(move |x| batch_norm(&infer_pvr, x)),
        },
        Op {
            name: "gelu",
            burn: Box::new(burn::tensor::activation::gelu),
            pvr: Box::new(gelu),
        },
    ]
}

fn main() {
    // As `pvr` itself runs (src/host.rs).
    pvr::host::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reps = reps_option(&args).unwrap_or(9);
    let names: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--reps"))
        .map(|(_, a)| a)
        .collect();
    let device = Device::flex().autodiff();
    println!(
        "{:<18} {:<18} {:>10} {:>10} {:>12} {:>12}",
        "shape", "operation", "burn fwd", "pvr fwd", "burn fwd+bwd", "pvr fwd+bwd"
    );
    let mut json = Vec::new();
    for &(shape_name, shape) in SHAPES {
        if !names.is_empty() && !names.iter().any(|n| shape_name.contains(n.as_str())) {
            continue;
        }
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        for op in ops(shape[1], &device) {
            let forward = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
                // `flex` runs eagerly: the output exists when the call returns.
                millis(reps, || drop(f(x.clone())))
            };
            let backward = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
                millis(reps, || {
                    let input = x.clone().require_grad();
                    let output = f(input.clone());
                    let weights = output.clone().detach();
                    let grads = (output * weights).sum().backward();
                    drop(input.grad(&grads));
                })
            };
            let times = [
                forward(&op.burn),
                forward(&op.pvr),
                backward(&op.burn),
                backward(&op.pvr),
            ];
            println!(
                "{shape_name:<18} {:<18} {:>8.2}ms {:>8.2}ms {:>10.2}ms {:>10.2}ms",
                op.name, times[0], times[1], times[2], times[3]
            );
            json.push(format!(
                "{{\"bench\":\"ops\",\"shape\":\"{shape_name}\",\"op\":\"{}\",\"burn_fwd_ms\":{:.4},\"pvr_fwd_ms\":{:.4},\"burn_fwd_bwd_ms\":{:.4},\"pvr_fwd_bwd_ms\":{:.4}}}",
                op.name, times[0], times[1], times[2], times[3]
            ));
        }
    }
    for line in json {
        println!("{line}");
    }
}
