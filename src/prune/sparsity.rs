//! Sparsity measured from the weights themselves (exact zeros), overall and per layer: the
//! masks say what should be zero, this says what is.

use serde::{Deserialize, Serialize};

use crate::models::Network;
use crate::models::params::{ParamInfo, read_params};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSparsity {
    pub layer: String,
    pub parameters: usize,
    pub zeros: usize,
    pub sparsity: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SparsityReport {
    /// Zeros among the prunable weights.
    pub sparsity: f64,
    pub prunable_parameters: usize,
    pub zeros: usize,
    pub layers: Vec<LayerSparsity>,
}

pub fn measure_sparsity(network: &Network, prunable: &[ParamInfo]) -> SparsityReport {
    let values = read_params(network, &|path| prunable.iter().any(|p| p.path == path));
    let layers: Vec<LayerSparsity> = prunable
        .iter()
        .filter_map(|info| {
            let weights = values.get(&info.path)?;
            let zeros = weights.iter().filter(|&&w| w == 0.0).count();
            Some(LayerSparsity {
                layer: info.path.clone(),
                parameters: weights.len(),
                zeros,
                sparsity: zeros as f64 / weights.len().max(1) as f64,
            })
        })
        .collect();
    let prunable_parameters: usize = layers.iter().map(|l| l.parameters).sum();
    let zeros: usize = layers.iter().map(|l| l.zeros).sum();
    SparsityReport {
        sparsity: zeros as f64 / prunable_parameters.max(1) as f64,
        prunable_parameters,
        zeros,
        layers,
    }
}
