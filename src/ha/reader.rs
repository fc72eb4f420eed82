//! Reads the model-vs-human datasets as users download them, in either of the benchmark's two
//! layouts:
//!
//! - sessions (the 12 parametric sets, sketch, stylized):
//!   `<root>/<dataset>/dnn/session-N/<nnnn>_<code>_dnn_<condition>_<category>_<...>.png`, the
//!   condition and category being the 4th and 5th underscore-separated fields;
//! - category folders (edge, silhouette, cue-conflict): `<root>/<dataset>/<category>/<file>.png`;
//!   for cue-conflict the folder is the shape category and the file name `shape<i>-texture<j>`
//!   gives the texture category.
//!
//! Either layout is accepted for any dataset (a `dnn` folder means sessions).

use std::path::{Path, PathBuf};

use crate::data::decode::read_rgb;
use crate::data::fingerprint::tree_fingerprint;
use crate::data::utf8_name;
use anyhow::{Context, bail};

use super::datasets::{HaDataset, Layout};
use super::mapping::{CATEGORIES, category_index};
use crate::data::ImageF32;

/// One benchmark image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchmarkImage {
    /// Relative to the dataset folder, `/`-separated.
    pub relative: String,
    pub bytes: u64,
    /// The canonical condition (see [`HaDataset::canonical_condition`]).
    pub condition: &'static str,
    /// Category label (index into [`CATEGORIES`]).
    pub category: usize,
    /// Texture category of a cue-conflict image.
    pub texture: Option<usize>,
}

/// A dataset's file list, read once.
#[derive(Clone, Debug)]
pub struct BenchmarkSet {
    pub dataset: HaDataset,
    /// `<root>/<dataset>`.
    pub folder: PathBuf,
    /// Sorted by condition (benchmark order), then by relative path.
    pub images: Vec<BenchmarkImage>,
    /// Digest of the images' paths and bytes, kept in step with `images`.
    content: String,
}

/// The layout a dataset is expected in, for error messages.
pub fn expected_layout(root: &Path, dataset: HaDataset) -> String {
    let folder = root.join(dataset.name());
    match dataset.layout() {
        Layout::Sessions => format!(
            "{}/dnn/session-1/<nnnn>_<code>_dnn_<condition>_<category>_<...>.png",
            folder.display()
        ),
        Layout::CategoryFolders => format!("{}/<category>/<file>.png", folder.display()),
    }
}

fn is_image(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg"].iter().any(|e| lower.ends_with(e))
}

fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

/// Visible entries of `dir`, sorted by name: (name, is_dir, size).
fn list(dir: &Path) -> anyhow::Result<Vec<(String, bool, u64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = utf8_name(entry.file_name(), dir)?;
        if name.starts_with('.') {
            continue;
        }
        let meta = std::fs::metadata(entry.path())
            .with_context(|| format!("reading {}", entry.path().display()))?;
        out.push((name, meta.is_dir(), meta.len()));
    }
    out.sort();
    Ok(out)
}

fn category_or_error(name: &str, path: &Path) -> anyhow::Result<usize> {
    category_index(name).with_context(|| {
        format!(
            "{}: `{name}` is not one of the 16 categories ({})",
            path.display(),
            CATEGORIES.join(", ")
        )
    })
}

/// The texture category of a cue-conflict file name such as `airplane1-bicycle2.png`.
pub fn cue_conflict_texture(file_name: &str) -> Option<usize> {
    let (_, texture) = stem(file_name).split_once('-')?;
    category_index(texture.trim_end_matches(|c: char| c.is_ascii_digit()))
}

