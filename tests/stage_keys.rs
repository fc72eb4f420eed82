//! Stage keys hold only what changes a stage's outputs: the batch sizes of inference
//! (`eval.batch_size`, `lost.batch_size`, `[[attribution]] batch_size`, IG's `internal_batch`)
//! change speed, never a key; `train.batch_size` changes the models and every key below them.

use std::collections::BTreeMap;
use std::path::Path;

use pvr::pipeline::{compile, parse_spec};
use pvr::spec::Override;

const QUICKSTART: &str = include_str!("../experiments/quickstart.toml");

/// Label -> key of every stage of the quickstart plan under `overrides`.
fn keys(overrides: &[&str]) -> BTreeMap<String, String> {
    let overrides: Vec<Override> = overrides.iter().map(|o| o.parse().unwrap()).collect();
    let path = Path::new("experiments/quickstart.toml");
    let spec = parse_spec(QUICKSTART, path, &overrides).expect("quickstart spec");
    let pipeline = compile(&spec, path).expect("quickstart plan");
    pipeline
        .plan
        .stages()
        .map(|s| (s.label.to_string(), s.key.clone()))
        .collect()
}

#[test]
fn inference_batch_sizes_leave_every_key_alone() {
    let base = keys(&[]);
    assert!(base.keys().any(|l| l.starts_with("ha[")), "{base:?}");
    assert!(base.keys().any(|l| l.starts_with("lost[")), "{base:?}");
    for key in [
        "eval.batch_size=7",
        "lost.batch_size=3",
        "attribution.0.batch_size=5",
        "attribution.2.internal_batch=4",
    ] {
        let changed: Vec<_> = keys(&[key])
            .into_iter()
            .filter(|(label, k)| base[label] != *k)
            .map(|(label, _)| label)
            .collect();
        assert!(changed.is_empty(), "{key} changed the keys of {changed:?}");
    }
}

#[test]
fn the_training_batch_size_changes_the_models_and_everything_below() {
    let base = keys(&[]);
    let changed = keys(&["train.batch_size=32"]);
    let stale = base.iter().filter(|(l, k)| changed[*l] != **k).count();
    assert_eq!(stale, base.len(), "every stage reads a trained model");
}
