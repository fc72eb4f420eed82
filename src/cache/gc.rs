//! Listing entries and garbage-collecting the ones no experiment needs any more.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use super::manifest::{MANIFEST_FILE, Manifest};
use super::{Cache, ENTRIES_DIR, SCRATCH_DIR, atomic, check_key};

/// One entry directory as listed by [`Cache::entries`] (from its manifest, not re-verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    pub key: String,
    /// Empty when the manifest is missing or unreadable (an unfinished or damaged entry).
    pub label: String,
    pub kind: String,
    /// Bytes on disk, all files in the entry dir included.
    pub bytes: u64,
    /// Commit time in unix seconds; 0 when the manifest is unreadable.
    pub created_unix: u64,
}

/// What [`Cache::gc`] removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub removed: Vec<EntryInfo>,
    /// Keys whose scratch dir was removed (those of removed entries and orphaned ones).
    pub removed_scratch: Vec<String>,
    /// Entry plus scratch bytes.
    pub bytes_freed: u64,
}

impl Cache {
    /// All entry dirs, sorted by key. Cheap: reads manifests but does not hash files.
    pub fn entries(&self) -> Result<Vec<EntryInfo>> {
        let mut infos = Vec::new();
        let entries = self.root.join(ENTRIES_DIR);
        for shard in read_dir_paths(&entries)? {
            if !shard.is_dir() {
                continue;
            }
            for dir in read_dir_paths(&shard)? {
                let Some(key) = dir.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if check_key(key).is_err() {
                    continue;
                }
                let manifest: Option<Manifest> = fs::read(dir.join(MANIFEST_FILE))
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok());
                infos.push(EntryInfo {
                    key: key.to_string(),
                    label: manifest
                        .as_ref()
                        .map(|m| m.label.clone())
                        .unwrap_or_default(),
                    kind: manifest
                        .as_ref()
                        .map(|m| m.kind.clone())
                        .unwrap_or_default(),
                    bytes: atomic::tree_size(&dir)?,
                    created_unix: manifest.map_or(0, |m| m.created_unix),
                });
            }
        }
        infos.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(infos)
    }

    /// Removes every entry whose key is not in `keep`, with its scratch dir, plus scratch dirs
    /// of keys not in `keep` that have no entry (abandoned resumable runs). With `dry_run`,
    /// only reports. Label records are left alone: they only feed diagnostics.
    pub fn gc(&self, keep: &HashSet<String>, dry_run: bool) -> Result<GcReport> {
        let mut report = GcReport::default();
        for info in self.entries()? {
            if keep.contains(&info.key) {
                continue;
            }
            if !dry_run {
                self.discard(&self.entry_dir(&info.key), &format!("gc-{}", info.key))?;
            }
            report.bytes_freed += info.bytes;
            report.removed.push(info);
        }
        let scratch_root = self.root.join(SCRATCH_DIR);
        for dir in read_dir_paths(&scratch_root)? {
            let Some(key) = dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if check_key(key).is_err() || keep.contains(key) {
                continue;
            }
            report.bytes_freed += atomic::tree_size(&dir)?;
            if !dry_run {
                atomic::remove_path(&dir)?;
            }
            report.removed_scratch.push(key.to_string());
        }
        report.removed_scratch.sort();
        Ok(report)
    }
}

/// Paths of a directory's children; a missing directory has none.
fn read_dir_paths(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    listing
        .map(|item| {
            item.map(|i| i.path())
                .with_context(|| format!("listing {}", dir.display()))
        })
        .collect()
}
