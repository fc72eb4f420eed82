use burn::tensor::Tensor;

use super::softmax_last;
use crate::backend::DeviceChoice;
use crate::models::test_support::{normal, values};

/// Output and input gradient against Burn's `softmax` through autodiff, on attention-shaped
/// logits with a wide spread (and a masked-looking -100 offset on some), rows of 49 and 64.
#[test]
fn softmax_and_its_gradient_match_burns() {
    let device = DeviceChoice::Cpu.autodiff_device();
    for width in [49, 64] {
        let logits = normal([3, 4, 17, width], 1, &device).mul_scalar(4.0);
        let offsets = normal([3, 4, 17, width], 2, &device)
            .greater_elem(1.0)
            .float()
            .mul_scalar(-100.0);
        let logits = logits + offsets;
        let probe = normal([3, 4, 17, width], 3, &device);
        let run = |fast: bool| {
            let x = logits.clone().require_grad();
            let y = if fast {
                softmax_last(x.clone())
            } else {
                burn::tensor::activation::softmax(x.clone(), 3)
            };
            let grads = (y.clone() * probe.clone()).sum().backward();
            (values(y), values(x.grad(&grads).expect("x has a gradient")))
        };
        let ((fast_y, fast_dx), (burn_y, burn_dx)) = (run(true), run(false));
        for (what, fast, burns) in [("output", fast_y, burn_y), ("gradient", fast_dx, burn_dx)] {
            for (i, (f, b)) in fast.iter().zip(&burns).enumerate() {
                assert!(
                    (f - b).abs() <= 1e-6 * (1.0 + b.abs()),
                    "{what}[{i}] (width {width}): {f} vs Burn's {b}"
                );
            }
        }
    }
}

#[test]
fn rows_sum_to_one_and_strided_views_read_as_their_values() {
    let device = DeviceChoice::Cpu.device();
    let x = normal([5, 7], 4, &device).mul_scalar(10.0);
    let y = values(softmax_last(x.clone()));
    for row in y.chunks(7) {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6, "{row:?}");
    }
    assert_eq!(
        values(softmax_last(x.clone().transpose())),
        values(softmax_last(Tensor::<2>::from_data(
            x.transpose().into_data(),
            &device
        )))
    );
}
