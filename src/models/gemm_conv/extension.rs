//! The dense convolution as a Burn backend extension: the forward pass is [`super::forward`]'s,
//! the weight gradient [`super::grad`]'s and a stride-1 input gradient [`super::input_grad`]'s
//! instead of Burn's generic ones; a strided convolution's input gradient is `flex`'s own.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::{ActivationOps, FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, AutodiffBackend, Backend, Dispatch, Flex, TensorMetadata, backend_extension,
};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor, TensorData};

use super::super::flex_host::{dims4, from_values};
use super::forward::{Epilogue, forward};
use super::grad::weight_grad;
use super::input_grad::{input_grad, transposed_shape};
use super::shape::ConvShape;

/// The convolution of `x` with `weight` (no bias, one group); its forward pass and weight
/// gradient run on GEMMs.
pub fn gemm_conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as GemmConvBackend>::gemm_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        options,
    ))
}

/// [`gemm_conv2d`] with `epilogue` applied to its output as it is written: for passes that take
/// no gradient through the convolution ([`super::takes_epilogue`]). A tracked call composes the
/// convolution, the affine map and a standard ReLU, each with its backward pass.
pub fn gemm_conv2d_epilogue(
    x: Tensor<4>,
    weight: Tensor<4>,
    options: ConvOptions<2>,
    epilogue: Epilogue,
) -> Tensor<4> {
    let channels = weight.dims()[0];
    assert!(
        epilogue.affine.scale.len() == channels && epilogue.affine.shift.len() == channels,
        "an epilogue has one scale and one shift per output channel"
    );
    Tensor::from_dispatch(<Dispatch as GemmConvBackend>::gemm_conv2d_epilogue(
        x.into_dispatch(),
        weight.into_dispatch(),
        options,
        epilogue,
    ))
}

/// The backend operations behind [`gemm_conv2d`] and [`gemm_conv2d_epilogue`]; the backward
/// operations take the arguments of Burn's `conv2d_x_backward` and `conv2d_weight_backward`.
#[backend_extension(Flex, Autodiff)]
pub trait GemmConvBackend: Backend {
    fn gemm_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    fn gemm_conv2d_epilogue(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
        epilogue: Epilogue,
    ) -> FloatTensor<Self>;

    fn gemm_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    fn gemm_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;
}

/// The geometry, when every tensor is f32 and the convolution is one the GEMMs handle.
fn gemm_shape(
    [x, weight]: [&FloatTensor<Flex>; 2],
    others: &[&FloatTensor<Flex>],
    options: &ConvOptions<2>,
) -> Option<ConvShape> {
    [x, weight]
        .iter()
        .chain(others)
        .all(|t| t.dtype() == DType::F32)
        .then(|| ConvShape::new(dims4(x), dims4(weight), options).ok())
        .flatten()
}

/// [`forward`] of `x` and `weight` (f32, of `shape`), `epilogue` applied if any.
fn forward_on_host(
    x: FloatTensor<Flex>,
    weight: FloatTensor<Flex>,
    shape: &ConvShape,
    epilogue: Option<&Epilogue>,
) -> FloatTensor<Flex> {
    let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
    let output = forward(x.storage::<f32>(), weight.storage::<f32>(), shape, epilogue);
    let dims = [
        shape.images,
        shape.out_channels,
        shape.out_height,
        shape.out_width,
    ];
    from_values(output, dims)
}

impl GemmConvBackend for Flex {
    fn gemm_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let Some(shape) = gemm_shape([&x, &weight], &[], &options) else {
            return <Flex as ModuleOps<Flex>>::conv2d(x, weight, None, options);
        };
        forward_on_host(x, weight, &shape, None)
    }

    fn gemm_conv2d_epilogue(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
        epilogue: Epilogue,
    ) -> FloatTensor<Self> {
        let Some(shape) = gemm_shape([&x, &weight], &[], &options) else {
            // Shapes the GEMMs do not take: `flex`'s convolution, then the epilogue over it.
            let output = <Flex as ModuleOps<Flex>>::conv2d(x, weight, None, options);
            let dims = dims4(&output);
            let mut values = output
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .expect("f32 after conversion");
            epilogue.apply_to_planes(&mut values, dims[2] * dims[3]);
            return from_values(values, dims);
        };
        forward_on_host(x, weight, &shape, Some(&epilogue))
    }

    fn gemm_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let shape = gemm_shape([&x, &weight], &[&output_grad], &options);
        let Some((shape, transposed)) = shape.and_then(|s| Some((s, transposed_shape(&s)?))) else {
            return <Flex as ModuleOps<Flex>>::conv2d_x_backward(x, weight, output_grad, options);
        };
        let (weight, grad) = (weight.to_contiguous(), output_grad.to_contiguous());
        let values = input_grad(
            grad.storage::<f32>(),
            weight.storage::<f32>(),
            &shape,
            &transposed,
        );
        from_values(values, dims4(&x))
    }

    fn gemm_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let Some(shape) = gemm_shape([&x, &weight], &[&output_grad], &options) else {
            return <Flex as ModuleOps<Flex>>::conv2d_weight_backward(
                x,
                weight,
                output_grad,
                options,
            );
        };
        let (x, grad) = (x.to_contiguous(), output_grad.to_contiguous());
        from_values(
            weight_grad(x.storage::<f32>(), grad.storage::<f32>(), &shape),
            dims4(&weight),
        )
    }
}