impl BenchmarkSet {
    /// Lists `<root>/<dataset>`; fails naming the expected path when it is missing or empty.
    pub fn open(root: &Path, dataset: HaDataset) -> anyhow::Result<BenchmarkSet> {
        let folder = root.join(dataset.name());
        if !folder.is_dir() {
            bail!(
                "model-vs-human dataset `{dataset}` not found: expected the folder {} laid out as {} \
                 (the benchmark's `{dataset}` download; `pvr render-ha` renders the 12 parametric sets from any images)",
                folder.display(),
                expected_layout(root, dataset)
            );
        }
        let mut images = if folder.join("dnn").is_dir() {
            read_sessions(&folder, dataset)?
        } else {
            read_category_folders(&folder, dataset)?
        };
        if images.is_empty() {
            bail!(
                "model-vs-human dataset `{dataset}`: no .png/.jpg images in {} (expected {})",
                folder.display(),
                expected_layout(root, dataset)
            );
        }
        let order = |c: &str| dataset.conditions().iter().position(|k| *k == c);
        images.sort_by(|a, b| {
            (order(a.condition), &a.relative).cmp(&(order(b.condition), &b.relative))
        });
        let content = content_fingerprint(dataset, &folder, &images)?;
        Ok(BenchmarkSet {
            dataset,
            folder,
            images,
            content,
        })
    }

    /// The conditions present, in the benchmark's order.
    pub fn conditions(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for image in &self.images {
            if out.last() != Some(&image.condition) {
                out.push(image.condition);
            }
        }
        out
    }

    /// Keeps `n` images of each condition, taken in turn from each category (its first image
    /// of every category, then its second, ...) so that a subset stays balanced even where
    /// files are sorted by category.
    pub fn take_per_condition(&mut self, n: usize) -> anyhow::Result<()> {
        let mut kept = Vec::new();
        for condition in self.conditions() {
            let mut seen = [0usize; CATEGORIES.len()];
            // (turn of the image within its category, category, position): ranks images in turns.
            let mut ranked: Vec<(usize, usize, usize)> = self
                .images
                .iter()
                .enumerate()
                .filter(|(_, image)| image.condition == condition)
                .map(|(i, image)| {
                    let turn = seen[image.category];
                    seen[image.category] += 1;
                    (turn, image.category, i)
                })
                .collect();
            ranked.sort();
            let mut chosen: Vec<usize> = ranked.into_iter().take(n).map(|(_, _, i)| i).collect();
            chosen.sort();
            kept.extend(chosen.into_iter().map(|i| self.images[i].clone()));
        }
        self.images = kept;
        self.content = content_fingerprint(self.dataset, &self.folder, &self.images)?;
        Ok(())
    }

    /// Content fingerprint: dataset, relative paths and bytes (no absolute paths).
    pub fn fingerprint(&self) -> String {
        self.content.clone()
    }

    /// Decodes image `index` as RGB.
    pub fn load(&self, index: usize) -> anyhow::Result<ImageF32> {
        let path = self.folder.join(&self.images[index].relative);
        read_rgb(&path)
    }
}

fn content_fingerprint(
    dataset: HaDataset,
    folder: &Path,
    images: &[BenchmarkImage],
) -> anyhow::Result<String> {
    let files: Vec<String> = images.iter().map(|i| i.relative.clone()).collect();
    tree_fingerprint(&format!("pvr.ha.benchmark {dataset}"), folder, &files)
}

fn read_sessions(folder: &Path, dataset: HaDataset) -> anyhow::Result<Vec<BenchmarkImage>> {
    let dnn = folder.join("dnn");
    let sessions: Vec<String> = list(&dnn)?
        .into_iter()
        .filter(|(name, is_dir, _)| *is_dir && name.starts_with("session-"))
        .map(|(name, _, _)| name)
        .collect();
    if sessions.is_empty() {
        bail!(
            "model-vs-human dataset `{dataset}`: {} has no session-N folders (expected {}/session-1/<nnnn>_<code>_dnn_<condition>_<category>_<...>.png)",
            dnn.display(),
            dnn.display()
        );
    }
    let mut images = Vec::new();
    for session in sessions {
        let dir = dnn.join(&session);
        for (name, is_dir, bytes) in list(&dir)? {
            if is_dir || !is_image(&name) {
                continue;
            }
            let path = dir.join(&name);
            let fields: Vec<&str> = stem(&name).split('_').collect();
            if fields.len() < 5 {
                bail!(
                    "{}: expected a file name <nnnn>_<code>_<subject>_<condition>_<category>_<...> \
                     with the condition and category as 4th and 5th fields",
                    path.display()
                );
            }
            let condition = dataset.canonical_condition(fields[3]).with_context(|| {
                format!(
                    "{}: condition `{}` is not one of {dataset}'s: {}",
                    path.display(),
                    fields[3],
                    dataset.conditions().join(", ")
                )
            })?;
            images.push(BenchmarkImage {
                relative: format!("dnn/{session}/{name}"),
                bytes,
                condition,
                category: category_or_error(fields[4], &path)?,
                texture: None,
            });
        }
    }
    Ok(images)
}

