//! The advisory cache lock: one pvr process writes a cache at a time.
//!
//! It is an OS file lock (`flock` on Unix) on `<root>/lock`, so the kernel drops it when the
//! holder exits or is killed: there is no stale lock to clean up and no `--unlock`.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{Cache, LABELS_DIR, LOCK_FILE, SCRATCH_DIR, atomic, clock};

/// Who holds the lock, as recorded in the lock file (only used for messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    /// When the holder took the lock, unix seconds.
    pub since_unix: u64,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pvr pid {} since {}",
            self.pid,
            clock::format_utc(self.since_unix)
        )
    }
}

/// The lock is held by another process (or another handle in this one). Downcast the
/// `anyhow::Error` from [`Cache::lock`] to this to tell "busy" from I/O failures.
#[derive(Debug, thiserror::Error)]
#[error(
    "cache {} is in use by {}; it is released when that process exits \
     (or use a different --cache-dir)",
    root.display(),
    holder.as_ref().map_or_else(|| "another pvr process".to_string(), |h| h.to_string())
)]
pub struct CacheBusy {
    pub root: PathBuf,
    pub holder: Option<LockHolder>,
}

/// Exclusive hold on a cache; dropping it (or the process dying) releases the lock.
#[derive(Debug)]
pub struct CacheLock {
    file: File,
    path: PathBuf,
}

impl CacheLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        let _ = self.file.unlock(); // Closing the file would release it anyway.
    }
}

impl Cache {
    /// Takes the exclusive cache lock. If another holder has it: with `wait`, blocks silently
    /// until it is free; without, fails at once with [`CacheBusy`] naming the holder.
    ///
    /// Once held, leftovers of killed runs in `tmp/` are deleted: nobody else can be using them.
    pub fn lock(&self, wait: bool) -> Result<CacheLock> {
        let path = self.root.join(LOCK_FILE);
        // No truncation on open: the current holder's pid must survive for our error message.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) if wait => file
                .lock()
                .with_context(|| format!("waiting for lock {}", path.display()))?,
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read(&path)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok());
                return Err(CacheBusy {
                    root: self.root.clone(),
                    holder,
                }
                .into());
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        let holder = LockHolder {
            pid: std::process::id(),
            since_unix: clock::unix_now(),
        };
        let json = serde_json::to_vec(&holder).context("serializing lock holder")?;
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(&json))
            .with_context(|| format!("recording holder in {}", path.display()))?;
        let guard = CacheLock { file, path };
        self.remove_stale_temps()?;
        Ok(guard)
    }

    /// Deletes what killed runs left behind: everything in `tmp/` (unfinished builds and
    /// deletions) and `write_atomic` temp files in `scratch/` and `labels/`.
    fn remove_stale_temps(&self) -> Result<()> {
        let tmp = self.tmp_dir();
        for item in fs::read_dir(&tmp).with_context(|| format!("listing {}", tmp.display()))? {
            let item = item.with_context(|| format!("listing {}", tmp.display()))?;
            atomic::remove_path(&item.path())?;
        }
        atomic::remove_temp_files_under(&self.root.join(SCRATCH_DIR))?;
        atomic::remove_temp_files_under(&self.root.join(LABELS_DIR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    const CHILD_ENV: &str = "PVR_CACHE_LOCK_TEST_CHILD_ROOT";
    /// Printed by the child once it holds the lock (libtest may prefix the line).
    const READY_LINE: &str = "pvr-lock-test-child-holds-lock";

    /// Not a real test on its own: the cross-process test re-runs this binary with only this
    /// test selected and `CHILD_ENV` set, making it a lock holder in another process.
    #[test]
    fn lock_holder_child() {
        let Some(root) = std::env::var_os(CHILD_ENV) else {
            return;
        };
        let cache = Cache::open(PathBuf::from(root)).unwrap();
        let _lock = cache.lock(false).unwrap();
        println!("{READY_LINE}");
        std::io::stdout().flush().unwrap();
        std::thread::sleep(Duration::from_secs(120)); // The parent kills us long before.
    }

    /// Kills the child even if an assertion fails first, so no holder outlives the test.
    struct KillOnDrop(std::process::Child);

    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn lock_conflicts_across_processes_and_frees_when_holder_dies() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let mut child = KillOnDrop(
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "cache::lock::tests::lock_holder_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, dir.path())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let child = &mut child.0;
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let locked = stdout
            .lines()
            .any(|line| line.is_ok_and(|l| l.contains(READY_LINE)));
        assert!(locked, "child exited without taking the lock");

        let err = cache.lock(false).unwrap_err();
        let busy = err.downcast_ref::<CacheBusy>().expect("a CacheBusy error");
        assert_eq!(busy.holder.as_ref().map(|h| h.pid), Some(child.id()));
        let message = err.to_string();
        assert!(
            message.contains(&format!("pvr pid {} since ", child.id())),
            "{message}"
        );
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );

        child.kill().unwrap();
        child.wait().unwrap();
        let lock = cache
            .lock(false)
            .expect("lock is free once the holder died");
        let recorded: LockHolder = serde_json::from_slice(&fs::read(lock.path()).unwrap()).unwrap();
        assert_eq!(recorded.pid, std::process::id());
    }

    #[test]
    fn second_handle_in_same_process_conflicts_until_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let first = cache.lock(false).unwrap();
        let err = Cache::open(dir.path()).unwrap().lock(false).unwrap_err();
        let busy = err.downcast_ref::<CacheBusy>().expect("a CacheBusy error");
        assert_eq!(
            busy.holder.as_ref().map(|h| h.pid),
            Some(std::process::id())
        );
        drop(first);
        cache.lock(false).expect("free after drop");
    }

    #[test]
    fn waiting_lock_blocks_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let first = cache.lock(false).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let cache = cache.clone();
            std::thread::spawn(move || {
                let lock = cache.lock(true).unwrap();
                tx.send(()).unwrap();
                drop(lock);
            })
        };
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "did not block"
        );
        drop(first);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("acquired after release");
        waiter.join().unwrap();
    }
}
