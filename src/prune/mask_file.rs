//! Masks on disk as a safetensors file of `uint8` tensors (1 = kept), one per parameter path,
//! so that numpy/PyTorch users can open them with `safetensors.numpy.load_file`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, bail};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensorError, SafeTensors};

use super::{Mask, Masks};

pub fn save_masks(masks: &Masks, path: &Path) -> anyhow::Result<()> {
    let bytes: Vec<(&String, &Mask, Vec<u8>)> = masks
        .tensors
        .iter()
        .map(|(name, mask)| (name, mask, mask.keep.iter().map(|&k| u8::from(k)).collect()))
        .collect();
    let views = bytes
        .iter()
        .map(|(name, mask, data)| {
            let view = TensorView::new(Dtype::U8, mask.shape.clone(), data)?;
            Ok((name.as_str(), view))
        })
        .collect::<Result<Vec<_>, SafeTensorError>>()?;
    let metadata = HashMap::from([
        ("format".to_string(), "pvr-masks".to_string()),
        ("version".to_string(), "1".to_string()),
    ]);
    let file = safetensors::serialize(views, Some(metadata))?;
    std::fs::write(path, file).with_context(|| format!("writing masks {}", path.display()))
}

pub fn load_masks(path: &Path) -> anyhow::Result<Masks> {
    let bytes = std::fs::read(path).with_context(|| format!("reading masks {}", path.display()))?;
    let invalid = |why: String| anyhow::anyhow!("{} is not a pvr mask file: {why}", path.display());
    let file = SafeTensors::deserialize(&bytes).map_err(|err| invalid(err.to_string()))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::U8 {
            bail!(invalid(format!("{name} is {:?}, not U8", view.dtype())));
        }
        let keep = view.data().iter().map(|&b| b != 0).collect();
        let shape = view.shape().to_vec();
        tensors.insert(name, Mask { shape, keep });
    }
    Ok(Masks { tensors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_round_trip_through_safetensors() {
        let mut masks = Masks::default();
        masks.tensors.insert(
            "conv1.weight".into(),
            Mask {
                shape: vec![2, 1, 1, 2],
                keep: vec![true, false, false, true],
            },
        );
        masks.tensors.insert(
            "fc.weight".into(),
            Mask {
                shape: vec![3],
                keep: vec![false, true, true],
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("masks.safetensors");
        save_masks(&masks, &path).unwrap();
        assert_eq!(load_masks(&path).unwrap(), masks);
        std::fs::write(&path, b"garbage!").unwrap();
        assert!(load_masks(&path).is_err());
    }
}
