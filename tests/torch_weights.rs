//! torchvision checkpoints made by PyTorch (scripts/make-torch-fixtures.py) load into pvr's
//! networks and reproduce PyTorch's eval-mode logits; pruned checkpoints bring their masks;
//! exports carry torchvision's names and load back to the same network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::store::bridge;
use burn::tensor::{Device, Tensor, TensorData};
use pvr::models::Stem;
use pvr::models::{Architecture, NetworkConfig};
use pvr::weights::{MaskLayout, export_safetensors, import_weights, read_tensors};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch")
        .join(name)
}

fn manifest() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture("manifest.json")).unwrap()).unwrap()
}

fn manifest_at(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The network of fixture `name`, from its `[model]` values in the manifest.
fn config(name: &str) -> NetworkConfig {
    config_from(&manifest()[name])
}

fn config_from(entry: &serde_json::Value) -> NetworkConfig {
    let entry = entry.clone();
    let image_size = entry["image_size"].as_u64().unwrap() as usize;
    let classes = entry["num_classes"].as_u64().unwrap() as usize;
    let mut model = serde_json::Map::new();
    for key in [
        "arch",
        "width",
        "stem",
        "patch_size",
        "layers",
        "depths",
        "heads",
        "window_size",
    ] {
        if let Some(value) = entry.get(key) {
            model.insert(key.to_string(), value.clone());
        }
    }
    let spec: pvr::spec::ModelSpec =
        serde_json::from_value(serde_json::Value::Object(model)).unwrap();
    pvr::pool::network_config(&spec, image_size, classes).unwrap()
}

/// Every tensor of a safetensors/pth file as (shape, f32 values).
fn tensors(path: &Path) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let (_, state) = read_tensors(path).unwrap();
    state
        .into_iter()
        .map(|(name, tensor)| {
            let shape = tensor.shape.to_vec();
            let values = bridge::to_data(&tensor)
                .unwrap()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap();
            (name, (shape, values))
        })
        .collect()
}

fn logits_of(network: &pvr::models::Network, input: &(Vec<usize>, Vec<f32>)) -> Vec<f32> {
    let device = Device::flex();
    let (shape, values) = input;
    let images = Tensor::<4>::from_data(
        TensorData::new(values.clone(), [shape[0], shape[1], shape[2], shape[3]]),
        &device,
    );
    network
        .forward(images)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Loads `file` as fixture `name` and compares the logits with PyTorch's.
fn assert_reproduces_pytorch(name: &str, file: &str) -> pvr::weights::ImportedWeights {
    let io = tensors(&fixture(&format!("{name}.io.safetensors")));
    let imported = import_weights(&fixture(file), &config(name), &Device::flex())
        .unwrap_or_else(|err| panic!("{file}: {err:#}"));
    let ours = logits_of(&imported.network, &io["input"]);
    let theirs = &io["logits"].1;
    let spread = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let diff = max_abs_diff(&ours, theirs);
    assert!(
        diff < 1e-4,
        "{file}: logits differ from PyTorch's by {diff} (|logits| up to {spread})"
    );
    // The comparison is not vacuous: logits vary between images and classes.
    assert!(spread > 1e-2, "{file}: logits all near zero");
    imported
}

#[test]
fn resnet_checkpoints_reproduce_pytorch_logits_in_both_formats() {
    for name in ["resnet18_w8_imagenet", "resnet50_w4_small"] {
        for ext in ["pth", "safetensors"] {
            let imported = assert_reproduces_pytorch(name, &format!("{name}.{ext}"));
            assert!(imported.masks.tensors.is_empty());
            assert_eq!(imported.report.state_dict_prefix, "");
            // Batch norm's counters have no place in pvr and are set aside, not lost silently.
            assert!(
                imported
                    .report
                    .ignored
                    .iter()
                    .all(|n| n.ends_with("num_batches_tracked"))
            );
            assert!(!imported.report.ignored.is_empty());
        }
    }
}

#[test]
fn transformer_checkpoints_reproduce_pytorch_logits_in_both_formats() {
    for name in ["vit_w32_p8", "swin_v2_w16_p2"] {
        for ext in ["pth", "safetensors"] {
            let imported = assert_reproduces_pytorch(name, &format!("{name}.{ext}"));
            assert!(imported.masks.tensors.is_empty());
        }
    }
    // Swin V2's relative-position tables are derived, checked and set aside.
    let imported = assert_reproduces_pytorch("swin_v2_w16_p2", "swin_v2_w16_p2.pth");
    assert_eq!(
        imported.report.ignored.len(),
        8,
        "{:?}",
        imported.report.ignored
    );
}

#[test]
fn transformer_exports_carry_torchvision_names_and_buffers() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["vit_w32_p8", "swin_v2_w16_p2"] {
        let original = import_weights(
            &fixture(&format!("{name}.pth")),
            &config(name),
            &Device::flex(),
        )
        .unwrap();
        let out = dir.path().join(format!("{name}.safetensors"));
        export_safetensors(
            &original.network,
            &original.masks,
            config(name).arch,
            &Default::default(),
            MaskLayout::Applied,
            &out,
        )
        .unwrap();
        let exported = tensors(&out);
        let torch = tensors(&fixture(&format!("{name}.safetensors")));
        assert_eq!(
            exported.keys().collect::<Vec<_>>(),
            torch.keys().collect::<Vec<_>>(),
            "{name}"
        );
        // Every value, the derived Swin tables included, equals PyTorch's.
        for (key, (shape, values)) in &torch {
            assert_eq!(&exported[key].0, shape, "{name} {key}");
            assert_eq!(&exported[key].1, values, "{name} {key}");
        }
        assert_reproduces_pytorch_from(name, &out);
    }
}

