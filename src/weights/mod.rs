//! torchvision weights in and out of pvr's networks.
//!
//! Reading takes PyTorch checkpoints (`torch.save` of a state dict, or of a dict holding one
//! such as torchvision's reference `train.py` checkpoints) and safetensors files; the
//! format is told from the content. Names are mapped per architecture ([`names`]), shapes are
//! checked, and tensors pruned with torch.nn.utils.prune (`weight_orig` + `weight_mask`) load
//! as `weight_orig * weight_mask` with the mask becoming pvr's. Writing produces safetensors
//! with torchvision's names, loadable by a stock torchvision model.

mod export;
mod import;
pub mod names;
mod pickle_scan;
mod read;

pub use export::{ExportSummary, MaskLayout, export_safetensors, model_metadata};
pub use import::{ImportReport, ImportedWeights, import_weights, torch_layout};
pub use pickle_scan::foreign_globals;
pub use read::{WeightsFormat, read_tensors};

/// blake3 of a file's content (hex): what enters a stage key for a weights file, so that a
/// moved or renamed file keeps its cache entries and a changed one does not.
pub fn file_digest(path: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context;
    let mut hasher = blake3::Hasher::new();
    let file = std::fs::File::open(path)
        .with_context(|| format!("opening weights file {}", path.display()))?;
    hasher
        .update_reader(file)
        .with_context(|| format!("reading weights file {}", path.display()))?;
    Ok(hasher.finalize().to_hex().to_string())
}
