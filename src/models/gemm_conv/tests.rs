//! The GEMM backward equals Burn's generic convolution backward on every geometry ResNets,
//! LOST's dilation and patch embeddings use, and on awkward ones (maps where some taps read only
//! padding, asymmetric padding, a kernel taller than wide, strides that skip input columns);
//! chunks of images add up to one chunk; the input gradient as a convolution exists exactly for
//! stride 1 and padding within the kernel's reach.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use super::super::fused_batch_norm::ChannelAffine;
use super::forward::{Epilogue, forward, forward_in_tiles};
use super::grad::{weight_grad, weight_grad_in_chunks};
use super::input_grad::transposed_shape;
use super::shape::ConvShape;
use super::{gemm_conv2d, gemm_conv2d_epilogue};
use crate::models::test_support::values;

/// `max |a - b| <= 1e-5 * max |b|`, and `b` not all zero.
fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero");
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(
        worst <= 1e-5 * scale,
        "{what}: off by {worst} at scale {scale}"
    );
}

/// `(input, weight, options)` of one convolution.
type Case = ([usize; 4], [usize; 4], ConvOptions<2>);

fn cases() -> Vec<Case> {
    let square = |s, p, d| ConvOptions::new([s, s], [p, p], [d, d], 1);
    vec![
        // ResNet 3x3, odd sides (no multiple of a register block).
        ([2, 3, 13, 13], [8, 3, 3, 3], square(1, 1, 1)),
        ([3, 6, 15, 15], [10, 6, 3, 3], square(2, 1, 1)),
        // 1x1 shortcut and bottleneck layers.
        ([2, 5, 9, 9], [7, 5, 1, 1], square(1, 0, 1)),
        ([2, 5, 9, 9], [7, 5, 1, 1], square(2, 0, 1)),
        // LOST's dilated layer4, the 7x7/2 stem, a ViT patch embedding (stride = kernel).
        ([2, 4, 11, 11], [9, 4, 3, 3], square(1, 2, 2)),
        ([2, 3, 19, 19], [5, 3, 7, 7], square(2, 3, 1)),
        ([2, 3, 16, 16], [6, 3, 4, 4], square(4, 0, 1)),
        // Maps so small that some taps read only padding (a tiny network's last stage).
        ([2, 3, 1, 1], [4, 3, 3, 3], square(1, 1, 1)),
        ([2, 3, 2, 2], [4, 3, 3, 3], square(2, 1, 1)),
        // Asymmetric padding, a 3x1 kernel, unequal strides on a non-square input.
        (
            [2, 3, 10, 7],
            [4, 3, 3, 1],
            ConvOptions::new_with_padding([2, 3], [(0, 1), (2, 0)], [1, 2], 1),
        ),
        // Stride 1 with asymmetric padding and dilation along one axis (the input gradient as a
        // convolution pads each side by its own amount), and padding wider than a 1x1 kernel
        // reaches (no such convolution for it: `flex`'s transposed convolution).
        (
            [2, 3, 9, 8],
            [4, 3, 3, 2],
            ConvOptions::new_with_padding([1, 1], [(2, 0), (0, 1)], [1, 2], 1),
        ),
        ([2, 3, 5, 5], [4, 3, 1, 1], square(1, 1, 1)),
    ]
}

/// The output and both gradients within 1e-5 relative, against Burn's `conv2d` through
/// autodiff, with a random upstream gradient so every output position weighs differently.
#[test]
fn gemm_gradients_equal_burns_convolution_backward() {
    let device = Device::flex().autodiff();
    for (index, (input, weight, options)) in cases().into_iter().enumerate() {
        let normal = Distribution::Normal(0.0, 1.0);
        let x = Tensor::<4>::random(input, normal, &device);
        let weight = Tensor::<4>::random(weight, normal, &device);
        let run = |gemm: bool| {
            let (x, weight) = (x.clone().require_grad(), weight.clone().require_grad());
            let out = if gemm {
                gemm_conv2d(x.clone(), weight.clone(), options.clone())
            } else {
                conv2d(x.clone(), weight.clone(), None, options.clone())
            };
            let upstream = Tensor::<4>::random(out.dims(), normal, &device);
            (out, x, weight, upstream)
        };
        let (reference, x_ref, w_ref, upstream) = run(false);
        let grads = (reference.clone() * upstream.clone()).sum().backward();
        let (x_grad_ref, w_grad_ref) = (x_ref.grad(&grads).unwrap(), w_ref.grad(&grads).unwrap());

        let (out, x_gemm, w_gemm, _) = run(true);
        assert_close(
            &values(out.clone()),
            &values(reference),
            &format!("case {index}: forward"),
        );
        let grads = (out * upstream).sum().backward();
        let what = |part: &str| format!("case {index}: {part}");
        assert_close(
            &values(x_gemm.grad(&grads).unwrap()),
            &values(x_grad_ref),
            &what("input gradient"),
        );
        assert_close(
            &values(w_gemm.grad(&grads).unwrap()),
            &values(w_grad_ref),
            &what("weight gradient"),
        );
    }
}

