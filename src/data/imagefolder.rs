//! Reader for real images in the torchvision ImageFolder layout
//! (`<root>/{train,val}/<class>/<image>.{jpg,jpeg,png}`), e.g. ImageNet, whose `val/` may also
//! be flat with the devkit's ground truth ([`super::imagenet_val`]).
//!
//! Classes are the sorted sub-folder names (so indices match torchvision: sorted wnids give the
//! standard 0..999 ImageNet labels). Every image gets the standard evaluation preprocessing:
//! resize the shorter side to round(image_size * 256 / 224) with antialiased bilinear
//! filtering, then centre-crop `image_size`. Training augmentation is the caller's business.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};

use super::augment::{crop, resize_bilinear};
use rayon::prelude::*;

use super::decode::read_rgb8;
use super::fingerprint::tree_fingerprint;
use super::imagenet::{check_imagenet_classes, imagenet_classes};
use super::imagenet_val::{find_val_ground_truth, ground_truth_places, image_key};
use super::{Dataset, ImageF32, RgbSample, Sample, Split, utf8_name};

/// Version of the preprocessing; part of the fingerprint so changing it invalidates caches.
const PREPROCESS_VERSION: &str = "resize-short-bilinear-aa(size*256/224)+center-crop v1";

/// The expected layout, spelled out in every "nothing found" error.
const LAYOUT: &str = "`<root>/train/<class>/<image>.jpg` and `<root>/val/<class>/<image>.jpg`";

/// One image file: path relative to the root (with `/` separators), size in bytes, class index.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    relative: String,
    label: usize,
}

/// An ImageFolder split, with its file list read once at `open`.
#[derive(Clone, Debug)]
pub struct ImageFolder {
    root: PathBuf,
    split: Split,
    image_size: usize,
    /// Folder names, sorted; index = label.
    classes: Vec<String>,
    /// Display names (defaults to the folder names), see [`ImageFolder::with_class_names`].
    display_names: Vec<String>,
    entries: Vec<Entry>,
    /// Digest of every file's relative path and bytes (see [`super::fingerprint`]).
    content: String,
    /// Files left out because they cannot be decoded (`data.on_bad_image = "skip"`), with why.
    skipped: Vec<String>,
    /// The ground truth of a flat ImageNet `val/` (labels not given by folders), if any.
    labels_from: Option<String>,
}

impl ImageFolder {
    /// Scan `root/<split>/` for class folders and images.
    ///
    /// Hidden entries (names starting with `.`) are skipped; class folders are searched
    /// recursively, like torchvision. Files are listed by class, then by name. Fails, naming the expected path and layout, when the
    /// split folder is missing or holds no class folders or no images, and when a class folder
    /// has no images (torchvision refuses that too, since it would shift nothing but silently
    /// leave a class without data).
    pub fn open(root: &Path, split: Split, image_size: usize) -> anyhow::Result<ImageFolder> {
        ensure!(image_size > 0, "ImageFolder: image_size must be positive");
        let split_dir = root.join(split.as_str());
        if !split_dir.is_dir() {
            bail!(
                "ImageFolder: expected the {split} split folder {} but it does not exist \
                 (expected layout {LAYOUT})",
                split_dir.display()
            );
        }
        let listing = read_dir_sorted(&split_dir)?;
        let classes: Vec<String> = listing
            .iter()
            .filter(|e| e.is_dir)
            .map(|e| e.name.clone())
            .collect();
        if classes.is_empty() && split == Split::Val && listing.iter().any(|e| is_image(&e.name)) {
            return Self::open_flat_val(root, image_size, &listing);
        }
        if classes.is_empty() {
            bail!(
                "ImageFolder: {} has no class folders (expected layout {LAYOUT})",
                split_dir.display()
            );
        }
        let mut entries = Vec::new();
        let mut empty_classes = Vec::new();
        for (label, class) in classes.iter().enumerate() {
            let before = entries.len();
            let prefix = format!("{}/{class}", split.as_str());
            collect_images(
                &split_dir.join(class),
                &prefix,
                label,
                &mut entries,
                &mut Vec::new(),
            )?;
            if entries.len() == before {
                empty_classes.push(class.clone());
            }
        }
        if entries.is_empty() {
            bail!(
                "ImageFolder: {} has class folders but no .jpg/.jpeg/.png images \
                 (expected layout {LAYOUT})",
                split_dir.display()
            );
        }
        if !empty_classes.is_empty() {
            bail!(
                "ImageFolder: class folder(s) without images under {}: {} (expected layout {LAYOUT})",
                split_dir.display(),
                empty_classes.join(", ")
            );
        }
        Self::from_entries(root, split, image_size, classes, entries, None)
    }

