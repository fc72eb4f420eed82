//! `pvr render-ha`: the 12 parametric model-vs-human sets rendered from any folder of images
//! sorted into the 16 category folders (`<from>/<category>/<image>`), written in the benchmark's
//! own layout and file-name fields, 224 x 224 PNG:
//! `<out>/<dataset>/dnn/session-1/<nnnn>_<code>_dnn_<condition>_<category>_<source>_<stem>.png`.
//! pvr's reader and the benchmark's toolbox read the result like a download. Every source image
//! appears in every condition (as in the benchmark's DNN sets); random distortions draw from
//! `--seed`, per dataset, condition and image, so a rerun gives the same files.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};

use super::datasets::HaDataset;
use super::distortions::{BENCHMARK_SIDE, Distortion, set_amplitude_spectrum};
use super::mapping::{CATEGORIES, category_index};
use super::stage::{distortion_stream, fit_to_side, parallel_map};
use crate::data::decode::read_rgb;
use crate::data::{ImageF32, Rng};

/// What to render.
pub struct RenderOptions {
    pub from: PathBuf,
    pub out: PathBuf,
    pub seed: u64,
    /// Parametric datasets only.
    pub datasets: Vec<HaDataset>,
}

/// A source image: where it is, its category and a file-name-safe stem.
struct Source {
    path: PathBuf,
    category: &'static str,
    stem: String,
}

