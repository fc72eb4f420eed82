//! Run records: which entries each run reached (built or found), and when. `pvr gc` keeps what
//! a recent run used even when the experiment file no longer plans it (a `--set` run, an
//! edited file), so nothing a user ran lately disappears without being asked for.

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{Cache, RUNS_DIR, unix_now, write_atomic};

/// One run's use of the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub experiment: String,
    pub unix: u64,
    /// Keys of every stage the run found cached or built.
    pub keys: Vec<String>,
}

impl Cache {
    /// Records that `experiment` reached `keys` now.
    pub fn record_run(&self, experiment: &str, keys: Vec<String>) -> Result<()> {
        let dir = self.root.join(RUNS_DIR);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let unix = unix_now();
        let record = RunRecord {
            experiment: experiment.to_string(),
            unix,
            keys,
        };
        let path = dir.join(format!("{unix}-{}.json", std::process::id()));
        write_atomic(&path, &serde_json::to_vec(&record)?)
    }

    /// Keys reached by any run recorded at or after `since_unix`; unreadable records are
    /// skipped (they only protect entries from gc).
    pub fn keys_used_since(&self, since_unix: u64) -> Result<HashSet<String>> {
        let mut keys = HashSet::new();
        for (_, record) in self.run_records()? {
            if let Some(record) = record.filter(|r| r.unix >= since_unix) {
                keys.extend(record.keys);
            }
        }
        Ok(keys)
    }

    /// Removes the run records made before `before_unix` (they no longer protect anything once
    /// gc's window has passed them), and unreadable ones; returns how many went.
    pub fn prune_run_records(&self, before_unix: u64, dry_run: bool) -> Result<usize> {
        let mut removed = 0;
        for (path, record) in self.run_records()? {
            if record.is_none_or(|r| r.unix < before_unix) {
                if !dry_run {
                    fs::remove_file(&path)
                        .with_context(|| format!("removing {}", path.display()))?;
                }
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Every run record file with its record, `None` where it cannot be read.
    fn run_records(&self) -> Result<Vec<(PathBuf, Option<RunRecord>)>> {
        let dir = self.root.join(RUNS_DIR);
        let Ok(listing) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut records = Vec::new();
        for entry in listing {
            let path = entry
                .with_context(|| format!("reading {}", dir.display()))?
                .path();
            let record = fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            records.push((path, record));
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_and_unreadable_records_are_pruned_recent_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        cache.record_run("exp", vec!["a".repeat(64)]).unwrap();
        let runs = dir.path().join(RUNS_DIR);
        let old = RunRecord {
            experiment: "exp".into(),
            unix: 10,
            keys: vec!["b".repeat(64)],
        };
        fs::write(runs.join("10-1.json"), serde_json::to_vec(&old).unwrap()).unwrap();
        fs::write(runs.join("junk.json"), b"{").unwrap();
        assert_eq!(cache.prune_run_records(1000, true).unwrap(), 2);
        assert_eq!(
            fs::read_dir(&runs).unwrap().count(),
            3,
            "a dry run removes nothing"
        );
        assert_eq!(cache.prune_run_records(1000, false).unwrap(), 2);
        let left = cache.keys_used_since(0).unwrap();
        assert_eq!(left, HashSet::from(["a".repeat(64)]));
    }
}
