//! PASCAL VOC object boxes (`Annotations/*.xml`) and the detection splits of
//! `ImageSets/Main/<split>.txt`, as a [`Dataset`] of images with their ground-truth boxes.
//!
//! VOC writes boxes 1-based with inclusive ends (`xmin = 1` is the first pixel column). pvr's
//! boxes are 0-based with exclusive ends, so `xmin - 1, ymin - 1, xmax, ymax`: the same pixels,
//! and the conversion LOST's evaluation makes.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::decode::read_rgb;
use super::fingerprint::tree_fingerprint;
use super::{Dataset, Sample};

use super::voc_classes::VOC_OBJECT_CLASSES;

/// One annotated object.
#[derive(Debug, Clone, PartialEq)]
pub struct VocObject {
    pub name: String,
    /// `[x0, y0, x1, y1]`, 0-based, ends exclusive.
    pub bbox: [f32; 4],
    pub truncated: bool,
    pub difficult: bool,
}

impl VocObject {
    /// VOC's "hard" objects: truncated or difficult ones.
    pub fn is_hard(&self) -> bool {
        self.truncated || self.difficult
    }
}

/// One `Annotations/<id>.xml`.
#[derive(Debug, Clone, PartialEq)]
pub struct VocAnnotation {
    pub filename: String,
    pub width: usize,
    pub height: usize,
    pub objects: Vec<VocObject>,
}