fn sanitize(stem: &str) -> String {
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `<from>/<category>/<image>` files, sorted by category then name.
fn sources(from: &Path) -> anyhow::Result<Vec<Source>> {
    if !from.is_dir() {
        bail!(
            "render-ha: {} is not a folder; expected images sorted into category folders, \
             {}/<category>/<image>.png with categories {}",
            from.display(),
            from.display(),
            CATEGORIES.join(", ")
        );
    }
    let mut out = Vec::new();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(from)
        .with_context(|| format!("reading {}", from.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let name = folder
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.starts_with('.') {
            continue;
        }
        let category = category_index(&name)
            .map(|c| CATEGORIES[c])
            .with_context(|| {
                format!(
                    "render-ha: folder {} is not one of the 16 categories ({}); the category is \
                 written into every file name and scored against",
                    folder.display(),
                    CATEGORIES.join(", ")
                )
            })?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .with_context(|| format!("reading {}", folder.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension().is_some_and(|e| {
                        matches!(
                            e.to_string_lossy().to_ascii_lowercase().as_str(),
                            "png" | "jpg" | "jpeg"
                        )
                    })
            })
            .collect();
        files.sort();
        for path in files {
            let stem = sanitize(&path.file_stem().unwrap_or_default().to_string_lossy());
            out.push(Source {
                path,
                category,
                stem,
            });
        }
    }
    ensure!(
        !out.is_empty(),
        "render-ha: no .png/.jpg images in {}/<category>/ (categories {})",
        from.display(),
        CATEGORIES.join(", ")
    );
    Ok(out)
}

fn load(path: &Path) -> anyhow::Result<ImageF32> {
    Ok(fit_to_side(&read_rgb(path)?, BENCHMARK_SIDE))
}

/// The file name of source image `index` of condition `condition_index`.
pub fn file_name(
    dataset: HaDataset,
    condition_index: usize,
    images: usize,
    index: usize,
    category: &str,
    stem: &str,
) -> String {
    let number = condition_index * images + index;
    let condition = dataset.conditions()[condition_index];
    format!(
        "{number:04}_{}_dnn_{condition}_{category}_{index}_{stem}.png",
        dataset.file_code()
    )
}

/// Renders every requested dataset; returns (dataset, files written).
pub fn render_ha(
    options: &RenderOptions,
    mut report: impl FnMut(&str),
) -> anyhow::Result<Vec<(HaDataset, usize)>> {
    for dataset in &options.datasets {
        ensure!(
            dataset.is_parametric(),
            "render-ha renders the 12 parametric sets; `{dataset}` is drawn, not distorted \
             (pvr's embedded analogues cover it for `shapes` models)"
        );
        let target = options.out.join(dataset.name());
        let occupied = target.is_dir()
            && std::fs::read_dir(&target)
                .with_context(|| format!("reading {}", target.display()))?
                .next()
                .is_some();
        ensure!(
            !occupied,
            "render-ha: {} already exists and is not empty; remove it or choose another --out",
            target.display()
        );
    }
    let sources = sources(&options.from)?;
    report(&format!(
        "render-ha: {} images from {}",
        sources.len(),
        options.from.display()
    ));
    let images = parallel_map(sources.len(), |i| load(&sources[i].path))?;
    let needs_spectrum = options.datasets.iter().any(|d| {
        d.conditions()
            .iter()
            .filter_map(|c| Distortion::new(*d, c))
            .any(|x| x.needs_amplitude_spectrum())
    });
    let amplitude = needs_spectrum.then(|| set_amplitude_spectrum(&images));
    let mut written = Vec::new();
    for &dataset in &options.datasets {
        let dir = options
            .out
            .join(dataset.name())
            .join("dnn")
            .join("session-1");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let conditions = dataset.conditions();
        for (k, condition) in conditions.iter().enumerate() {
            let distortion = Distortion::new(dataset, condition).expect("benchmark condition");
            parallel_map(images.len(), |i| {
                let mut rng = Rng::for_item(options.seed, distortion_stream(dataset, k), i as u64);
                let image = distortion.apply(&images[i], 1.0, amplitude.as_deref(), &mut rng);
                let name = file_name(
                    dataset,
                    k,
                    images.len(),
                    i,
                    sources[i].category,
                    &sources[i].stem,
                );
                let path = dir.join(&name);
                image
                    .to_rgb8()
                    .save_with_format(&path, image::ImageFormat::Png)
                    .with_context(|| format!("writing {}", path.display()))
            })?;
        }
        let count = conditions.len() * images.len();
        report(&format!(
            "render-ha: {dataset}: {count} images in {}",
            dir.display()
        ));
        written.push((dataset, count));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::reader::BenchmarkSet;

    #[test]
    fn rendered_sets_read_back_with_their_conditions_and_categories() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("photos");
        for (category, value) in [("bear", 40u8), ("clock", 200u8)] {
            std::fs::create_dir_all(from.join(category)).unwrap();
            let img = image::RgbImage::from_fn(50, 30, |x, y| {
                image::Rgb([value, (x * 5) as u8, (y * 7) as u8])
            });
            img.save(from.join(category).join("photo one.png")).unwrap();
        }
        let out = dir.path().join("out");
        let datasets = vec![
            HaDataset::Contrast,
            HaDataset::PowerEqualisation,
            HaDataset::UniformNoise,
        ];
        let options = RenderOptions {
            from: from.clone(),
            out: out.clone(),
            seed: 3,
            datasets: datasets.clone(),
        };
        let written = render_ha(&options, |_| {}).unwrap();
        assert_eq!(
            written,
            vec![
                (HaDataset::Contrast, 16),
                (HaDataset::PowerEqualisation, 4),
                (HaDataset::UniformNoise, 16)
            ]
        );
        for dataset in datasets {
            let set = BenchmarkSet::open(&out, dataset).unwrap();
            assert_eq!(set.conditions(), dataset.conditions().to_vec());
            assert_eq!(set.images.len(), 2 * dataset.conditions().len());
            let bears = set
                .images
                .iter()
                .filter(|i| CATEGORIES[i.category] == "bear")
                .count();
            assert_eq!(bears, dataset.conditions().len());
            let first = set.load(0).unwrap();
            assert_eq!((first.width, first.height), (224, 224));
        }
        let name = std::fs::read_dir(out.join("contrast/dnn/session-1"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .min()
            .unwrap();
        assert_eq!(name, "0000_cop_dnn_c100_bear_0_photo-one.png");
        // Reproducible with the seed: a second render of a random set is byte-identical.
        let again = dir.path().join("again");
        let reseeded = dir.path().join("reseeded");
        for (target, seed) in [(&again, 3), (&reseeded, 4)] {
            render_ha(
                &RenderOptions {
                    from: from.clone(),
                    out: target.clone(),
                    seed,
                    datasets: vec![HaDataset::UniformNoise],
                },
                |_| {},
            )
            .unwrap();
        }
        let file = "uniform-noise/dnn/session-1/0011_nse_dnn_0.35_clock_1_photo-one.png";
        let bytes = std::fs::read(out.join(file)).unwrap();
        assert_eq!(bytes, std::fs::read(again.join(file)).unwrap());
        assert_ne!(bytes, std::fs::read(reseeded.join(file)).unwrap());
        // Refuses to mix with an existing set.
        let err = render_ha(
            &RenderOptions {
                from,
                out,
                seed: 3,
                datasets: vec![HaDataset::Contrast],
            },
            |_| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
    }
}
