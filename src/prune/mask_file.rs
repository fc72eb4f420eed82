//! Masks on disk as a safetensors file of `uint8` tensors (1 = kept), one per parameter path,
//! so that numpy/PyTorch users can open them with `safetensors.numpy.load_file`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};

use super::{Mask, Masks};

pub fn save_masks(masks: &Masks, path: &Path) -> anyhow::Result<()> {
    let mut header = Map::new();
    let mut offset = 0usize;
    for (name, mask) in &masks.tensors {
        let end = offset + mask.keep.len();
        header.insert(
            name.clone(),
            json!({ "dtype": "U8", "shape": mask.shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    header.insert(
        "__metadata__".into(),
        json!({ "format": "pvr-masks", "version": "1" }),
    );
    let mut header_bytes = serde_json::to_vec(&Value::Object(header))?;
    // safetensors pads the header with spaces to a multiple of 8 bytes.
    while header_bytes.len() % 8 != 0 {
        header_bytes.push(b' ');
    }
    let mut bytes = Vec::with_capacity(8 + header_bytes.len() + offset);
    bytes.extend_from_slice(&(header_bytes.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header_bytes);
    for mask in masks.tensors.values() {
        bytes.extend(mask.keep.iter().map(|&k| u8::from(k)));
    }
    std::fs::write(path, bytes).with_context(|| format!("writing masks {}", path.display()))
}

pub fn load_masks(path: &Path) -> anyhow::Result<Masks> {
    let bytes = std::fs::read(path).with_context(|| format!("reading masks {}", path.display()))?;
    let invalid = |why: &str| anyhow::anyhow!("{} is not a pvr mask file: {why}", path.display());
    if bytes.len() < 8 {
        return Err(invalid("too short"));
    }
    let header_len = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    let data = bytes
        .get(8 + header_len..)
        .ok_or_else(|| invalid("truncated header"))?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes[8..8 + header_len])
        .map_err(|_| invalid("unreadable header"))?;
    let mut tensors = BTreeMap::new();
    for (name, info) in header {
        if name == "__metadata__" {
            continue;
        }
        let shape: Vec<usize> = serde_json::from_value(info["shape"].clone())?;
        let offsets: [usize; 2] = serde_json::from_value(info["data_offsets"].clone())?;
        if info["dtype"] != "U8" || offsets[1] > data.len() || offsets[0] > offsets[1] {
            bail!(invalid(&format!("bad entry for {name}")));
        }
        let keep: Vec<bool> = data[offsets[0]..offsets[1]]
            .iter()
            .map(|&b| b != 0)
            .collect();
        if keep.len() != shape.iter().product::<usize>() {
            bail!(invalid(&format!("shape of {name} does not match its data")));
        }
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
