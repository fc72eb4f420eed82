//! Sparse weights of a chosen density without training: each weight kept with probability
//! `density`, the rest exactly zero, as pruning leaves them. The kernels' cost depends only on
//! how many weights are zero and where, not on what they learned, so this is what the tests
//! (equality with the dense path) and `benches/sparse.rs` (the crossover) build their layers from.

use burn::module::{ModuleMapper, Param};
use burn::tensor::{Distribution, Tensor};

/// `weights` with each value kept with probability `density` and the others set to 0.
pub fn thin<const D: usize>(weights: Tensor<D>, density: f64) -> Tensor<D> {
    let keep = Tensor::<D>::random(
        weights.shape(),
        Distribution::Bernoulli(density),
        &weights.device(),
    );
    weights * keep
}

/// Thins every convolution weight (4-D parameter) of a module to `density`, keeping whether it
/// takes a gradient.
pub struct Thin {
    pub density: f64,
}

impl ModuleMapper for Thin {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if D != 4 {
            return param;
        }
        let density = self.density;
        param.map(|tensor| {
            let trainable = tensor.is_require_grad();
            let thinned = thin(tensor, density).detach();
            if trainable {
                thinned.require_grad()
            } else {
                thinned
            }
        })
    }
}
