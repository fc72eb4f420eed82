//! Labels of ImageNet's validation images when they lie flat in `val/`, as the ILSVRC2012
//! archive unpacks them (`val/ILSVRC2012_val_00000001.JPEG` ...), from the files that come with
//! them:
//!
//! - the devkit's `ILSVRC2012_validation_ground_truth.txt` (line `i` is the ILSVRC2012_ID of
//!   image `i`) with its `meta.mat` (the `synsets` struct array: ILSVRC2012_ID -> WNID; the
//!   devkit's IDs are not torchvision's indices), looked for in the dataset root, `val/`,
//!   `ILSVRC2012_devkit_t12/data/` and `ILSVRC2012_devkit_t12/`;
//! - or Kaggle's `LOC_val_solution.csv` (`ImageId,PredictionString`, the first word of the
//!   prediction string is the WordNet id), looked for in the root, `val/` and up to three folders
//!   above the root (Kaggle's `ILSVRC/Data/CLS-LOC/` sits three below it).
//!
//! Labels are torchvision's: the index of the WordNet id among the 1000 sorted ones.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail, ensure};

use super::imagenet::imagenet_index;
use super::mat5::{MatValue, read_mat};

pub const DEVKIT_GROUND_TRUTH: &str = "ILSVRC2012_validation_ground_truth.txt";
pub const DEVKIT_META: &str = "meta.mat";
pub const LOC_SOLUTION: &str = "LOC_val_solution.csv";

/// Folders (relative to the dataset root) searched for the devkit's two files.
const DEVKIT_DIRS: [&str; 4] = [
    "",
    "val",
    "ILSVRC2012_devkit_t12/data",
    "ILSVRC2012_devkit_t12",
];

/// Where the labels of a flat `val/` were found and what they say.
#[derive(Clone, Debug)]
pub struct ValGroundTruth {
    /// The file(s) the labels come from, for messages and tables.
    pub source: String,
    /// Image file stem (`ILSVRC2012_val_00000001`) -> ImageNet-1k label (torchvision's index).
    pub labels: HashMap<String, usize>,
}

/// Where the labels of a flat `val/` under `root` are looked for, for messages.
pub fn ground_truth_places(root: &Path) -> String {
    let devkit: Vec<String> = DEVKIT_DIRS
        .iter()
        .map(|dir| {
            root.join(dir)
                .join(DEVKIT_GROUND_TRUTH)
                .display()
                .to_string()
        })
        .collect();
    format!(
        "{} (each with {DEVKIT_META} beside it), or {LOC_SOLUTION} in {}, its val/ or up to three \
         folders above it",
        devkit.join(", "),
        root.display()
    )
}

/// The ground truth for a flat `root/val/`, or None when none of the known files is there.
pub fn find_val_ground_truth(root: &Path) -> anyhow::Result<Option<ValGroundTruth>> {
    for dir in DEVKIT_DIRS {
        let dir = root.join(dir);
        let truth = dir.join(DEVKIT_GROUND_TRUTH);
        if truth.is_file() {
            let meta = dir.join(DEVKIT_META);
            ensure!(
                meta.is_file(),
                "{} needs the devkit's {DEVKIT_META} beside it (its synsets give each \
                 ILSVRC2012_ID's WordNet id), but {} does not exist",
                truth.display(),
                meta.display()
            );
            return devkit_ground_truth(&truth, &meta).map(Some);
        }
    }
    let mut places = vec![root.to_path_buf(), root.join("val")];
    places.extend(root.ancestors().skip(1).take(3).map(Path::to_path_buf));
    for dir in places {
        let csv = dir.join(LOC_SOLUTION);
        if csv.is_file() {
            return loc_ground_truth(&csv).map(Some);
        }
    }
    Ok(None)
}

/// ILSVRC2012_ID -> WordNet id of the devkit's leaf synsets (`num_children == 0`, which
/// torchvision keeps too).
pub fn devkit_wnids(meta: &Path) -> anyhow::Result<HashMap<u32, String>> {
    let bytes = std::fs::read(meta).with_context(|| format!("reading {}", meta.display()))?;
    let vars = read_mat(&bytes).with_context(|| format!("reading {}", meta.display()))?;
    let synsets = vars
        .iter()
        .find(|(name, _)| name == "synsets")
        .map(|(_, value)| value)
        .with_context(|| format!("{}: no `synsets` variable", meta.display()))?;
    let field = |name: &str| {
        synsets
            .field(name)
            .with_context(|| format!("{}: synsets has no field {name}", meta.display()))
    };
    let (ids, wnids) = (field("ILSVRC2012_ID")?, field("WNID")?);
    let children = synsets.field("num_children");
    let mut out = HashMap::new();
    for (i, (id, wnid)) in ids.iter().zip(&wnids).enumerate() {
        if let Some(children) = &children
            && children[i].scalar() != Some(0.0)
        {
            continue;
        }
        let (Some(id), MatValue::Char(wnid)) = (id.scalar(), wnid) else {
            bail!(
                "{}: synset {} has no numeric ID or text WNID",
                meta.display(),
                i + 1
            );
        };
        out.insert(id as u32, wnid.clone());
    }
    Ok(out)
}

fn label_of(wnid: &str, whence: impl Fn() -> String) -> anyhow::Result<usize> {
    imagenet_index(wnid).with_context(|| {
        format!(
            "{}: {wnid} is not one of the 1000 ImageNet-1k classes",
            whence()
        )
    })
}

fn devkit_ground_truth(truth: &Path, meta: &Path) -> anyhow::Result<ValGroundTruth> {
    let wnids = devkit_wnids(meta)?;
    let text =
        std::fs::read_to_string(truth).with_context(|| format!("reading {}", truth.display()))?;
    let mut labels = HashMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let whence = || format!("{} line {}", truth.display(), i + 1);
        let id: u32 = line
            .trim()
            .parse()
            .with_context(|| format!("{}: {line:?} is not an ILSVRC2012_ID", whence()))?;
        let wnid = wnids.get(&id).with_context(|| {
            format!(
                "{}: ID {id} is not a leaf synset of {}",
                whence(),
                meta.display()
            )
        })?;
        labels.insert(
            format!("ILSVRC2012_val_{:08}", i + 1),
            label_of(wnid, whence)?,
        );
    }
    Ok(ValGroundTruth {
        source: format!("{} + {}", truth.display(), meta.display()),
        labels,
    })
}

fn loc_ground_truth(csv: &Path) -> anyhow::Result<ValGroundTruth> {
    let text =
        std::fs::read_to_string(csv).with_context(|| format!("reading {}", csv.display()))?;
    let mut labels = HashMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        if i == 0 && line.starts_with("ImageId") {
            continue;
        }
        let whence = || format!("{} line {}", csv.display(), i + 1);
        let (image, prediction) = line
            .split_once(',')
            .with_context(|| format!("{}: expected `ImageId,PredictionString`", whence()))?;
        let wnid = prediction
            .split_whitespace()
            .next()
            .with_context(|| format!("{}: no WordNet id for {image}", whence()))?;
        labels.insert(image.trim().to_string(), label_of(wnid, whence)?);
    }
    Ok(ValGroundTruth {
        source: csv.display().to_string(),
        labels,
    })
}

/// The path of a flat-val image's ground-truth key: its file name without the extension.
pub fn image_key(file_name: &str) -> &str {
    file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem)
}

#[cfg(test)]
#[path = "imagenet_val_tests.rs"]
mod tests;
