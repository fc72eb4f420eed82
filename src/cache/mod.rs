//! The content-addressed stage cache.
//!
//! Layout under the root (default `cache/`):
//!
//! ```text
//! lock                       advisory lock; holder pid + start time for error messages
//! entries/<k[0..2]>/<key>/   committed entries: output files + manifest.json (written last)
//! tmp/                       entries being built and corrupt entries being deleted;
//!                            emptied whenever the lock is taken
//! scratch/<key>/             resumable per-stage state (checkpoints), cleared after commit
//! labels/<experiment>/       last key built per stage label, for "why stale" in `pvr status`
//! runs/<unix>-<pid>.json     the keys each run reached, so `pvr gc` keeps what ran lately
//! ```
//!
//! An entry only appears under `entries/` by an atomic rename of a fully written, fsynced temp
//! dir, and every lookup re-verifies sizes and blake3 hashes, so a killed run or a flipped byte
//! can cost a rebuild but never a wrong result.
//!
//! Writers (`begin`/`commit`, `gc`, `clear_scratch`) must hold [`CacheLock`] from
//! [`Cache::lock`]: taking the lock deletes everything in `tmp/`, which is only safe because no
//! other process can be building there at that moment.

use crate::files::atomic;
mod clock;
mod diff;
mod entry;
mod gc;
mod labels;
mod lease;
mod lock;
mod manifest;
mod runs;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use crate::files::atomic::{TEMP_PREFIX, write_atomic};
pub use clock::{format_utc, unix_now};
pub use diff::diff_params;
pub use entry::{Entry, EntryWriter, Lookup};
pub use gc::{EntryInfo, GcReport};
pub use labels::LabelRecord;
pub use lease::{HEARTBEAT, Lease, STALE_AFTER};
pub use lock::{CacheBusy, CacheLock, LockHolder};
pub use manifest::{MANIFEST_FILE, Manifest, ManifestInfo, OutputFile};
pub use runs::RunRecord;

const ENTRIES_DIR: &str = "entries";
const TMP_DIR: &str = "tmp";
const SCRATCH_DIR: &str = "scratch";
const LABELS_DIR: &str = "labels";
const RUNS_DIR: &str = "runs";
const LOCK_FILE: &str = "lock";
/// Standard marker (bford.info/cachedir) so backup tools skip the cache.
const CACHEDIR_TAG: &str = "CACHEDIR.TAG";
const CACHEDIR_TAG_BODY: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
    # This file is a cache directory tag created by pvr.\n";

/// Handle on a cache root. Cheap, `Send + Sync`; share it by reference across stage threads.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// Opens the cache at `root`, creating the directory layout if missing. Takes no lock.
    pub fn open(root: impl Into<PathBuf>) -> Result<Cache> {
        let root = root.into();
        for sub in [ENTRIES_DIR, TMP_DIR, SCRATCH_DIR, LABELS_DIR] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir)
                .with_context(|| format!("creating cache directory {}", dir.display()))?;
        }
        let tag = root.join(CACHEDIR_TAG);
        if !tag.exists() {
            write_atomic(&tag, CACHEDIR_TAG_BODY.as_bytes())?;
        }
        Ok(Cache { root })
    }

    /// The root directory this cache lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Per-key directory for resumable state (e.g. training checkpoints), created if missing.
    /// Write into it with [`write_atomic`] so a resume never reads a half-written file.
    pub fn scratch_dir(&self, key: &str) -> Result<PathBuf> {
        let dir = self.scratch_path(key)?;
        fs::create_dir_all(&dir)
            .with_context(|| format!("creating scratch directory {}", dir.display()))?;
        Ok(dir)
    }

    /// Deletes a key's scratch directory (call after a successful commit); missing is fine.
    pub fn clear_scratch(&self, key: &str) -> Result<()> {
        atomic::remove_path(&self.scratch_path(key)?)
    }

    fn scratch_path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(SCRATCH_DIR).join(key))
    }

    /// Where a committed entry for `key` lives (the key must already be validated).
    fn entry_dir(&self, key: &str) -> PathBuf {
        self.root.join(ENTRIES_DIR).join(&key[..2]).join(key)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join(TMP_DIR)
    }

    /// Moves `path` into `tmp/` (atomic, so it vanishes at once) and then deletes it. If deletion
    /// is interrupted, the next [`Cache::lock`] finishes the job.
    fn discard(&self, path: &Path, tag: &str) -> Result<()> {
        let trash = self
            .tmp_dir()
            .join(format!("trash-{tag}-{}", atomic::unique_suffix()));
        match fs::rename(path, &trash) {
            Ok(()) => atomic::remove_path(&trash),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            // Renaming failed for another reason (e.g. tmp/ on another mount): delete in place.
            Err(_) => atomic::remove_path(path),
        }
    }
}

/// Accepts only lowercase 64-hex-char blake3 keys: anything else is a caller bug, and refusing it
/// keeps keys safe to use as path components.
pub fn check_key(key: &str) -> Result<()> {
    if key.len() != 64 || !key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        bail!("invalid cache key {key:?}: expected 64 lowercase hex characters (a blake3 hash)");
    }
    Ok(())
}