#[test]
fn reference_train_py_checkpoints_are_found_under_model() {
    let imported =
        assert_reproduces_pytorch("resnet18_w8_imagenet", "resnet18_w8_imagenet.trainpy.pth");
    assert_eq!(imported.report.state_dict_prefix, "model.");
}

#[test]
fn pruned_checkpoints_bring_their_masks() {
    let name = "resnet18_w4_pruned";
    for ext in ["pth", "safetensors"] {
        let imported = assert_reproduces_pytorch(name, &format!("{name}.{ext}"));
        let masks = &imported.masks;
        // Every conv and the classifier were pruned, 60% globally.
        assert_eq!(masks.tensors.len(), 21, "{:?}", masks.tensors.keys());
        assert!(masks.tensors.contains_key("fc.weight"));
        assert!(
            masks
                .tensors
                .contains_key("layer2.0.downsample.conv.weight")
        );
        assert!(
            (masks.sparsity() - 0.6).abs() < 1e-3,
            "{}",
            masks.sparsity()
        );
        // The mask says exactly which weights are zero, in pvr's layout (fc transposed too).
        let values =
            pvr::models::params::read_params(&imported.network, &|p| masks.tensors.contains_key(p));
        for (path, mask) in &masks.tensors {
            let weights = &values[path];
            assert_eq!(mask.keep.len(), weights.len(), "{path}");
            for (keep, w) in mask.keep.iter().zip(weights) {
                assert_eq!(*keep, *w != 0.0, "{path}");
            }
        }
        let torch = tensors(&fixture(&format!("{name}.{ext}")));
        let (shape, torch_mask) = &torch["fc.weight_mask"];
        let [out, inp] = [shape[0], shape[1]];
        let fc = &masks.tensors["fc.weight"];
        assert_eq!(fc.shape, vec![inp, out]);
        for o in 0..out {
            for i in 0..inp {
                assert_eq!(fc.keep[i * out + o], torch_mask[o * inp + i] != 0.0);
            }
        }
    }
}

#[test]
fn exports_carry_torchvision_names_and_load_back() {
    let dir = tempfile::tempdir().unwrap();
    let name = "resnet18_w8_imagenet";
    let original = import_weights(
        &fixture(&format!("{name}.pth")),
        &config(name),
        &Device::flex(),
    )
    .unwrap();
    let out = dir.path().join("export.safetensors");
    export_safetensors(
        &original.network,
        &original.masks,
        Architecture::ResNet18,
        &Default::default(),
        MaskLayout::Applied,
        &out,
    )
    .unwrap();
    let exported = tensors(&out);
    let torch = tensors(&fixture(&format!("{name}.safetensors")));
    assert_eq!(
        exported.keys().collect::<Vec<_>>(),
        torch.keys().collect::<Vec<_>>()
    );
    for (key, (shape, values)) in &torch {
        assert_eq!(&exported[key].0, shape, "{key}");
        if !key.ends_with("num_batches_tracked") {
            assert_eq!(&exported[key].1, values, "{key}");
        }
    }
    assert_reproduces_pytorch_from(name, &out);
}

fn assert_reproduces_pytorch_from(name: &str, file: &Path) {
    let io = tensors(&fixture(&format!("{name}.io.safetensors")));
    let imported = import_weights(file, &config(name), &Device::flex()).unwrap();
    let diff = max_abs_diff(&logits_of(&imported.network, &io["input"]), &io["logits"].1);
    assert!(diff < 1e-4, "{}: {diff}", file.display());
}

