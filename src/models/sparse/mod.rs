//! Sparse inference for pruned networks: convolutions and linear layers whose weights are
//! mostly exact zeros run as a CSR weight times im2col patches ([`conv::conv2d`]) instead of
//! the dense im2col + GEMM, when the layer's measured density is below the crossover for its
//! shape ([`sparse_is_faster`], measured by `cargo bench --bench sparse`).
//!
//! It is opt-in and forward-only: inside [`with_sparse_inference`], ResNet layers whose input
//! and weight take no part in a backward pass and whose values are `f32` take the sparse path;
//! everywhere else (training, attribution's backward passes, other precisions) the dense path is
//! untouched. Results equal the dense path's within float rounding (1e-5 relative, tested). The
//! CSR form of each weight is built once per scope (weights do not change during inference).

pub mod conv;
pub mod csr;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use burn::module::{Param, ParamId};
use burn::tensor::{DType, Tensor, TensorData};

pub use conv::ConvGeometry;
pub use csr::Csr;

thread_local! {
    /// The CSR weights of the current scope (`None` outside one), keyed by parameter; `None`
    /// for a layer whose density is above the crossover.
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

struct Scope {
    /// `None`: [`sparse_is_faster`] decides; `Some(d)`: sparse at densities up to `d`.
    below: Option<f64>,
    weights: HashMap<ParamId, Option<Arc<Csr>>>,
}

/// Runs `f` with sparse inference on for this thread, each layer sparse when
/// [`sparse_is_faster`] (nested scopes share the outer one).
pub fn with_sparse_inference<R>(f: impl FnOnce() -> R) -> R {
    scoped(None, f)
}

/// [`with_sparse_inference`] with a set crossover: layers of density up to `density` run sparse
/// (benches and tests measure and check the sparse path with it).
pub fn with_sparse_inference_below<R>(density: f64, f: impl FnOnce() -> R) -> R {
    scoped(Some(density), f)
}

fn scoped<R>(below: Option<f64>, f: impl FnOnce() -> R) -> R {
    let outer = SCOPE.with(|s| s.borrow().is_some());
    if outer {
        return f();
    }
    SCOPE.with(|s| {
        *s.borrow_mut() = Some(Scope {
            below,
            weights: HashMap::new(),
        })
    });
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SCOPE.with(|s| *s.borrow_mut() = None);
        }
    }
    let _reset = Reset;
    f()
}

/// Whether the sparse kernel beats flex's dense convolution for a layer with this kernel area
/// (`kh · kw`, 1 for 1x1 convolutions and linear layers), `k` weight columns
/// (`in_channels · kh · kw`) and this density (share of non-zero weights).
///
/// From `cargo bench --bench sparse` (batch 4, 2-core AMD EPYC with AVX2, shared with other
/// jobs): 3x3 and 7x7 layers of ResNet-18 at 224 px cross over between 50% and 80% sparsity
/// and run 1.3-3x faster at 90%; ResNet-50's 1x1 layers on 56 x 56 maps never do (the patch
/// copy costs as much as flex's GEMM), its 2048 -> 512 1x1 from 70%. The rule takes the safe
/// side of those measurements.
pub fn sparse_is_faster(kernel_area: usize, k: usize, density: f64) -> bool {
    if kernel_area > 1 {
        density <= CROSSOVER_DENSITY
    } else {
        k >= 1024 && density <= CROSSOVER_DENSITY / 2.0
    }
}

/// Spatial kernels run sparse from this density down (80% sparsity).
pub const CROSSOVER_DENSITY: f64 = 0.2;

/// The CSR form of `weight` (viewed as `dims[0] x rest`) when the sparse path applies to it in
/// the current scope: cached per parameter.
fn scoped_weight<const D: usize>(weight: &Param<Tensor<D>>) -> Option<Arc<Csr>> {
    SCOPE.with(|scope| {
        let mut scope = scope.borrow_mut();
        let scope = scope.as_mut()?;
        if let Some(entry) = scope.weights.get(&weight.id) {
            return entry.clone();
        }
        let value = weight.val();
        let entry = (value.dtype() == DType::F32 && !value.is_tracked())
            .then(|| {
                let dims = value.dims();
                let rows = dims[0];
                let cols = dims.iter().skip(1).product::<usize>();
                let data = value.into_data().try_to_vec::<f32>().ok()?;
                let csr = Csr::from_dense(&data, rows, cols);
                let faster = match scope.below {
                    Some(below) => csr.density() <= below,
                    None => {
                        let area = dims.iter().skip(2).product::<usize>();
                        sparse_is_faster(area, cols, csr.density())
                    }
                };
                faster.then(|| Arc::new(csr))
            })
            .flatten();
        scope.weights.insert(weight.id, entry.clone());
        entry
    })
}

fn host<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    x.into_data()
        .try_to_vec::<f32>()
        .expect("an f32 tensor reads back as f32")
}

/// The sparse path of a convolution, or `None` when it does not apply (outside a scope, a
/// dense-enough weight, a tracked input, a precision other than f32).
pub fn try_conv2d(
    weight: &Param<Tensor<4>>,
    bias: Option<&Param<Tensor<1>>>,
    x: &Tensor<4>,
    geometry: ConvGeometry,
) -> Option<Tensor<4>> {
    if x.dtype() != DType::F32 || x.is_tracked() {
        return None;
    }
    let csr = scoped_weight(weight)?;
    let device = x.device();
    let dims = x.dims();
    let bias = bias.map(|b| host(b.val()));
    let (out, shape) = conv::conv2d(&host(x.clone()), dims, &csr, bias.as_deref(), geometry);
    Some(Tensor::from_data(TensorData::new(out, shape), &device))
}

/// The sparse path of a linear layer (`x · Wᵀ + b`, burn's `[in, out]` weight layout), or
/// `None` when it does not apply.
pub fn try_linear(
    weight: &Param<Tensor<2>>,
    bias: Option<&Param<Tensor<1>>>,
    x: &Tensor<2>,
) -> Option<Tensor<2>> {
    if x.dtype() != DType::F32 || x.is_tracked() || !SCOPE.with(|s| s.borrow().is_some()) {
        return None;
    }
    // burn stores linear weights as [in, out]: the CSR rows are its transpose's.
    let transposed = Param::initialized(weight.id, weight.val().transpose());
    let csr = scoped_weight(&transposed)?;
    let device = x.device();
    let [rows, _] = x.dims();
    let bias = bias.map(|b| host(b.val()));
    let out = conv::linear(&host(x.clone()), rows, &csr, bias.as_deref());
    Some(Tensor::from_data(
        TensorData::new(out, [rows, csr.rows]),
        &device,
    ))
}
