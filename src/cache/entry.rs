//! Entries: building one in a temp dir, publishing it by rename, and verifying it on lookup.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;

use super::manifest::{self, MANIFEST_FILE, Manifest, ManifestInfo};
use super::{Cache, atomic, check_key, clock};

/// A committed, verified cache entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    /// The entry directory holding the output files.
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Entry {
    /// Absolute path of an output file, given its path relative to the entry (`/`-separated).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Reads and parses a JSON output file.
    pub fn read_json<T: DeserializeOwned>(&self, rel: &str) -> Result<T> {
        let path = self.path(rel);
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    }
}

/// Outcome of looking a key up.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per lookup and matched at once; a Box would only add noise"
)]
pub enum Lookup {
    /// Complete and verified; safe to use.
    Hit(Entry),
    /// Never built, or the build did not finish.
    Missing,
    /// Present but damaged; `reason` names the file and the mismatch. [`Cache::lookup`] has
    /// already removed it, so the caller reports it and rebuilds.
    Corrupt { reason: String },
}

impl Cache {
    /// Verifies the entry for `key`; a corrupt entry is removed (so it is rebuilt, never used)
    /// and reported as [`Lookup::Corrupt`]. The next lookup then says [`Lookup::Missing`].
    pub fn lookup(&self, key: &str) -> Result<Lookup> {
        let found = self.verify(key)?;
        if let Lookup::Corrupt { .. } = found {
            self.discard(&self.entry_dir(key), &format!("corrupt-{key}"))?;
        }
        Ok(found)
    }

    /// Like [`Cache::lookup`] but read-only: a corrupt entry is reported and left in place. For
    /// inspection (`pvr status`) without holding the lock.
    pub fn verify(&self, key: &str) -> Result<Lookup> {
        check_key(key)?;
        let dir = self.entry_dir(key);
        let manifest_path = dir.join(MANIFEST_FILE);
        let bytes = match fs::read(&manifest_path) {
            Ok(bytes) => bytes,
            // No manifest means the entry was never finished: nothing to trust, nothing wrong.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lookup::Missing),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                return Ok(Lookup::Missing);
            }
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", manifest_path.display()));
            }
        };
        let corrupt = |reason: String| Ok(Lookup::Corrupt { reason });
        let manifest: Manifest = match serde_json::from_slice(&bytes) {
            Ok(m) => m,
            Err(e) => return corrupt(format!("{}: unparseable: {e}", manifest_path.display())),
        };
        if manifest.schema != crate::CACHE_SCHEMA_VERSION {
            return corrupt(format!(
                "{}: schema version {}, expected {}",
                manifest_path.display(),
                manifest.schema,
                crate::CACHE_SCHEMA_VERSION
            ));
        }
        if manifest.key != key {
            return corrupt(format!(
                "{}: records key {}, expected {key}",
                manifest_path.display(),
                manifest.key
            ));
        }
        // Cheap size checks first, so a truncated file is caught without hashing the rest.
        for file in &manifest.files {
            if !manifest::is_safe_rel_path(&file.path) {
                return corrupt(format!(
                    "{}: lists unsafe path {:?}",
                    manifest_path.display(),
                    file.path
                ));
            }
            let path = dir.join(&file.path);
            match fs::metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return corrupt(format!("{}: missing", path.display()));
                }
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
                Ok(meta) if !meta.is_file() => {
                    return corrupt(format!("{}: not a regular file", path.display()));
                }
                Ok(meta) if meta.len() != file.bytes => {
                    return corrupt(format!(
                        "{}: size {} bytes, manifest says {}",
                        path.display(),
                        meta.len(),
                        file.bytes
                    ));
                }
                Ok(_) => {}
            }
        }
        for file in &manifest.files {
            let path = dir.join(&file.path);
            let (_, hash) = manifest::hash_file(&path)?;
            if hash != file.blake3 {
                return corrupt(format!(
                    "{}: blake3 {hash}, manifest says {}",
                    path.display(),
                    file.blake3
                ));
            }
        }
        Ok(Lookup::Hit(Entry {
            key: key.to_string(),
            dir,
            manifest,
        }))
    }

    /// Starts building the entry for `key` in a fresh temp dir under `tmp/`.
    pub fn begin(&self, key: &str) -> Result<EntryWriter> {
        self.begin_in(key, self.tmp_dir())
    }

    /// [`Cache::begin`] for a cluster job holding the key's [`Cache::try_lease`] rather than the
    /// cache lock: it builds where taking the lock does not clean.
    pub fn begin_leased(&self, key: &str) -> Result<EntryWriter> {
        let dir = self.jobs_tmp_dir();
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        self.begin_in(key, dir)
    }

    fn begin_in(&self, key: &str, parent: PathBuf) -> Result<EntryWriter> {
        check_key(key)?;
        let dir = parent.join(format!("build-{key}-{}", atomic::unique_suffix()));
        fs::create_dir(&dir)
            .with_context(|| format!("creating build directory {}", dir.display()))?;
        Ok(EntryWriter {
            cache: self.clone(),
            key: key.to_string(),
            dir,
            finished: false,
        })
    }
}