#[test]
fn pruned_exports_round_trip_their_masks() {
    let dir = tempfile::tempdir().unwrap();
    let name = "resnet18_w4_pruned";
    let original = import_weights(
        &fixture(&format!("{name}.pth")),
        &config(name),
        &Device::flex(),
    )
    .unwrap();
    let pairs = dir.path().join("pairs.safetensors");
    export_safetensors(
        &original.network,
        &original.masks,
        Architecture::ResNet18,
        &Default::default(),
        MaskLayout::PrunePairs,
        &pairs,
    )
    .unwrap();
    // Same names as PyTorch's pruned state dict, masks equal to PyTorch's.
    let exported = tensors(&pairs);
    let torch = tensors(&fixture(&format!("{name}.safetensors")));
    assert_eq!(
        exported.keys().collect::<Vec<_>>(),
        torch.keys().collect::<Vec<_>>()
    );
    for (key, (_, values)) in torch.iter().filter(|(k, _)| k.ends_with("_mask")) {
        assert_eq!(&exported[key].1, values, "{key}");
    }
    let back = import_weights(&pairs, &config(name), &Device::flex()).unwrap();
    assert_eq!(back.masks, original.masks);

    assert_reproduces_pytorch_from(name, &pairs);

    // Applied layout: plain weights, no masks, same logits.
    let applied = dir.path().join("applied.safetensors");
    export_safetensors(
        &original.network,
        &original.masks,
        Architecture::ResNet18,
        &Default::default(),
        MaskLayout::Applied,
        &applied,
    )
    .unwrap();
    assert!(tensors(&applied).keys().all(|k| !k.ends_with("_mask")));
    assert!(
        import_weights(&applied, &config(name), &Device::flex())
            .unwrap()
            .masks
            .tensors
            .is_empty()
    );
    assert_reproduces_pytorch_from(name, &applied);
}

/// torchvision's own constructors at paper size (random weights, made by
/// `scripts/make-torch-fixtures.py --full DIR`, about 600 MB, so not committed):
/// `PVR_TORCHVISION_FULL=DIR cargo test --release --test torch_weights -- --ignored`.
#[test]
#[ignore = "needs PVR_TORCHVISION_FULL: paper-size checkpoints made by the fixture script"]
fn full_size_torchvision_models_reproduce_pytorch() {
    let Some(dir) = std::env::var_os("PVR_TORCHVISION_FULL").map(PathBuf::from) else {
        eprintln!("skipped: PVR_TORCHVISION_FULL is not set");
        return;
    };
    let manifest = manifest_at(&dir);
    for name in ["resnet18", "resnet50", "vit_b_32", "swin_v2_t"] {
        let io = tensors(&dir.join(format!("{name}.io.safetensors")));
        let started = std::time::Instant::now();
        let imported = import_weights(
            &dir.join(format!("{name}.pth")),
            &config_from(&manifest[name]),
            &Device::flex(),
        )
        .unwrap_or_else(|err| panic!("{name}: {err:#}"));
        let seconds = started.elapsed().as_secs_f64();
        let ours = logits_of(&imported.network, &io["input"]);
        let theirs = &io["logits"].1;
        let scale = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = max_abs_diff(&ours, theirs);
        eprintln!(
            "{name}: {} tensors imported in {seconds:.2} s; max |logit difference| {diff:.2e} (|logits| up to {scale:.2})",
            imported.report.tensors
        );
        assert!(
            diff <= 1e-4 * scale.max(1.0),
            "{name}: {diff} at scale {scale}"
        );
    }
}

#[test]
fn mismatches_are_named() {
    let file = fixture("resnet18_w8_imagenet.pth");
    // Another architecture: names differ, both sides listed.
    let mut wrong = config("resnet18_w8_imagenet");
    wrong.arch = Architecture::ResNet50;
    let err = format!(
        "{:#}",
        import_weights(&file, &wrong, &Device::flex())
            .err()
            .unwrap()
    );
    assert!(
        err.contains("in the network but not in the file (165)"),
        "{err}"
    );
    assert!(err.contains("`layer1.0.conv3.weight`"), "{err}");
    assert!(err.contains("resnet18_w8_imagenet.pth"), "{err}");
    // Another stem: the first convolution's shape is named.
    let mut wrong = config("resnet18_w8_imagenet");
    wrong.stem = Stem::Small;
    let err = format!(
        "{:#}",
        import_weights(&file, &wrong, &Device::flex())
            .err()
            .unwrap()
    );
    assert!(
        err.contains("`conv1.weight`: file [8, 3, 7, 7], network [8, 3, 3, 3]"),
        "{err}"
    );
    // Another class count: the classifier in torchvision's [out, in] layout.
    let mut wrong = config("resnet18_w8_imagenet");
    wrong.num_classes = 7;
    let err = format!(
        "{:#}",
        import_weights(&file, &wrong, &Device::flex())
            .err()
            .unwrap()
    );
    assert!(
        err.contains("`fc.weight`: file [10, 64], network [7, 64]"),
        "{err}"
    );
    // Not a weights file at all.
    let err = format!(
        "{:#}",
        import_weights(&fixture("manifest.json"), &wrong, &Device::flex())
            .err()
            .unwrap()
    );
    assert!(err.contains("neither a PyTorch checkpoint"), "{err}");
}
