//! Validation: top-1, top-5 and loss of a network on a dataset, in eval mode.

use std::time::Instant;

use burn::tensor::Device;

use super::fit::to_tensors;
use super::loader::load_batch;
use crate::data::Dataset;
use crate::metrics::classification::Prediction;
use crate::metrics::{ClassificationTally, EvalMetrics};
use crate::models::Network;
use crate::progress::Progress;

/// Evaluates `network`, which must be on a plain (non-autodiff) `device` so that batch norm
/// uses its running statistics.
pub fn evaluate(
    network: &Network,
    dataset: &dyn Dataset,
    batch_size: usize,
    device: &Device,
    progress: &dyn Progress,
) -> anyhow::Result<Evaluation> {
    let classes = dataset.num_classes();
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let mut tally = ClassificationTally::default();
    let mut predictions = Vec::with_capacity(indices.len());
    let started = Instant::now();
    progress.phase("evaluate", indices.len().div_ceil(batch_size) as u64);
    for chunk in indices.chunks(batch_size) {
        let batch = load_batch(dataset, chunk, None)?;
        let (images, _) = to_tensors(&batch, device);
        let logits = network
            .forward(images)
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|err| anyhow::anyhow!("reading logits: {err:?}"))?;
        tally.add(&logits, &batch.labels, classes);
        predictions.extend(
            logits
                .chunks_exact(classes)
                .zip(&batch.labels)
                .map(|(row, &label)| Prediction::of(row, label as usize)),
        );
        progress.advance(1, "");
    }
    let images_per_second = dataset.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    Ok(Evaluation {
        metrics: tally.finish(),
        predictions,
        images_per_second,
    })
}

/// A network's scores on a dataset, overall and image by image (in dataset order).
pub struct Evaluation {
    pub metrics: EvalMetrics,
    pub predictions: Vec<Prediction>,
    pub images_per_second: f64,
}