/// A frozen weight (an analysis) gets no gradient, and an input that takes none (the first
/// layer's images) still gives the weight its gradient.
#[test]
fn only_tracked_operands_get_gradients() {
    let device = Device::flex().autodiff();
    let normal = Distribution::Normal(0.0, 1.0);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let x = Tensor::<4>::random([1, 2, 5, 5], normal, &device);
    let weight = Tensor::<4>::random([3, 2, 3, 3], normal, &device);

    let tracked_x = x.clone().require_grad();
    let grads = gemm_conv2d(tracked_x.clone(), weight.clone(), options.clone())
        .sum()
        .backward();
    assert!(tracked_x.grad(&grads).is_some());
    assert!(weight.grad(&grads).is_none());

    let tracked_w = weight.require_grad();
    let grads = gemm_conv2d(x.clone(), tracked_w.clone(), options)
        .sum()
        .backward();
    assert!(tracked_w.grad(&grads).is_some());
    assert!(x.grad(&grads).is_none());
}

/// A budget of less than one image's patch matrix runs one image per chunk; the sum equals the
/// one-chunk result up to the order of its additions.
#[test]
fn chunks_of_images_add_up_to_one_chunk() {
    let device = Device::flex();
    let normal = Distribution::Normal(0.0, 1.0);
    let options = ConvOptions::new([2, 2], [1, 1], [1, 1], 1);
    let shape = ConvShape::new([5, 3, 9, 9], [4, 3, 3, 3], &options).unwrap();
    let x = values(Tensor::<4>::random([5, 3, 9, 9], normal, &device));
    let grad = values(Tensor::<4>::random(
        [5, 4, shape.out_height, shape.out_width],
        normal,
        &device,
    ));
    let (one, many) = (usize::MAX, 1);
    assert_close(
        &weight_grad_in_chunks(&x, &grad, &shape, many),
        &weight_grad_in_chunks(&x, &grad, &shape, one),
        "weight gradient",
    );
}

/// The geometry of a convolution of `input` with `weight`, and normal values for both.
fn random_operands(
    input: [usize; 4],
    weight: [usize; 4],
    options: &ConvOptions<2>,
) -> (ConvShape, Vec<f32>, Vec<f32>) {
    let (device, normal) = (Device::flex(), Distribution::Normal(0.0, 1.0));
    (
        ConvShape::new(input, weight, options).unwrap(),
        values(Tensor::<4>::random(input, normal, &device)),
        values(Tensor::<4>::random(weight, normal, &device)),
    )
}

/// Tiles of one output row each (the smallest budget) give the output of one tile per image, and
/// tiles across images of a batch do not overlap.
#[test]
fn tiles_of_output_rows_make_up_the_whole_output() {
    let options = ConvOptions::new([1, 2], [1, 0], [1, 1], 1);
    let (shape, x, weight) = random_operands([3, 4, 7, 9], [5, 4, 3, 3], &options);
    let device = Device::flex();
    let whole = forward_in_tiles(&x, &weight, &shape, usize::MAX, None);
    assert_close(
        &forward_in_tiles(&x, &weight, &shape, 1, None),
        &whole,
        "one row per tile",
    );
    let reference = values(conv2d(
        Tensor::<4>::from_data(TensorData::new(x, [3, 4, 7, 9]), &device),
        Tensor::<4>::from_data(TensorData::new(weight, [5, 4, 3, 3]), &device),
        None,
        options,
    ));
    assert_close(&whole, &reference, "one tile per image");
}

/// The output and the weight gradient are the same bit for bit on any number of threads: the
/// tiles and the groups of images, and so gemm's blocking and the order of the sums, follow the
/// shape alone (tiles sized by the thread count fail this at 256 input channels). The second
/// shape's weight gradient is one group on gemm's own threads.
#[test]
fn the_output_does_not_depend_on_the_thread_count() {
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    for (input, weight) in [
        ([6, 256, 12, 12], [24, 256, 3, 3]),
        ([2, 128, 5, 5], [1024, 128, 3, 3]),
    ] {
        let (shape, x, weight) = random_operands(input, weight, &options);
        let grad = random_operands(
            [
                shape.images,
                shape.out_channels,
                shape.out_height,
                shape.out_width,
            ],
            [1, shape.out_channels, 1, 1],
            &options,
        )
        .1;
        let on_threads = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut both = forward(&x, &weight, &shape, None);
                both.extend(weight_grad(&x, &grad, &shape));
                both
            })
        };
        let one = on_threads(1);
        assert!(one.iter().any(|v| *v != 0.0));
        for threads in [3, 8] {
            let differing = on_threads(threads)
                .iter()
                .zip(&one)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            assert_eq!(
                differing, 0,
                "{input:?}, {threads} threads: values differ from one thread's"
            );
        }
    }
}

