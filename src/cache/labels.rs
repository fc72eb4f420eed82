//! Label records: the key each stage label last resolved to, per experiment, so `pvr status` can
//! say *why* a stage is stale (which params or inputs changed) rather than just "new key".

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::{Cache, LABELS_DIR, write_atomic};

/// What a stage label resolved to on its last build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRecord {
    pub key: String,
    pub kind: String,
    pub params: serde_json::Value,
    /// Upstream stages as `(label, key)`.
    pub inputs: Vec<(String, String)>,
}

impl Cache {
    /// Remembers `rec` as the latest build of `label` in `experiment` (atomic overwrite).
    pub fn record_label(&self, experiment: &str, label: &str, rec: &LabelRecord) -> Result<()> {
        let path = self.label_path(experiment, label)?;
        let dir = path.parent().expect("label path has a parent");
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let json = serde_json::to_vec_pretty(rec).context("serializing label record")?;
        write_atomic(&path, &json)
    }

    /// The latest record for `label` in `experiment`, if any. An unparseable record (e.g. from
    /// an incompatible pvr) counts as absent: it only feeds diagnostics.
    pub fn last_label(&self, experiment: &str, label: &str) -> Result<Option<LabelRecord>> {
        let path = self.label_path(experiment, label)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn label_path(&self, experiment: &str, label: &str) -> Result<PathBuf> {
        Ok(self
            .root
            .join(LABELS_DIR)
            .join(file_name_for(experiment)?)
            .join(format!("{}.json", file_name_for(label)?)))
    }
}

/// Escapes a name into one safe path component, injectively (`prune[3]` → `prune%5B3%5D`), so
/// two labels never share a record file.
fn file_name_for(name: &str) -> Result<String> {
    if name.is_empty() {
        bail!("empty experiment or stage label");
    }
    let mut out = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        let plain = byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-';
        // A leading dot would make "." / ".." or a hidden file.
        if plain || (byte == b'.' && i > 0) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name_for("prune[3]").unwrap(), "prune%5B3%5D");
        assert_eq!(file_name_for("..").unwrap(), "%2E.");
        assert_eq!(file_name_for("a/b").unwrap(), "a%2Fb");
        assert_ne!(
            file_name_for("prune(3)").unwrap(),
            file_name_for("prune[3]").unwrap()
        );
        assert!(file_name_for("").is_err());
    }

    #[test]
    fn label_record_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        assert_eq!(cache.last_label("exp", "prune[3]").unwrap(), None);
        let rec = LabelRecord {
            key: "ab".repeat(32),
            kind: "prune".into(),
            params: json!({"sparsity": 0.5}),
            inputs: vec![("train".into(), "cd".repeat(32))],
        };
        cache.record_label("exp", "prune[3]", &rec).unwrap();
        assert_eq!(
            cache.last_label("exp", "prune[3]").unwrap(),
            Some(rec.clone())
        );
        assert_eq!(cache.last_label("other", "prune[3]").unwrap(), None);
        assert!(dir.path().join("labels/exp/prune%5B3%5D.json").is_file());
    }
}
