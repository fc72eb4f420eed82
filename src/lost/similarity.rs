//! LOST step 1: the raw dot product between every pair of patch features, `A = F F^T`. No L2
//! normalisation: LOST's degrees count signs, and the magnitudes weight the seed expansion.

use anyhow::{Context, ensure};
use burn::tensor::Tensor;

/// A square `n x n` similarity matrix of one image's patches, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarity {
    n: usize,
    values: Vec<f32>,
}

impl Similarity {
    /// Wraps a row-major `n x n` matrix.
    ///
    /// # Panics
    /// If `values` does not hold `n * n` numbers.
    pub fn from_matrix(n: usize, values: Vec<f32>) -> Self {
        assert_eq!(
            values.len(),
            n * n,
            "a similarity of {n} patches needs {n}x{n} values"
        );
        Self { n, values }
    }

    /// `A = F F^T` on the host from `n` row-major features of dimension `d`.
    pub fn from_features(features: &[f32], n: usize, d: usize) -> Self {
        assert_eq!(features.len(), n * d, "{n} features of dimension {d}");
        let mut values = vec![0.0; n * n];
        for i in 0..n {
            let fi = &features[i * d..][..d];
            for j in i..n {
                let fj = &features[j * d..][..d];
                let dot = fi.iter().zip(fj).map(|(a, b)| a * b).sum();
                values[i * n + j] = dot;
                values[j * n + i] = dot;
            }
        }
        Self { n, values }
    }

    /// Number of patches.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f32 {
        self.values[i * self.n + j]
    }

    /// Similarities of patch `i` to every patch.
    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.n..][..self.n]
    }
}

/// `A = F F^T` for each image of a `[batch, patches, dim]` feature tensor, computed on the
/// features' device (one batched matrix product) and brought to the host.
pub fn similarity_batch(features: Tensor<3>) -> anyhow::Result<Vec<Similarity>> {
    let [batch, n, _] = features.dims();
    let products = features.clone().matmul(features.swap_dims(1, 2));
    let values = products
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|err| anyhow::anyhow!("{err:?}"))
        .context("reading patch similarities from the device")?;
    ensure!(values.len() == batch * n * n, "similarity shape mismatch");
    Ok(values
        .chunks(n * n)
        .map(|chunk| Similarity::from_matrix(n, chunk.to_vec()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn host_dot_products() {
        // Two 2-d features: (1, 2) and (-3, 1).
        let sim = Similarity::from_features(&[1.0, 2.0, -3.0, 1.0], 2, 2);
        assert_eq!(sim.row(0), &[5.0, -1.0]);
        assert_eq!(sim.row(1), &[-1.0, 10.0]);
    }

    #[test]
    fn device_batch_matches_host() {
        let (batch, n, d) = (2, 5, 3);
        let features: Vec<f32> = (0..batch * n * d)
            .map(|i| ((i * 7919) % 23) as f32 / 7.0 - 1.5)
            .collect();
        let device = crate::backend::DeviceChoice::Cpu.device();
        let tensor =
            Tensor::<3>::from_data(TensorData::new(features.clone(), [batch, n, d]), &device);
        let on_device = similarity_batch(tensor).unwrap();
        for (b, sim) in on_device.iter().enumerate() {
            let host = Similarity::from_features(&features[b * n * d..][..n * d], n, d);
            for i in 0..n {
                for j in 0..n {
                    assert!((sim.at(i, j) - host.at(i, j)).abs() < 1e-4, "({b},{i},{j})");
                }
            }
        }
    }
}
