//! `attribute[round,name]`: the attribution maps of one pooled model for one method, with the
//! masks they are scored against, as NumPy files anyone can reopen.
//!
//! Files: `maps.npy` (float32, `(N, H, W)` or `(N, 3, H, W)`), `masks.npy` (uint8 `(N, H, W)`,
//! 1 object, 0 background, 255 ignored), `masks_binary.npy` (the same with ignored pixels as 0,
//! for tools such as Quantus that accept only 0/1 masks), `index.parquet` (one row per image: position, image id,
//! label, target, predicted, correct, and IG's completeness), `attribution.json` (what was run).

use std::sync::Arc;
use std::time::Instant;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{AttributionJob, attribute_label};
use crate::attribution::integrated_gradients::Completeness;
use crate::attribution::maps::Maps;
use crate::attribution::method::run_method;
use crate::attribution::tensors::{
    HostImages, argmax_rows, attribution_network, images_tensor, to_host,
};
use crate::data::augment::{IMAGENET_MEAN, IMAGENET_STD, normalize};
use crate::files::npy::write_npy;
use crate::files::tables::write_parquet;
use crate::graph::{Stage, StageContext, StageLabel};
use crate::pool::{ModelContext, frozen_network, load_checkpoint};
use crate::spec::attribution::TargetPolicy;

pub const MAPS_FILE: &str = "maps.npy";
pub const MASKS_FILE: &str = "masks.npy";
pub const MASKS_BINARY_FILE: &str = "masks_binary.npy";
pub const INDEX_FILE: &str = "index.parquet";
/// float32 `(N, classes)`: every explained image's logits, in index order.
pub const LOGITS_FILE: &str = "logits.npy";
/// float32 `(N, 3, H, W)`: the normalised inputs explained (`save_inputs = true`).
pub const INPUTS_FILE: &str = "inputs.npy";
pub const RECORD_FILE: &str = "attribution.json";

/// What an attribute stage ran, for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributeRecord {
    pub round: usize,
    pub name: String,
    pub method: Value,
    pub images: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub eval_set: String,
    pub seconds: f64,
    pub images_per_second: f64,
}

pub struct AttributeStage {
    pub context: Arc<ModelContext>,
    pub round: usize,
    pub job: Arc<AttributionJob>,
}

/// One explained image.
struct Row {
    id: String,
    label: Option<usize>,
    target: usize,
    predicted: usize,
    completeness: Option<Completeness>,
}