    fn from_entries(
        root: &Path,
        split: Split,
        image_size: usize,
        classes: Vec<String>,
        entries: Vec<Entry>,
        labels_from: Option<String>,
    ) -> anyhow::Result<ImageFolder> {
        let relative: Vec<String> = entries.iter().map(|e| e.relative.clone()).collect();
        let content = tree_fingerprint("pvr.data.imagefolder", root, &relative)?;
        Ok(ImageFolder {
            root: root.to_path_buf(),
            split,
            image_size,
            display_names: classes.clone(),
            classes,
            entries,
            content,
            skipped: Vec::new(),
            labels_from,
        })
    }

    /// ImageNet's validation images flat in `root/val/`, labelled by the devkit's ground truth
    /// or `LOC_val_solution.csv` ([`super::imagenet_val`]); the classes are the 1000 ImageNet-1k
    /// WordNet ids in torchvision's order.
    fn open_flat_val(root: &Path, image_size: usize, listing: &[DirEntry]) -> anyhow::Result<Self> {
        let split_dir = root.join("val");
        let truth = find_val_ground_truth(root)?.with_context(|| {
            format!(
                "ImageFolder: {} holds images but no class folders; a flat validation folder \
                 needs ImageNet's ground truth: {} (or use the layout {LAYOUT})",
                split_dir.display(),
                ground_truth_places(root)
            )
        })?;
        let mut entries = Vec::new();
        for e in listing.iter().filter(|e| !e.is_dir && is_image(&e.name)) {
            let label = *truth.labels.get(image_key(&e.name)).with_context(|| {
                format!(
                    "ImageFolder: {} is not in the ground truth {}",
                    e.path.display(),
                    truth.source
                )
            })?;
            entries.push(Entry {
                relative: format!("val/{}", e.name),
                label,
            });
        }
        let classes = imagenet_classes()
            .iter()
            .map(|c| c.wnid.to_string())
            .collect();
        Self::from_entries(
            root,
            Split::Val,
            image_size,
            classes,
            entries,
            Some(truth.source),
        )
    }

    /// [`ImageFolder::open`] for ImageNet-1k: the classes must be the 1000 WordNet ids (an error
    /// names the tree and the ids that differ), labels are torchvision's indices, and the display
    /// names are torchvision's class names. `val/` may be flat with the devkit's ground truth.
    pub fn open_imagenet(root: &Path, split: Split, image_size: usize) -> anyhow::Result<Self> {
        let folder = Self::open(root, split, image_size)?;
        check_imagenet_classes(
            &root.join(split.as_str()).display().to_string(),
            &folder.classes,
        )?;
        let names = imagenet_classes()
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        folder.with_class_names(names)
    }

    /// Where the labels came from when they are not the folder names: the ground-truth file(s)
    /// of a flat ImageNet `val/`.
    pub fn labels_from(&self) -> Option<&str> {
        self.labels_from.as_deref()
    }

    /// The same split without the images that cannot be decoded, which are remembered (and
    /// enter the fingerprint). Decodes every image once, on every core.
    pub fn without_unreadable(mut self) -> anyhow::Result<Self> {
        let unreadable: Vec<(usize, String)> = (0..self.entries.len())
            .into_par_iter()
            .filter_map(|i| {
                let path = self.root.join(&self.entries[i].relative);
                read_rgb8(&path).err().map(|err| (i, format!("{err:#}")))
            })
            .collect();
        for (i, why) in unreadable.iter().rev() {
            let entry = self.entries.remove(*i);
            self.skipped.push(format!("{} ({why})", entry.relative));
        }
        self.skipped.reverse();
        ensure!(
            !self.entries.is_empty(),
            "ImageFolder: no image of {} can be decoded",
            self.root.join(self.split.as_str()).display()
        );
        Ok(self)
    }

