//! The sparse convolution as a Burn backend extension (the mechanism of the guided ReLU): the
//! `flex` CPU backend runs [`CsrConv`] on the tensor's host buffer, and the autodiff backend
//! records a backward pass that computes the input gradient with the transposed kernel.
//!
//! The weights travel as a plain argument, not as a tensor: the autodiff graph does not see them,
//! so they get no gradient. That is why sparse kernels are for frozen networks only (analyses);
//! [`super::SparseKernels`] is never attached to a network that trains.

use std::sync::Arc;

use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use super::super::flex_host::{contiguous_f32, dims4, from_values, values_from_start};
use super::super::fused_batch_norm::ChannelAffine;
use super::conv::CsrConv;
use super::geometry::ConvParams;

/// One call's sparse weights and convolution parameters, and the frozen batch norm that
/// follows the convolution when it is folded in: the forward pass applies it as each output
/// channel is written, the input gradient scales the output's gradient by its `scale` as it
/// reads it (the batch norm's backward pass without parameter gradients), so the results are
/// the separate passes' bit for bit, with two passes over the activations fewer each way.
#[derive(Debug, Clone)]
pub struct SparseConvCall {
    pub weights: Arc<CsrConv>,
    pub params: ConvParams,
    pub batch_norm: Option<Arc<ChannelAffine>>,
}

impl SparseConvCall {
    /// This call followed by `batch_norm`, applied as each output channel is written.
    pub fn with_batch_norm(self, batch_norm: ChannelAffine) -> Self {
        Self {
            batch_norm: Some(Arc::new(batch_norm)),
            ..self
        }
    }
}

/// The convolution of `x` `[batch, in, h, w]` with `call`'s sparse weights (no bias). On an
/// autodiff device, its backward pass gives `x` its gradient.
pub fn sparse_conv2d(x: Tensor<4>, call: &SparseConvCall) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as SparseConvBackend>::sparse_conv2d(
        x.into_dispatch(),
        call.clone(),
    ))
}

/// The backend operations behind [`sparse_conv2d`].
#[backend_extension(Flex, Autodiff)]
pub trait SparseConvBackend: Backend {
    fn sparse_conv2d(x: FloatTensor<Self>, call: SparseConvCall) -> FloatTensor<Self>;

    /// The gradient with respect to an input of shape `input` from the output's gradient.
    fn sparse_conv2d_input_grad(
        grad: FloatTensor<Self>,
        call: SparseConvCall,
        input: [usize; 4],
    ) -> FloatTensor<Self>;
}

impl SparseConvBackend for Flex {
    fn sparse_conv2d(x: FloatTensor<Self>, call: SparseConvCall) -> FloatTensor<Self> {
        let input = dims4(&x);
        let x = contiguous_f32(x);
        let plan = call
            .weights
            .plan(call.params, input)
            .unwrap_or_else(|message| panic!("{message}"));
        let affine = call.batch_norm.as_deref();
        let out = call
            .weights
            .forward(values_from_start(&x), input, &plan, affine);
        from_values(
            out,
            [
                input[0],
                call.weights.out_channels,
                plan.geometry.out_h,
                plan.geometry.out_w,
            ],
        )
    }

    fn sparse_conv2d_input_grad(
        grad: FloatTensor<Self>,
        call: SparseConvCall,
        input: [usize; 4],
    ) -> FloatTensor<Self> {
        let grad = contiguous_f32(grad);
        let plan = call
            .weights
            .plan(call.params, input)
            .unwrap_or_else(|message| panic!("{message}"));
        let scale = call.batch_norm.as_ref().map(|affine| &affine.scale[..]);
        from_values(
            call.weights
                .input_grad(values_from_start(&grad), input, &plan, scale),
            input,
        )
    }
}

impl<B: Backend + SparseConvBackend, C: CheckpointStrategy> SparseConvBackend for Autodiff<B, C> {
    fn sparse_conv2d(x: FloatTensor<Self>, call: SparseConvCall) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct SparseConvBackward;

        impl<B: Backend + SparseConvBackend> Backward<B, 1> for SparseConvBackward {
            /// The weights and the input's shape: the input gradient needs nothing else.
            type State = (SparseConvCall, [usize; 4]);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (call, input) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::sparse_conv2d_input_grad(grad, call, input)
                });
            }
        }

        match SparseConvBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let dims = x.primitive().shape();
                let input = [dims[0], dims[1], dims[2], dims[3]];
                let output = B::sparse_conv2d(x.into_primitive(), call.clone());
                prep.finish((call, input), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::sparse_conv2d(x.into_primitive(), call)),
        }
    }

    fn sparse_conv2d_input_grad(
        grad: FloatTensor<Self>,
        call: SparseConvCall,
        input: [usize; 4],
    ) -> FloatTensor<Self> {
        // A gradient of a gradient is never taken through these layers.
        <Self as AutodiffBackend>::from_inner(B::sparse_conv2d_input_grad(
            <Self as AutodiffBackend>::inner(grad),
            call,
            input,
        ))
    }
}