/// An entry under construction. Write outputs into [`EntryWriter::dir`], then
/// [`EntryWriter::commit`]. Dropping it uncommitted deletes the temp dir.
#[derive(Debug)]
pub struct EntryWriter {
    cache: Cache,
    key: String,
    dir: PathBuf,
    finished: bool,
}

impl EntryWriter {
    /// The temp directory to write output files into (subdirectories allowed).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Hashes and fsyncs the outputs, writes the manifest last, and renames the dir into place.
    ///
    /// If a complete entry for the key already exists (an identical stage finished first), that
    /// one wins: it is verified and returned, and this build is discarded. An incomplete or
    /// corrupt dir in the way is removed first.
    pub fn commit(mut self, info: ManifestInfo) -> Result<Entry> {
        let manifest = self.seal(info)?;
        let final_dir = self.cache.entry_dir(&self.key);
        let shard = final_dir.parent().expect("entry dir has a shard parent");
        fs::create_dir_all(shard).with_context(|| format!("creating {}", shard.display()))?;
        for _attempt in 0..3 {
            let rename_err = match fs::rename(&self.dir, &final_dir) {
                Ok(()) => {
                    self.finished = true;
                    atomic::fsync_dir(shard)?;
                    // The shard dir itself may be new; make its name in entries/ durable too.
                    atomic::fsync_dir(shard.parent().expect("shard is under entries/"))?;
                    return Ok(Entry {
                        key: self.key.clone(),
                        dir: final_dir,
                        manifest,
                    });
                }
                Err(e) => e,
            };
            if fs::symlink_metadata(&final_dir).is_err() {
                return Err(rename_err).with_context(|| {
                    format!("renaming {} to {}", self.dir.display(), final_dir.display())
                });
            }
            if let Lookup::Hit(existing) = self.cache.verify(&self.key)? {
                return Ok(existing); // Drop removes our temp dir.
            }
            self.cache
                .discard(&final_dir, &format!("stale-{}", self.key))?;
        }
        bail!(
            "could not publish cache entry {}: {} keeps reappearing",
            self.key,
            final_dir.display()
        )
    }

    /// Everything but the publishing rename: after this the temp dir is a complete entry.
    fn seal(&mut self, info: ManifestInfo) -> Result<Manifest> {
        let files = manifest::collect_outputs(&self.dir)?;
        let manifest = Manifest {
            schema: crate::CACHE_SCHEMA_VERSION,
            key: self.key.clone(),
            label: info.label,
            kind: info.kind,
            params: info.params,
            inputs: info.inputs,
            files,
            seconds: info.seconds,
            pvr_version: crate::PVR_VERSION.to_string(),
            created_unix: clock::unix_now(),
            host: crate::host::host_name(),
        };
        let json = serde_json::to_vec_pretty(&manifest).context("serializing manifest")?;
        atomic::write_synced(&self.dir.join(MANIFEST_FILE), &json)?;
        atomic::fsync_dir(&self.dir)?;
        Ok(manifest)
    }

    /// Test hook: seal the entry but "crash" before the rename, leaving the temp dir behind.
    #[cfg(test)]
    pub(super) fn seal_and_abandon(mut self, info: ManifestInfo) -> PathBuf {
        self.seal(info).unwrap();
        self.finished = true;
        self.dir.clone()
    }
}

impl Drop for EntryWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = atomic::remove_path(&self.dir);
        }
    }
}
