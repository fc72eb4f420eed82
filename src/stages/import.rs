//! `import`: a pool member read from a weights file instead of trained, for
//! `[model] pretrained` (round 0, then LRR rounds as usual) and `[model] pool` (every round).
//! It leaves the same files as a training stage, so evaluation, pruning and the analyses read
//! it unchanged.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use serde_json::{Value, json};

use crate::graph::{Stage, StageContext, StageLabel};
use crate::pool::{ModelContext, RoundRecord, save_checkpoint};
use crate::prune::{Masks, measure_sparsity};
use crate::spec::ModelSpec;
use crate::weights::{file_digest, import_weights};

pub const IMPORT_FILE: &str = "import.json";

/// A weights file named by the spec, with its content hash: the hash enters the stage key,
/// the path does not, so moving the file keeps the cache and changing it does not.
#[derive(Debug, Clone)]
pub struct GivenWeights {
    pub path: PathBuf,
    pub digest: String,
}

/// The files `[model] pretrained`/`pool` name, hashed; empty when the spec trains round 0.
pub fn given_weights(model: &ModelSpec) -> anyhow::Result<Vec<GivenWeights>> {
    model
        .given_weights()
        .into_iter()
        .map(|path| {
            let path = PathBuf::from(path);
            let digest = file_digest(&path)?;
            Ok(GivenWeights { path, digest })
        })
        .collect()
}

pub struct ImportStage {
    pub context: Arc<ModelContext>,
    pub round: usize,
    pub weights: GivenWeights,
}

impl Stage for ImportStage {
    fn kind(&self) -> &'static str {
        "import"
    }
    fn label(&self) -> StageLabel {
        StageLabel::model(self.round)
    }
    fn version(&self) -> u32 {
        1
    }
    fn params(&self) -> Value {
        let c = &self.context;
        json!({
            "round": self.round,
            "network": c.network,
            "weights_blake3": self.weights.digest,
            "prunable": c.prunable_paths(),
        })
    }
    fn inputs(&self) -> Vec<StageLabel> {
        Vec::new()
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let c = &self.context;
        let path = &self.weights.path;
        // The stage key holds the hash taken when the plan was made; refuse a file changed since.
        let digest = file_digest(path)?;
        if digest != self.weights.digest {
            bail!(
                "{} changed while pvr was running (its content no longer matches the plan); run again",
                path.display()
            );
        }
        let imported = import_weights(path, &c.network, &c.device.device())?;
        let outside: Vec<&str> = imported
            .masks
            .tensors
            .keys()
            .filter(|masked| !c.prunable.iter().any(|p| &p.path == *masked))
            .map(String::as_str)
            .collect();
        if !outside.is_empty() {
            bail!(
                "{}: the checkpoint masks {} but prune.include/exclude leave them out of the prunable set; include them, or load the weights without their masks",
                path.display(),
                outside.join(", ")
            );
        }
        // Every prunable tensor has a mask; those the file did not prune keep everything.
        let mut masks = Masks::default();
        for param in &c.prunable {
            match imported.masks.tensors.get(&param.path) {
                Some(mask) => {
                    masks.tensors.insert(param.path.clone(), mask.clone());
                }
                None => masks.ensure(&param.path, param.numel()),
            }
        }
        let masks = masks.with_shapes(
            &c.prunable
                .iter()
                .map(|p| (p.path.clone(), p.shape.clone()))
                .collect(),
        );
        let report = &imported.report;
        ctx.progress.note(&format!(
            "round {}: {} tensors from {} ({:?}{}), {} masked",
            self.round,
            report.tensors,
            path.display(),
            report.format,
            if report.state_dict_prefix.is_empty() {
                String::new()
            } else {
                format!(
                    ", under `{}`",
                    report.state_dict_prefix.trim_end_matches('.')
                )
            },
            report.masked.len()
        ));
        let measured = measure_sparsity(&imported.network, &c.prunable);
        let record = RoundRecord {
            round: self.round,
            network: c.network.clone(),
            // No schedule made this model: what it is is what it was meant to be.
            expected_sparsity: measured.sparsity,
            measured,
            global_magnitude_threshold: None,
            removed_this_round: 0,
            history: Vec::new(),
            train_seconds: 0.0,
        };
        std::fs::write(
            ctx.out_dir.join(IMPORT_FILE),
            serde_json::to_vec_pretty(&json!({
                "file_name": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                "weights_blake3": self.weights.digest,
                "report": report,
            }))?,
        )?;
        save_checkpoint(ctx.out_dir, &imported.network, &masks, &record)
    }
}