    /// Replace the display names (e.g. ImageNet wnids → readable names); one per class.
    pub fn with_class_names(mut self, names: Vec<String>) -> anyhow::Result<Self> {
        ensure!(
            names.len() == self.classes.len(),
            "ImageFolder: {} class names given for {} classes",
            names.len(),
            self.classes.len()
        );
        self.display_names = names;
        Ok(self)
    }

    /// The class folder names, sorted (index = label), regardless of display names.
    pub fn class_folders(&self) -> &[String] {
        &self.classes
    }

    pub fn split(&self) -> Split {
        self.split
    }

    /// Path of sample `index`, relative to the root, with `/` separators.
    pub fn relative_path(&self, index: usize) -> Option<&str> {
        self.entries.get(index).map(|e| e.relative.as_str())
    }

    /// Label of sample `index` without decoding the image.
    pub fn label(&self, index: usize) -> Option<usize> {
        self.entries.get(index).map(|e| e.label)
    }

    /// Sample `index` decoded at its original size, without preprocessing (for callers that do
    /// their own training-time cropping). The format is sniffed from the content, not the
    /// extension, because real datasets contain mislabelled files (ImageNet has a PNG named
    /// `.JPEG`).
    pub fn load_raw(&self, index: usize) -> anyhow::Result<ImageF32> {
        Ok(ImageF32::from_rgb8(&self.load_rgb8(index)?))
    }

    /// Sample `index` decoded at its original size, 8 bits per channel.
    pub fn load_rgb8(&self, index: usize) -> anyhow::Result<image::RgbImage> {
        let entry = self
            .entries
            .get(index)
            .with_context(|| format!("ImageFolder: index {index} out of range ({})", self.len()))?;
        let path = self.root.join(&entry.relative);
        read_rgb8(&path)
    }

    /// Side of the resized image before the centre crop: round(size * 256 / 224).
    pub fn resize_size(&self) -> usize {
        (self.image_size as f64 * 256.0 / 224.0).round() as usize
    }
}

impl Dataset for ImageFolder {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn get(&self, index: usize) -> anyhow::Result<Sample> {
        let entry = self
            .entries
            .get(index)
            .with_context(|| format!("ImageFolder: index {index} out of range ({})", self.len()))?;
        let image = preprocess_eval(&self.load_raw(index)?, self.resize_size(), self.image_size);
        Ok(Sample {
            image,
            label: entry.label,
            mask: None,
            boxes: Vec::new(),
        })
    }

    fn get_uncropped(&self, index: usize) -> anyhow::Result<(Sample, usize)> {
        let label = self
            .label(index)
            .with_context(|| format!("ImageFolder: index {index} out of range ({})", self.len()))?;
        let sample = Sample {
            image: self.load_raw(index)?,
            label,
            mask: None,
            boxes: Vec::new(),
        };
        Ok((sample, self.image_size))
    }

    fn get_uncropped_rgb8(&self, index: usize) -> anyhow::Result<Option<(RgbSample, usize)>> {
        let label = self
            .label(index)
            .with_context(|| format!("ImageFolder: index {index} out of range ({})", self.len()))?;
        let image = self.load_rgb8(index)?;
        Ok(Some((RgbSample { image, label }, self.image_size)))
    }

    fn num_classes(&self) -> usize {
        self.classes.len()
    }

    fn image_id(&self, index: usize) -> String {
        self.entries
            .get(index)
            .map_or_else(|| format!("{index:06}"), |e| e.relative.clone())
    }

    fn class_names(&self) -> Vec<String> {
        self.display_names.clone()
    }

    fn skipped(&self) -> &[String] {
        &self.skipped
    }