/// Every leaf element of an XML document as (slash-joined path, text), in document order.
fn leaves(xml: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event()? {
            Event::Start(tag) => {
                path.push(String::from_utf8_lossy(tag.name().as_ref()).into_owned());
                text.clear();
            }
            Event::Empty(tag) => {
                let name = String::from_utf8_lossy(tag.name().as_ref()).into_owned();
                out.push((format!("{}/{name}", path.join("/")), String::new()));
            }
            Event::Text(chunk) => text.push_str(&chunk.xml10_content()?),
            Event::CData(chunk) => text.push_str(&chunk.decode()?),
            Event::GeneralRef(reference) => {
                if let Some(c) = reference.resolve_char_ref()? {
                    text.push(c);
                } else {
                    let name = reference.decode()?;
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(resolved) => text.push_str(resolved),
                        None => bail!("unknown XML entity `&{name};`"),
                    }
                }
            }
            Event::End(_) => {
                out.push((path.join("/"), text.trim().to_string()));
                text.clear();
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    ensure!(
        path.is_empty(),
        "the document ends inside <{}>",
        path.join("/")
    );
    Ok(out)
}

/// VOC flags are `0`/`1`; labelme's exports leave them empty, which means 0.
fn flag(text: &str, key: &str) -> anyhow::Result<bool> {
    match text {
        "" | "0" => Ok(false),
        "1" => Ok(true),
        other => bail!("<{key}> is `{other}`, expected 0 or 1"),
    }
}

fn number(text: &str, key: &str) -> anyhow::Result<f32> {
    text.parse::<f32>()
        .ok()
        .filter(|v| v.is_finite())
        .with_context(|| format!("<{key}> is `{text}`, not a number"))
}

/// Parses the text of a VOC annotation file.
pub fn parse_voc_annotation(xml: &str) -> anyhow::Result<VocAnnotation> {
    let mut annotation = VocAnnotation {
        filename: String::new(),
        width: 0,
        height: 0,
        objects: Vec::new(),
    };
    let mut object: Option<VocObject> = None;
    let mut corners = [None::<f32>; 4];
    for (path, text) in leaves(xml)? {
        let key = path.strip_prefix("annotation/").unwrap_or(&path);
        let size = |text: &str| -> anyhow::Result<usize> {
            let value = number(text, key)?;
            ensure!(value >= 1.0, "<{key}> is {value}, not an image size");
            Ok(value as usize)
        };
        match key {
            "filename" => annotation.filename = text,
            "size/width" => annotation.width = size(&text)?,
            "size/height" => annotation.height = size(&text)?,
            "object/name" => object.get_or_insert_with(empty_object).name = text,
            "object/truncated" => {
                object.get_or_insert_with(empty_object).truncated = flag(&text, key)?
            }
            "object/difficult" => {
                object.get_or_insert_with(empty_object).difficult = flag(&text, key)?
            }
            "object/bndbox/xmin" => corners[0] = Some(number(&text, key)?),
            "object/bndbox/ymin" => corners[1] = Some(number(&text, key)?),
            "object/bndbox/xmax" => corners[2] = Some(number(&text, key)?),
            "object/bndbox/ymax" => corners[3] = Some(number(&text, key)?),
            "object" => {
                let mut done = object.take().unwrap_or_else(empty_object);
                let [Some(x0), Some(y0), Some(x1), Some(y1)] = corners else {
                    bail!("object `{}` has no complete <bndbox>", done.name);
                };
                ensure!(!done.name.is_empty(), "an object has no <name>");
                done.bbox = [x0 - 1.0, y0 - 1.0, x1, y1];
                annotation.objects.push(done);
                corners = [None; 4];
            }
            _ => {}
        }
    }
    ensure!(
        annotation.width > 0 && annotation.height > 0,
        "no <size> with <width> and <height>"
    );
    Ok(annotation)
}

fn empty_object() -> VocObject {
    VocObject {
        name: String::new(),
        bbox: [0.0; 4],
        truncated: false,
        difficult: false,
    }
}

/// Reads and parses one annotation file; errors name the file.
pub fn read_voc_annotation(path: &Path) -> anyhow::Result<VocAnnotation> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_voc_annotation(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A VOC year folder (`VOCdevkit/VOC2007` or `VOCdevkit/VOC2012`) as a dataset: the images of
/// one detection split with their boxes.
pub struct VocBoxes {
    root: PathBuf,
    split: String,
    no_hard: bool,
    images: Vec<VocImage>,
    fingerprint: String,
}

struct VocImage {
    id: String,
    label: usize,
    boxes: Vec<[f32; 4]>,
}

impl VocBoxes {
    /// Opens `root/ImageSets/Main/<split>.txt` and the annotation of every image it lists.
    /// With `no_hard`, truncated and difficult objects are not ground truth, and images left
    /// without objects are skipped (LOST's `--no_hard`). Images without any object are skipped
    /// either way: no box could be right there.
    pub fn open(path: &Path, split: &str, no_hard: bool) -> anyhow::Result<Self> {
        // The year folder itself, or VOCdevkit (or a folder holding it) with VOC2012/VOC2007.
        let root = &[
            path.to_path_buf(),
            path.join("VOC2012"),
            path.join("VOC2007"),
            path.join("VOCdevkit/VOC2012"),
            path.join("VOCdevkit/VOC2007"),
        ]
        .into_iter()
        .find(|dir| dir.join("Annotations").is_dir())
        .unwrap_or_else(|| path.to_path_buf());
        let list = root
            .join("ImageSets")
            .join("Main")
            .join(format!("{split}.txt"));
        if !list.is_file() {
            bail!(
                "PASCAL VOC split list {} not found: expected a VOC year folder (VOCdevkit/VOC2007 \
                 or VOCdevkit/VOC2012) holding Annotations/, JPEGImages/ and ImageSets/Main/{split}.txt",
                list.display()
            );
        }
        let ids =
            fs::read_to_string(&list).with_context(|| format!("reading {}", list.display()))?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"pvr.data.voc_boxes\0");
        hasher.update(split.as_bytes());
        hasher.update(&[u8::from(no_hard)]);
        let mut images = Vec::new();
        let mut photos = Vec::new();
        for id in ids
            .lines()
            .filter_map(|line| line.split_whitespace().next())
        {
            let xml_path = root.join("Annotations").join(format!("{id}.xml"));
            let xml = fs::read_to_string(&xml_path).with_context(|| {
                format!(
                    "reading {} (listed in {})",
                    xml_path.display(),
                    list.display()
                )
            })?;
            let annotation = parse_voc_annotation(&xml)
                .with_context(|| format!("parsing {}", xml_path.display()))?;
            let photo = format!("JPEGImages/{id}.jpg");
            ensure!(
                root.join(&photo).is_file(),
                "{} is missing (listed in {})",
                root.join(&photo).display(),
                list.display()
            );
            photos.push(photo);
            hasher.update(id.as_bytes());
            hasher.update(&[0]);
            hasher.update(xml.as_bytes());
            let kept: Vec<&VocObject> = annotation
                .objects
                .iter()
                .filter(|o| !(no_hard && o.is_hard()))
                .collect();
            let Some(first) = kept.first() else {
                continue;
            };
            let label = VOC_OBJECT_CLASSES
                .iter()
                .position(|c| *c == first.name)
                .with_context(|| {
                    format!(
                        "{}: `{}` is not a PASCAL VOC class ({})",
                        xml_path.display(),
                        first.name,
                        VOC_OBJECT_CLASSES.join(", ")
                    )
                })?;
            images.push(VocImage {
                id: id.to_string(),
                label,
                boxes: kept.iter().map(|o| o.bbox).collect(),
            });
        }
        ensure!(
            !images.is_empty(),
            "{} lists no image with a usable object{}",
            list.display(),
            if no_hard {
                " (no_hard skips truncated and difficult ones)"
            } else {
                ""
            }
        );
        // The photos' bytes, not only their sizes: a re-encoded photo changes every box.
        let tree = tree_fingerprint("voc photos", root, &photos)?;
        hasher.update(tree.as_bytes());
        let fingerprint = hasher.finalize().to_hex().to_string();
        super::listing::record_derived(&fingerprint, &tree);
        Ok(Self {
            root: root.to_path_buf(),
            split: split.to_string(),
            no_hard,
            images,
            fingerprint,
        })
    }

    /// The VOC image id of item `index`, e.g. `2011_000003`.
    pub fn id(&self, index: usize) -> Option<&str> {
        self.images.get(index).map(|image| image.id.as_str())
    }

    pub fn split(&self) -> &str {
        &self.split
    }

    pub fn no_hard(&self) -> bool {
        self.no_hard
    }
}

impl Dataset for VocBoxes {
    fn len(&self) -> usize {
        self.images.len()
    }

    /// The photo at its own size, its ground-truth boxes, and as label the class of its first
    /// ground-truth object.
    fn get(&self, index: usize) -> anyhow::Result<Sample> {
        let item = self.images.get(index).with_context(|| {
            format!(
                "VOC {}: index {index} out of range ({})",
                self.split,
                self.images.len()
            )
        })?;
        let path = self
            .root
            .join("JPEGImages")
            .join(format!("{}.jpg", item.id));
        Ok(Sample {
            image: read_rgb(&path)?,
            label: item.label,
            mask: None,
            boxes: item.boxes.clone(),
        })
    }

    fn num_classes(&self) -> usize {
        VOC_OBJECT_CLASSES.len()
    }

    fn image_id(&self, index: usize) -> String {
        match self.id(index) {
            Some(id) => format!("{}/{id}", self.split),
            None => format!("{}/{index:06}", self.split),
        }
    }

    fn class_names(&self) -> Vec<String> {
        VOC_OBJECT_CLASSES.iter().map(|c| c.to_string()).collect()
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

#[cfg(test)]
mod tests;
