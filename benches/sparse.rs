//! Sparse kernels against the dense path on this machine's CPU (Burn `flex`).
//!
//! - `crossover`: per layer shape of ResNet-18/50 at 224 px (batch 4, the attribution batch) and
//!   of the quickstart (batch 64), the time of the forward pass and of forward + input gradient,
//!   dense and sparse at falling weight densities, and the density under which sparse wins
//!   (log-interpolated). `models::sparse::crossover_density` encodes these numbers.
//! - `analysis`: GradCAM, Guided GradCAM and Integrated Gradients (50 steps) on a ResNet-18 at
//!   224 px, 1000 classes, globally magnitude-pruned to `--sparsity` (default 0.9) in one shot
//!   from its random init (the time does not depend on what the weights learned, only on where
//!   the zeros are), dense and with sparse kernels; images/s, as `benches/attribution.rs` counts
//!   them (batch 4; IG: 1 image, internal batch 25). Name methods (`gradcam`,
//!   `guided_gradcam`, `ig`) to run a subset; `--only sparse` skips the dense side
//!   (`scripts/bench-vs-torch.sh` compares the sparse side with PyTorch's dense).
//! - `lost`: ResNet-50 with its last stage dilated, the patch features LOST reads from a
//!   500 x 375 image (padded to 512 x 384, batch 1), pruned the same way; ms per image.
//!
//! `cargo bench --bench sparse [-- crossover|analysis|lost] [gradcam|guided_gradcam|ig] [--quick]
//! [--sparsity S] [--only dense|sparse] [--layer TEXT] [--reps N]` (`--layer`: only the
//! crossover layers whose name contains TEXT; `--reps`: timed repetitions per measurement). `PVR_SPARSE` sets the policy of the pruned networks
//! (default `auto`, as in the stages). Prints one JSON line per measurement after the tables
//! (`{"bench":"sparse",...}`).

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};
use pvr::attribution::baseline::Baseline;
use pvr::attribution::integrated_gradients::IgConfig;
use pvr::attribution::method::{MethodConfig, run_method};
use pvr::attribution::quadrature::Quadrature;
use pvr::attribution::tensors::{HostImages, attribution_network, to_host};
use pvr::models::params::{list_params, read_params};
use pvr::models::sparse::synthetic::thin;
use pvr::models::sparse::{ConvParams, CsrConv, SparseConvCall, SparsePolicy, sparse_conv2d};
use pvr::models::{Architecture, Network, NetworkConfig, PatchOptions, Stem};
use pvr::prune::{Masks, global_magnitude_prune};

mod support;
use support::{median_seconds, reps_option};

/// (name, in, out, kernel, stride, input side, batch).
const SHAPES: &[(&str, usize, usize, usize, usize, usize, usize)] = &[
    ("r18 stem 7x7/2", 3, 64, 7, 2, 224, 4),
    ("r18 l1 3x3", 64, 64, 3, 1, 56, 4),
    ("r18 l2 3x3/2", 64, 128, 3, 2, 56, 4),
    ("r18 l2 3x3", 128, 128, 3, 1, 28, 4),
    ("r18 l2 1x1/2", 64, 128, 1, 2, 56, 4),
    ("r18 l3 3x3", 256, 256, 3, 1, 14, 4),
    ("r18 l4 3x3", 512, 512, 3, 1, 7, 4),
    ("r50 1x1 256>64", 256, 64, 1, 1, 56, 4),
    ("r50 1x1 64>256", 64, 256, 1, 1, 56, 4),
    ("r50 1x1 1024>256", 1024, 256, 1, 1, 14, 4),
    ("qs l1 3x3 w8", 8, 8, 3, 1, 32, 64),
    ("qs l4 3x3 w8", 64, 64, 3, 1, 4, 64),
];

const DENSITIES: &[f64] = &[0.5, 0.35, 0.2, 0.1, 0.05];

