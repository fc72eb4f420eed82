//! Content fingerprints of dataset files: blake3 of every file's bytes, computed in parallel,
//! with a persistent stat cache so an unchanged tree is re-verified by `stat` alone.
//!
//! A dataset's fingerprint enters the keys of the stages that read it, so it must change when a
//! single pixel does, not only when a size does. Hashing ImageNet takes minutes; the cache maps
//! `(path, size, mtime_ns, inode)` to the hash and makes the next check take seconds. A file
//! whose modification time is too recent to be trusted (it could change again within the
//! clock's resolution, as git's "racy" entries) is hashed but not cached.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::files::atomic::write_atomic;

/// Where the stat caches live unless `PVR_HASH_CACHE` says otherwise.
pub(super) fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PVR_HASH_CACHE").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("pvr").join("file-hashes"))
}

/// What `stat` says about a file; the cached hash is reused only when all of it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stat {
    size: u64,
    mtime_ns: i128,
    inode: u64,
}

impl Stat {
    fn of(path: &Path) -> anyhow::Result<Stat> {
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Stat {
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            inode: meta.ino(),
        })
    }

    /// Modified so recently that another write could still land in the same clock tick.
    fn is_racy(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos() as i128;
        now - self.mtime_ns < 2_000_000_000
    }
}

#[derive(Default, Serialize, Deserialize)]
struct StatCache {
    /// Path relative to the root -> (stat, hex hash).
    files: HashMap<String, (Stat, String)>,
}

/// blake3 of each file under `root` (paths relative to it, `/`-separated), in order.
///
/// Uses and refreshes the stat cache of `root`; a missing or unreadable cache only costs time.
pub fn hash_files(root: &Path, relative: &[String]) -> anyhow::Result<Vec<String>> {
    let cache_file = cache_file(root);
    let cache: StatCache = cache_file
        .as_deref()
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let results: Vec<(String, Stat, bool)> = relative
        .par_iter()
        .map(|rel| {
            let path = root.join(rel);
            let stat = Stat::of(&path)?;
            if let Some((cached, hash)) = cache.files.get(rel)
                && *cached == stat
            {
                return Ok((hash.clone(), stat, false));
            }
            Ok((hash_file(&path)?, stat, true))
        })
        .collect::<anyhow::Result<_>>()?;
    if results.iter().any(|(_, _, fresh)| *fresh)
        && let Some(path) = cache_file
    {
        // Other callers (the other split, the masks beside the photos) share this root's
        // cache: keep their entries and refresh this call's.
        let mut cache = cache;
        for (rel, (hash, stat, _)) in relative.iter().zip(&results) {
            if stat.is_racy() {
                cache.files.remove(rel);
            } else {
                cache.files.insert(rel.clone(), (*stat, hash.clone()));
            }
        }
        // The cache only saves time: a read-only home or a full disk must not fail a run.
        let _ = save_cache(&path, &cache);
    }
    Ok(results.into_iter().map(|(hash, _, _)| hash).collect())
}

/// One digest of the files under `root`: their relative paths and content hashes, with `tag`
/// naming what kind of dataset they make.
pub fn tree_fingerprint(tag: &str, root: &Path, relative: &[String]) -> anyhow::Result<String> {
    let hashes = hash_files(root, relative)?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(tag.as_bytes());
    hasher.update(b"\0");
    for (rel, hash) in relative.iter().zip(&hashes) {
        hasher.update(rel.as_bytes());
        hasher.update(b"\0");
        hasher.update(hash.as_bytes());
        hasher.update(b"\0");
    }
    let digest = hasher.finalize().to_hex().to_string();
    super::listing::record_tree(&digest, relative, &hashes);
    Ok(digest)
}

fn hash_file(path: &Path) -> anyhow::Result<String> {
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(BufReader::with_capacity(1 << 16, file))
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// The stat cache of one dataset root, named by the root's canonical path.
fn cache_file(root: &Path) -> Option<PathBuf> {
    let canonical = root.canonicalize().ok()?;
    let name = blake3::hash(canonical.as_os_str().as_encoded_bytes()).to_hex();
    Some(cache_dir()?.join(format!("{}.json", &name[..32])))
}

fn save_cache(path: &Path, cache: &StatCache) -> anyhow::Result<()> {
    let dir = path.parent().context("cache file has a folder")?;
    std::fs::create_dir_all(dir)?;
    write_atomic(path, &serde_json::to_vec(cache)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_same_size_edit_or_swap_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), b"abcd").unwrap();
        std::fs::write(dir.path().join("b.png"), b"efgh").unwrap();
        let files = vec!["a.png".to_string(), "b.png".to_string()];
        let before = tree_fingerprint("t", dir.path(), &files).unwrap();
        assert_eq!(before, tree_fingerprint("t", dir.path(), &files).unwrap());
        std::fs::write(dir.path().join("a.png"), b"abce").unwrap();
        let after = tree_fingerprint("t", dir.path(), &files).unwrap();
        assert_ne!(before, after);
        // Two same-size files swapped between names.
        std::fs::write(dir.path().join("a.png"), b"efgh").unwrap();
        std::fs::write(dir.path().join("b.png"), b"abce").unwrap();
        assert_ne!(after, tree_fingerprint("t", dir.path(), &files).unwrap());
    }

    #[test]
    fn an_unchanged_stat_is_trusted_and_a_changed_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jpg");
        std::fs::write(&path, b"one").unwrap();
        let files = vec!["x.jpg".to_string()];
        let Some(cache_path) = cache_file(dir.path()) else {
            return; // no home folder to keep a cache in: nothing to test
        };
        // A cache entry with the file's exact stat but another hash is believed without
        // reading the file: that is what makes an unchanged tree cheap.
        let stat = Stat::of(&path).unwrap();
        let cache = StatCache {
            files: HashMap::from([("x.jpg".to_string(), (stat, "from-the-cache".to_string()))]),
        };
        save_cache(&cache_path, &cache).unwrap();
        assert_eq!(hash_files(dir.path(), &files).unwrap(), ["from-the-cache"]);
        // A changed size is not: the file is hashed again.
        std::fs::write(&path, b"three").unwrap();
        assert_eq!(
            hash_files(dir.path(), &files).unwrap(),
            [blake3::hash(b"three").to_hex().to_string()]
        );
        let _ = std::fs::remove_file(cache_path);
    }

    #[test]
    fn two_callers_of_one_root_keep_each_others_entries() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["train.png", "val.png"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let Some(cache_path) = cache_file(dir.path()) else {
            return;
        };
        let stat = |name: &str| Stat::of(&dir.path().join(name)).unwrap();
        let cache = StatCache {
            files: HashMap::from([("train.png".to_string(), (stat("train.png"), "t".into()))]),
        };
        save_cache(&cache_path, &cache).unwrap();
        // Hashing the other split (fresh, so the cache is rewritten) keeps the first one's entry.
        hash_files(dir.path(), &["val.png".to_string()]).unwrap();
        let kept: StatCache = serde_json::from_slice(&std::fs::read(&cache_path).unwrap()).unwrap();
        assert_eq!(kept.files["train.png"].1, "t");
        let _ = std::fs::remove_file(cache_path);
    }

    #[test]
    fn a_just_written_file_is_racy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new");
        std::fs::write(&path, b"x").unwrap();
        assert!(Stat::of(&path).unwrap().is_racy());
    }
}
