use burn::tensor::{Device, Tensor};

use super::linear_with;
use crate::backend::DeviceChoice;
use crate::models::test_support::{normal, values};

/// Output and every gradient of `linear_with` and of Burn's `linear` on the same operands,
/// with a loss that weighs every output differently.
///
/// The output and the input's gradient are the same dot products in the same order, so they
/// are equal bit for bit. So are the weight's and bias's gradients for a 2-D input; for more
/// axes Burn often keeps the batch axes and sums per-batch products, where one GEMM sums over
/// every row at once, so they agree to float rounding.
fn compare<const D: usize>(x: Tensor<D>, weight: Tensor<2>, bias: Tensor<1>, device: &Device) {
    let run = |fused: bool| {
        let (x, weight, bias) = (
            x.clone().require_grad(),
            weight.clone().require_grad(),
            bias.clone().require_grad(),
        );
        let output = if fused {
            linear_with(x.clone(), weight.clone(), Some(bias.clone()))
        } else {
            burn::tensor::module::linear(x.clone(), weight.clone(), Some(bias.clone()))
        };
        let probe = normal(output.dims(), 99, device);
        let grads = (output.clone() * probe).sum().backward();
        let grad = |t: Tensor<D>| values(t.grad(&grads).expect("x has a gradient"));
        (
            values(output),
            grad(x),
            values(weight.grad(&grads).expect("weight has a gradient")),
            values(bias.grad(&grads).expect("bias has a gradient")),
        )
    };
    let (fused, burns) = (run(true), run(false));
    assert_eq!(fused.0, burns.0, "output");
    assert_eq!(fused.1, burns.1, "input gradient");
    for (what, fused, burns) in [
        ("weight gradient", fused.2, burns.2),
        ("bias gradient", fused.3, burns.3),
    ] {
        if D == 2 {
            assert_eq!(fused, burns, "{what}");
        }
        // Norm-wise: a sum over hundreds of rows cancels, so its own size says little of
        // its rounding.
        let scale = burns.iter().fold(1.0f32, |m, b| m.max(b.abs()));
        for (i, (f, b)) in fused.iter().zip(&burns).enumerate() {
            assert!(
                (f - b).abs() <= 1e-5 * scale,
                "{what}[{i}]: {f} vs Burn's {b}"
            );
        }
    }
}

#[test]
fn equals_burns_linear() {
    let device = DeviceChoice::Cpu.autodiff_device();
    // Small products (one thread) and large ones (gemm on every thread).
    for (rows, inputs, outputs) in [(5, 7, 3), (400, 96, 384)] {
        let weight = normal([inputs, outputs], 1, &device);
        let bias = normal([outputs], 2, &device);
        compare(
            normal([rows, inputs], 3, &device),
            weight.clone(),
            bias.clone(),
            &device,
        );
        compare(
            normal([2, rows, inputs], 4, &device),
            weight.clone(),
            bias.clone(),
            &device,
        );
    }
}

/// The shapes the transformers pass: a weight stored `[out, in]` and transposed (ViT's fused
/// QKV), an input permuted from another layout (Swin's channels-last maps), four axes.
#[test]
fn strided_operands_equal_burns_linear() {
    let device = DeviceChoice::Cpu.autodiff_device();
    let weight_out_in = normal([24, 16], 5, &device);
    let bias = normal([24], 6, &device);
    let permuted = normal([2, 16, 5, 3], 7, &device).permute([0, 2, 3, 1]);
    compare(permuted, weight_out_in.transpose(), bias, &device);
}

#[test]
fn inference_equals_burns_linear() {
    let device = DeviceChoice::Cpu.device();
    let (x, weight, bias) = (
        normal([3, 50, 64], 8, &device),
        normal([64, 32], 9, &device),
        normal([32], 10, &device),
    );
    assert_eq!(
        values(linear_with(x.clone(), weight.clone(), Some(bias.clone()))),
        values(burn::tensor::module::linear(x, weight, Some(bias)))
    );
}
