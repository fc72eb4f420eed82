//! The end of a residual block, `relu(x + identity)`, as one operation: on `flex` one parallel
//! pass forward and one backward, where Burn's add, ReLU and ReLU backward are each a pass of
//! their own on one thread (`flex`'s element-wise operations do not split their work).
//!
//! The values are those of the separate operations bit for bit: the same sum, `flex`'s ReLU
//! rule, and backward the ReLU's gradient in its [`ReluMode`] passed to both summands, as Burn's
//! add passes its output's gradient on.

use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{DType, Tensor};

use super::flex_host::{contiguous_f32, from_values, par_zeroed, values_from_start};
use super::guided_relu::{ReluMode, relu_value};

/// Floats of one parallel task: enough work to outweigh handing it to a thread.
const TASK_FLOATS: usize = 1 << 14;

/// `relu(x + identity)` in `relu`'s mode (`x` and `identity` of one shape).
pub fn add_relu<const D: usize>(x: Tensor<D>, identity: Tensor<D>, relu: ReluMode) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as AddReluBackend>::add_relu(
        x.into_dispatch(),
        identity.into_dispatch(),
        relu,
    ))
}

/// The backend operations behind [`add_relu`]. Elsewhere than on `flex`, the separate
/// operations.
#[backend_extension(
    Flex,
    Autodiff,
    Cube: cfg(any(feature = "cuda", feature = "vulkan"))
)]
pub trait AddReluBackend: Backend {
    /// `relu(x + identity)`; the mode matters only to the autodiff backend's backward pass.
    fn add_relu(
        x: FloatTensor<Self>,
        identity: FloatTensor<Self>,
        relu: ReluMode,
    ) -> FloatTensor<Self> {
        let _ = relu;
        separate_add_relu::<Self>(x, identity)
    }

    /// The gradient of both summands from the output's `grad` and the `output` itself.
    fn add_relu_backward(
        output: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        relu: ReluMode,
    ) -> FloatTensor<Self> {
        separate_backward::<Self>(output, grad, relu)
    }
}

/// Burn's add, then its ReLU.
fn separate_add_relu<B: Backend>(x: FloatTensor<B>, identity: FloatTensor<B>) -> FloatTensor<B> {
    B::relu(B::float_add(x, identity))
}

/// Burn's ReLU backward, then for the guided mode its ReLU.
fn separate_backward<B: Backend>(
    output: FloatTensor<B>,
    grad: FloatTensor<B>,
    relu: ReluMode,
) -> FloatTensor<B> {
    let passed = B::relu_backward(output, grad);
    match relu {
        ReluMode::Standard => passed,
        ReluMode::Guided => B::relu(passed),
    }
}

/// Whether both tensors are f32 with one shape, the case the parallel passes serve (a network
/// may compute in f64 or half precision, and `flex`'s operations broadcast).
fn parallel_case(a: &FloatTensor<Flex>, b: &FloatTensor<Flex>) -> bool {
    a.dtype() == DType::F32 && b.dtype() == DType::F32 && a.shape() == b.shape()
}

impl AddReluBackend for Flex {
    fn add_relu(
        x: FloatTensor<Self>,
        identity: FloatTensor<Self>,
        _relu: ReluMode,
    ) -> FloatTensor<Self> {
        if !parallel_case(&x, &identity) {
            return separate_add_relu::<Self>(x, identity);
        }
        elementwise(x, identity, |x, identity| relu_value(x + identity))
    }

    fn add_relu_backward(
        output: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        relu: ReluMode,
    ) -> FloatTensor<Self> {
        if !parallel_case(&output, &grad) {
            return separate_backward::<Self>(output, grad, relu);
        }
        elementwise(output, grad, move |output, grad| {
            relu.gradient(output, grad)
        })
    }
}

#[cfg(any(feature = "cuda", feature = "vulkan"))]
impl AddReluBackend for burn::backend::Cube {}

/// `f` of each pair of values of two f32 tensors of one shape, in parallel.
fn elementwise(
    a: FloatTensor<Flex>,
    b: FloatTensor<Flex>,
    f: impl Fn(f32, f32) -> f32 + Sync + Send,
) -> FloatTensor<Flex> {
    let shape = a.shape();
    let (a, b) = (contiguous_f32(a), contiguous_f32(b));
    let (a_values, b_values) = (values_from_start(&a), values_from_start(&b));
    let out = par_zeroed(a_values.len(), TASK_FLOATS, |index, out| {
        let start = index * TASK_FLOATS;
        let (a, b) = (&a_values[start..], &b_values[start..]);
        for ((out, &a), &b) in out.iter_mut().zip(a).zip(b) {
            *out = f(a, b);
        }
    });
    from_values(out, shape)
}

