use burn::tensor::Tensor;

use super::gelu;
use crate::backend::DeviceChoice;
use crate::models::test_support::{normal, values};

/// GELU and its gradient against Burn's (`libm`'s `erf`, the exact derivative), over normal
/// values scaled to reach both tails, through autodiff.
#[test]
fn gelu_and_its_gradient_match_burns() {
    let device = DeviceChoice::Cpu.autodiff_device();
    // 40,000 values: several parallel chunks.
    let x = normal([4, 100, 100], 1, &device).mul_scalar(3.0);
    let probe = normal([4, 100, 100], 2, &device);
    let run = |fused: bool| {
        let x = x.clone().require_grad();
        let y = if fused {
            gelu(x.clone())
        } else {
            burn::tensor::activation::gelu(x.clone())
        };
        let grads = (y.clone() * probe.clone()).sum().backward();
        (values(y), values(x.grad(&grads).expect("x has a gradient")))
    };
    let ((fast_y, fast_dx), (burn_y, burn_dx)) = (run(true), run(false));
    let xs = values(x);
    for i in 0..xs.len() {
        // |x| * 1.5e-7 / 2 from erf, plus rounding.
        let bound = 1e-7 * xs[i].abs() + 2e-7 * burn_y[i].abs() + 1e-7;
        assert!(
            (fast_y[i] - burn_y[i]).abs() <= bound,
            "gelu({}) = {} vs Burn's {}",
            xs[i],
            fast_y[i],
            burn_y[i]
        );
        assert!(
            (fast_dx[i] - burn_dx[i]).abs() <= 1e-6 * (1.0 + burn_dx[i].abs()),
            "gradient at {}: {} vs Burn's {}",
            xs[i],
            fast_dx[i],
            burn_dx[i]
        );
    }
}

#[test]
fn far_tails_and_strided_views() {
    let device = DeviceChoice::Cpu.device();
    let x = Tensor::<1>::from_floats([-1000.0, -30.0, -0.0, 0.0, 30.0, 1000.0], &device);
    assert_eq!(values(gelu(x)), vec![-0.0, -0.0, -0.0, 0.0, 30.0, 1000.0]);
    let x = normal([6, 5], 3, &device);
    assert_eq!(
        values(gelu(x.clone().transpose())),
        values(gelu(Tensor::<2>::from_data(
            x.transpose().into_data(),
            &device
        )))
    );
}
