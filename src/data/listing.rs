//! Which files a data fingerprint covered, kept so that `pvr status` can say which files
//! changed between the data a stage was built from and the data on disk now, instead of
//! showing two hashes.
//!
//! [`tree_fingerprint`](super::fingerprint::tree_fingerprint) records each tree it digests
//! (relative path and content hash per file) under the digest; a dataset whose fingerprint
//! wraps a tree digest with other settings records the link ([`record_derived`]). Both live
//! beside the stat cache, in `listings/`. Recording is best effort: a listing that cannot be
//! written only costs `status` the file names. Trees of more than [`MAX_LISTED_FILES`] files
//! (ImageNet's training split) are not listed: a listing would cost about 100 MB per version.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use crate::files::atomic::write_atomic;

/// The largest tree whose file list is kept.
pub const MAX_LISTED_FILES: usize = 200_000;

/// Hash digits kept per file: enough to tell contents apart, half the size of the full hash.
const HASH_DIGITS: usize = 16;

fn listing_dir() -> Option<PathBuf> {
    Some(super::fingerprint::cache_dir()?.join("listings"))
}

/// Writes `contents` to `listings/<name>` unless this process or an earlier one already did.
fn write_once(name: &str, contents: impl FnOnce() -> String) {
    static WRITTEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let written = WRITTEN.get_or_init(Default::default);
    if !written
        .lock()
        .map(|mut w| w.insert(name.to_string()))
        .unwrap_or(false)
    {
        return;
    }
    let Some(dir) = listing_dir() else { return };
    let path = dir.join(name);
    if path.exists() {
        return;
    }
    let _ = std::fs::create_dir_all(&dir)
        .and_then(|()| write_atomic(&path, contents().as_bytes()).map_err(std::io::Error::other));
}

/// Records the files (relative path, content hash) of the tree digested as `tree`.
pub fn record_tree(tree: &str, files: &[String], hashes: &[String]) {
    if files.len() > MAX_LISTED_FILES {
        return;
    }
    write_once(&format!("{tree}.tree"), || {
        files
            .iter()
            .zip(hashes)
            .map(|(file, hash)| format!("{}\t{file}\n", &hash[..HASH_DIGITS.min(hash.len())]))
            .collect()
    });
}

/// Records that dataset fingerprint `fingerprint` covers the files of tree `tree`.
pub fn record_derived(fingerprint: &str, tree: &str) {
    if fingerprint != tree {
        write_once(&format!("{fingerprint}.link"), || tree.to_string());
    }
}

/// The files a fingerprint covered, by relative path; `None` when they were not recorded.
fn files_of(fingerprint: &str) -> Option<BTreeMap<String, String>> {
    let dir = listing_dir()?;
    let tree = match std::fs::read_to_string(dir.join(format!("{fingerprint}.link"))) {
        Ok(tree) => tree.trim().to_string(),
        Err(_) => fingerprint.to_string(),
    };
    let text = std::fs::read_to_string(dir.join(format!("{tree}.tree"))).ok()?;
    text.lines()
        .map(|line| {
            let (hash, file) = line.split_once('\t')?;
            Some((file.to_string(), hash.to_string()))
        })
        .collect()
}

/// How the files behind two fingerprints differ.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FileChanges {
    pub modified: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// The files that differ between the data fingerprinted `old` and `new`; `None` when either
/// listing is not known (the data is generated, too large to list, or was fingerprinted by a
/// pvr that kept no listings).
pub fn changed_files(old: &str, new: &str) -> Option<FileChanges> {
    let (old, new) = (files_of(old)?, files_of(new)?);
    let mut changes = FileChanges::default();
    for (file, hash) in &new {
        match old.get(file) {
            None => changes.added.push(file.clone()),
            Some(before) if before != hash => changes.modified.push(file.clone()),
            Some(_) => {}
        }
    }
    changes.removed = old
        .keys()
        .filter(|f| !new.contains_key(*f))
        .cloned()
        .collect();
    Some(changes)
}

impl FileChanges {
    pub fn is_empty(&self) -> bool {
        self.modified.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

/// `2 modified (train/a/0.png, train/b/0.png), 1 added (train/c/9.png)`: at most three names
/// per kind.
impl fmt::Display for FileChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (what, files) in [
            ("modified", &self.modified),
            ("added", &self.added),
            ("removed", &self.removed),
        ] {
            if files.is_empty() {
                continue;
            }
            let shown: Vec<&str> = files.iter().take(3).map(String::as_str).collect();
            let more = files.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            parts.push(format!(
                "{} {what} ({}{tail})",
                files.len(),
                shown.join(", ")
            ));
        }
        if parts.is_empty() {
            // Same files, same bytes: the settings wrapped around them changed.
            return f.write_str("same files, other settings");
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fingerprint::tree_fingerprint;

    #[test]
    fn names_the_modified_added_and_removed_files() {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
        write("a.png", b"abcd");
        write("b.png", b"efgh");
        write("c.png", b"ijkl");
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let before =
            tree_fingerprint("t", dir.path(), &names(&["a.png", "b.png", "c.png"])).unwrap();
        write("a.png", b"abce"); // same size, other bytes
        write("d.png", b"new!");
        let after =
            tree_fingerprint("t", dir.path(), &names(&["a.png", "b.png", "d.png"])).unwrap();
        if listing_dir().is_none() {
            return; // no home folder to keep listings in
        }
        let changes = changed_files(&before, &after).unwrap();
        assert_eq!(
            changes,
            FileChanges {
                modified: names(&["a.png"]),
                added: names(&["d.png"]),
                removed: names(&["c.png"]),
            }
        );
        assert_eq!(
            changes.to_string(),
            "1 modified (a.png), 1 added (d.png), 1 removed (c.png)"
        );
        // A fingerprint wrapping the tree digest resolves to the same files.
        record_derived("wrapped-before", &before);
        assert_eq!(changed_files("wrapped-before", &after).unwrap(), changes);
        assert!(changed_files("never-recorded", &after).is_none());
    }

    #[test]
    fn long_lists_are_cut_to_three_names() {
        let changes = FileChanges {
            modified: (0..5).map(|i| format!("{i}.png")).collect(),
            ..FileChanges::default()
        };
        assert_eq!(
            changes.to_string(),
            "5 modified (0.png, 1.png, 2.png and 2 more)"
        );
        assert_eq!(
            FileChanges::default().to_string(),
            "same files, other settings"
        );
    }
}