/// Output sizes follow Burn's formula, grouped convolutions and kernels larger than the padded
/// input are refused.
#[test]
fn shapes_follow_the_convolution_arithmetic() {
    let options = ConvOptions::new_with_padding([2, 3], [(0, 1), (2, 0)], [1, 2], 1);
    let shape = ConvShape::new([1, 3, 10, 7], [4, 3, 3, 1], &options).unwrap();
    // (10 + 0 + 1 - 3) / 2 + 1 = 5; (7 + 2 + 0 - 1) / 3 + 1 = 3.
    assert_eq!((shape.out_height, shape.out_width), (5, 3));
    assert_eq!(shape.valid_outputs(0, 0), 0..5);
    // Column tap 0 reads column 3 * o - 2: outputs 1 and 2 (columns 1 and 4) are inside.
    assert_eq!(shape.valid_outputs(1, 0), 1..3);
    assert_eq!(shape.input_coord(1, 0, 1), 1);

    let grouped = ConvOptions::new([1, 1], [0, 0], [1, 1], 2);
    assert!(ConvShape::new([1, 4, 5, 5], [4, 2, 3, 3], &grouped).is_err());
    let plain = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    assert!(ConvShape::new([1, 3, 2, 2], [4, 3, 3, 3], &plain).is_err());
}

/// Per channel `y * scale + shift`, then a ReLU: what an inference batch norm and a ReLU do as
/// passes of their own.
fn affine_then_relu(output: &[f32], shape: &ConvShape, epilogue: &Epilogue) -> Vec<f32> {
    output
        .chunks(shape.positions())
        .enumerate()
        .flat_map(|(plane, values)| {
            let channel = plane % shape.out_channels;
            values.iter().map(move |&y| {
                let y = y * epilogue.affine.scale[channel] + epilogue.affine.shift[channel];
                if !epilogue.relu || y.is_nan() || y > 0.0 {
                    y
                } else {
                    0.0
                }
            })
        })
        .collect()
}

/// The epilogue gives, bit for bit, the plain output passed through the affine map and the
/// ReLU afterwards, on every geometry, through the backend extension too (tracked on an
/// autodiff device it composes the same operations and passes gradients back).
#[test]
fn the_epilogue_equals_batch_norm_and_relu_afterwards() {
    for (input, weight, options) in cases() {
        let (shape, x, w) = random_operands(input, weight, &options);
        for relu in [false, true] {
            let channels = shape.out_channels;
            let epilogue = Epilogue {
                affine: ChannelAffine {
                    scale: (0..channels).map(|c| 0.5 + c as f32 * 0.25).collect(),
                    shift: (0..channels).map(|c| c as f32 * 0.1 - 0.3).collect(),
                },
                relu,
            };
            let plain = forward(&x, &w, &shape, None);
            let expected = affine_then_relu(&plain, &shape, &epilogue);
            assert_eq!(forward(&x, &w, &shape, Some(&epilogue)), expected);
            for device in [Device::flex(), Device::flex().autodiff()] {
                let (xt, wt) = (
                    Tensor::<4>::from_data(TensorData::new(x.clone(), input), &device),
                    Tensor::<4>::from_data(TensorData::new(w.clone(), weight), &device),
                );
                let fused = gemm_conv2d_epilogue(xt, wt, options.clone(), epilogue.clone());
                assert_eq!(values(fused), expected, "{input:?} {weight:?} {device:?}");
            }
            let device = Device::flex().autodiff();
            let xt =
                Tensor::<4>::from_data(TensorData::new(x.clone(), input), &device).require_grad();
            let wt = Tensor::<4>::from_data(TensorData::new(w.clone(), weight), &device);
            let tracked = gemm_conv2d_epilogue(xt.clone(), wt, options.clone(), epilogue.clone());
            assert_close(&values(tracked.clone()), &expected, "tracked");
            let grads = tracked.sum().backward();
            let grad = values(xt.grad(&grads).expect("the input has a gradient"));
            assert!(
                grad.iter().any(|g| *g != 0.0),
                "no gradient reached the input"
            );
        }
    }
}

#[test]
fn only_stride_one_within_the_kernels_reach_has_a_transposed_convolution() {
    let shape = |options: ConvOptions<2>, kernel: usize| {
        ConvShape::new([1, 2, 8, 8], [3, 2, kernel, kernel], &options).unwrap()
    };
    let square = |s, p, d| ConvOptions::new([s, s], [p, p], [d, d], 1);
    let transposed = transposed_shape(&shape(square(1, 1, 1), 3)).expect("3x3, pad 1");
    assert_eq!(
        (transposed.in_channels, transposed.out_channels),
        (3, 2),
        "channel axes swap"
    );
    assert_eq!([transposed.out_height, transposed.out_width], [8, 8]);
    assert_eq!(transposed.padding, [1, 1]);
    // Dilation 2, pad 2 (LOST's layer4): the reach is 4, so the gradient pads 2.
    assert_eq!(
        transposed_shape(&shape(square(1, 2, 2), 3))
            .unwrap()
            .padding,
        [2, 2]
    );
    assert!(transposed_shape(&shape(square(2, 1, 1), 3)).is_none());
    assert!(transposed_shape(&shape(square(1, 1, 1), 1)).is_none());
}
