//! Writing a pvr network as a safetensors file with torchvision's names and layouts, loadable
//! with `model.load_state_dict(safetensors.torch.load_file(path))`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use std::sync::Arc;

use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{
    BurnToPyTorchAdapter, ModuleAdapter, ModuleContext, ModuleSnapshot, PathFilter, bridge,
};
use burn::tensor::TensorData;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensorError};
use serde_json::{Value, json};

use super::names::{BufferValues, derived_buffers, to_torch_name};
use crate::models::{Architecture, Network, NetworkConfig, Stem};
use crate::prune::Masks;

/// How pruned tensors are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskLayout {
    /// Plain `weight` tensors (pruned entries are zero): loads into a stock torchvision model.
    Applied,
    /// torch.nn.utils.prune's `weight_orig` + `weight_mask` for every pruned tensor: loads into
    /// a model prepared with `prune.custom_from_mask`/`prune.identity`, and back into pvr
    /// with its masks.
    PrunePairs,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    pub tensors: usize,
    pub masked: usize,
    pub bytes: u64,
}

/// What a reader needs to rebuild the network before loading the weights: the architecture's
/// shape, width, stem, class count and input size, as safetensors metadata (strings). The whole
/// configuration is also kept as JSON under `network` for shapes a few keys cannot say.
pub fn model_metadata(config: &NetworkConfig, image_size: usize) -> BTreeMap<String, String> {
    let stem = match config.stem {
        Stem::Small => "small",
        Stem::Imagenet => "imagenet",
    };
    BTreeMap::from([
        ("width".to_string(), config.width.to_string()),
        ("stem".to_string(), stem.to_string()),
        ("num_classes".to_string(), config.num_classes.to_string()),
        ("image_size".to_string(), image_size.to_string()),
        ("shape".to_string(), config.describe()),
        (
            "network".to_string(),
            serde_json::to_string(config).expect("a network config serialises"),
        ),
    ])
}

/// Writes `network` (its masks as `layout` says) to `path`, with `model` (see
/// [`model_metadata`]) added to the file's metadata. The buffers torchvision stores and pvr
/// derives ([`derived_buffers`]) are written too, so that a strict `load_state_dict` accepts
/// the file; batch norm's `num_batches_tracked`, which pvr does not count, as 0.
pub fn export_safetensors(
    network: &Network,
    masks: &Masks,
    arch: Architecture,
    model: &BTreeMap<String, String>,
    layout: MaskLayout,
    path: &Path,
) -> anyhow::Result<ExportSummary> {
    let torch_masks = match layout {
        MaskLayout::Applied => BTreeMap::new(),
        MaskLayout::PrunePairs => masks_in_torch_layout(network, masks, arch)?,
    };
    let mut file = SafetensorsWriter::default();
    let tensors = network.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true);
    let names: Vec<String> = tensors
        .iter()
        .map(|tensor| to_torch_name(arch, &tensor.name))
        .collect();
    for buffer in derived_buffers(arch, &names) {
        match &buffer.values {
            BufferValues::I64(values) => file.add_i64(&buffer.name, buffer.shape.clone(), values),
            BufferValues::F32(values) => file.add_f32(&buffer.name, buffer.shape.clone(), values),
        }
    }
    for (tensor, name) in tensors.into_iter().zip(names) {
        let shape = tensor.shape.to_vec();
        let values = bridge::to_data(&tensor)
            .map_err(|err| anyhow::anyhow!("reading `{name}`: {err}"))?
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|err| anyhow::anyhow!("reading `{name}`: {err:?}"))?;
        match torch_masks.get(&name) {
            Some(mask) => {
                file.add_f32(&format!("{name}_orig"), shape.clone(), &values);
                file.add_f32(&format!("{name}_mask"), shape, mask);
            }
            None => file.add_f32(&name, shape, &values),
        }
    }
    let mut metadata = json!({
        "format": "pt",
        "producer": format!("pvr {}", crate::PVR_VERSION),
        "arch": arch.name(),
    });
    for (key, value) in model {
        metadata[key] = Value::String(value.clone());
    }
    let bytes = file
        .write(path, metadata)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(ExportSummary {
        tensors: file.tensors.len(),
        masked: torch_masks.len(),
        bytes,
    })
}

/// Masks of the tensors with pruned entries, in torchvision's layout, by torchvision name.
/// Each mask stands in for its weight in a collection through the same adapter as the
/// weights, so a linear mask is transposed exactly as its weight is.
fn masks_in_torch_layout(
    network: &Network,
    masks: &Masks,
    arch: Architecture,
) -> anyhow::Result<BTreeMap<String, Vec<f32>>> {
    let pruned: BTreeMap<String, Vec<f32>> = masks
        .tensors
        .iter()
        .filter(|(_, mask)| mask.kept() < mask.keep.len())
        .map(|(path, mask)| {
            let values = mask.keep.iter().map(|&k| f32::from(u8::from(k))).collect();
            (path.clone(), values)
        })
        .collect();
    if pruned.is_empty() {
        return Ok(BTreeMap::new());
    }
    let filter = PathFilter::new().with_full_paths(pruned.keys().cloned());
    let adapter = MaskInPlace {
        masks: Arc::new(pruned),
    }
    .chain(BurnToPyTorchAdapter);
    let mut out = BTreeMap::new();
    for tensor in network.collect(Some(filter), Some(Box::new(adapter)), true) {
        let name = to_torch_name(arch, &tensor.name);
        let values = bridge::to_data(&tensor)
            .map_err(|err| anyhow::anyhow!("reading the mask of `{name}`: {err}"))?
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|err| anyhow::anyhow!("reading the mask of `{name}`: {err:?}"))?;
        out.insert(name, values);
    }
    Ok(out)
}

/// Replaces a weight's data by its mask (pvr layout, 0/1), keeping name and shape.
#[derive(Clone)]
struct MaskInPlace {
    masks: Arc<BTreeMap<String, Vec<f32>>>,
}

impl ModuleAdapter for MaskInPlace {
    fn adapt(&self, tensor: PackTensor, _ctx: ModuleContext<'_>) -> PackTensor {
        match self.masks.get(&tensor.name) {
            Some(mask) => bridge::from_data(
                TensorData::new(mask.clone(), tensor.shape.to_vec()),
                tensor.name.clone(),
                tensor.param_id,
            ),
            None => tensor,
        }
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

/// Tensors gathered for one safetensors file (written through the `safetensors` crate).
#[derive(Default)]
struct SafetensorsWriter {
    tensors: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>,
}

impl SafetensorsWriter {
    fn add_f32(&mut self, name: &str, shape: Vec<usize>, values: &[f32]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors
            .insert(name.to_string(), (Dtype::F32, shape, bytes));
    }

    fn add_i64(&mut self, name: &str, shape: Vec<usize>, values: &[i64]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors
            .insert(name.to_string(), (Dtype::I64, shape, bytes));
    }

    /// Writes the file with `metadata`'s string values; returns its size.
    fn write(&self, path: &Path, metadata: Value) -> anyhow::Result<u64> {
        let views = self
            .tensors
            .iter()
            .map(|(name, (dtype, shape, bytes))| {
                Ok((
                    name.as_str(),
                    TensorView::new(*dtype, shape.clone(), bytes)?,
                ))
            })
            .collect::<Result<Vec<_>, SafeTensorError>>()?;
        let metadata: HashMap<String, String> = metadata
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let out = safetensors::serialize(views, Some(metadata))?;
        std::fs::write(path, &out)?;
        Ok(out.len() as u64)
    }
}
