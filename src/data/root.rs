//! Dataset folders a spec names: where each is looked for, which key or environment variable
//! sets it, whether it is there, and the message a stage that needs a missing one fails with.
//!
//! Planning never needs the data: a folder that is not there becomes an [`Opened::Missing`]
//! whose stages fail with [`DataProblem`]'s message when they run, while every other stage
//! runs; `pvr check` prints the table of [`DataStatus`] rows.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A dataset folder a spec asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRoot {
    /// What it holds, for people: `ImageNet-1k`, `PASCAL VOC2012 segmentation`.
    pub dataset: String,
    /// The spec key that gives the folder (`data.path`, `lost.path`, `attribution.0.voc_path`).
    pub key: String,
    /// The environment variable read when the key is not given.
    pub env: Option<String>,
    /// The folder, when the key or the variable gives one.
    pub path: Option<PathBuf>,
    /// What to put there (the layout pvr reads).
    pub layout: String,
}

impl DataRoot {
    /// How a user points pvr at the folder.
    pub fn how_to_set(&self) -> String {
        let set = format!("--set {}=DIR", self.key);
        match &self.env {
            Some(var) => format!("{var}=DIR or {set}"),
            None => set,
        }
    }

    /// Opens the folder with `open`, telling a folder that is not there (missing) from one
    /// that is there but cannot be read as the dataset (incomplete).
    pub fn open<T>(&self, open: impl FnOnce(&Path) -> anyhow::Result<T>) -> Opened<T> {
        let Some(path) = self.path.as_deref() else {
            return Opened::Missing(Arc::new(DataProblem {
                root: self.clone(),
                state: DataState::Missing,
                detail: "no folder given".into(),
            }));
        };
        if !path.exists() {
            return Opened::Missing(Arc::new(DataProblem {
                root: self.clone(),
                state: DataState::Missing,
                detail: format!("{} does not exist", path.display()),
            }));
        }
        match open(path) {
            Ok(value) => Opened::Ready(value),
            Err(error) => Opened::Missing(Arc::new(DataProblem {
                root: self.clone(),
                state: DataState::Incomplete,
                detail: format!("{error:#}"),
            })),
        }
    }
}

/// Whether a dataset folder is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataState {
    Found,
    /// Not given, or not on disk.
    Missing,
    /// On disk but not readable as the dataset (a split list, an annotation, a class folder
    /// missing...).
    Incomplete,
}

impl fmt::Display for DataState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataState::Found => "found",
            DataState::Missing => "missing",
            DataState::Incomplete => "incomplete",
        })
    }
}

/// Why a dataset cannot be read: what a stage that needs it fails with.
#[derive(Debug, Clone)]
pub struct DataProblem {
    pub root: DataRoot,
    pub state: DataState,
    pub detail: String,
}

impl fmt::Display for DataProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = &self.root;
        write!(
            f,
            "{} is {}: {}{HOW_TO_FIX}{} (expected {})",
            root.dataset,
            self.state,
            self.detail,
            root.how_to_set(),
            root.layout
        )
    }
}

impl std::error::Error for DataProblem {}

/// Where a [`DataProblem`] message turns from what is wrong to how to fix it.
const HOW_TO_FIX: &str = "; point pvr at it with ";

impl DataProblem {
    /// What is wrong without how to fix it (`ImageNet-1k is missing: no folder given`), for
    /// listings that repeat it per stage; `message` is a problem's `to_string()`.
    pub fn headline(message: &str) -> &str {
        message.split(HOW_TO_FIX).next().unwrap_or(message)
    }
}

/// A dataset opened at planning time, or why it could not be.
pub enum Opened<T> {
    Ready(T),
    Missing(Arc<DataProblem>),
}

impl<T> Opened<T> {
    /// The dataset; a stage that needs it fails with the problem's message.
    pub fn get(&self) -> anyhow::Result<&T> {
        match self {
            Opened::Ready(value) => Ok(value),
            Opened::Missing(problem) => Err(anyhow::Error::new((**problem).clone())),
        }
    }

