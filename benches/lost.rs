//! LOST throughput on this machine's CPU (Burn `flex`): whole images per second (preprocessing,
//! patch features, similarity, the algorithm), and the similarity and component steps alone.
//!
//! `cargo bench --bench lost` runs every configuration; pass names to run a subset:
//! `cargo bench --bench lost -- quickstart`. Weights are freshly initialised: the time of LOST
//! does not depend on what a model learned.

use std::hint::black_box;
use std::time::{Duration, Instant};

use burn::tensor::{Distribution, Tensor};
use pvr::backend::DeviceChoice;
use pvr::data::shapes::{ShapesConfig, ShapesDataset};
use pvr::data::{Dataset, ImageF32, Rng, Split};
use pvr::lost::bbox::grid_chance;
use pvr::lost::component::component_box;
use pvr::lost::degree::degrees;
use pvr::lost::expansion::{expansion_set, object_map};
use pvr::lost::run::{LostSettings, Timing, discover_images};
use pvr::lost::seed::{potentials, rank_by_degree};
use pvr::lost::{DEFAULT_K, similarity_batch};
use pvr::models::Stem;
use pvr::models::{Architecture, NetworkConfig, PatchOptions};

struct Config {
    name: &'static str,
    arch: Architecture,
    width: usize,
    stem: Stem,
    /// Image width x height.
    size: (usize, usize),
    dilate: bool,
    images: usize,
    batch: usize,
}

const CONFIGS: &[Config] = &[
    Config {
        name: "quickstart",
        arch: Architecture::ResNet18,
        width: 8,
        stem: Stem::Small,
        size: (32, 32),
        dilate: false,
        images: 256,
        batch: 32,
    },
    Config {
        name: "quickstart-dilated",
        arch: Architecture::ResNet18,
        width: 8,
        stem: Stem::Small,
        size: (32, 32),
        dilate: true,
        images: 256,
        batch: 32,
    },
    Config {
        // The quickstart's LOST setting: 32 px-trained model, scenes rendered at 128 px.
        name: "quickstart-128",
        arch: Architecture::ResNet18,
        width: 8,
        stem: Stem::Small,
        size: (128, 128),
        dilate: false,
        images: 64,
        batch: 32,
    },
    Config {
        name: "resnet50-voc",
        arch: Architecture::ResNet50,
        width: 64,
        stem: Stem::Imagenet,
        size: (500, 375),
        dilate: false,
        images: 3,
        batch: 1,
    },
    Config {
        name: "resnet50-voc-dilated",
        arch: Architecture::ResNet50,
        width: 64,
        stem: Stem::Imagenet,
        size: (500, 375),
        dilate: true,
        images: 3,
        batch: 1,
    },
];

fn main() {
    // As `pvr` itself runs (src/host.rs).
    pvr::host::keep_freed_memory();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    // Timings are only comparable on an otherwise idle machine: say how idle it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average {} on {} cores",
        load.split_whitespace().next().unwrap_or("?"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<22} {:>9} {:>7} {:>11} {:>13} {:>13} {:>13}",
        "config", "image", "grid", "LOST img/s", "features ms", "similarity ms", "component ms"
    );
    for config in CONFIGS
        .iter()
        .filter(|c| args.is_empty() || args.iter().any(|a| a == c.name))
    {
        measure(config);
    }
}

fn images(config: &Config) -> Vec<ImageF32> {
    let (w, h) = config.size;
    if w == h {
        let shapes = ShapesDataset::new(ShapesConfig {
            image_size: w,
            len: config.images,
            split: Split::Val,
            ..ShapesConfig::default()
        })
        .unwrap();
        return (0..config.images)
            .map(|i| shapes.get(i).unwrap().image)
            .collect();
    }
    let mut rng = Rng::new(1);
    (0..config.images)
        .map(|_| {
            let mut image = ImageF32::zeros(w, h);
            image.data.iter_mut().for_each(|v| *v = rng.uniform());
            image
        })
        .collect()
}