    fn fingerprint(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"pvr.data.imagefolder\0");
        h.update(PREPROCESS_VERSION.as_bytes());
        h.update(&(self.image_size as u64).to_le_bytes());
        h.update(&(self.classes.len() as u64).to_le_bytes());
        for class in &self.classes {
            h.update(class.as_bytes());
            h.update(b"\0");
        }
        // Labels follow from the paths, which the content digest covers, except in a flat
        // ImageNet val, where the ground truth gives them.
        h.update(self.content.as_bytes());
        if self.labels_from.is_some() {
            h.update(b"labels\0");
            for entry in &self.entries {
                h.update(&(entry.label as u64).to_le_bytes());
            }
        }
        for skipped in &self.skipped {
            h.update(b"skipped\0");
            h.update(skipped.as_bytes());
        }
        let fingerprint = h.finalize().to_hex().to_string();
        super::listing::record_derived(&fingerprint, &self.content);
        fingerprint
    }
}

/// Resize the shorter side to `resize` (keeping the aspect ratio, the longer side truncated
/// like torchvision's `Resize(int)`), then centre-crop a `crop` x `crop` square (offsets
/// rounded half to even, like torchvision's `center_crop`).
pub fn preprocess_eval(img: &ImageF32, resize: usize, crop_size: usize) -> ImageF32 {
    let (w, h) = (img.width, img.height);
    let (nw, nh) = if w <= h {
        (resize, (resize as f64 * h as f64 / w as f64) as usize)
    } else {
        ((resize as f64 * w as f64 / h as f64) as usize, resize)
    };
    let resized = resize_bilinear(img, nw.max(1), nh.max(1));
    if resized.width < crop_size || resized.height < crop_size {
        // Only when crop > resize (never with the 256/224 rule): scale up to cover the crop.
        let grown = resize_bilinear(
            &resized,
            resized.width.max(crop_size),
            resized.height.max(crop_size),
        );
        return preprocess_eval(&grown, grown.width.min(grown.height), crop_size);
    }
    let offset = |len: usize| ((len - crop_size) as f64 / 2.0).round_ties_even() as usize;
    crop(
        &resized,
        offset(resized.width),
        offset(resized.height),
        crop_size,
        crop_size,
    )
}

/// A directory entry: file name, path, and whether it is a directory (following symlinks).
struct DirEntry {
    name: String,
    path: PathBuf,
    is_dir: bool,
}

/// Non-hidden entries of `dir`, sorted by name. Uses the cheap `file_type` and stats only
/// symlinks, since ImageNet-sized trees have over a million entries.
fn read_dir_sorted(dir: &Path) -> anyhow::Result<Vec<DirEntry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = utf8_name(entry.file_name(), dir)?;
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let file_type = entry
            .file_type()
            .with_context(|| format!("reading {}", path.display()))?;
        let is_dir = file_type.is_dir() || (file_type.is_symlink() && path.is_dir());
        out.push(DirEntry { name, path, is_dir });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn is_image(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jpg", ".jpeg", ".png"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Add every image under `dir` to `entries` with relative path `prefix/...`: this folder's
/// files first (sorted), then sub-folders (sorted, recursively) — torchvision's order for the
/// usual flat class folders. `ancestors` holds the (device, inode) of the folders above, so a
/// symlink that leads back up is reported instead of listing the same images again and again.
fn collect_images(
    dir: &Path,
    prefix: &str,
    label: usize,
    entries: &mut Vec<Entry>,
    ancestors: &mut Vec<(u64, u64)>,
) -> anyhow::Result<()> {
    let meta = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    let id = (meta.dev(), meta.ino());
    if ancestors.contains(&id) {
        bail!(
            "ImageFolder: {} is a symlink loop (it leads back to a folder above it); remove the link",
            dir.display()
        );
    }
    ancestors.push(id);
    let listing = read_dir_sorted(dir)?;
    for e in listing.iter().filter(|e| !e.is_dir && is_image(&e.name)) {
        entries.push(Entry {
            relative: format!("{prefix}/{}", e.name),
            label,
        });
    }
    for e in listing.iter().filter(|e| e.is_dir) {
        collect_images(
            &e.path,
            &format!("{prefix}/{}", e.name),
            label,
            entries,
            ancestors,
        )?;
    }
    ancestors.pop();
    Ok(())
}

#[cfg(test)]
mod tests;
