//! Softmax over the last axis (the transformers' attention weights) on the CPU (`flex`) as one
//! pass over each row forward and one backward ([`kernel`]). Burn composes it from a max, a
//! subtraction, `libm`'s scalar `exp`, a sum and a division, each a pass and a buffer of its
//! own, and differentiates each. Values move from Burn's at float rounding (tested within
//! 1e-6, output and gradient); other devices and dtypes run Burn's `softmax`.

mod kernel;
#[cfg(test)]
mod tests;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, AutodiffBackend, Backend, Dispatch, Flex, TensorMetadata, backend_extension,
};
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

use super::flex_host::{contiguous_f32, from_values, is_flex, values_from_start};

/// Softmax of `x` over its last axis.
pub fn softmax_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if is_flex(&x.device()) && x.dtype() == DType::F32 {
        Tensor::from_dispatch(<Dispatch as SoftmaxBackend>::fast_softmax(
            x.into_dispatch(),
        ))
    } else {
        burn::tensor::activation::softmax(x, D - 1)
    }
}

/// The backend operations behind [`softmax_last`].
#[backend_extension(Flex, Autodiff)]
pub trait SoftmaxBackend: Backend {
    fn fast_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The input's gradient from the output and the output's gradient.
    fn fast_softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Values per parallel task, at least (whole rows).
const TASK_VALUES: usize = 1 << 14;

/// `tensor`'s values from its first one, contiguous f32, and its last axis's width.
fn rows(tensor: FloatTensor<Flex>) -> (FloatTensor<Flex>, usize) {
    let tensor = contiguous_f32(tensor);
    let shape = tensor.shape();
    let width = shape[shape.num_dims() - 1];
    (tensor, width)
}

impl SoftmaxBackend for Flex {
    fn fast_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, width) = rows(x);
        let input = values_from_start(&x);
        let mut output = vec![0.0f32; input.len()];
        let task = width.max(1) * TASK_VALUES.div_ceil(width.max(1));
        output
            .par_chunks_mut(task)
            .zip(input.par_chunks(task))
            .for_each(|(y, x)| kernel::forward(x, y, width));
        from_values(output, x.shape())
    }

    fn fast_softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let ((y, width), (grad, _)) = (rows(y), rows(grad));
        let (output_values, grad_values) = (values_from_start(&y), values_from_start(&grad));
        let mut dx = vec![0.0f32; output_values.len()];
        let task = width.max(1) * TASK_VALUES.div_ceil(width.max(1));
        dx.par_chunks_mut(task)
            .zip(output_values.par_chunks(task))
            .zip(grad_values.par_chunks(task))
            .for_each(|((dx, y), dy)| kernel::backward(y, dy, dx, width));
        from_values(dx, y.shape())
    }
}

impl<B: Backend + SoftmaxBackend, C: CheckpointStrategy> SoftmaxBackend for Autodiff<B, C> {
    fn fast_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct SoftmaxBackward;

        impl<B: Backend + SoftmaxBackend> Backward<B, 1> for SoftmaxBackward {
            // The output: the gradient needs it, not the input.
            type State = B::FloatTensorPrimitive;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::fast_softmax_backward(ops.state, grad));
                }
            }
        }

        match SoftmaxBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = B::fast_softmax(x.into_primitive());
                prep.finish(output.clone(), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fast_softmax(x.into_primitive())),
        }
    }

    // A gradient of a gradient is never taken through the attention weights here.
    fn fast_softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::fast_softmax_backward(
            <Self as AutodiffBackend>::inner(y),
            <Self as AutodiffBackend>::inner(grad),
        ))
    }
}