fn per_image(total: Duration, images: usize) -> f64 {
    total.as_secs_f64() * 1e3 / images as f64
}

fn measure(config: &Config) {
    let device = DeviceChoice::Cpu.device();
    let network = NetworkConfig {
        arch: config.arch,
        width: config.width,
        stem: config.stem,
        num_classes: 1000,
    }
    .init(&device, 0);
    let patch = PatchOptions {
        dilate_last_stage: config.dilate,
    };
    let settings = LostSettings {
        k: DEFAULT_K,
        patch,
        resize: None,
        batch_size: config.batch,
    };
    let images = images(config);

    // Warm-up, then the whole of LOST.
    let mut timing = Timing::default();
    discover_images(&network, &device, &images[..1], &settings, &mut timing).unwrap();
    let mut timing = Timing::default();
    let started = Instant::now();
    let found = discover_images(&network, &device, &images, &settings, &mut timing).unwrap();
    let rate = images.len() as f64 / started.elapsed().as_secs_f64();
    let grid = found[0].grid;

    // Features alone (synchronised by reading them back), then the similarity on them.
    let stride = network.patch_stride(patch);
    let (w, h) = config.size;
    let shape = [
        config.batch,
        3,
        h.div_ceil(stride) * stride,
        w.div_ceil(stride) * stride,
    ];
    let input = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let rounds = config.images.div_ceil(config.batch);
    let started = Instant::now();
    let mut features = None;
    for _ in 0..rounds {
        let f = network.patch_features_with(input.clone(), patch).features;
        let _ = f.clone().into_data();
        features = Some(f);
    }
    let features_ms = per_image(started.elapsed(), rounds * config.batch);
    let features = features.unwrap();
    let started = Instant::now();
    let mut similarities = Vec::new();
    for _ in 0..rounds {
        similarities = similarity_batch(features.clone()).unwrap();
    }
    let similarity_ms = per_image(started.elapsed(), rounds * config.batch);

    // The component step alone, on the object maps LOST produced.
    let masks: Vec<(Vec<bool>, usize)> = similarities
        .iter()
        .map(|sim| {
            let ranking = rank_by_degree(&degrees(sim));
            let seed = ranking[0];
            let set = expansion_set(sim, seed, potentials(&ranking, DEFAULT_K));
            let map = object_map(sim, &set);
            (map.iter().map(|&m| m > 0.0).collect(), seed)
        })
        .collect();
    let repeats = 2000;
    let started = Instant::now();
    for _ in 0..repeats {
        for (mask, seed) in &masks {
            black_box(component_box(black_box(mask), grid, *seed));
        }
    }
    let component_ms = per_image(started.elapsed(), repeats * masks.len());
    println!(
        "{:<22} {:>9} {:>7} {:>11.1} {:>13.3} {:>13.3} {:>13.5}",
        config.name,
        format!("{w}x{h}"),
        format!("{}x{}", grid.1, grid.0),
        rate,
        features_ms,
        similarity_ms,
        component_ms,
    );
    // The stage also scores chance per image: every rectangle of whole patches against the
    // ground truth (two boxes here).
    let truth = [
        [
            0.1 * w as f32,
            0.2 * h as f32,
            0.6 * w as f32,
            0.9 * h as f32,
        ],
        [
            0.5 * w as f32,
            0.1 * h as f32,
            0.9 * w as f32,
            0.5 * h as f32,
        ],
    ];
    let started = Instant::now();
    black_box(grid_chance(black_box(&truth), grid, stride, w, h));
    let chance_ms = started.elapsed().as_secs_f64() * 1e3;
    eprintln!(
        "  {}: in the full run, network {:.1} ms/img, algorithm {:.3} ms/img; chance {:.3} ms/img",
        config.name,
        per_image(timing.network, images.len()),
        per_image(timing.algorithm, images.len()),
        chance_ms
    );
}
