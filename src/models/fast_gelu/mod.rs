//! GELU (`x Φ(x)`, the exact form torchvision's transformers use) on the CPU (`flex`) as one
//! vectorised pass each way ([`kernel`]). `flex` computes it with `libm`'s scalar `erff` and
//! `expf`; here `erf` is PyTorch's CPU approximation with a series near 0 (absolute error at
//! most 3e-7), so values move from Burn's at that level (tested), and the gradient is the exact
//! derivative, as Burn's and PyTorch's. Other devices and dtypes run Burn's `gelu`.

mod kernel;
#[cfg(test)]
mod tests;

use burn::backend::autodiff::NodeId;
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

/// GELU of every value of `x`.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if is_flex(&x.device()) && x.dtype() == DType::F32 {
        Tensor::from_dispatch(<Dispatch as GeluBackend>::fast_gelu(x.into_dispatch()))
    } else {
        burn::tensor::activation::gelu(x)
    }
}

/// The backend operations behind [`gelu`].
#[backend_extension(Flex, Autodiff)]
pub trait GeluBackend: Backend {
    fn fast_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `grad` times GELU's derivative at `x`.
    fn fast_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Values per parallel task.
const CHUNK: usize = 1 << 14;

impl GeluBackend for Flex {
    fn fast_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let x = contiguous_f32(x);
        let input = values_from_start(&x);
        let mut output = vec![0.0f32; input.len()];
        output
            .par_chunks_mut(CHUNK)
            .zip(input.par_chunks(CHUNK))
            .for_each(|(y, x)| kernel::forward(x, y));
        from_values(output, x.shape())
    }

    fn fast_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, grad) = (contiguous_f32(x), contiguous_f32(grad));
        let (input, grad_values) = (values_from_start(&x), values_from_start(&grad));
        let mut output = vec![0.0f32; input.len()];
        output
            .par_chunks_mut(CHUNK)
            .zip(input.par_chunks(CHUNK))
            .zip(grad_values.par_chunks(CHUNK))
            .for_each(|((dx, x), g)| kernel::backward(x, g, dx));
        from_values(output, x.shape())
    }
}

impl<B: Backend + GeluBackend, C: CheckpointStrategy> GeluBackend for Autodiff<B, C> {
    fn fast_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct GeluBackward;

        impl<B: Backend + GeluBackend> Backward<B, 1> for GeluBackward {
            type State = NodeId;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(ops.state);
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::fast_gelu_backward(x, grad));
                }
            }
        }

        match GeluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let output = B::fast_gelu(x.into_primitive());
                prep.finish(x_state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fast_gelu(x.into_primitive())),
        }
    }

    // A gradient of a gradient is never taken through GELU here.
    fn fast_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::fast_gelu_backward(
            <Self as AutodiffBackend>::inner(x),
            <Self as AutodiffBackend>::inner(grad),
        ))
    }
}
