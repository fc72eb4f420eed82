//! The sparse convolution as a Burn backend extension (the mechanism of the guided ReLU): the
//! `flex` CPU backend runs [`CsrConv`] on the tensor's host buffer, and the autodiff backend
//! records a backward pass that computes the input gradient with the transposed kernel.
//!
//! The weights travel as a plain argument, not as a tensor: the autodiff graph does not see them,
//! so they get no gradient. That is why sparse kernels are for frozen networks only (analyses);
//! [`super::SparseKernels`] is never attached to a network that trains.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use super::super::flex_host::{contiguous_f32, dims4, from_values, values_from_start};
use super::super::fused_batch_norm::ChannelAffine;
use super::super::guided_relu::ReluMode;
use super::conv::{CsrConv, Folded};
use super::geometry::ConvParams;

/// One call's sparse weights and convolution parameters, and what follows the convolution when
/// it is folded in: a frozen batch norm, then a ReLU. The forward pass applies them as each
/// output channel is written; the input gradient passes the output's gradient through the
/// ReLU's mask and scales it by the batch norm's `scale` as it reads it (the batch norm's
/// backward pass without parameter gradients). The results are the separate passes' bit for
/// bit, with two passes over the activations fewer each way for each operation folded in.
#[derive(Debug, Clone)]
pub struct SparseConvCall {
    pub weights: Arc<CsrConv>,
    pub params: ConvParams,
    pub batch_norm: Option<Arc<ChannelAffine>>,
    pub relu: Option<ReluMode>,
}

impl SparseConvCall {
    /// A call of `weights` with `params`, nothing folded in.
    pub fn new(weights: Arc<CsrConv>, params: ConvParams) -> Self {
        Self {
            weights,
            params,
            batch_norm: None,
            relu: None,
        }
    }

    /// This call followed by `batch_norm`, applied as each output channel is written.
    pub fn with_batch_norm(self, batch_norm: ChannelAffine) -> Self {
        Self {
            batch_norm: Some(Arc::new(batch_norm)),
            ..self
        }
    }

    /// This call followed by a ReLU in `relu`'s mode when given (after the batch norm, if any).
    pub fn with_relu(self, relu: Option<ReluMode>) -> Self {
        Self { relu, ..self }
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

    /// The gradient with respect to an input of shape `input` from the output's gradient, for a
    /// call without a ReLU.
    fn sparse_conv2d_input_grad(
        grad: FloatTensor<Self>,
        call: SparseConvCall,
        input: [usize; 4],
    ) -> FloatTensor<Self>;

    /// [`SparseConvBackend::sparse_conv2d_input_grad`] for a call with a ReLU, whose mask is
    /// read from the call's `output`.
    fn sparse_conv2d_relu_input_grad(
        grad: FloatTensor<Self>,
        output: FloatTensor<Self>,
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
        let folded = Folded {
            batch_norm: call.batch_norm.as_deref(),
            relu: call.relu.is_some(),
        };
        let out = call
            .weights
            .forward(values_from_start(&x), input, &plan, folded);
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
        assert!(
            call.relu.is_none(),
            "a folded ReLU's gradient needs the output"
        );
        flex_input_grad(grad, None, &call, input)
    }

    fn sparse_conv2d_relu_input_grad(
        grad: FloatTensor<Self>,
        output: FloatTensor<Self>,
        call: SparseConvCall,
        input: [usize; 4],
    ) -> FloatTensor<Self> {
        flex_input_grad(grad, Some(contiguous_f32(output)), &call, input)
    }
}

/// The input gradient on `flex`, through the ReLU's mask when `output` is given.
fn flex_input_grad(
    grad: FloatTensor<Flex>,
    output: Option<FloatTensor<Flex>>,
    call: &SparseConvCall,
    input: [usize; 4],
) -> FloatTensor<Flex> {
    let grad = contiguous_f32(grad);
    let plan = call
        .weights
        .plan(call.params, input)
        .unwrap_or_else(|message| panic!("{message}"));
    let scale = call.batch_norm.as_ref().map(|affine| &affine.scale[..]);
    let relu = call
        .relu
        .zip(output.as_ref())
        .map(|(mode, output)| (mode, values_from_start(output)));
    from_values(
        call.weights
            .input_grad(values_from_start(&grad), input, &plan, scale, relu),
        input,
    )
}

impl<B: Backend + SparseConvBackend, C: CheckpointStrategy> SparseConvBackend for Autodiff<B, C> {
    fn sparse_conv2d(x: FloatTensor<Self>, call: SparseConvCall) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct SparseConvBackward;

        impl<B: Backend + SparseConvBackend> Backward<B, 1> for SparseConvBackward {
            /// The call, the input's shape, and the output when a ReLU is folded in (its
            /// mask): the input gradient needs nothing else.
            type State = (SparseConvCall, [usize; 4], Option<FloatTensor<B>>);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (call, input, output) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| match output {
                    Some(output) => B::sparse_conv2d_relu_input_grad(grad, output, call, input),
                    None => B::sparse_conv2d_input_grad(grad, call, input),
                });
            }
        }

        match SparseConvBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = dims4(x.primitive());
                let output = B::sparse_conv2d(x.into_primitive(), call.clone());
                let mask = call.relu.is_some().then(|| output.clone());
                prep.finish((call, input, mask), output)
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

    fn sparse_conv2d_relu_input_grad(
        grad: FloatTensor<Self>,
        output: FloatTensor<Self>,
        call: SparseConvCall,
        input: [usize; 4],
    ) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::sparse_conv2d_relu_input_grad(
            <Self as AutodiffBackend>::inner(grad),
            <Self as AutodiffBackend>::inner(output),
            call,
            input,
        ))
    }
}