impl<B: Backend + GemmConvBackend, C: CheckpointStrategy> GemmConvBackend for Autodiff<B, C> {
    fn gemm_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct GemmConvBackward;

        impl<B: Backend + GemmConvBackend> Backward<B, 2> for GemmConvBackward {
            type State = (NodeId, NodeId, ConvOptions<2>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, weight_state, options) = ops.state;
                let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
                let weight =
                    checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
                if let Some(node) = node_x {
                    let x_grad = B::gemm_conv2d_x_backward(
                        x.clone(),
                        weight.clone(),
                        grad.clone(),
                        options.clone(),
                    );
                    grads.register::<B>(node.id, x_grad);
                }
                if let Some(node) = node_weight {
                    let weight_grad = B::gemm_conv2d_weight_backward(x, weight, grad, options);
                    grads.register::<B>(node.id, weight_grad);
                }
            }
        }

        match GemmConvBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let output =
                    B::gemm_conv2d(x.into_primitive(), weight.into_primitive(), options.clone());
                prep.finish((x_state, weight_state, options), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gemm_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }

    fn gemm_conv2d_epilogue(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
        epilogue: Epilogue,
    ) -> FloatTensor<Self> {
        if !x.is_tracked() && !weight.is_tracked() {
            return <Self as AutodiffBackend>::from_inner(B::gemm_conv2d_epilogue(
                <Self as AutodiffBackend>::inner(x),
                <Self as AutodiffBackend>::inner(weight),
                options,
                epilogue,
            ));
        }
        // Tracked: the convolution, the affine map and the ReLU as operations of their own,
        // each with its backward pass.
        let device = x.device();
        let output = <Self as GemmConvBackend>::gemm_conv2d(x, weight, options);
        let per_channel = |values: Vec<f32>| {
            let channels = values.len();
            <Self as FloatTensorOps<Self>>::float_from_data(
                TensorData::new(values, [1, channels, 1, 1]),
                &device,
            )
        };
        let output = <Self as FloatTensorOps<Self>>::float_add(
            <Self as FloatTensorOps<Self>>::float_mul(output, per_channel(epilogue.affine.scale)),
            per_channel(epilogue.affine.shift),
        );
        if epilogue.relu {
            <Self as ActivationOps<Self>>::relu(output)
        } else {
            output
        }
    }

    fn gemm_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        untracked::<B, C>(B::gemm_conv2d_x_backward, [x, weight, output_grad], options)
    }

    fn gemm_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        untracked::<B, C>(
            B::gemm_conv2d_weight_backward,
            [x, weight, output_grad],
            options,
        )
    }
}

/// A backward operation of the backend extension: `(x, weight, output_grad, options)`, as Burn's
/// `conv2d_x_backward` and `conv2d_weight_backward` take them.
type ConvBackward<B> =
    fn(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, ConvOptions<2>) -> FloatTensor<B>;

/// One of the inner backend's gradient operations, on the inner tensors of `x`, the weight and
/// the output gradient: a gradient of a gradient is never taken through these layers.
fn untracked<B: Backend, C: CheckpointStrategy>(
    operation: ConvBackward<B>,
    tensors: [FloatTensor<Autodiff<B, C>>; 3],
    options: ConvOptions<2>,
) -> FloatTensor<Autodiff<B, C>> {
    let [x, weight, output_grad] = tensors.map(<Autodiff<B, C> as AutodiffBackend>::inner);
    <Autodiff<B, C> as AutodiffBackend>::from_inner(operation(x, weight, output_grad, options))
}