impl<B: Backend + AddReluBackend, C: CheckpointStrategy> AddReluBackend for Autodiff<B, C> {
    fn add_relu(
        x: FloatTensor<Self>,
        identity: FloatTensor<Self>,
        relu: ReluMode,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AddReluBackward;

        impl<B: Backend + AddReluBackend> Backward<B, 2> for AddReluBackward {
            /// The output (its ReLU's mask) and the ReLU's mode.
            type State = (FloatTensor<B>, ReluMode);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (output, relu) = ops.state;
                let grad = grads.consume::<B>(&ops.node);
                // One gradient for both summands, computed once.
                let passed = B::add_relu_backward(output, grad, relu);
                for parent in ops.parents.into_iter().flatten() {
                    grads.register::<B>(parent.id, passed.clone());
                }
            }
        }

        // Compute-bound: the output is kept for the mask, as the guided ReLU keeps it.
        match AddReluBackward
            .prepare::<C>([x.node(), identity.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = B::add_relu(x.into_primitive(), identity.into_primitive(), relu);
                prep.finish((output.clone(), relu), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::add_relu(
                x.into_primitive(),
                identity.into_primitive(),
                relu,
            )),
        }
    }

    fn add_relu_backward(
        output: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        relu: ReluMode,
    ) -> FloatTensor<Self> {
        use burn::backend::AutodiffBackend;
        // A gradient of a gradient is never taken through a block's end.
        <Self as AutodiffBackend>::from_inner(B::add_relu_backward(
            <Self as AutodiffBackend>::inner(output),
            <Self as AutodiffBackend>::inner(grad),
            relu,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::relu;
    use burn::tensor::{Device, Distribution};

    use crate::models::test_support::values;

    fn bits<const D: usize>(t: Tensor<D>) -> Vec<u32> {
        values(t).iter().map(|v| v.to_bits()).collect()
    }

    /// Forward and both summands' gradients equal the separate add and ReLU bit for bit, in
    /// both modes, tracked and not; a NaN passes forward as through `flex`'s ReLU.
    #[test]
    fn equals_the_separate_add_and_relu_bit_for_bit() {
        let device = Device::flex().autodiff();
        let shape = [3, 5, 37, 41];
        let random = || Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let (x, identity, g) = (random(), random(), random());
        // A NaN in one summand, and a zero sum.
        let x = x.slice_assign(
            [0..1, 0..1, 0..1, 0..2],
            Tensor::from_floats([[[[f32::NAN, 0.0]]]], &device),
        );
        let identity = identity.slice_assign(
            [0..1, 0..1, 0..1, 1..2],
            Tensor::from_floats([[[[0.0]]]], &device),
        );
        for mode in [ReluMode::Standard, ReluMode::Guided] {
            let run = |fused: bool| {
                let (x, identity) = (x.clone().require_grad(), identity.clone().require_grad());
                let out = if fused {
                    add_relu(x.clone(), identity.clone(), mode)
                } else {
                    mode.apply(x.clone() + identity.clone())
                };
                let grads = (out.clone() * g.clone()).sum().backward();
                (
                    bits(out),
                    bits(x.grad(&grads).unwrap()),
                    bits(identity.grad(&grads).unwrap()),
                )
            };
            let (fused, separate) = (run(true), run(false));
            assert_eq!(fused.0, separate.0, "{mode:?}: output");
            assert_eq!(fused.1, separate.1, "{mode:?}: x's gradient");
            assert_eq!(fused.2, separate.2, "{mode:?}: identity's gradient");
            let zeros = fused.1.iter().filter(|&&v| v == 0).count();
            assert!(
                zeros > 0 && zeros < fused.1.len(),
                "the ReLU masks some gradients"
            );
        }
        let untracked = add_relu(x.clone(), identity.clone(), ReluMode::Standard);
        assert_eq!(bits(untracked), bits(relu(x.clone() + identity.clone())));
        // Another precision takes Burn's operations, in that precision.
        let (x, identity) = (x.cast(DType::F64), identity.cast(DType::F64));
        let wide = add_relu(x.clone(), identity.clone(), ReluMode::Guided);
        assert_eq!(wide.dtype(), DType::F64);
        let expected = relu(x + identity);
        let f64_bits = |t: Tensor<4>| {
            let data = t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
            data.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(f64_bits(wide), f64_bits(expected));
    }
}