fn main() {
    // As `pvr` itself runs (src/host.rs).
    pvr::host::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--reps N`: timed repetitions of every measurement (default 5 for layers, 3 otherwise;
    // `--quick` 3 and 1).
    let reps = reps_option(&args);
    let reps =
        |full: usize, quick_reps: usize| reps.unwrap_or(if quick { quick_reps } else { full });
    let sparsity = args
        .iter()
        .position(|a| a == "--sparsity")
        .and_then(|i| args.get(i + 1))
        .map_or(0.9, |s| s.parse().expect("--sparsity S"));
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    let named: Vec<&String> = args
        .iter()
        .filter(|a| ["crossover", "analysis", "lost"].contains(&a.as_str()))
        .collect();
    let wanted = |name: &str| named.is_empty() || named.iter().any(|a| *a == name);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average {} on {} threads",
        load.split_whitespace().next().unwrap_or("?"),
        rayon::current_num_threads()
    );
    let mut json = Vec::new();
    // `--layer TEXT`: only the crossover layers whose name contains TEXT.
    let layer = args
        .iter()
        .position(|a| a == "--layer")
        .and_then(|i| args.get(i + 1))
        .map_or("", String::as_str);
    if wanted("crossover") {
        crossover(reps(5, 3), layer, &mut json);
    }
    if wanted("analysis") {
        let methods: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|a| ["gradcam", "guided_gradcam", "ig"].contains(a))
            .collect();
        analysis(reps(3, 1), sparsity, only, &methods, &mut json);
    }
    if wanted("lost") {
        lost(reps(3, 1), sparsity, &mut json);
    }
    for line in json {
        println!("{line}");
    }
}

fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Seconds of the forward pass and of forward + input gradient, through `conv`.
fn measure(reps: usize, x: [usize; 4], conv: &dyn Fn(Tensor<4>) -> Tensor<4>) -> (f64, f64) {
    let plain = Device::flex();
    let input = random(x, &plain);
    let forward = median_seconds(reps, || {
        let _ = conv(input.clone()).into_data();
    });
    let autodiff = plain.autodiff();
    let input = random(x, &autodiff);
    let backward = median_seconds(reps, || {
        let x = input.clone().detach().require_grad();
        let grads = conv(x.clone()).sum().backward();
        let _ = x.grad(&grads).unwrap().into_data();
    });
    (forward, backward)
}

/// The density at which the sparse/dense time ratio crosses 1, interpolated in log density;
/// `None` when sparse never wins; the highest density tested when sparse wins already there.
fn crossing(points: &[(f64, f64)]) -> Option<f64> {
    if points.first().is_some_and(|p| p.1 < 1.0) {
        return Some(points[0].0);
    }
    points.windows(2).find_map(|w| {
        let ((d0, r0), (d1, r1)) = (w[0], w[1]);
        (r0 >= 1.0 && r1 < 1.0).then(|| {
            let t = (r0 - 1.0) / (r0 - r1);
            (d0.ln() + t * (d1.ln() - d0.ln())).exp()
        })
    })
}

fn crossover(reps: usize, layer: &str, json: &mut Vec<String>) {
    println!(
        "{:<18} {:>9} {:>9} | sparse/dense time at density {:?} (fwd; fwd+grad) | crossover fwd, fwd+grad",
        "layer", "dense fwd", "fwd+grad", DENSITIES
    );
    for &(name, c_in, c_out, k, stride, side, batch) in SHAPES {
        if !name.contains(layer) {
            continue;
        }
        let device = Device::flex();
        let padding = k / 2;
        let x = [batch, c_in, side, side];
        let weight = random([c_out, c_in, k, k], &device);
        let options = ConvOptions::new([stride, stride], [padding, padding], [1, 1], 1);
        let dense_weight = |device: &Device| weight.clone().to_device(device);
        let (dense_fwd, dense_bwd) = measure(reps, x, &|input: Tensor<4>| {
            let w = dense_weight(&input.device());
            conv2d(input, w, None, options.clone())
        });
        let mut ratios = Vec::new();
        for &density in DENSITIES {
            let values = thin(weight.clone(), density)
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap();
            let weights = std::sync::Arc::new(CsrConv::from_dense(&values, [c_out, c_in, k, k]));
            let params = ConvParams {
                stride,
                padding,
                dilation: 1,
            };
            let call = SparseConvCall::new(weights, params);
            let (fwd, bwd) = measure(reps, x, &|input| sparse_conv2d(input, &call));
            ratios.push((density, fwd / dense_fwd, bwd / dense_bwd));
        }
        let cross_fwd = crossing(&ratios.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>());
        let cross_bwd = crossing(&ratios.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>());
        let show = |c: Option<f64>| match c {
            None => "never".to_string(),
            Some(c) if c == DENSITIES[0] => format!(">={c:.2}"),
            Some(c) => format!("{c:.2}"),
        };
        println!(
            "{name:<18} {:>7.2}ms {:>7.2}ms | {} | {}, {}",
            dense_fwd * 1e3,
            dense_bwd * 1e3,
            ratios
                .iter()
                .map(|r| format!("{:.2};{:.2}", r.1, r.2))
                .collect::<Vec<_>>()
                .join(" "),
            show(cross_fwd),
            show(cross_bwd)
        );
        json.push(format!(
            "{{\"bench\":\"sparse\",\"part\":\"crossover\",\"layer\":\"{name}\",\"in\":{c_in},\"out\":{c_out},\"kernel\":{k},\"stride\":{stride},\"side\":{side},\"batch\":{batch},\"dense_fwd_s\":{dense_fwd:.6},\"dense_fwd_grad_s\":{dense_bwd:.6},\"ratios\":[{}],\"crossover_fwd\":{},\"crossover_fwd_grad\":{}}}",
            ratios
                .iter()
                .map(|r| format!("[{},{:.4},{:.4}]", r.0, r.1, r.2))
                .collect::<Vec<_>>()
                .join(","),
            cross_fwd.map_or("null".into(), |c| format!("{c:.3}")),
            cross_bwd.map_or("null".into(), |c| format!("{c:.3}")),
        ));
    }
}

/// A ResNet (ImageNet stem, 1000 classes) pruned globally to `sparsity` in one shot.
fn pruned_resnet(arch: Architecture, sparsity: f64, device: &Device) -> Network {
    let network = NetworkConfig {
        arch,
        width: 64,
        stem: Stem::Imagenet,
        num_classes: 1000,
    }
    .init(device, 0);
    let prunable: Vec<String> = list_params(&network)
        .into_iter()
        .filter(|p| p.prunable)
        .map(|p| p.path)
        .collect();
    let values = read_params(&network, &|path| prunable.iter().any(|p| p == path));
    let round = global_magnitude_prune(&values, &Masks::default(), sparsity);
    round.masks.to_device(device).apply(network)
}

/// `network` on sparse kernels under `PVR_SPARSE`, after a line saying which layers went sparse.
fn with_kernels(network: &Network, what: &str) -> Network {
    let policy = SparsePolicy::from_env().expect("PVR_SPARSE");
    let (sparse, summary) = network.clone().with_sparse_kernels(policy);
    println!(
        "{what}: {} of {} convolutions kept sparse (*), each run sparse where its output size passes ({policy:?}); densities {}",
        summary.sparse_layers(),
        summary.layers.len(),
        summary
            .layers
            .iter()
            .map(|l| format!("{:.2}{}", l.1, if l.2 { "*" } else { "" }))
            .collect::<Vec<_>>()
            .join(" ")
    );
    sparse
}

fn analysis(
    reps: usize,
    sparsity: f64,
    only: Option<&str>,
    names: &[&str],
    json: &mut Vec<String>,
) {
    let device = Device::flex().autodiff();
    let network = pruned_resnet(Architecture::ResNet18, sparsity, &device);
    let dense = attribution_network(network, &device);
    let sparse = with_kernels(&dense, &format!("ResNet-18 224 px pruned to {sparsity}"));
    let ig = IgConfig {
        steps: 50,
        quadrature: Quadrature::GaussLegendre,
        baseline: Baseline::Zeros,
        internal_batch: 25,
        noise: None,
    };
    let methods = [
        ("gradcam", MethodConfig::Gradcam, 4),
        ("guided_gradcam", MethodConfig::GuidedGradcam, 4),
        ("ig", MethodConfig::Ig(ig), 1),
    ];
    println!(
        "{:<16} {:>7} {:>14} {:>14} {:>8}",
        "method", "images", "dense img/s", "sparse img/s", "speed-up"
    );
    for (name, method, count) in methods {
        if !names.is_empty() && !names.contains(&name) {
            continue;
        }
        let data = to_host(random([count, 3, 224, 224], &device)).unwrap();
        let images = HostImages {
            data: &data,
            count,
            height: 224,
            width: 224,
        };
        let targets: Vec<usize> = (0..count).map(|i| i * 7 % 1000).collect();
        let keys: Vec<u64> = (0..count as u64).collect();
        let rate = |network: &Network| {
            let seconds = median_seconds(reps, || {
                run_method(&method, network, images, &targets, &keys, 0, &device).unwrap();
            });
            count as f64 / seconds
        };
        // Alternate so that a busy machine slows both alike; `--only sparse|dense` for profiles.
        let dense_rate = if only == Some("sparse") {
            f64::NAN
        } else {
            rate(&dense)
        };
        let sparse_rate = if only == Some("dense") {
            f64::NAN
        } else {
            rate(&sparse)
        };
        println!(
            "{name:<16} {count:>7} {dense_rate:>14.2} {sparse_rate:>14.2} {:>7.2}x",
            sparse_rate / dense_rate
        );
        // JSON has no NaN: a side not measured is null.
        let number = |rate: f64| {
            if rate.is_nan() {
                "null".to_string()
            } else {
                format!("{rate:.4}")
            }
        };
        json.push(format!(
            "{{\"bench\":\"sparse\",\"part\":\"analysis\",\"method\":\"{name}\",\"sparsity\":{sparsity},\"images\":{count},\"dense_img_s\":{},\"sparse_img_s\":{}}}",
            number(dense_rate),
            number(sparse_rate)
        ));
    }
}

/// LOST's features: ResNet-50, last stage dilated, one 500 x 375 image padded to 512 x 384.
fn lost(reps: usize, sparsity: f64, json: &mut Vec<String>) {
    let device = Device::flex();
    let dense = pruned_resnet(Architecture::ResNet50, sparsity, &device);
    let sparse = with_kernels(
        &dense,
        &format!("ResNet-50 dilated 512 x 384 pruned to {sparsity}"),
    );
    let x = random([1, 3, 384, 512], &device);
    let options = PatchOptions {
        dilate_last_stage: true,
    };
    let ms = |network: &Network| {
        1e3 * median_seconds(reps, || {
            let _ = network
                .patch_features_with(x.clone(), options)
                .features
                .into_data();
        })
    };
    let (dense_ms, sparse_ms) = (ms(&dense), ms(&sparse));
    println!(
        "LOST features ResNet-50 dilated: dense {dense_ms:.0} ms, sparse {sparse_ms:.0} ms, {:.2}x",
        dense_ms / sparse_ms
    );
    json.push(format!(
        "{{\"bench\":\"sparse\",\"part\":\"lost\",\"sparsity\":{sparsity},\"dense_ms\":{dense_ms:.2},\"sparse_ms\":{sparse_ms:.2}}}"
    ));
}
