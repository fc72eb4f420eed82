//! Starting from given weights through the CLI: `[model] pool` scores PyTorch-made
//! checkpoints as the pool, `[model] pretrained` prunes on from one, the weights file's hash
//! (not its path) keys the import, and `pvr export` writes the pool back out.

mod common;

use std::path::PathBuf;

use common::{ONE_ROUND_STAGES, Workspace, labels_with, stderr, stdout};
use pvr::exec::StageStatus;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch")
        .join(name)
}

/// The pruned fixture's network (resnet18, width 4, small stem, 10 classes) on 16 px shapes.
fn spec(model_extra: &str, rest: &str) -> String {
    format!(
        r#"[experiment]
name = "given"
seed = 3

[data]
image_size = 16
train_size = 32
val_size = 16

[model]
arch = "resnet18"
width = 4
stem = "small"
{model_extra}

[train]
epochs = 1
batch_size = 16

[eval]
batch_size = 16
{rest}
"#
    )
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    out.sort();
    out
}

fn sparsities(ws: &Workspace) -> Vec<f64> {
    let pool =
        pvr::files::tables::read_parquet(&ws.path().join("reports/given/pool.parquet")).unwrap();
    pool.column("sparsity")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

#[test]
fn a_pool_of_checkpoints_is_scored_and_exported() {
    let ws = Workspace::new();
    let pruned = fixture("resnet18_w4_pruned.pth");
    // The same network from PyTorch's two formats: two pool members, no training at all.
    let pool = format!(
        "pool = [\"{}\", \"{}\"]",
        pruned.display(),
        fixture("resnet18_w4_pruned.safetensors").display()
    );
    ws.write_spec("pool.toml", &spec(&pool, ""));
    let check = stdout(&ws.pvr(&["check", "pool.toml"]));
    // The listing: label, kind, key; columns aligned to the widest label.
    let kind_of = |label: &str| {
        check
            .lines()
            .find(|l| l.split_whitespace().next() == Some(label))
            .and_then(|l| l.split_whitespace().nth(1))
    };
    assert_eq!(kind_of("train"), Some("import"), "{check}");
    assert_eq!(kind_of("prune[1]"), Some("import"), "{check}");
    let run = ws.run_ok("pool.toml", &[]);
    assert_eq!(labels_with(&run, StageStatus::Ran), ONE_ROUND_STAGES);
    // Global 60% pruning by PyTorch, read from the masks and measured from the weights.
    for sparsity in sparsities(&ws) {
        assert!((sparsity - 0.6).abs() < 2e-3, "{sparsity}");
    }

    let out = stdout(&ws.pvr(&["export", "pool.toml", "--round", "1", "--masks", "pairs"]));
    assert!(out.contains("given-round1.safetensors"), "{out}");
    let exported = ws.path().join("exports/given-round1.safetensors");
    // The file says how to rebuild its network: the import below reads nothing else.
    let bytes = std::fs::read(&exported).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    let field = |key: &str| metadata.get(key).map(String::as_str);
    assert_eq!(
        [
            field("arch"),
            field("width"),
            field("stem"),
            field("num_classes")
        ],
        [Some("resnet18"), Some("4"), Some("small"), Some("10")],
        "{metadata:?}"
    );
    assert_eq!(field("image_size"), Some("16"), "{metadata:?}");
    let config: pvr::models::NetworkConfig =
        serde_json::from_str(field("network").unwrap()).unwrap();
    let back =
        pvr::weights::import_weights(&exported, &config, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(back.masks.tensors.len(), 21);
    assert!((back.masks.sparsity() - 0.6).abs() < 1e-3);

    let err = stderr(&ws.pvr(&["export", "pool.toml", "--round", "5"]));
    assert!(err.contains("no round 5"), "{err}");
}

#[test]
fn pretrained_weights_start_lrr_and_are_keyed_by_content() {
    let ws = Workspace::new();
    let copy = ws.path().join("start.pth");
    std::fs::copy(fixture("resnet18_w4_pruned.pth"), &copy).unwrap();
    ws.write_spec(
        "start.toml",
        &spec("pretrained = \"start.pth\"", "\n[prune]\nrounds = 1\n"),
    );
    let run = ws.run_ok("start.toml", &[]);
    assert_eq!(labels_with(&run, StageStatus::Ran), ONE_ROUND_STAGES);
    // Round 1 removes 20% of the 40% PyTorch left: 0.6 + 0.4 * 0.2.
    let measured = sparsities(&ws);
    assert!((measured[0] - 0.6).abs() < 2e-3, "{measured:?}");
    assert!((measured[1] - 0.68).abs() < 2e-3, "{measured:?}");

    // Another name, same content: everything is cached.
    std::fs::rename(&copy, ws.path().join("renamed.pth")).unwrap();
    let renamed = ws.run_ok("start.toml", &["--set", "model.pretrained=renamed.pth"]);
    assert_eq!(
        renamed.count(StageStatus::Cached),
        6,
        "{:?}",
        renamed.stages
    );
    // Other content under the same name: the import and all that follows rerun.
    std::fs::copy(
        fixture("resnet18_w4_pruned.safetensors"),
        ws.path().join("renamed.pth"),
    )
    .unwrap();
    let changed = ws.run_ok("start.toml", &["--set", "model.pretrained=renamed.pth"]);
    assert_eq!(changed.count(StageStatus::Ran), 6, "{:?}", changed.stages);
}

#[test]
fn given_weights_errors_name_the_key_and_the_file() {
    let ws = Workspace::new();
    ws.write_spec("missing.toml", &spec("pretrained = \"nowhere.pth\"", ""));
    let err = stderr(&ws.pvr(&["check", "missing.toml"]));
    assert!(err.contains("missing.toml:14:14"), "{err}");
    assert!(err.contains("key `model.pretrained`"), "{err}");
    assert!(err.contains("`nowhere.pth` is not a file"), "{err}");

    let pool = format!(
        "pool = [\"{}\"]",
        fixture("resnet18_w4_pruned.pth").display()
    );
    ws.write_spec("both.toml", &spec(&pool, "\n[prune]\nrounds = 2\n"));
    let err = stderr(&ws.pvr(&["check", "both.toml"]));
    assert!(err.contains("key `prune.rounds`"), "{err}");
    assert!(err.contains("`model.pool` gives the rounds"), "{err}");

    // A checkpoint of another width fails at its import stage, naming file and tensors.
    let wide = format!(
        "pretrained = \"{}\"",
        fixture("resnet18_w8_imagenet.pth").display()
    );
    ws.write_spec("wide.toml", &spec(&wide, ""));
    let output = ws.pvr(&["run", "wide.toml", "--quiet"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("stage `train` failed"), "{err}");
    assert!(err.contains("resnet18_w8_imagenet.pth"), "{err}");
    assert!(
        err.contains("`conv1.weight`: file [8, 3, 7, 7], network [4, 3, 3, 3]"),
        "{err}"
    );
}

/// A given pool is scored on a validation folder alone: no `train/` tree, no training stage
/// reads one, and the data table lists only what the plan reads.
#[test]
fn a_pool_is_evaluated_on_a_validation_folder_alone() {
    let ws = Workspace::new();
    for class in 0..10u8 {
        let dir = ws.path().join(format!("imgs/val/c{class}"));
        std::fs::create_dir_all(&dir).unwrap();
        image::RgbImage::from_pixel(20, 18, image::Rgb([class * 20, 60, 200 - class * 9]))
            .save(dir.join("a.png"))
            .unwrap();
    }
    let pool = format!(
        "pool = [\"{}\"]",
        fixture("resnet18_w4_pruned.pth").display()
    );
    let text = spec(&pool, "").replace(
        "[data]\n",
        "[data]\nsource = \"imagefolder\"\npath = \"imgs\"\n",
    );
    let text = text
        .lines()
        .filter(|l| !l.starts_with("train_size") && !l.starts_with("val_size"))
        .collect::<Vec<_>>()
        .join("\n");
    ws.write_spec("val-only.toml", &text);
    let check = stdout(&ws.pvr(&["check", "val-only.toml"]));
    assert!(check.contains("? train / 10 val images"), "{check}");
    assert!(check.contains("val: 10 images in 10 classes"), "{check}");
    assert!(!check.contains("incomplete"), "{check}");
    let run = ws.run_ok("val-only.toml", &[]);
    assert_eq!(
        labels_with(&run, StageStatus::Ran),
        sorted(&["train", "eval[0]", "report"])
    );

    // One photo repainted, one added: `status` names them, not two hashes.
    let photo = |class: u8, name: &str| ws.path().join(format!("imgs/val/c{class}/{name}"));
    image::RgbImage::from_pixel(20, 18, image::Rgb([1, 2, 3]))
        .save(photo(3, "a.png"))
        .unwrap();
    std::fs::copy(photo(4, "a.png"), photo(4, "b.png")).unwrap();
    let status = stdout(&ws.pvr(&["status", "val-only.toml"]));
    assert!(
        status.contains("1 modified (val/c3/a.png), 1 added (val/c4/b.png)"),
        "{status}"
    );
}
