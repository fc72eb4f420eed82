//! A tiny ViT and a tiny SwinV2 through the whole pipeline (train, one LRR round, evaluation,
//! report), `pvr models` on a spec, and spec errors for the transformer keys.

mod common;

use common::{ONE_ROUND_STAGES, Workspace, labels_with, stderr, stdout};
use pvr::exec::StageStatus;

const TINY_VIT: &str = r#"
[experiment]
name = "tiny-vit"
seed = 3

[data]
image_size = 16
train_size = 48
val_size = 24

[model]
arch = "vit"
width = 16
patch_size = 4
layers = 2
heads = 2

[train]
epochs = 2
batch_size = 16
optimizer = { kind = "adamw", lr = 1e-3 }

[prune]
rate = 0.2
rounds = 1

[eval]
batch_size = 24
"#;

const TINY_SWIN: &str = r#"
[experiment]
name = "tiny-swin"
seed = 3

[data]
image_size = 16
train_size = 48
val_size = 24

[model]
arch = "swin"
width = 8
patch_size = 2
window_size = 4
depths = [1, 2]
heads = 1

[train]
epochs = 2
batch_size = 16
optimizer = { kind = "adamw", lr = 1e-3 }

[prune]
rate = 0.2
rounds = 1

[eval]
batch_size = 24
"#;

fn sparsities(ws: &Workspace, experiment: &str) -> Vec<f64> {
    let report = ws.path().join("reports").join(experiment);
    let pool = pvr::files::tables::read_parquet(&report.join("pool.parquet")).unwrap();
    pool.column("sparsity")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

fn layer_names(ws: &Workspace, experiment: &str) -> Vec<String> {
    let report = ws.path().join("reports").join(experiment);
    let layers = pvr::files::tables::read_parquet(&report.join("layers.parquet")).unwrap();
    let column = layers.column("layer").unwrap().str().unwrap().clone();
    column.iter().flatten().map(str::to_string).collect()
}

#[test]
fn a_tiny_vit_and_swin_train_prune_and_evaluate() {
    let ws = Workspace::new();
    for (file, text, experiment, must_prune) in [
        (
            "vit.toml",
            TINY_VIT,
            "tiny-vit",
            [
                "conv_proj.weight",
                "encoder.layers.1.self_attention.in_proj_weight",
                "encoder.layers.1.self_attention.out_proj.weight",
                "encoder.layers.0.mlp.3.weight",
                "heads.head.weight",
            ],
        ),
        (
            "swin.toml",
            TINY_SWIN,
            "tiny-swin",
            [
                "features.0.0.weight",
                "features.1.0.attn.qkv.weight",
                "features.3.1.attn.cpb_mlp.2.weight",
                "features.2.reduction.weight",
                "head.weight",
            ],
        ),
    ] {
        ws.write_spec(file, text);
        let summary = ws.run_ok(file, &[]);
        assert_eq!(
            labels_with(&summary, StageStatus::Ran),
            ONE_ROUND_STAGES,
            "{experiment}"
        );
        let sparsity = sparsities(&ws, experiment);
        assert_eq!(sparsity[0], 0.0, "{experiment}");
        assert!(
            (sparsity[1] - 0.2).abs() < 1e-3,
            "{experiment}: {sparsity:?}"
        );
        let layers = layer_names(&ws, experiment);
        for path in must_prune {
            assert!(
                layers.iter().any(|l| l == path),
                "{experiment}: {path} not in {layers:?}"
            );
        }
        for layer in &layers {
            assert!(
                !(layer.contains("bias")
                    || layer.contains("gamma")
                    || layer.contains("class_token")
                    || layer.contains("pos_embedding")
                    || layer.contains("logit_scale")),
                "{experiment}: {layer} must not be pruned"
            );
        }
        // A second run is all cache hits.
        assert_eq!(ws.run_ok(file, &[]).count(StageStatus::Cached), 6);
    }
}

#[test]
fn models_shows_a_specs_network() {
    let ws = Workspace::new();
    ws.write_spec("vit.toml", TINY_VIT);
    let output = ws.pvr(&["models", "vit.toml"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("width 16, patch 4, 2 layers, 2 heads"),
        "{text}"
    );
    // 16 px / 4 px patches with hidden size 16, 10 classes: counted by hand.
    let dim = 16;
    let params = dim * 48 + dim // patch convolution
        + dim + 17 * dim // class token, position embedding
        + 2 * (4 * dim + 3 * dim * dim + 3 * dim + dim * dim + dim + 2 * 4 * dim * dim + 5 * dim)
        + 2 * dim // final norm
        + dim * 10 + 10; // head
    let grouped = format!("{},{:03}", params / 1000, params % 1000);
    assert!(
        text.contains(&grouped),
        "expected {grouped} parameters:\n{text}"
    );
}

#[test]
fn transformer_keys_are_checked_with_their_location() {
    let ws = Workspace::new();
    ws.write_spec(
        "bad.toml",
        &TINY_VIT.replace("heads = 2", "heads = 2\nwindow_size = 4"),
    );
    let err = stderr(&ws.pvr(&["check", "bad.toml"]));
    assert!(err.contains("bad.toml:17:"), "{err}");
    assert!(err.contains("model.window_size"), "{err}");

    // 18 px is not a whole number of 4 px patches.
    ws.write_spec("vit.toml", TINY_VIT);
    let err = stderr(&ws.pvr(&["check", "vit.toml", "--set", "data.image_size=18"]));
    assert!(err.contains("data.image_size"), "{err}");

    ws.write_spec(
        "fixed.toml",
        &TINY_VIT
            .replace("arch = \"vit\"", "arch = \"vit_b_32\"")
            .replace("width = 16\n", ""),
    );
    let err = stderr(&ws.pvr(&["check", "fixed.toml"]));
    assert!(
        err.contains("model.patch_size") && err.contains("arch = \"vit\""),
        "{err}"
    );
}
