//! `pvr models`: the architectures pvr builds, with the parameter count, prunable parameter
//! count and FLOPs per image of a given configuration, so a user sees what they will train.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::data::open::IMAGENET_CLASSES;
use crate::data::shapes::SHAPE_CLASSES;
use crate::models::flops::{ModelSummary, summarize};
use crate::models::memory::training_memory;
use crate::models::{Architecture, NetworkConfig};
use crate::pipeline::{load_spec, parse_spec};
use crate::pool::network_config;
use crate::spec::{DataSource, OptimizerSpec, Override, Spec};

/// What `pvr models` was asked about.
pub struct ModelsRequest<'a> {
    pub file: Option<&'a Path>,
    pub arch: Option<&'a str>,
    pub width: Option<usize>,
    pub image_size: Option<usize>,
    pub classes: Option<usize>,
    pub overrides: &'a [Override],
    /// Adds the expected memory of a training step with this many images.
    pub batch: Option<usize>,
}

/// The table `pvr models` prints.
pub fn models_text(request: &ModelsRequest) -> anyhow::Result<String> {
    let rows = if request.file.is_none() && request.arch.is_none() {
        if !request.overrides.is_empty() || request.width.is_some() || request.image_size.is_some()
        {
            anyhow::bail!(
                "`--width`, `--image-size` and `--set` need `--arch NAME` or a spec file"
            );
        }
        Architecture::ALL
            .iter()
            .map(|arch| reference_row(arch, request.classes))
            .collect::<anyhow::Result<Vec<_>>>()?
    } else {
        vec![requested_row(request)?]
    };
    Ok(table(&rows, request.batch))
}

struct Row {
    config: NetworkConfig,
    image_size: usize,
    summary: ModelSummary,
    /// f32 optimizer values per parameter (SGD with momentum 1, AdamW 2).
    optimizer_state: u64,
    /// Bytes per activation value in the spec's precision.
    activation_bytes: u64,
}

/// An architecture at the setting torchvision trains it at (the small families at 32 px on the
/// embedded data's classes).
fn reference_row(arch: &Architecture, classes: Option<usize>) -> anyhow::Result<Row> {
    let small = matches!(arch.name(), "vit" | "swin");
    let classes = classes.unwrap_or(if small { SHAPE_CLASSES.len() } else { 1000 });
    let spec = spec_text(arch.name(), arch.reference_image_size(), !small);
    let spec = parse_spec(&spec, Path::new("<pvr models>"), &[])?;
    row(&spec, classes)
}

fn requested_row(request: &ModelsRequest) -> anyhow::Result<Row> {
    let mut overrides = request.overrides.to_vec();
    let mut set = |key: &str, value: toml::Value| {
        overrides.push(Override {
            key: key.into(),
            raw: format!("{key}={value}"),
            value,
        })
    };
    if let Some(width) = request.width {
        set("model.width", toml::Value::Integer(width as i64));
    }
    if let Some(size) = request.image_size {
        set("data.image_size", toml::Value::Integer(size as i64));
    }
    let spec = match (request.file, request.arch) {
        (Some(file), _) => {
            if let Some(arch) = request.arch {
                set("model.arch", toml::Value::String(arch.into()));
            }
            load_spec(file, &overrides)?
        }
        (None, Some(arch)) => {
            let paper = !matches!(arch, "vit" | "swin");
            let image_size = arch
                .parse::<Architecture>()
                .map(|a| a.reference_image_size())
                .unwrap_or(224);
            let text = spec_text(arch, image_size, paper);
            parse_spec(&text, Path::new("<pvr models>"), &overrides)?
        }
        (None, None) => unreachable!("checked by the caller"),
    };
    let classes = match request.classes.or(spec.model.num_classes) {
        Some(classes) => classes,
        None => data_classes(&spec)?,
    };
    row(&spec, classes)
}

/// A minimal experiment naming the architecture: ResNets at paper scale get the ImageNet stem.
fn spec_text(arch: &str, image_size: usize, paper: bool) -> String {
    let mut text = format!(
        "[experiment]\nname = \"models\"\n[data]\nimage_size = {image_size}\n[model]\narch = \"{arch}\"\n"
    );
    if paper && arch.starts_with("resnet") {
        text.push_str("stem = \"imagenet\"\n");
    }
    text
}

/// Classes of the spec's data without reading any image: the embedded data's 10, or the class
/// folders of an image folder's `train/`.
fn data_classes(spec: &Spec) -> anyhow::Result<usize> {
    match spec.data.source {
        DataSource::Shapes => Ok(SHAPE_CLASSES.len()),
        DataSource::Imagenet => Ok(IMAGENET_CLASSES),
        DataSource::Imagefolder => {
            let root = PathBuf::from(spec.data.path.as_deref().unwrap_or_default()).join("train");
            let entries = std::fs::read_dir(&root).with_context(|| {
                format!(
                    "counting the classes in {} (pass `--classes N` to skip this)",
                    root.display()
                )
            })?;
            Ok(entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .count())
        }
    }
}

