//! The weight gradient of a dense convolution on this machine's CPU (Burn `flex`): Burn's generic
//! backward (a convolution whose kernel is the output gradient) against pvr's GEMMs
//! (`models::gemm_conv`), per layer shape of the quickstart (batch 64), a ResNet-18 of width 64
//! at 32 px (batch 32) and at 224 px (batch 4); the forward pass and Burn's input gradient for
//! scale, and pvr's stride-1 input gradient (a convolution on the forward pass's GEMMs,
//! `models::gemm_conv::input_grad`; `-` for strided layers, which keep Burn's). Milliseconds,
//! median of the repetitions.
//!
//! `cargo bench --bench conv_backward [-- --reps N] [NAME...]` (shapes whose name contains one). One JSON line per shape after the table.

use burn::backend::Flex;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::tensor::TensorData;
use burn::tensor::ops::ConvOptions;
use pvr::models::gemm_conv::ConvShape;
use pvr::models::gemm_conv::forward::forward as gemm_conv_forward;
use pvr::models::gemm_conv::grad::weight_grad;
use pvr::models::gemm_conv::input_grad::{input_grad, transposed_shape};

mod support;
use support::{median_seconds, reps_option};

/// (name, in, out, kernel, stride, input side, batch).
const SHAPES: &[(&str, usize, usize, usize, usize, usize, usize)] = &[
    ("qs stem 3x3 w8", 3, 8, 3, 1, 32, 64),
    ("qs l1 3x3 w8", 8, 8, 3, 1, 32, 64),
    ("qs l2 3x3 w8", 16, 16, 3, 1, 16, 64),
    ("qs l4 3x3 w8", 64, 64, 3, 1, 4, 64),
    ("r18-32 l1 3x3", 64, 64, 3, 1, 32, 32),
    ("r18-32 l2 3x3/2", 64, 128, 3, 2, 32, 32),
    ("r18-32 l3 3x3", 256, 256, 3, 1, 8, 32),
    ("r18-32 l4 3x3", 512, 512, 3, 1, 4, 32),
    ("r18 stem 7x7/2", 3, 64, 7, 2, 224, 4),
    ("r18 l1 3x3", 64, 64, 3, 1, 56, 4),
    ("r18 l2 1x1/2", 64, 128, 1, 2, 56, 4),
    ("r18 l4 3x3", 512, 512, 3, 1, 7, 4),
];

fn tensor(shape: [usize; 4], seed: u64) -> (FloatTensor<Flex>, Vec<f32>) {
    let count = shape.iter().product::<usize>();
    // A cheap deterministic fill: the timings do not depend on the values.
    let values: Vec<f32> = (0..count)
        .map(|i| (((i as u64 + seed) * 2654435761) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let data = TensorData::new(values.clone(), shape);
    (FloatTensor::<Flex>::from_data(data), values)
}

fn median_ms(reps: usize, run: impl FnMut()) -> f64 {
    1e3 * median_seconds(reps, run)
}

fn main() {
    // As `pvr` itself runs (src/host.rs).
    pvr::host::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reps = reps_option(&args).unwrap_or(5);
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "shape", "forward", "gemm fwd", "burn dx", "gemm dx", "burn dw", "gemm dw", "dw gain"
    );
    let mut lines = Vec::new();
    let filters: Vec<&String> = args
        .iter()
        .filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .collect();
    for &(name, c_in, c_out, kernel, stride, side, batch) in SHAPES {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let options = ConvOptions::new([stride, stride], [kernel / 2; 2], [1, 1], 1);
        let (x, x_values) = tensor([batch, c_in, side, side], 1);
        let (w, w_values) = tensor([c_out, c_in, kernel, kernel], 2);
        let shape = ConvShape::new(
            [batch, c_in, side, side],
            [c_out, c_in, kernel, kernel],
            &options,
        )
        .expect("bench shapes are valid");
        let (grad, grad_values) = tensor([batch, c_out, shape.out_height, shape.out_width], 3);
        let forward = median_ms(reps, || {
            Flex::conv2d(x.clone(), w.clone(), None, options.clone());
        });
        let gemm_forward = median_ms(reps, || {
            gemm_conv_forward(&x_values, &w_values, &shape, None);
        });
        let burn_dx = median_ms(reps, || {
            Flex::conv2d_x_backward(x.clone(), w.clone(), grad.clone(), options.clone());
        });
        let gemm_dx = transposed_shape(&shape).map(|transposed| {
            median_ms(reps, || {
                input_grad(&grad_values, &w_values, &shape, &transposed);
            })
        });
        let burn_dw = median_ms(reps, || {
            Flex::conv2d_weight_backward(x.clone(), w.clone(), grad.clone(), options.clone());
        });
        let gemm_dw = median_ms(reps, || {
            weight_grad(&x_values, &grad_values, &shape);
        });
        let gemm_dx_cell = gemm_dx.map_or("-".to_string(), |ms| format!("{ms:.2}"));
        println!(
            "{name:<18} {forward:>9.2} {gemm_forward:>9.2} {burn_dx:>9.2} {gemm_dx_cell:>9} {burn_dw:>9.2} {gemm_dw:>9.2} {:>7.2}x",
            burn_dw / gemm_dw
        );
        let gemm_dx_json = gemm_dx.map_or("null".to_string(), |ms| format!("{ms:.3}"));
        lines.push(format!(
            "{{\"bench\":\"conv_backward\",\"shape\":\"{name}\",\"forward_ms\":{forward:.3},\"gemm_forward_ms\":{gemm_forward:.3},\
             \"burn_dx_ms\":{burn_dx:.3},\"gemm_dx_ms\":{gemm_dx_json},\"burn_dw_ms\":{burn_dw:.3},\
             \"gemm_dw_ms\":{gemm_dw:.3}}}"
        ));
    }
    for line in lines {
        println!("{line}");
    }
}
