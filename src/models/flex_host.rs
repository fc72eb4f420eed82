//! A `flex` tensor's values on the host and back: what the CPU backend extensions of `models`
//! (`gemm_conv`, `sparse`, `fused_batch_norm`, `max_pool`) read and write, and whether a device
//! is the one they run on.

use burn::backend::tensor::FloatTensor;
use burn::backend::{DispatchDevice, Flex, TensorMetadata};
use burn::tensor::{DType, Device, Shape, TensorData};

/// Whether `device` is the CPU backend (`flex`, plain or under autodiff) the extensions serve.
pub fn is_flex(device: &Device) -> bool {
    matches!(
        device.clone().inner().as_dispatch(),
        DispatchDevice::Flex(_)
    )
}

/// The sizes of a 4-D tensor.
pub fn dims4(tensor: &FloatTensor<Flex>) -> [usize; 4] {
    let shape = tensor.shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

/// `tensor` as contiguous f32 (a copy only when it is strided or another type).
pub fn contiguous_f32(tensor: FloatTensor<Flex>) -> FloatTensor<Flex> {
    let tensor = tensor.to_contiguous();
    if tensor.dtype() == DType::F32 {
        tensor
    } else {
        FloatTensor::<Flex>::from_data(tensor.into_data().convert::<f32>())
    }
}

/// The values of `tensor`, contiguous f32 (as [`contiguous_f32`] returns it), from its first:
/// a contiguous view may start later in its buffer.
pub fn values_from_start(tensor: &FloatTensor<Flex>) -> &[f32] {
    let start = tensor.layout().start_offset();
    &tensor.storage::<f32>()[start..start + tensor.shape().num_elements()]
}

/// A `flex` tensor holding `values`.
pub fn from_values(values: Vec<f32>, shape: impl Into<Shape>) -> FloatTensor<Flex> {
    FloatTensor::<Flex>::from_data(TensorData::new(values, shape))
}