fn row(spec: &Spec, classes: usize) -> anyhow::Result<Row> {
    let image_size = spec.data.image_size;
    let config = network_config(&spec.model, image_size, classes)
        .map_err(|message| anyhow::anyhow!(message))?;
    let summary = summarize(&config, image_size);
    let optimizer_state = match spec.train.optimizer {
        OptimizerSpec::Sgd { momentum, .. } => u64::from(momentum > 0.0),
        OptimizerSpec::Adamw { .. } => 2,
    };
    let activation_bytes = if spec.train.precision.is_f32() { 4 } else { 2 };
    Ok(Row {
        config,
        image_size,
        summary,
        optimizer_state,
        activation_bytes,
    })
}

/// `11689512` as `11,689,512`.
fn grouped(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn table(rows: &[Row], batch: Option<usize>) -> String {
    let shapes: Vec<String> = rows.iter().map(|row| row.config.describe()).collect();
    let shape_width = shapes.iter().map(String::len).max().unwrap_or(0).max(5);
    let memory_header = batch.map_or(String::new(), |n| {
        format!(" {:>14}", format!("train GB @{n}"))
    });
    let mut out = format!(
        "{:<10} {:<shape_width$} {:>5} {:>7} {:>12} {:>12} {:>9}{memory_header}\n",
        "arch", "shape", "px", "classes", "params", "prunable", "GFLOPs"
    );
    for (row, shape) in rows.iter().zip(&shapes) {
        let memory = batch.map_or(String::new(), |n| {
            let bytes = training_memory(
                &row.config,
                row.image_size,
                row.summary.params,
                n,
                row.optimizer_state,
                row.activation_bytes,
            );
            format!(" {:>14.2}", bytes.total() as f64 / 1e9)
        });
        let _ = writeln!(
            out,
            "{:<10} {shape:<shape_width$} {:>5} {:>7} {:>12} {:>12} {:>9.4}{memory}",
            row.config.arch.name(),
            row.image_size,
            row.config.num_classes,
            grouped(row.summary.params),
            grouped(row.summary.prunable),
            row.summary.flops as f64 / 1e9
        );
    }
    if batch.is_some() {
        out.push_str(
            "train GB: expected memory of one training step on one device: f32 weights, gradients and optimizer state, plus the activations kept for backward (in the spec's train.precision) for the batch; backends add 10-30% workspace.\n",
        );
    }
    out.push_str(
        "params as torchvision counts them (no batch-norm statistics); prunable: conv and linear weights.\n\
         GFLOPs: multiply-adds of one forward pass on one image (convolutions, linear layers, attention products), torchvision's `_ops` convention.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_per_batch_is_listed_on_request() {
        let text = |batch| {
            models_text(&ModelsRequest {
                file: None,
                arch: Some("resnet18"),
                width: None,
                image_size: None,
                classes: None,
                overrides: &[],
                batch,
            })
            .unwrap()
        };
        let gigabytes = |text: &str| -> f64 {
            let row = text.lines().nth(1).unwrap();
            row.split_whitespace().last().unwrap().parse().unwrap()
        };
        let (small, large) = (text(Some(32)), text(Some(256)));
        assert!(small.contains("train GB @32"), "{small}");
        assert!(
            gigabytes(&large) > 6.0 * gigabytes(&small),
            "{small}{large}"
        );
        assert!(!text(None).contains("train GB"));
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(11_689_512), "11,689,512");
        assert_eq!(grouped(512), "512");
        assert_eq!(grouped(1000), "1,000");
    }

    #[test]
    fn the_listing_shows_torchvision_counts() {
        let text = models_text(&ModelsRequest {
            file: None,
            arch: None,
            width: None,
            image_size: None,
            classes: None,
            overrides: &[],
            batch: None,
        })
        .unwrap();
        for expected in ["11,689,512", "25,557,032", "88,224,232", "28,351,570"] {
            assert!(text.contains(expected), "{text}");
        }
        assert_eq!(text.lines().count(), 9, "{text}");
    }

    #[test]
    fn one_architecture_with_overrides() {
        let overrides = ["model.layers=2".parse().unwrap()];
        let text = models_text(&ModelsRequest {
            file: None,
            arch: Some("vit"),
            width: Some(32),
            image_size: Some(16),
            classes: Some(10),
            overrides: &overrides,
            batch: None,
        })
        .unwrap();
        assert!(
            text.contains("width 32, patch 4, 2 layers, 4 heads"),
            "{text}"
        );
        let error = models_text(&ModelsRequest {
            file: None,
            arch: Some("vit_b_32"),
            width: None,
            image_size: Some(100),
            classes: None,
            overrides: &[],
            batch: None,
        })
        .unwrap_err();
        assert!(format!("{error}").contains("image_size"), "{error}");
    }
}
