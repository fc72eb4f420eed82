//! Pieces the transformers share: torchvision's `MLP` as an indexed layer list, and the
//! initialisers torchvision uses that Burn lacks.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Gelu, Initializer, Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};

use super::fast_gelu::gelu;
use super::fused_linear::linear;

/// One entry of a torchvision `nn.Sequential` of linear layers and activations. Burn names the
/// entries of a `Vec` by index, so a `Vec<SequentialLayer>` keeps torchvision's parameter paths
/// exactly: `mlp.0.weight` and `mlp.3.weight` for `[Linear, GELU, Dropout, Linear, Dropout]`.
#[derive(Module, Debug)]
pub enum SequentialLayer {
    Linear(Linear),
    Gelu(Gelu),
    Relu(Relu),
    /// torchvision's transformers are built with dropout 0, so these are identities; they are
    /// kept so that the indices of the layers after them match.
    Dropout(Dropout),
}

impl SequentialLayer {
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            SequentialLayer::Linear(layer) => linear(layer, x),
            SequentialLayer::Gelu(_) => gelu(x),
            SequentialLayer::Relu(relu) => relu.forward(x),
            SequentialLayer::Dropout(dropout) => dropout.forward(x),
        }
    }

    /// The linear layer, if this entry is one (for FLOP counts and tests).
    pub fn linear(&self) -> Option<&Linear> {
        match self {
            SequentialLayer::Linear(linear) => Some(linear),
            _ => None,
        }
    }
}

/// Runs `x` through every layer in order.
pub fn sequential<const D: usize>(layers: &[SequentialLayer], x: Tensor<D>) -> Tensor<D> {
    layers.iter().fold(x, |x, layer| layer.forward(x))
}

/// torchvision's `MLP(dim, [hidden, dim], activation_layer=nn.GELU, dropout=0)`:
/// `[Linear, GELU, Dropout, Linear, Dropout]`, with the given initialisers for weights and biases.
pub fn transformer_mlp(
    dim: usize,
    hidden: usize,
    weight_init: &Initializer,
    bias_init: &Initializer,
    device: &Device,
) -> Vec<SequentialLayer> {
    let linear = |d_in, d_out| {
        SequentialLayer::Linear(
            LinearConfig::new(d_in, d_out)
                .with_initializer(weight_init.clone())
                .init(device)
                .with_bias_initializer(bias_init, d_out, device),
        )
    };
    vec![
        linear(dim, hidden),
        SequentialLayer::Gelu(Gelu::new()),
        SequentialLayer::Dropout(DropoutConfig::new(0.0).init()),
        linear(hidden, dim),
        SequentialLayer::Dropout(DropoutConfig::new(0.0).init()),
    ]
}

/// Re-initialising a linear layer's bias, which `LinearConfig` draws like the weight.
pub trait WithBiasInitializer {
    fn with_bias_initializer(self, init: &Initializer, d_out: usize, device: &Device) -> Self;
}

impl WithBiasInitializer for Linear {
    fn with_bias_initializer(mut self, init: &Initializer, d_out: usize, device: &Device) -> Self {
        if self.bias.is_some() {
            self.bias = Some(init.init([d_out], device));
        }
        self
    }
}

/// torchvision's `trunc_normal_(std=s)` truncates at +-2 absolute, which for the standard
/// deviations used here (at most about 0.02) lies over 50 deviations out: a plain normal draws
/// the same distribution.
pub fn trunc_normal(std: f64) -> Initializer {
    Initializer::Normal { mean: 0.0, std }
}

/// PyTorch's `xavier_uniform_` for a weight stored in PyTorch's `[out, in]` layout.
pub fn xavier_uniform_param(out: usize, input: usize, device: &Device) -> Param<Tensor<2>> {
    Initializer::XavierUniform { gain: 1.0 }.init_with([out, input], Some(input), Some(out), device)
}

/// `x / max(||x||, 1e-12)` along the last dimension (PyTorch's `F.normalize`). The clamp is
/// taken on the squared norm so that an all-zero row (Swin's padding tokens have zero keys)
/// gets a zero gradient instead of `0 * inf`.
pub fn normalize_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let squared = (x.clone() * x.clone()).sum_dim(D - 1);
    x / squared.clamp_min(1e-24).sqrt()
}