fn read_category_folders(folder: &Path, dataset: HaDataset) -> anyhow::Result<Vec<BenchmarkImage>> {
    let mut images = Vec::new();
    for (category_name, is_dir, _) in list(folder)? {
        if !is_dir {
            continue;
        }
        let dir = folder.join(&category_name);
        let category = category_or_error(&category_name, &dir)?;
        for (name, is_dir, bytes) in list(&dir)? {
            if is_dir || !is_image(&name) {
                continue;
            }
            let texture = if dataset == HaDataset::CueConflict {
                Some(cue_conflict_texture(&name).with_context(|| {
                    format!(
                        "{}: a cue-conflict file name is <shape><i>-<texture><j>.png with a category as texture",
                        dir.join(&name).display()
                    )
                })?)
            } else {
                None
            };
            images.push(BenchmarkImage {
                relative: format!("{category_name}/{name}"),
                bytes,
                condition: dataset.conditions()[0],
                category,
                texture,
            });
        }
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, value: u8) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::RgbImage::from_pixel(4, 4, image::Rgb([value, value, 255 - value]))
            .save(path)
            .unwrap();
    }

    /// Both layouts, as the benchmark ships them, plus noise the reader must ignore.
    fn fabricated_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let noise = root.join("uniform-noise/dnn/session-1");
        write_png(
            &noise.join("0001_nse_dnn_0.35_clock_10_n04548280_156.png"),
            10,
        );
        write_png(
            &noise.join("0000_nse_dnn_0.00_bear_10_n02132136_4636.png"),
            20,
        );
        write_png(
            &noise.join("0002_nse_dnn_0.90_boat_10_n03344393_771.png"),
            30,
        );
        write_png(
            &noise.join("0003_nse_dnn_0.00_dog_10_n02097474_10860.png"),
            40,
        );
        std::fs::write(noise.join("readme.txt"), "not an image").unwrap();
        std::fs::write(noise.join(".DS_Store"), "hidden").unwrap();
        let cue = root.join("cue-conflict");
        write_png(&cue.join("airplane/airplane1-bicycle2.png"), 50);
        write_png(&cue.join("bear/bear1-bear3.png"), 60);
        write_png(&cue.join("bear/bear2-knife10.png"), 70);
        let edge = root.join("edge");
        write_png(&edge.join("cat/cat3.png"), 80);
        write_png(&edge.join("cat/cat1.png"), 90);
        write_png(&edge.join("oven/oven1.png"), 100);
        dir
    }

    #[test]
    fn reads_the_session_layout() {
        let tree = fabricated_tree();
        let set = BenchmarkSet::open(tree.path(), HaDataset::UniformNoise).unwrap();
        let got: Vec<(&str, &str)> = set
            .images
            .iter()
            .map(|i| (i.condition, CATEGORIES[i.category]))
            .collect();
        // Sorted by the benchmark's condition order, then file name; `0.00` read as `0.0`.
        assert_eq!(
            got,
            vec![
                ("0.0", "bear"),
                ("0.0", "dog"),
                ("0.35", "clock"),
                ("0.9", "boat")
            ]
        );
        assert_eq!(set.conditions(), vec!["0.0", "0.35", "0.9"]);
        assert_eq!(
            set.images[0].relative,
            "dnn/session-1/0000_nse_dnn_0.00_bear_10_n02132136_4636.png"
        );
        let image = set.load(0).unwrap();
        assert_eq!((image.width, image.height), (4, 4));
        assert_eq!(
            image.pixel(0, 0),
            [20.0 / 255.0, 20.0 / 255.0, 235.0 / 255.0]
        );
        let mut capped = set.clone();
        capped.take_per_condition(1).unwrap();
        assert_eq!(capped.images.len(), 3);
        assert_ne!(capped.fingerprint(), set.fingerprint());
        // Within a condition, categories take turns: bear and dog rather than two of a kind.
        let mut two = set.clone();
        two.take_per_condition(2).unwrap();
        assert_eq!(two.images.len(), 4);
    }

    #[test]
    fn reads_the_category_folder_layout() {
        let tree = fabricated_tree();
        let cue = BenchmarkSet::open(tree.path(), HaDataset::CueConflict).unwrap();
        let got: Vec<(usize, Option<usize>)> =
            cue.images.iter().map(|i| (i.category, i.texture)).collect();
        let c = |name| category_index(name).unwrap();
        assert_eq!(
            got,
            vec![
                (c("airplane"), Some(c("bicycle"))),
                (c("bear"), Some(c("bear"))),
                (c("bear"), Some(c("knife")))
            ]
        );
        let edge = BenchmarkSet::open(tree.path(), HaDataset::Edge).unwrap();
        assert_eq!(edge.conditions(), vec!["all"]);
        let names: Vec<&str> = edge.images.iter().map(|i| i.relative.as_str()).collect();
        assert_eq!(
            names,
            vec!["cat/cat1.png", "cat/cat3.png", "oven/oven1.png"]
        );
        assert!(edge.images.iter().all(|i| i.texture.is_none()));
    }

    #[test]
    fn errors_name_the_expected_path_and_the_bad_file() {
        let tree = fabricated_tree();
        let missing = BenchmarkSet::open(tree.path(), HaDataset::Sketch)
            .unwrap_err()
            .to_string();
        let expected = tree.path().join("sketch");
        assert!(
            missing.contains(&expected.display().to_string()),
            "{missing}"
        );
        assert!(missing.contains("dnn/session-1"), "{missing}");
        let missing_edge = BenchmarkSet::open(tree.path(), HaDataset::Silhouette)
            .unwrap_err()
            .to_string();
        assert!(
            missing_edge.contains("silhouette/<category>/<file>.png"),
            "{missing_edge}"
        );

        write_png(
            &tree
                .path()
                .join("contrast/dnn/session-1/0000_cop_dnn_c07_bear_10_n1_2.png"),
            1,
        );
        let bad_condition = BenchmarkSet::open(tree.path(), HaDataset::Contrast)
            .unwrap_err()
            .to_string();
        assert!(
            bad_condition.contains("`c07`") && bad_condition.contains("c100"),
            "{bad_condition}"
        );
        write_png(&tree.path().join("edge/tiger/tiger1.png"), 1);
        let bad_category = format!(
            "{:#}",
            BenchmarkSet::open(tree.path(), HaDataset::Edge).unwrap_err()
        );
        assert!(bad_category.contains("`tiger`"), "{bad_category}");
        std::fs::create_dir_all(tree.path().join("stylized/dnn")).unwrap();
        let no_session = BenchmarkSet::open(tree.path(), HaDataset::Stylized)
            .unwrap_err()
            .to_string();
        assert!(no_session.contains("session-N"), "{no_session}");
    }

    #[test]
    fn reads_the_real_samples() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/model-vs-human");
        if !root.is_dir() {
            eprintln!(
                "skipping: the model-vs-human samples are not at {}",
                root.display()
            );
            return;
        }
        let edge = BenchmarkSet::open(&root, HaDataset::Edge).unwrap();
        let silhouette = BenchmarkSet::open(&root, HaDataset::Silhouette).unwrap();
        for set in [&edge, &silhouette] {
            assert_eq!(set.images.len(), 160);
            for category in 0..16 {
                assert_eq!(
                    set.images.iter().filter(|i| i.category == category).count(),
                    10
                );
            }
        }
        let mut balanced = edge.clone();
        balanced.take_per_condition(32).unwrap();
        for category in 0..16 {
            let count = balanced
                .images
                .iter()
                .filter(|i| i.category == category)
                .count();
            assert_eq!(count, 2, "capping keeps categories balanced");
        }
        let cue = BenchmarkSet::open(&root, HaDataset::CueConflict).unwrap();
        assert_eq!(cue.images.len(), 48);
        assert!(cue.images.iter().all(|i| i.texture.is_some()));
        let same = cue
            .images
            .iter()
            .filter(|i| i.texture == Some(i.category))
            .count();
        assert!(
            same >= 1,
            "the sample has shape = texture images (e.g. bear1-bear3)"
        );
        let image = cue.load(0).unwrap();
        assert_eq!((image.width, image.height), (224, 224));
    }
}
