//! Moving images, targets and gradients between host buffers and Burn tensors, and preparing a
//! pool member for gradient-based attribution.

use anyhow::{Context, ensure};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

use crate::models::Network;

/// `network` ready for attribution on `autodiff_device`: batch norm in inference mode (running
/// statistics, as at evaluation), weights constant (no gradient is recorded for them), so a
/// backward pass computes input or activation gradients only and per-image gradients are
/// independent of the rest of the batch.
pub fn attribution_network(network: Network, autodiff_device: &Device) -> Network {
    // `valid()` turns the training flags off; they stay off after moving back to the autodiff
    // device, until `train()`.
    network.valid().to_device(autodiff_device)
}

/// Normalised images on the host, `[count, 3, height, width]` row-major.
#[derive(Debug, Clone, Copy)]
pub struct HostImages<'a> {
    pub data: &'a [f32],
    pub count: usize,
    pub height: usize,
    pub width: usize,
}

impl HostImages<'_> {
    pub fn image_len(&self) -> usize {
        3 * self.height * self.width
    }

    pub fn image(&self, index: usize) -> &[f32] {
        let len = self.image_len();
        &self.data[index * len..(index + 1) * len]
    }
}

/// A `[count, 3, height, width]` tensor from a row-major host buffer.
pub fn images_tensor(
    data: &[f32],
    count: usize,
    height: usize,
    width: usize,
    device: &Device,
) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(data.to_vec(), [count, 3, height, width]),
        device,
    )
}

/// A `[targets.len(), classes]` one-hot matrix: multiplying logits by it and summing selects
/// each image's target logit, so one backward pass yields every image's gradient.
pub fn one_hot(targets: &[usize], classes: usize, device: &Device) -> Tensor<2> {
    let mut data = vec![0f32; targets.len() * classes];
    for (row, &target) in targets.iter().enumerate() {
        data[row * classes + target] = 1.0;
    }
    Tensor::from_data(TensorData::new(data, [targets.len(), classes]), device)
}

/// Each row's target logit, `[batch]`, still on the graph.
pub fn target_logits(logits: Tensor<2>, targets: &[usize]) -> anyhow::Result<Tensor<1>> {
    let [batch, classes] = logits.dims();
    ensure!(
        batch == targets.len(),
        "{batch} logit rows for {} targets",
        targets.len()
    );
    if let Some(bad) = targets.iter().find(|&&t| t >= classes) {
        anyhow::bail!("target class {bad} is out of range for a model with {classes} classes");
    }
    let mask = one_hot(targets, classes, &logits.device());
    Ok((logits * mask).sum_dim(1).squeeze_dim::<1>(1))
}

/// The values of a tensor as host `f32`s, row-major.
pub fn to_host<const D: usize>(tensor: Tensor<D>) -> anyhow::Result<Vec<f32>> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|err| anyhow::anyhow!("reading a tensor back: {err:?}"))
        .context("attribution")
}

/// Index of the largest value of each `classes`-long row (the first on ties, as `argmax`).
pub fn argmax_rows(logits: &[f32], classes: usize) -> Vec<usize> {
    logits
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(best, max), (i, &v)| {
                    if v > max { (i, v) } else { (best, max) }
                })
                .0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_logits_pick_one_value_per_row() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]),
            &device,
        );
        let picked = to_host(target_logits(logits.clone(), &[2, 0]).unwrap()).unwrap();
        assert_eq!(picked, vec![3.0, 4.0]);
        assert!(target_logits(logits, &[3, 0]).is_err());
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax_rows(&[0.0, 2.0, 2.0, 5.0, 1.0, 0.0], 3), vec![1, 0]);
    }
}