impl Stage for AttributeStage {
    fn kind(&self) -> &'static str {
        "attribute"
    }
    fn label(&self) -> StageLabel {
        attribute_label(self.round, &self.job.name)
    }
    /// 2: writes `masks_binary.npy` too. 3: `logits.npy`, every image's full logits. 4: pruned
    /// convolutions on sparse kernels (`pool::frozen_network`): maps move at float rounding. 5:
    /// batch norm fused on the CPU (`models::fused_batch_norm`) and sparse sums tiled
    /// (`models::sparse::tiling`): maps move at float rounding again. 6: dense convolutions on
    /// the CPU run `models::gemm_conv::forward`: maps move at float rounding.
    /// Plus `ModelContext::arch_revision`.
    fn version(&self) -> u32 {
        6 + self.context.arch_revision()
    }
    fn params(&self) -> Value {
        let job = &self.job;
        let mut params = json!({
            "method": job.method.key_params(),
            "target": job.target,
            "mask": job.mask,
            "compat": job.compat,
            "images": job.images.key_params(),
            "seed": self.context.seed,
            "device": self.context.device.family(),
        });
        if job.save_inputs {
            params["save_inputs"] = json!(true);
        }
        params
    }
    fn inputs(&self) -> Vec<StageLabel> {
        vec![StageLabel::model(self.round)]
    }
    fn missing_data(&self) -> Option<String> {
        self.job.images.problem().map(ToString::to_string)
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let started = Instant::now();
        let job = &self.job;
        let device = self.context.device.autodiff_device();
        let model = load_checkpoint(ctx.input(&StageLabel::model(self.round)), &device)?;
        let network = frozen_network(attribution_network(model.network, &device))?;
        let classes = self.context.network.num_classes;
        let count = job.images.len();
        let indices: Vec<usize> = (0..count).collect();
        let mut maps: Option<Maps> = None;
        let mut masks: Vec<u8> = Vec::new();
        let mut rows: Vec<Row> = Vec::with_capacity(count);
        let mut all_logits: Vec<f32> = Vec::with_capacity(count * classes);
        let mut inputs: Vec<f32> = Vec::new();
        ctx.progress.phase(
            &format!("attribute {}", job.name),
            count.div_ceil(job.batch_size) as u64,
        );
        for chunk in indices.chunks(job.batch_size.max(1)) {
            let items = job.images.items(chunk)?;
            let (height, width) = (items[0].image.height, items[0].image.width);
            let mut data = Vec::with_capacity(items.len() * 3 * height * width);
            for item in &items {
                let mut image = item.image.clone();
                normalize(&mut image, IMAGENET_MEAN, IMAGENET_STD);
                data.extend_from_slice(&image.data);
            }
            let logits = to_host(network.forward(images_tensor(
                &data,
                items.len(),
                height,
                width,
                &device,
            )))?;
            let predicted = argmax_rows(&logits, classes);
            all_logits.extend_from_slice(&logits);
            if job.save_inputs {
                inputs.extend_from_slice(&data);
            }
            let targets: Vec<usize> = match job.target {
                TargetPolicy::Predicted => predicted.clone(),
                TargetPolicy::Label => items
                    .iter()
                    .map(|item| {
                        item.label.ok_or_else(|| {
                            anyhow::anyhow!(
                                "image {} has no label for `target = \"label\"`",
                                item.id
                            )
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
            };
            let keys: Vec<u64> = items.iter().map(|item| item.index as u64).collect();
            let images = HostImages {
                data: &data,
                count: items.len(),
                height,
                width,
            };
            let output = run_method(
                &job.method,
                &network,
                images,
                &targets,
                &keys,
                self.context.seed,
                &device,
            )?;
            for (i, item) in items.iter().enumerate() {
                masks.extend(item.mask_for(targets[i], job.mask, job.compat));
                rows.push(Row {
                    id: item.id.clone(),
                    label: item.label,
                    target: targets[i],
                    predicted: predicted[i],
                    completeness: output.completeness.as_ref().map(|c| c[i]),
                });
            }
            match &mut maps {
                None => maps = Some(output.maps),
                Some(all) => all.append(output.maps)?,
            }
            ctx.progress.advance(1, "");
        }
        let maps = maps.ok_or_else(|| anyhow::anyhow!("no image to explain"))?;
        write_npy(&ctx.out_dir.join(MAPS_FILE), &maps.data, &maps.npy_shape())?;
        let mask_shape = [maps.count, maps.height, maps.width];
        write_npy(&ctx.out_dir.join(MASKS_FILE), &masks, &mask_shape)?;
        let binary: Vec<u8> = masks.iter().map(|&m| u8::from(m == 1)).collect();
        write_npy(&ctx.out_dir.join(MASKS_BINARY_FILE), &binary, &mask_shape)?;
        write_parquet(&mut index_frame(&rows)?, &ctx.out_dir.join(INDEX_FILE))?;
        write_npy(
            &ctx.out_dir.join(LOGITS_FILE),
            &all_logits,
            &[maps.count, classes],
        )?;
        if job.save_inputs {
            // Inputs are at the network's size, which every map is upsampled to.
            write_npy(
                &ctx.out_dir.join(INPUTS_FILE),
                &inputs,
                &[maps.count, 3, maps.height, maps.width],
            )?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let record = AttributeRecord {
            round: self.round,
            name: job.name.clone(),
            method: job.method.key_params(),
            images: maps.count,
            channels: maps.channels,
            height: maps.height,
            width: maps.width,
            eval_set: job.images.describe(),
            seconds,
            images_per_second: maps.count as f64 / seconds.max(1e-9),
        };
        std::fs::write(
            ctx.out_dir.join(RECORD_FILE),
            serde_json::to_vec_pretty(&record)?,
        )?;
        Ok(())
    }
}

fn index_frame(rows: &[Row]) -> PolarsResult<DataFrame> {
    let completeness = |f: fn(&Completeness) -> f64| -> Vec<Option<f64>> {
        rows.iter()
            .map(|r| r.completeness.as_ref().map(f))
            .collect()
    };
    df!(
        "position" => (0..rows.len() as u32).collect::<Vec<_>>(),
        "image" => rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        "label" => rows.iter().map(|r| r.label.map(|l| l as u32)).collect::<Vec<_>>(),
        "target" => rows.iter().map(|r| r.target as u32).collect::<Vec<_>>(),
        "predicted" => rows.iter().map(|r| r.predicted as u32).collect::<Vec<_>>(),
        "correct" => rows.iter().map(|r| r.label.map(|l| l == r.predicted)).collect::<Vec<_>>(),
        "f_input" => completeness(|c| c.f_input),
        "f_baseline" => completeness(|c| c.f_baseline),
        "attribution_sum" => completeness(|c| c.attribution_sum),
        "completeness_delta" => completeness(|c| c.delta()),
    )
}
