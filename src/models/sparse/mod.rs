//! Sparse kernels for pruned networks: a convolution whose measured weight sparsity passes the
//! crossover of its layer shape runs on its non-zero weights only ([`CsrConv`]), forward and
//! input gradient, on the CPU (`flex`). The pool is 20-99% sparse and every analysis runs
//! thousands of forward and backward passes of each member, so that is where the time goes.
//!
//! A network gets its kernels from [`crate::models::Network::with_sparse_kernels`], which reads
//! every convolution's weights once, keeps those that pay, and records them by parameter id. The
//! network's forward pass then routes those convolutions here. Results equal the dense path up
//! to float rounding (the sums run in another order; tested within 1e-5 relative).
//!
//! A frozen network's batch norm and ReLU after a sparse convolution fold into it
//! ([`SparseConvCall::with_batch_norm`], [`SparseConvCall::with_relu`]): applied as each output
//! channel is written, and to the output's gradient as the input gradient reads it, bit for bit
//! the separate passes (tested) with two passes fewer each way for each.
//!
//! Frozen weights only: a convolution whose weight takes a gradient (training) always runs
//! dense, because the sparse path gives no weight gradient. A convolution that stays dense runs
//! exactly the code it runs without sparse kernels, so `PVR_SPARSE=off` reproduces the dense
//! results bit for bit (tested).
//!
//! Only convolutions: the classifier of a ResNet is under 0.1% of its multiply-adds (ResNet-18:
//! 0.5 M of 1.8 G per image), so a sparse linear layer would save nothing measurable.

pub mod conv;
pub mod extension;
pub mod geometry;
pub mod kernel;
pub mod synthetic;
#[cfg(test)]
mod tests;
pub mod tiling;

use std::collections::HashMap;
use std::sync::Arc;

use burn::module::ParamId;
use burn::nn::conv::Conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor};

pub use conv::CsrConv;
pub use extension::{SparseConvCall, sparse_conv2d};
pub use geometry::ConvParams;

/// When to run a layer sparse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SparsePolicy {
    /// Every layer dense.
    Off,
    /// Sparse where the layer's density is below the measured crossover of its shape
    /// ([`crossover_density`]).
    Auto,
    /// Sparse wherever the density is below this (for benchmarks and tests).
    Below(f64),
}

impl SparsePolicy {
    /// The policy from `PVR_SPARSE` (`off`, `auto`, or a density such as `0.5`); `Auto` when
    /// unset. An unreadable value is an error naming the variable.
    pub fn from_env() -> Result<Self, String> {
        std::env::var("PVR_SPARSE").map_or(Ok(SparsePolicy::Auto), |text| Self::parse(&text))
    }

    /// `off`, `auto`, or a density in [0, 1].
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "off" | "dense" => Ok(SparsePolicy::Off),
            "auto" | "" => Ok(SparsePolicy::Auto),
            other => other
                .parse::<f64>()
                .ok()
                .filter(|d| (0.0..=1.0).contains(d))
                .map(SparsePolicy::Below)
                .ok_or_else(|| {
                    format!("PVR_SPARSE=`{other}`: expected off, auto, or a density in [0, 1]")
                }),
        }
    }

    /// Whether a layer of this density, kernel side and output size (positions per image) runs
    /// sparse.
    fn admits(&self, density: f64, kernel: usize, positions: usize) -> bool {
        match *self {
            SparsePolicy::Off => false,
            SparsePolicy::Auto => density < crossover_density(kernel, positions),
            SparsePolicy::Below(limit) => density < limit,
        }
    }

    /// The highest density this policy might run sparse at any size.
    fn ceiling(&self) -> f64 {
        match *self {
            SparsePolicy::Off => 0.0,
            SparsePolicy::Auto => crossover_density(3, usize::MAX),
            SparsePolicy::Below(limit) => limit,
        }
    }
}

/// The weight density under which the sparse kernel beats the dense one (forward and input
/// gradient together) for a `kernel x kernel` convolution with `positions` output positions per
/// image, measured on ResNet-18/50 layer shapes with `cargo bench --bench sparse -- crossover`
/// (README, "Sparse kernels"; the table there).
///
/// The sparse kernel does one multiply-add per non-zero weight and output position; the dense
/// one (im2col + packed GEMM) runs nearer the CPU's peak but builds a patch matrix nine times
/// the input for a 3x3 kernel. A 1x1 convolution has no patch matrix to save, and small maps
/// cost the sparse kernel most (short rows, more of the plane grid wasted), so both cross lower.
/// The values are rounded down from the lower of two runs on a loaded 2-core machine (+-30%):
/// a layer near its crossover gains little either way.
pub fn crossover_density(kernel: usize, positions: usize) -> f64 {
    match (kernel, positions) {
        (1, _) => 0.25,
        (_, 0..=16) => 0.1,
        (_, 17..=64) => 0.25,
        (_, 65..=1024) => 0.4,
        _ => 0.6,
    }
}

