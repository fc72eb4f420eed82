//! `pvr export`: pool members from the cache as safetensors files with torchvision's names.

use std::path::Path;

use anyhow::bail;

use crate::cache::{Cache, Lookup};
use crate::graph::StageLabel;
use crate::pipeline::Pipeline;
use crate::pool::load_checkpoint;
use crate::weights::{MaskLayout, export_safetensors, model_metadata};

/// Writes `<out>/<experiment>-round<N>.safetensors` for each of `rounds` (every round when
/// empty), from the cached model stages; a round not computed yet is an error naming it.
pub fn export_rounds(
    pipeline: &Pipeline,
    cache: &Cache,
    rounds: &[usize],
    layout: MaskLayout,
    out: &Path,
) -> anyhow::Result<()> {
    let plan = &pipeline.plan;
    let last = (0..)
        .take_while(|round| plan.find(&StageLabel::model(*round)).is_some())
        .last()
        .unwrap_or(0);
    let rounds: Vec<usize> = if rounds.is_empty() {
        (0..=last).collect()
    } else {
        rounds.to_vec()
    };
    std::fs::create_dir_all(out)?;
    let device = burn::tensor::Device::flex();
    for round in rounds {
        let label = StageLabel::model(round);
        let Some(stage) = plan.find(&label) else {
            bail!("the experiment has rounds 0..={last}; there is no round {round}");
        };
        let entry = match cache.lookup(&stage.key)? {
            Lookup::Hit(entry) => entry,
            Lookup::Missing | Lookup::Corrupt { .. } => bail!(
                "round {round} (`{label}`) is not in the cache: run the experiment first (pvr run)"
            ),
        };
        let model = load_checkpoint(&entry, &device)?;
        let file = out.join(format!(
            "{}-round{round}.safetensors",
            pipeline.spec.experiment.name
        ));
        let summary = export_safetensors(
            &model.network,
            &model.masks,
            pipeline.context.network.arch,
            &model_metadata(&pipeline.context.network, pipeline.spec.data.image_size),
            layout,
            &file,
        )?;
        println!(
            "{}: round {round}, sparsity {:.4}, {} tensors ({} as weight_orig/weight_mask), {:.1} MB",
            file.display(),
            model.record.measured.sparsity,
            summary.tensors,
            summary.masked,
            summary.bytes as f64 / 1e6
        );
    }
    Ok(())
}
