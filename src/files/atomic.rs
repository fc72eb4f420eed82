//! Crash-safe file primitives: every durable write goes temp file → fsync → rename → fsync dir,
//! so a reader sees either the old bytes or the new ones, never a torn mix.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

/// Prefix of in-flight temp files made by [`write_atomic`]; a resume can skip names starting with it.
pub const TEMP_PREFIX: &str = ".pvr-tmp-";

/// Writes `bytes` to `path` atomically: a killed process leaves either the previous file or the
/// complete new one (plus, at worst, a `.pvr-tmp-*` sibling), never a partial `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = parent_dir(path);
    let name = path
        .file_name()
        .with_context(|| format!("write_atomic: {} has no file name", path.display()))?;
    let temp = parent.join(format!(
        "{TEMP_PREFIX}{}-{}",
        name.to_string_lossy(),
        unique_suffix()
    ));
    let written = write_synced(&temp, bytes).and_then(|()| {
        fs::rename(&temp, path)
            .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))
    });
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(err);
    }
    fsync_dir(parent)
}

/// Creates (or truncates) `path`, writes `bytes` and fsyncs the file's data and metadata.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("fsyncing {}", path.display()))
}

/// Flushes a directory's entry list, making renames and creations inside it durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("fsyncing directory {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir; // Directories cannot be opened for fsync here; rename is the best we get.
    Ok(())
}

/// A name component unique across processes and threads (pid, clock, counter), for temp paths.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}-{nanos:09}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes a file or directory tree; a path that is already gone counts as removed.
pub fn remove_path(path: &Path) -> Result<()> {
    let result = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Deletes leftover [`write_atomic`] temp files (from killed writes) anywhere under `dir`.
pub fn remove_temp_files_under(dir: &Path) -> Result<()> {
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for item in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let item = item.with_context(|| format!("listing {}", dir.display()))?;
            let file_type = item
                .file_type()
                .with_context(|| format!("reading {}", item.path().display()))?;
            if file_type.is_dir() {
                pending.push(item.path());
            } else if item.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                remove_path(&item.path())?;
            }
        }
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Total size in bytes of the regular files under `path` (symlinks are not followed).
pub fn tree_size(path: &Path) -> Result<u64> {
    let meta = fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    let mut pending: Vec<PathBuf> = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for item in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let item = item.with_context(|| format!("listing {}", dir.display()))?;
            let meta = item
                .metadata()
                .with_context(|| format!("reading {}", item.path().display()))?;
            if meta.is_dir() {
                pending.push(item.path());
            } else {
                total += meta.len();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_content_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ckpt.bin");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failed_write_atomic_leaves_target_untouched_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory at the target makes the final rename fail.
        let path = dir.path().join("ckpt");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        let err = write_atomic(&path, b"payload").unwrap_err();
        assert!(format!("{err:#}").contains("ckpt"), "{err:#}");
        assert_eq!(fs::read(path.join("keep")).unwrap(), b"x");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temp file left behind: {names:?}");
    }

    #[test]
    fn concurrent_reader_never_sees_a_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ckpt.bin");
        let a = vec![b'a'; 1 << 20];
        let b = vec![b'b'; (1 << 20) + 7];
        write_atomic(&path, &a).unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) || reads == 0 {
                    let got = fs::read(&path).unwrap();
                    assert!(got == a || got == b, "torn read of {} bytes", got.len());
                    reads += 1;
                }
            });
            for i in 0..40 {
                write_atomic(&path, if i % 2 == 0 { &b } else { &a }).unwrap();
            }
            done.store(true, Ordering::Relaxed);
            reader.join().unwrap();
        });
    }
}
