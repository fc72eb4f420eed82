//! PASCAL VOC semantic segmentation: the image list of a split and the class masks.
//!
//! A class mask is a palette PNG whose pixel values are class indices: 0 background, 1..=20 the
//! classes of [`VOC_CLASSES`], 255 void (object boundaries and "difficult" regions). pvr reads the
//! indices themselves, never the palette colours. The folder is `VOCdevkit/VOC2012` (or any
//! folder with `JPEGImages/` and `SegmentationClass/`; the labelme tools' `SegmentationClassPNG/`
//! is accepted too). The images of a split are `ImageSets/Segmentation/<split>.txt` in file order
//! (sorted by id in the official lists); without `ImageSets/`, every mask in the folder, sorted
//! by name. A `limit` keeps the first images of that list, so the choice is deterministic.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};

use super::augment::resize_bilinear;
use super::decode::read_rgb;
use super::fingerprint::tree_fingerprint;
use super::{ImageF32, utf8_name};

pub use super::voc_classes::VOC_CLASSES;

/// The mask index of void pixels.
pub const VOC_VOID: u8 = 255;

/// VOC's palette colour of class index `index` (the devkit's bit-interleaving colour map:
/// 1 = (128, 0, 0), 2 = (0, 128, 0), 255 = void = (224, 224, 192)).
pub fn voc_color(index: u8) -> [u8; 3] {
    let mut rgb = [0u8; 3];
    let mut c = index;
    for j in 0..8 {
        for (channel, value) in rgb.iter_mut().enumerate() {
            *value |= ((c >> channel) & 1) << (7 - j);
        }
        c >>= 3;
    }
    rgb
}

/// A class-index mask, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassMask {
    pub width: usize,
    pub height: usize,
    pub classes: Vec<u8>,
}

impl ClassMask {
    /// The original study's mask: the palette colour's red channel thresholded at 0.5, which
    /// makes the ten even-indexed classes background and void boundaries foreground. Only for
    /// `compat = "study"`; values 0/1, nothing ignored.
    pub fn red_channel_mask(&self) -> Vec<u8> {
        self.classes
            .iter()
            .map(|&c| u8::from(voc_color(c)[0] > 127))
            .collect()
    }

    /// Resized like its image in [`resize_and_crop`]: nearest neighbour (pixel centres), so
    /// every value stays a class index.
    pub fn resize_and_crop(&self, size: usize) -> ClassMask {
        let (nw, nh, x0, y0) = eval_geometry(self.width, self.height, size);
        let mut classes = Vec::with_capacity(size * size);
        for y in y0..y0 + size {
            let sy =
                (((y as f64 + 0.5) * self.height as f64 / nh as f64) as usize).min(self.height - 1);
            for x in x0..x0 + size {
                let sx = (((x as f64 + 0.5) * self.width as f64 / nw as f64) as usize)
                    .min(self.width - 1);
                classes.push(self.classes[sy * self.width + sx]);
            }
        }
        ClassMask {
            width: size,
            height: size,
            classes,
        }
    }
}

/// Size after resizing the shorter side to `size` (longer side truncated, as torchvision's
/// `Resize(int)`) and the offsets of the centred `size x size` crop (ties to even).
fn eval_geometry(width: usize, height: usize, size: usize) -> (usize, usize, usize, usize) {
    let (nw, nh) = if width <= height {
        (
            size,
            ((size as f64 * height as f64 / width as f64) as usize).max(size),
        )
    } else {
        (
            ((size as f64 * width as f64 / height as f64) as usize).max(size),
            size,
        )
    };
    let offset = |len: usize| ((len - size) as f64 / 2.0).round_ties_even() as usize;
    (nw, nh, offset(nw), offset(nh))
}

/// The image resized (shorter side to `size`, bilinear, antialiased) and centre-cropped to
/// `size x size`, matching [`ClassMask::resize_and_crop`] pixel for pixel.
pub fn resize_and_crop(image: &ImageF32, size: usize) -> ImageF32 {
    let (nw, nh, x0, y0) = eval_geometry(image.width, image.height, size);
    let resized = resize_bilinear(image, nw, nh);
    super::augment::crop(&resized, x0, y0, size, size)
}

/// Reads a class mask: the pixel indices of a palette (or greyscale) PNG. An RGB PNG is mapped
/// back through the VOC palette; a colour outside it is an error naming the file.
pub fn read_class_mask(path: &Path) -> anyhow::Result<ClassMask> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder
        .read_info()
        .with_context(|| format!("reading the PNG header of {}", path.display()))?;
    let size = reader
        .output_buffer_size()
        .with_context(|| format!("{} is too large", path.display()))?;
    let mut buffer = vec![0u8; size];
    let frame = reader
        .next_frame(&mut buffer)
        .with_context(|| format!("decoding {}", path.display()))?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    let rows = buffer.chunks(frame.line_size).take(height);
    let classes: Vec<u8> = match (frame.color_type, frame.bit_depth as u8) {
        (png::ColorType::Indexed | png::ColorType::Grayscale, depth @ (1 | 2 | 4 | 8)) => {
            rows.flat_map(|row| unpack_row(row, depth, width)).collect()
        }
        (png::ColorType::Rgb | png::ColorType::Rgba, 8) => {
            let channels = if frame.color_type == png::ColorType::Rgb {
                3
            } else {
                4
            };
            let mut classes = Vec::with_capacity(width * height);
            for row in rows {
                for pixel in row.chunks_exact(channels).take(width) {
                    let rgb = [pixel[0], pixel[1], pixel[2]];
                    let index = (0..=255u8).find(|&i| voc_color(i) == rgb).with_context(|| {
                        format!(
                            "{}: colour {rgb:?} is not in the VOC palette (expected a palette PNG of class indices)",
                            path.display()
                        )
                    })?;
                    classes.push(index);
                }
            }
            classes
        }
        (color, depth) => bail!(
            "{}: a {color:?} PNG at {depth} bits is not a class mask (expected 8-bit palette indices)",
            path.display()
        ),
    };
    ensure!(
        classes.len() == width * height,
        "{}: decoded {} of {} pixels",
        path.display(),
        classes.len(),
        width * height
    );
    Ok(ClassMask {
        width,
        height,
        classes,
    })
}

