//! The fused updates as a Burn backend extension: `flex` runs them over the host buffers.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, TensorMetadata, backend_extension};
use rayon::prelude::*;

use crate::models::flex_host::{contiguous_f32, from_values, values_from_start};

/// One AdamW step's scalars: `1 - beta` factors and bias corrections as Burn computes them.
#[derive(Clone, Copy, Debug)]
pub struct AdamWUpdate {
    pub beta_1: f32,
    pub beta_2: f32,
    pub factor_1: f32,
    pub factor_2: f32,
    pub bias_correction_1: f32,
    pub bias_correction_2: f32,
    pub epsilon: f32,
    /// `1 - lr * weight_decay`; 1 leaves the parameter undecayed.
    pub decay: f32,
    pub lr: f32,
}

/// One SGD step's scalars (PyTorch's SGD: no dampening).
#[derive(Clone, Copy, Debug)]
pub struct SgdUpdate {
    pub momentum: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
    pub lr: f32,
}

/// The backend operations behind [`super::FusedAdamW`] and [`super::FusedSgd`]; each returns
/// the updated parameter and state.
#[backend_extension(Flex)]
pub trait FusedStepBackend: Backend {
    fn adamw_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        update: AdamWUpdate,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    fn sgd_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        velocity: FloatTensor<Self>,
        update: SgdUpdate,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// Values per parallel task: large enough to amortise scheduling, small enough to balance two
/// to a few dozen threads on the largest layers.
const CHUNK: usize = 1 << 15;

impl FusedStepBackend for Flex {
    fn adamw_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        update: AdamWUpdate,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (mut param, mut moment_1, mut moment_2) =
            (owned(param), owned(moment_1), owned(moment_2));
        let grad = owned(grad);
        let AdamWUpdate {
            beta_1,
            beta_2,
            factor_1,
            factor_2,
            bias_correction_1,
            bias_correction_2,
            epsilon,
            decay,
            lr,
        } = update;
        param
            .storage_mut::<f32>()
            .par_chunks_mut(CHUNK)
            .zip(moment_1.storage_mut::<f32>().par_chunks_mut(CHUNK))
            .zip(moment_2.storage_mut::<f32>().par_chunks_mut(CHUNK))
            .zip(grad.storage::<f32>().par_chunks(CHUNK))
            .for_each(|(((p, m), v), g)| {
                for (((p, m), v), &g) in p.iter_mut().zip(m).zip(v).zip(g) {
                    *m = *m * beta_1 + g * factor_1;
                    *v = *v * beta_2 + g * g * factor_2;
                    let delta =
                        (*m / bias_correction_1) / ((*v / bias_correction_2).sqrt() + epsilon);
                    *p = *p * decay - delta * lr;
                }
            });
        (param, moment_1, moment_2)
    }

    fn sgd_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        velocity: FloatTensor<Self>,
        update: SgdUpdate,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (mut param, mut velocity) = (owned(param), owned(velocity));
        let grad = owned(grad);
        let SgdUpdate {
            momentum,
            weight_decay,
            nesterov,
            lr,
        } = update;
        param
            .storage_mut::<f32>()
            .par_chunks_mut(CHUNK)
            .zip(velocity.storage_mut::<f32>().par_chunks_mut(CHUNK))
            .zip(grad.storage::<f32>().par_chunks(CHUNK))
            .for_each(|((p, v), g)| {
                for ((p, v), &g) in p.iter_mut().zip(v).zip(g) {
                    let g = if weight_decay == 0.0 {
                        g
                    } else {
                        g + *p * weight_decay
                    };
                    *v = *v * momentum + g;
                    let delta = if nesterov { g + *v * momentum } else { *v };
                    *p -= delta * lr;
                }
            });
        (param, velocity)
    }
}

/// `tensor` as a contiguous f32 buffer holding exactly its values from the start, so that its
/// storage indexes like the others'. A view (an offset, a stride) becomes a copy.
fn owned(tensor: FloatTensor<Flex>) -> FloatTensor<Flex> {
    let tensor = contiguous_f32(tensor);
    let count = tensor.shape().num_elements();
    if tensor.bytes().len() == count * size_of::<f32>() {
        return tensor;
    }
    from_values(values_from_start(&tensor).to_vec(), tensor.shape())
}
