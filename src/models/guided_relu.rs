//! The ReLU that networks apply, switchable to Springenberg et al.'s *guided* ReLU for Guided
//! Backprop.
//!
//! A guided ReLU computes `max(x, 0)` forward, like a ReLU, but its backward pass lets a gradient
//! through only where both the input and the incoming gradient are positive:
//! `grad_in = grad_out * (x > 0) * (grad_out > 0)`. No composition of differentiable operations
//! can express that (the gradient of a composite is linear in `grad_out`), so it is a Burn backend
//! extension with a custom backward on the autodiff backend. Without autodiff, or on a tensor that
//! does not take part in a backward pass, it is an ordinary ReLU.
//!
//! Only ReLUs have a guided variant: networks whose activations are GELUs (transformers) do not
//! support Guided Backprop, and [`crate::models::Network::forward_guided`] says so.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

/// How a network's ReLUs behave in the backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReluMode {
    /// The usual ReLU: `grad_in = grad_out * (x > 0)`.
    #[default]
    Standard,
    /// Guided Backprop's ReLU: `grad_in = grad_out * (x > 0) * (grad_out > 0)`.
    Guided,
}

impl ReluMode {
    /// `max(x, 0)`, with this mode's backward pass.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            ReluMode::Standard => relu(x),
            ReluMode::Guided => guided_relu(x),
        }
    }

    /// The gradient this mode's ReLU passes back at one position, from its `output` there and
    /// the incoming `grad`: `flex`'s `relu_backward` (kept where the output is positive or NaN),
    /// then for [`ReluMode::Guided`] a ReLU of that. Bit for bit the backward passes of
    /// [`ReluMode::apply`], for an operation that folds the ReLU into its own passes.
    #[inline(always)]
    pub fn gradient(self, output: f32, grad: f32) -> f32 {
        let passed = if output.is_nan() || output > 0.0 {
            grad
        } else {
            0.0
        };
        match self {
            ReluMode::Standard => passed,
            ReluMode::Guided => relu_value(passed),
        }
    }
}

/// `flex`'s ReLU of one value, bit for bit: NaN passes, as in PyTorch.
#[inline(always)]
pub fn relu_value(y: f32) -> f32 {
    if y.is_nan() || y > 0.0 { y } else { 0.0 }
}

/// `max(x, 0)` whose backward pass keeps only positive gradients at positive inputs.
pub fn guided_relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as GuidedReluBackend>::guided_relu(
        x.into_dispatch(),
    ))
}

/// The backend operation behind [`guided_relu`]. Its forward pass is the backend's ReLU
/// everywhere; only the autodiff backend overrides it, to record the guided backward.
#[backend_extension(
    Flex,
    Autodiff,
    Cube: cfg(any(feature = "cuda", feature = "vulkan"))
)]
pub trait GuidedReluBackend: Backend {
    fn guided_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::relu(x)
    }
}

impl GuidedReluBackend for Flex {}

#[cfg(any(feature = "cuda", feature = "vulkan"))]
impl GuidedReluBackend for burn::backend::Cube {}

impl<B: Backend + GuidedReluBackend, C: CheckpointStrategy> GuidedReluBackend for Autodiff<B, C> {
    fn guided_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct GuidedReluBackward;

        impl<B: Backend> Backward<B, 1> for GuidedReluBackward {
            /// The forward output: positive exactly where the input was.
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let output = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    // relu_backward masks by (output > 0); the outer ReLU drops negative gradients.
                    B::relu(B::relu_backward(output, grad))
                });
            }
        }

        // Compute-bound: keep the output as state rather than recomputing it in the backward
        // pass (it is needed there, and recomputing would need the input checkpointed instead).
        match GuidedReluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = B::relu(x.primitive().clone());
                prep.finish(output.clone(), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::relu(x.into_primitive())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn forward_is_relu_on_every_device() {
        for device in [Device::flex(), Device::flex().autodiff()] {
            let x = Tensor::<1>::from_floats([-2.0, -0.5, 0.0, 0.5, 3.0], &device);
            assert_eq!(values(guided_relu(x)), vec![0.0, 0.0, 0.0, 0.5, 3.0]);
        }
    }

    /// The scalar rules that fused operations use equal `flex`'s ReLU and its backward passes,
    /// bit for bit, on signed zeros and NaN too.
    #[test]
    fn scalar_rules_equal_the_tensor_operations() {
        let device = Device::flex();
        let specials = [
            -2.0,
            -0.0,
            0.0,
            0.5,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let (outputs, grads): (Vec<f32>, Vec<f32>) = specials
            .iter()
            .flat_map(|&y| specials.iter().map(move |&g| (y, g)))
            .unzip();
        let tensor = |v: &[f32], device: &Device| Tensor::<1>::from_floats(v, device);
        let scalar: Vec<f32> = outputs.iter().map(|&y| relu_value(y)).collect();
        assert_eq!(bits(scalar), bits(values(relu(tensor(&outputs, &device)))));
        // The input gradients of `sum(relu(x) * g)`: each ReLU's backward pass applied to `g`.
        let autodiff = device.autodiff();
        for mode in [ReluMode::Standard, ReluMode::Guided] {
            let x = tensor(&outputs, &autodiff).require_grad();
            let g = tensor(&grads, &autodiff);
            let backward = (mode.apply(x.clone()) * g).sum().backward();
            let expected = values(x.grad(&backward).unwrap());
            let scalar: Vec<f32> = outputs
                .iter()
                .zip(&grads)
                .map(|(&y, &g)| mode.gradient(relu_value(y), g))
                .collect();
            assert_eq!(bits(scalar), bits(expected), "{mode:?}");
        }
    }

    #[test]
    fn backward_passes_only_positive_gradients_at_positive_inputs() {
        let device = Device::flex().autodiff();
        let x = Tensor::<1>::from_floats([-1.0, 2.0, 3.0, -4.0], &device).require_grad();
        // Upstream gradients: +1, -1, +2, +5 (the last at a negative input).
        let upstream = Tensor::<1>::from_data(TensorData::from([1.0f32, -1.0, 2.0, 5.0]), &device);
        let guided = (guided_relu(x.clone()) * upstream.clone()).sum().backward();
        assert_eq!(values(x.grad(&guided).unwrap()), vec![0.0, 0.0, 2.0, 0.0]);
        // The standard ReLU keeps the negative gradient at the positive input.
        let x2 = Tensor::<1>::from_floats([-1.0, 2.0, 3.0, -4.0], &device).require_grad();
        let plain = (relu(x2.clone()) * upstream).sum().backward();
        assert_eq!(values(x2.grad(&plain).unwrap()), vec![0.0, -1.0, 2.0, 0.0]);
    }
}