    pub fn problem(&self) -> Option<&DataProblem> {
        match self {
            Opened::Ready(_) => None,
            Opened::Missing(problem) => Some(problem),
        }
    }

    /// The dataset's fingerprint, or a stand-in naming what is missing: a stage key then
    /// changes when the data appears, so nothing built without it is ever reused.
    pub fn fingerprint_with(&self, fingerprint: impl FnOnce(&T) -> String) -> String {
        match self {
            Opened::Ready(value) => fingerprint(value),
            Opened::Missing(problem) => format!("missing:{}", problem.root.key),
        }
    }

    /// A row of `pvr check`'s data table; `found` describes what was found.
    pub fn status(&self, root: &DataRoot, found: impl FnOnce(&T) -> String) -> DataStatus {
        match self {
            Opened::Ready(value) => DataStatus {
                root: root.clone(),
                state: DataState::Found,
                detail: found(value),
            },
            Opened::Missing(problem) => DataStatus {
                root: problem.root.clone(),
                state: problem.state,
                detail: problem.detail.clone(),
            },
        }
    }
}

impl<T: Clone> Clone for Opened<T> {
    fn clone(&self) -> Self {
        match self {
            Opened::Ready(value) => Opened::Ready(value.clone()),
            Opened::Missing(problem) => Opened::Missing(problem.clone()),
        }
    }
}

impl Opened<Arc<dyn super::Dataset>> {
    /// The split's fingerprint (see [`Opened::fingerprint_with`]).
    pub fn fingerprint(&self) -> String {
        self.fingerprint_with(|data| data.fingerprint())
    }

    /// Files left out because they cannot be decoded; none when the split is missing.
    pub fn skipped(&self) -> &[String] {
        match self {
            Opened::Ready(data) => data.skipped(),
            Opened::Missing(_) => &[],
        }
    }
}

/// One row of `pvr check`'s data table.
#[derive(Debug, Clone)]
pub struct DataStatus {
    pub root: DataRoot,
    pub state: DataState,
    /// What was found, or why it is missing.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(path: Option<&Path>) -> DataRoot {
        DataRoot {
            dataset: "PASCAL VOC2012".into(),
            key: "lost.path".into(),
            env: Some("PVR_VOC".into()),
            path: path.map(Path::to_path_buf),
            layout: "VOCdevkit/VOC2012/{JPEGImages,Annotations}".into(),
        }
    }

    #[test]
    fn not_given_not_there_and_unreadable_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let unset = root(None).open(|_| Ok(()));
        assert_eq!(unset.problem().unwrap().state, DataState::Missing);
        let message = unset.get().unwrap_err().to_string();
        assert!(
            message.contains("PVR_VOC=DIR or --set lost.path=DIR"),
            "{message}"
        );
        assert!(message.contains("VOCdevkit/VOC2012"), "{message}");
        assert_eq!(
            DataProblem::headline(&message),
            "PASCAL VOC2012 is missing: no folder given"
        );

        let absent = dir.path().join("nowhere");
        let gone = root(Some(&absent)).open(|_| Ok(()));
        assert!(gone.problem().unwrap().detail.contains("nowhere"));
        assert_eq!(gone.problem().unwrap().state, DataState::Missing);

        let broken = root(Some(dir.path())).open(|_| -> anyhow::Result<()> {
            anyhow::bail!("ImageSets/Main/trainval.txt not found")
        });
        let problem = broken.problem().unwrap();
        assert_eq!(problem.state, DataState::Incomplete);
        assert!(problem.detail.contains("trainval.txt"));

        let found = root(Some(dir.path())).open(|_| Ok(7));
        assert_eq!(*found.get().unwrap(), 7);
        assert_eq!(found.fingerprint_with(|n| n.to_string()), "7");
        assert_eq!(
            gone.fingerprint_with(|_: &()| unreachable!()),
            "missing:lost.path"
        );
    }
}
