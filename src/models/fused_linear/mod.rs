//! Linear layers on the CPU (`flex`) as one GEMM into a buffer of their own, the bias added in
//! place, and a backward pass of two GEMMs and a row sum ([`kernel`]). Burn's `linear` runs
//! `flex`'s matmul, which zeroes its output and copies it once more to align it, then adds the
//! bias into a third buffer; the transformers are mostly linear layers.
//!
//! The products are the same `gemm` calls as `flex`'s, and the bias and its gradient are summed
//! in `flex`'s order, so the values equal Burn's `linear` (tested bit for bit, forward and every
//! gradient). Other devices, other dtypes and layers without a bias run Burn's `linear`.

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
use burn::nn::Linear;
use burn::tensor::{DType, Shape, Tensor};

use super::flex_host::{contiguous_f32, from_values, is_flex, values_from_start};
use kernel::Operand;

/// `layer` applied to `x` (`[..., d_input]`).
pub fn linear<const D: usize>(layer: &Linear, x: Tensor<D>) -> Tensor<D> {
    linear_with(x, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()))
}

/// `x [..., d_input] x weight [d_input, d_output] + bias`, as Burn's `linear`.
pub fn linear_with<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
) -> Tensor<D> {
    let fused = D >= 2
        && is_flex(&x.device())
        && x.dims()[D - 1] == weight.dims()[0]
        && [x.dtype(), weight.dtype()].iter().all(|d| *d == DType::F32);
    match bias {
        Some(bias) if fused && bias.dtype() == DType::F32 && bias.dims()[0] == weight.dims()[1] => {
            Tensor::from_dispatch(<Dispatch as LinearBackend>::fused_linear(
                x.into_dispatch(),
                weight.into_dispatch(),
                bias.into_dispatch(),
            ))
        }
        bias => burn::tensor::module::linear(x, weight, bias),
    }
}

/// The backend operations behind [`linear_with`]; the gradients take the forward pass's
/// operands.
#[backend_extension(Flex, Autodiff)]
pub trait LinearBackend: Backend {
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// `grad [..., d_output] x weightᵀ`: the input's gradient.
    fn linear_input_grad(grad: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `xᵀ x grad` over every row: the weight's gradient, `[d_input, d_output]`.
    fn linear_weight_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `grad` summed over every row: the bias's gradient.
    fn linear_bias_grad(grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `tensor` contiguous (its values: [`values_from_start`]), and the number of its rows of
/// `width` values.
fn rows_of(tensor: FloatTensor<Flex>) -> (FloatTensor<Flex>, usize) {
    let tensor = contiguous_f32(tensor);
    let shape = tensor.shape();
    let width = shape[shape.num_dims() - 1];
    (tensor, shape.num_elements() / width.max(1))
}

/// The weight as a GEMM operand: strided views (a transpose) are read in place; a view with an
/// offset or a reversed axis is copied first.
fn weight_operand(weight: &FloatTensor<Flex>) -> (Option<FloatTensor<Flex>>, [isize; 2]) {
    let strides = weight.layout().strides();
    let (row, col) = (strides[0], strides[1]);
    if weight.layout().start_offset() == 0 && row > 0 && col > 0 {
        (None, [row, col])
    } else {
        // A fresh buffer: its values start at its first.
        let copy = from_values(
            values_from_start(&contiguous_f32(weight.clone())).to_vec(),
            weight.shape(),
        );
        let columns = copy.shape()[1] as isize;
        (Some(copy), [columns, 1])
    }
}

/// `shape` with its last axis `width` wide.
fn with_last(shape: &Shape, width: usize) -> Vec<usize> {
    let mut dims = shape.to_vec();
    *dims.last_mut().expect("a linear layer's input has an axis") = width;
    dims
}

impl LinearBackend for Flex {
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, rows) = rows_of(x);
        let (bias, _) = rows_of(bias);
        let (copy, [row_stride, col_stride]) = weight_operand(&weight);
        let weight = copy.as_ref().unwrap_or(&weight);
        let output = kernel::forward(
            values_from_start(&x),
            rows,
            Operand {
                values: weight.storage::<f32>(),
                row_stride,
                col_stride,
            },
            values_from_start(&bias),
        );
        from_values(output, with_last(&x.shape(), weight.shape()[1]))
    }

    fn linear_input_grad(grad: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        let (grad, rows) = rows_of(grad);
        let (copy, [row_stride, col_stride]) = weight_operand(&weight);
        let weight = copy.as_ref().unwrap_or(&weight);
        let [inputs, outputs] = [weight.shape()[0], weight.shape()[1]];
        let weight = Operand {
            values: weight.storage::<f32>(),
            row_stride,
            col_stride,
        };
        let values = kernel::matmul(
            rows,
            inputs,
            outputs,
            Operand::row_major(values_from_start(&grad), outputs),
            weight.transposed(),
        );
        from_values(values, with_last(&grad.shape(), inputs))
    }

    fn linear_weight_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, rows) = rows_of(x);
        let (grad, _) = rows_of(grad);
        let (inputs, outputs) = (x.shape()[x.shape().num_dims() - 1], {
            let shape = grad.shape();
            shape[shape.num_dims() - 1]
        });
        let values = kernel::matmul(
            inputs,
            outputs,
            rows,
            Operand::row_major(values_from_start(&x), inputs).transposed(),
            Operand::row_major(values_from_start(&grad), outputs),
        );
        from_values(values, [inputs, outputs])
    }

    fn linear_bias_grad(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let (grad, _) = rows_of(grad);
        let shape = grad.shape();
        let outputs = shape[shape.num_dims() - 1];
        from_values(
            kernel::bias_grad(values_from_start(&grad), outputs),
            [outputs],
        )
    }
}

impl<B: Backend + LinearBackend, C: CheckpointStrategy> LinearBackend for Autodiff<B, C> {
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LinearBackward;

        impl<B: Backend + LinearBackend> Backward<B, 3> for LinearBackward {
            type State = (NodeId, NodeId);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, weight_state) = ops.state;
                let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
                let weight =
                    checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
                if let Some(node) = node_bias {
                    grads.register::<B>(node.id, B::linear_bias_grad(grad.clone()));
                }
                if let Some(node) = node_weight {
                    grads.register::<B>(node.id, B::linear_weight_grad(x, grad.clone()));
                }
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::linear_input_grad(grad, weight));
                }
            }
        }

        match LinearBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let output = B::fused_linear(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                );
                prep.finish((x_state, weight_state), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_linear(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
            )),
        }
    }

    // Gradients of gradients are never taken through these layers.
    fn linear_input_grad(grad: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::linear_input_grad(
            <Self as AutodiffBackend>::inner(grad),
            <Self as AutodiffBackend>::inner(weight),
        ))
    }

    fn linear_weight_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::linear_weight_grad(
            <Self as AutodiffBackend>::inner(x),
            <Self as AutodiffBackend>::inner(grad),
        ))
    }

    fn linear_bias_grad(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as AutodiffBackend>::from_inner(B::linear_bias_grad(
            <Self as AutodiffBackend>::inner(grad),
        ))
    }
}