fn unpack_row(row: &[u8], depth: u8, width: usize) -> Vec<u8> {
    if depth == 8 {
        return row[..width].to_vec();
    }
    let per_byte = (8 / depth) as usize;
    let mask = (1u8 << depth) - 1;
    (0..width)
        .map(|x| {
            let byte = row[x / per_byte];
            let shift = 8 - depth * (1 + (x % per_byte) as u8);
            (byte >> shift) & mask
        })
        .collect()
}

/// The images of one VOC segmentation split.
#[derive(Debug, Clone)]
pub struct VocSegmentation {
    root: PathBuf,
    mask_dir: PathBuf,
    ids: Vec<String>,
    /// Where the list came from, for messages and the report.
    pub source: String,
}

impl VocSegmentation {
    /// Opens the split `split` under `path` (see the module documentation for the layouts),
    /// keeping the first `limit` images when given.
    pub fn open(path: &Path, split: &str, limit: Option<usize>) -> anyhow::Result<Self> {
        let root = [
            path.to_path_buf(),
            path.join("VOC2012"),
            path.join("VOCdevkit/VOC2012"),
        ]
        .into_iter()
        .find(|dir| dir.join("JPEGImages").is_dir() && mask_dir(dir).is_some())
        .with_context(|| {
            format!(
                "{} is not a PASCAL VOC folder: expected VOCdevkit/VOC2012 with JPEGImages/ and \
                     SegmentationClass/ (class-index PNGs) and ImageSets/Segmentation/<split>.txt",
                path.display()
            )
        })?;
        let mask_dir = mask_dir(&root).expect("checked above");
        let list = root
            .join("ImageSets/Segmentation")
            .join(format!("{split}.txt"));
        let (mut ids, source) = if list.is_file() {
            let text = std::fs::read_to_string(&list)
                .with_context(|| format!("reading {}", list.display()))?;
            let ids: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            (ids, list.display().to_string())
        } else if root.join("ImageSets/Segmentation").is_dir() {
            bail!(
                "{} does not exist: VOC segmentation splits are train, val and trainval",
                list.display()
            );
        } else {
            (
                sorted_mask_ids(&mask_dir)?,
                format!(
                    "every mask in {} (no ImageSets/Segmentation)",
                    mask_dir.display()
                ),
            )
        };
        if let Some(limit) = limit {
            ids.truncate(limit);
        }
        ensure!(!ids.is_empty(), "{source} lists no image");
        Ok(Self {
            root,
            mask_dir,
            ids,
            source,
        })
    }

    /// Every mask in the folder sorted by name, ignoring the split lists: the original study's
    /// selection (it took the first masks in directory order, which is not reproducible; sorted
    /// order is the closest deterministic choice).
    pub fn open_all_masks(path: &Path, limit: Option<usize>) -> anyhow::Result<Self> {
        let mut voc =
            Self::open(path, "val", None).or_else(|_| Self::open(path, "trainval", None))?;
        voc.ids = sorted_mask_ids(&voc.mask_dir)?;
        if let Some(limit) = limit {
            voc.ids.truncate(limit);
        }
        voc.source = format!("every mask in {}, sorted by name", voc.mask_dir.display());
        Ok(voc)
    }

    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The photo of image `index`, RGB in [0, 1] at its own size.
    pub fn image(&self, index: usize) -> anyhow::Result<ImageF32> {
        let path = self
            .root
            .join("JPEGImages")
            .join(format!("{}.jpg", self.ids[index]));
        read_rgb(&path)
    }

    /// The class mask of image `index`.
    pub fn mask(&self, index: usize) -> anyhow::Result<ClassMask> {
        read_class_mask(&self.mask_dir.join(format!("{}.png", self.ids[index])))
    }

    /// Content fingerprint: the ids with the bytes of their image and mask files (no absolute
    /// paths, so a moved dataset keeps its cache).
    pub fn fingerprint(&self) -> anyhow::Result<String> {
        let mask_dir = self
            .mask_dir
            .strip_prefix(&self.root)
            .unwrap_or(&self.mask_dir)
            .to_string_lossy()
            .into_owned();
        let files: Vec<String> = self
            .ids
            .iter()
            .flat_map(|id| {
                [
                    format!("JPEGImages/{id}.jpg"),
                    format!("{mask_dir}/{id}.png"),
                ]
            })
            .collect();
        tree_fingerprint("pvr.data.voc_segmentation", &self.root, &files)
    }
}

fn mask_dir(root: &Path) -> Option<PathBuf> {
    ["SegmentationClass", "SegmentationClassPNG"]
        .into_iter()
        .map(|name| root.join(name))
        .find(|dir| {
            std::fs::read_dir(dir).is_ok_and(|mut entries| {
                entries.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png")))
            })
        })
}

fn sorted_mask_ids(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|x| x == "png")
            && let Some(stem) = path.file_stem()
        {
            ids.push(utf8_name(stem.to_os_string(), dir)?);
        }
    }
    ids.sort();
    Ok(ids)
}

#[cfg(test)]
mod tests;
