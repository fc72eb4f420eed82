//! Per-stage leases for stages run by cluster jobs, which share one cache on a shared
//! filesystem from many nodes.
//!
//! `flock` does not hold across NFS clients, and a lock held by a crashed node must not block
//! the study forever. So a job building entry `key` creates `leases/<key>` with `O_EXCL`
//! (atomic on NFSv3 and later), writes its host and pid into it and refreshes the file's
//! modification time every [`HEARTBEAT`]; a lease not refreshed for [`STALE_AFTER`] belongs to
//! a dead job and is taken over. Failure modes: clocks skewed by more than `STALE_AFTER` between
//! nodes make a live lease look stale (two jobs then build the same entry; the second rename
//! finds the entry there and discards its copy, so the cache stays correct, only work is
//! repeated); a job frozen longer than `STALE_AFTER` likewise.
//!
//! Jobs build in `jobs-tmp/`, which a local `pvr run` taking the cache lock does not empty.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::{Cache, check_key};
use crate::host::host_name;

const LEASES_DIR: &str = "leases";
/// How often a holder refreshes its lease.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long an unrefreshed lease is honoured.
pub const STALE_AFTER: Duration = Duration::from_secs(90);

/// A held lease; dropping it stops the heartbeat and removes the file.
pub struct Lease {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    heartbeat: Option<JoinHandle<()>>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.heartbeat.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        let _ = fs::remove_file(&self.path);
    }
}

impl Cache {
    /// Takes the lease of `key`, or `None` while a live holder has it. A stale lease is
    /// removed and taken over.
    pub fn try_lease(&self, key: &str) -> Result<Option<Lease>> {
        check_key(key)?;
        let dir = self.root.join(LEASES_DIR);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(key);
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{} {}", host_name(), std::process::id());
                    return Ok(Some(start_heartbeat(path)));
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !is_stale(&path) {
                        return Ok(None);
                    }
                    // A dead holder's lease: remove it and try once more (another job may win).
                    let _ = fs::remove_file(&path);
                }
                Err(err) => {
                    return Err(err).with_context(|| format!("creating {}", path.display()));
                }
            }
        }
        Ok(None)
    }

    /// The directory cluster jobs build entries in (see the module docs).
    pub(super) fn jobs_tmp_dir(&self) -> PathBuf {
        self.root.join("jobs-tmp")
    }
}

fn is_stale(path: &PathBuf) -> bool {
    fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_none_or(|age| age > STALE_AFTER)
}

fn start_heartbeat(path: PathBuf) -> Lease {
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::park_timeout(HEARTBEAT);
                if let Ok(file) = File::options().write(true).open(&path) {
                    let _ = file.set_modified(SystemTime::now());
                }
            }
        })
    };
    Lease {
        path,
        stop,
        heartbeat: Some(thread),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_lease_excludes_and_a_stale_one_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let key = "a".repeat(64);
        let held = cache.try_lease(&key).unwrap().expect("free lease");
        assert!(cache.try_lease(&key).unwrap().is_none());
        drop(held);
        let held = cache.try_lease(&key).unwrap().expect("released lease");
        // A holder that stopped refreshing long ago: its lease is stale.
        std::mem::forget(held);
        let path = dir.path().join(LEASES_DIR).join(&key);
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(5);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(cache.try_lease(&key).unwrap().is_some());
    }
}
