//! `manifest.json`: the record that makes an entry complete. It is written last, so its presence
//! (plus matching hashes) is the proof that every output file was fully written.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// File name of the manifest inside an entry directory; stages may not produce a file by this name.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Everything recorded about a committed entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`crate::CACHE_SCHEMA_VERSION`] at write time; other versions are never trusted.
    pub schema: u32,
    /// The stage key (64 hex chars) this entry was built for.
    pub key: String,
    /// Human stage label, e.g. `prune[3]`.
    pub label: String,
    /// Stage kind, e.g. `prune`.
    pub kind: String,
    /// The stage's parameters, as hashed into the key.
    pub params: serde_json::Value,
    /// Upstream stages as `(label, key)`.
    pub inputs: Vec<(String, String)>,
    /// Every output file, sorted by path.
    pub files: Vec<OutputFile>,
    /// Wall-clock seconds the stage took to compute.
    pub seconds: f64,
    /// [`crate::PVR_VERSION`] of the writer, for forensics only.
    pub pvr_version: String,
    /// Commit time, unix seconds.
    pub created_unix: u64,
    /// The machine that computed the entry (entries written before this field say `""`).
    #[serde(default)]
    pub host: String,
}

/// One output file of an entry, as verified on every lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Path relative to the entry directory, `/`-separated.
    pub path: String,
    pub bytes: u64,
    /// blake3 of the content, lowercase hex.
    pub blake3: String,
}

/// What the stage runner knows at commit time; the cache adds key, files, versions and time.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestInfo {
    pub label: String,
    pub kind: String,
    pub params: serde_json::Value,
    pub inputs: Vec<(String, String)>,
    pub seconds: f64,
}

/// Size and blake3 hex of a file, streamed so large checkpoints need not fit in memory.
pub(super) fn hash_file(path: &Path) -> Result<(u64, String)> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(&file)
        .with_context(|| format!("hashing {}", path.display()))?;
    let bytes = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    Ok((bytes, hasher.finalize().to_hex().to_string()))
}

/// Hashes and fsyncs every file under `dir` (and fsyncs each subdirectory), returning them sorted
/// by relative path. Rejects symlinks and a top-level `manifest.json`, which would be ambiguous.
pub(super) fn collect_outputs(dir: &Path) -> Result<Vec<OutputFile>> {
    let mut files = Vec::new();
    let mut pending: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    while let Some((current, prefix)) = pending.pop() {
        for item in
            fs::read_dir(&current).with_context(|| format!("listing {}", current.display()))?
        {
            let item = item.with_context(|| format!("listing {}", current.display()))?;
            let path = item.path();
            let name = item.file_name();
            let Some(name) = name.to_str() else {
                bail!("output file name {} is not UTF-8", path.display());
            };
            let rel = format!("{prefix}{name}");
            let file_type = item
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if file_type.is_dir() {
                super::atomic::fsync_dir(&path)?;
                pending.push((path, format!("{rel}/")));
            } else if file_type.is_file() {
                if rel == MANIFEST_FILE {
                    bail!(
                        "stage wrote {}, a name the cache reserves for itself",
                        path.display()
                    );
                }
                File::open(&path)
                    .and_then(|f| f.sync_all())
                    .with_context(|| format!("fsyncing {}", path.display()))?;
                let (bytes, blake3) = hash_file(&path)?;
                files.push(OutputFile {
                    path: rel,
                    bytes,
                    blake3,
                });
            } else {
                bail!(
                    "output {} is not a regular file or directory (symlinks are not cached)",
                    path.display()
                );
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Whether a manifest path stays inside its entry dir (a tampered `../x` must not be read).
pub(super) fn is_safe_rel_path(rel: &str) -> bool {
    !rel.is_empty()
        && rel != MANIFEST_FILE
        && !rel.contains('\\')
        && rel
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && !Path::new(rel).has_root()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_nested_files_sorted_with_hashes() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
        fs::write(dir.path().join("z.txt"), b"zz").unwrap();
        fs::write(dir.path().join("sub/deeper/a.bin"), b"hello").unwrap();
        let files = collect_outputs(dir.path()).unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["sub/deeper/a.bin", "z.txt"]);
        assert_eq!(files[0].bytes, 5);
        assert_eq!(files[0].blake3, blake3::hash(b"hello").to_hex().to_string());
    }

    #[test]
    fn rejects_reserved_manifest_name() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MANIFEST_FILE), b"{}").unwrap();
        let err = collect_outputs(dir.path()).unwrap_err();
        assert!(err.to_string().contains("reserves"), "{err}");
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for bad in [
            "",
            "../x",
            "a/../b",
            "/etc/passwd",
            "a//b",
            "./a",
            "a\\b",
            MANIFEST_FILE,
        ] {
            assert!(!is_safe_rel_path(bad), "{bad:?}");
        }
        assert!(is_safe_rel_path("sub/model.bin"));
    }
}