/// The sparse weights of a network's convolutions, by the id of their dense weight parameter.
/// Empty by default: everything dense.
#[derive(Debug, Clone)]
pub struct SparseKernels {
    convs: HashMap<ParamId, Arc<CsrConv>>,
    policy: SparsePolicy,
}

impl Default for SparseKernels {
    fn default() -> Self {
        Self::new(SparsePolicy::Off)
    }
}

/// What [`crate::models::Network::with_sparse_kernels`] did, layer by layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseSummary {
    /// `(weight shape, density, kept sparse)` per convolution, in forward order (a kept layer
    /// runs sparse on inputs whose output size passes its crossover).
    pub layers: Vec<([usize; 4], f64, bool)>,
}

impl SparseSummary {
    /// Convolutions kept sparse.
    pub fn sparse_layers(&self) -> usize {
        self.layers.iter().filter(|l| l.2).count()
    }
}

impl SparseKernels {
    pub fn is_empty(&self) -> bool {
        self.convs.is_empty()
    }

    /// Empty kernels that will choose by `policy`.
    pub fn new(policy: SparsePolicy) -> Self {
        Self {
            convs: HashMap::new(),
            policy,
        }
    }

    /// Considers `conv`: measures its density and keeps its sparse weights when the policy may
    /// run it sparse at some input size (the choice is made per call, by the output's size).
    /// Grouped, non-square and non-f32 convolutions stay dense.
    pub fn consider(&mut self, conv: &Conv2d, summary: &mut SparseSummary) {
        let weight = conv.weight.val();
        let shape = weight.dims();
        let square = shape[2] == shape[3];
        let Ok(values) = weight.into_data().convert::<f32>().try_into_vec::<f32>() else {
            return;
        };
        let nonzero = values.iter().filter(|&&v| v != 0.0).count();
        let density = nonzero as f64 / values.len().max(1) as f64;
        let kept = conv.groups == 1 && square && density < self.policy.ceiling();
        if kept {
            self.convs.insert(
                conv.weight.id,
                Arc::new(CsrConv::from_dense(&values, shape)),
            );
        }
        summary.layers.push((shape, density, kept));
    }

    /// The sparse call for `conv` on `x` with the given stride and dilation ("same" padding for
    /// its odd kernel: `dilation * (k / 2)`) when this holds its weights, they are frozen and
    /// the output's size passes their crossover; `None` where it runs dense.
    pub fn sparse_call(
        &self,
        conv: &Conv2d,
        x: &Tensor<4>,
        stride: usize,
        dilation: usize,
    ) -> Option<SparseConvCall> {
        let [_, _, h, w] = x.dims();
        let weights = self.convs.get(&conv.weight.id)?;
        // The kernels compute in f32: an input in another precision runs dense.
        let admitted = conv.bias.is_none()
            && x.dtype() == DType::F32
            && !conv.weight.val().is_require_grad()
            && self.policy.admits(
                weights.density(),
                weights.kernel,
                h.div_ceil(stride) * w.div_ceil(stride),
            );
        admitted.then(|| {
            let padding = same_padding_of(conv, dilation);
            let params = ConvParams {
                stride,
                padding,
                dilation,
            };
            SparseConvCall::new(weights.clone(), params)
        })
    }
}

/// `conv`'s options with the given stride and dilation and "same" padding for its odd kernel
/// (`dilation * (k / 2)`): as built when `stride` is the layer's own and `dilation` 1.
pub fn same_padding(conv: &Conv2d, stride: usize, dilation: usize) -> ConvOptions<2> {
    let padding = same_padding_of(conv, dilation);
    ConvOptions::new(
        [stride, stride],
        [padding, padding],
        [dilation, dilation],
        conv.groups,
    )
}

/// The "same" padding of `conv`'s odd kernel at `dilation`: `dilation * (k / 2)`.
fn same_padding_of(conv: &Conv2d, dilation: usize) -> usize {
    dilation * (conv.kernel_size[0] / 2)
}
