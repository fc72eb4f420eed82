//! Stage keys hold only what changes a stage's outputs: the batch sizes of inference
//! (`eval.batch_size`, `lost.batch_size`, `[[attribution]] batch_size`, IG's `internal_batch`)
//! change speed, never a key; `train.batch_size` changes the models and every key below them.

use std::collections::BTreeMap;
use std::path::Path;

use pvr::pipeline::{compile, parse_spec};
use pvr::spec::Override;

const QUICKSTART: &str = include_str!("../experiments/quickstart.toml");
const VIT_SMALL: &str = include_str!("../experiments/vit-small.toml");

/// Label -> key of every stage of the quickstart plan under `overrides`.
fn keys(overrides: &[&str]) -> BTreeMap<String, String> {
    keys_of(QUICKSTART, "experiments/quickstart.toml", overrides)
}

/// Label -> key of every stage of the plan of `source` (read from `path`) under `overrides`.
fn keys_of(source: &str, path: &str, overrides: &[&str]) -> BTreeMap<String, String> {
    let overrides: Vec<Override> = overrides.iter().map(|o| o.parse().unwrap()).collect();
    let path = Path::new(path);
    let spec = parse_spec(source, path, &overrides).expect("spec");
    let pipeline = compile(&spec, path).expect("plan");
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

/// Keys of the single-seed quickstart before seeds existed (short form, as `pvr check` prints
/// them): one seed, the default, keeps every model and analysis key, so a cache built before
/// seeds is still hit. Keys moved on purpose since: the report stages' when their tables gained
/// the experiment/arch/seed columns and again when `report[lost]`/`report[attribution]`/
/// `report[ha]` (and `report`) dropped their own sweet spots for the verdict's rule; every key
/// when the dense model's initial weights came to be drawn at build time (`train` version 2;
/// every other stage reads it); and the evaluation and analysis keys (`eval`, `lost`, `ha`,
/// `attribute` and so `score`, and the reports over them) when pruned convolutions came to run
/// on sparse kernels (`pool::frozen_network`), which moves their outputs at float rounding (a
/// version bump each); and every key again when convolution weight gradients came to run on
/// GEMMs on the CPU (`models::gemm_conv`: `train` version 3, `prune` and `control` 2); and
/// every key once more when batch norm came to run fused on the CPU (`models::fused_batch_norm`:
/// `train` 4, `prune` and `control` 3, and the analyses, whose sparse sums were also tiled:
/// `eval` and `lost` 4, `ha` 4, `attribute` 5); and every key once more when the dense
/// convolutions' forward pass came to run on GEMMs over channel-major patches
/// (`models::gemm_conv::forward`: `train` 5, `prune` and `control` 4, `eval`, `lost` and `ha` 5,
/// `attribute` 6); and every ResNet key once more when their stride-1 input gradients and
/// weight gradients came to run on the GEMMs over channel-major patches
/// and gemm's AVX-512 kernels came in (`ModelContext::arch_revision`, 1 for ResNets too: each
/// of those stages one version up; the transformers' moved with them, below).
/// `ha.human_path` unset leaves `report[ha]`'s key alone.
#[test]
fn one_seed_keeps_the_keys_it_had_before_seeds() {
    let base = keys(&[]);
    let moved = [
        ("train", "79a9676bfac3"),
        ("prune[1]", "2919469d1ea2"),
        ("eval[0]", "66933dc6d809"),
        ("eval[5]", "92e2836ee51d"),
        ("lost[5]", "2d7a2aaa5ce1"),
        ("score[5,ig]", "1752053be862"),
        ("ha[5,colour]", "58d38c00f949"),
        ("report", "d68c0dc86d1e"),
        ("report[lost]", "76ac63c32129"),
        ("report[attribution]", "c75e6e29afdc"),
        ("report[ha]", "fecb0a70b178"),
    ]
    .into_iter()
    .filter(|(label, short)| !base[*label].starts_with(short))
    .map(|(label, _)| format!("{label}: {}", base[label]))
    .collect::<Vec<_>>();
    assert!(moved.is_empty(), "keys moved:\n{}", moved.join("\n"));
    assert_eq!(keys(&["experiment.seeds=[0]"]), base);
}

/// A transformer's keys (short form, as `pvr check` prints them). They moved alone, the
/// ResNets' above did not, when the transformers' linear layers and GELU came to run as pvr's
/// own on the CPU (`ModelContext::arch_revision`: `train`, `prune` and `control`, `eval`, `lost`,
/// `ha` and `attribute` each one version up for transformers only); and again, with the
/// ResNets', when gemm's AVX-512 kernels came in (its `x86-v4` feature).
#[test]
fn a_transformers_keys_hold_its_architectures_revision() {
    let base = keys_of(VIT_SMALL, "experiments/vit-small.toml", &[]);
    let moved = [
        ("train", "a4206790f1e4"),
        ("eval[0]", "e9106bae4230"),
        ("prune[2]", "5bbe08b22fe1"),
        ("eval[3]", "7fdb6bd8c3d9"),
    ]
    .into_iter()
    .filter(|(label, short)| !base[*label].starts_with(short))
    .map(|(label, _)| format!("{label}: {}", base[label]))
    .collect::<Vec<_>>();
    assert!(moved.is_empty(), "keys moved:\n{}", moved.join("\n"));
}

#[test]
fn several_seeds_give_each_pool_its_own_labels_and_keys() {
    let base = keys(&[]);
    let seeded = keys(&["experiment.seeds=[0, 1, 2]"]);
    for seed in 0..3 {
        for label in base.keys().filter(|l| *l != "report[verdict]") {
            let own = format!("{label}@s{seed}");
            assert!(seeded.contains_key(&own), "{own} missing");
        }
    }
    // One verdict over every seed, reading each seed's pool.
    assert!(seeded.contains_key("report[verdict]"));
    assert_ne!(seeded["report[verdict]"], base["report[verdict]"]);
    // Training with seed 0 is today's dense model; everything else differs by seed.
    assert_eq!(seeded["train@s0"], base["train"]);
    for label in ["train", "prune[3]", "eval[2]", "lost[1]", "report[ha]"] {
        let per_seed: std::collections::BTreeSet<&String> =
            (0..3).map(|s| &seeded[&format!("{label}@s{s}")]).collect();
        assert_eq!(per_seed.len(), 3, "{label}: {per_seed:?}");
    }
}

/// Training schedules behind a model stage: itself plus those of the model it starts from.
fn schedules(plan: &BTreeMap<String, (String, Vec<String>)>, label: &str) -> usize {
    let (kind, inputs) = &plan[label];
    assert!(
        ["train", "prune", "control"].contains(&kind.as_str()),
        "{label} is a {kind}"
    );
    1 + inputs.first().map_or(0, |parent| schedules(plan, parent))
}

#[test]
fn the_matched_control_of_round_n_has_n_plus_one_schedules_and_is_analysed_alike() {
    let overrides: Vec<Override> = ["control.matched_dense=true"]
        .iter()
        .map(|o| o.parse().unwrap())
        .collect();
    let path = Path::new("experiments/quickstart.toml");
    let spec = parse_spec(QUICKSTART, path, &overrides).unwrap();
    let pipeline = compile(&spec, path).unwrap();
    let plan: BTreeMap<String, (String, Vec<String>)> = pipeline
        .plan
        .stages()
        .map(|s| {
            let inputs = s.inputs.iter().map(|(l, _)| l.to_string()).collect();
            (s.label.to_string(), (s.stage.kind().to_string(), inputs))
        })
        .collect();
    for round in 1..=5 {
        let control = format!("prune[{round}]@control");
        assert_eq!(plan[&control].0, "control");
        assert_eq!(schedules(&plan, &control), round + 1, "{control}");
        assert_eq!(schedules(&plan, &format!("prune[{round}]")), round + 1);
        for analysed in [
            format!("eval[{round}]@control"),
            format!("lost[{round}]@control"),
            format!("score[{round},ig]@control"),
            format!("ha[{round},colour]@control"),
        ] {
            assert!(plan.contains_key(&analysed), "{analysed} missing");
        }
        assert!(
            plan["report[verdict]"]
                .1
                .contains(&format!("eval[{round}]@control"))
        );
    }
    // The dense model is shared, and the control has no reports of its own.
    assert!(!plan.contains_key("train@control") && !plan.contains_key("eval[0]@control"));
    assert!(
        !plan
            .keys()
            .any(|l| l.starts_with("report") && l.contains("@control"))
    );
    // The pruned pool keeps its keys; only the verdict, which now reads the control, changes.
    let base = keys(&[]);
    let with_control = keys(&["control.matched_dense=true"]);
    for (label, key) in &base {
        assert_eq!(
            *key == with_control[label],
            label != "report[verdict]",
            "{label}"
        );
    }
}

#[test]
fn check_warns_about_a_zero_initialised_prunable_tensor_under_short_training() {
    let vit = include_str!("../experiments/vit-small.toml");
    let path = Path::new("experiments/vit-small.toml");
    let warnings = |overrides: &[&str]| {
        let overrides: Vec<Override> = overrides.iter().map(|o| o.parse().unwrap()).collect();
        let spec = parse_spec(vit, path, &overrides).unwrap();
        compile(&spec, path).unwrap().warnings
    };
    let short = warnings(&["train.epochs=2"]);
    assert!(
        short
            .iter()
            .any(|w| w.contains("head") && w.contains("starts at zero")),
        "{short:?}"
    );
    assert!(warnings(&["train.epochs=30"]).is_empty());
    // Excluding the tensors it names silences it.
    let named: Vec<String> = short
        .iter()
        .map(|w| format!("\"{}\"", w.split('`').nth(1).unwrap()))
        .collect();
    let exclude = format!("prune.exclude=[{}]", named.join(", "));
    assert!(warnings(&["train.epochs=2", &exclude]).is_empty());
    // A ResNet initialises no prunable tensor to zero.
    let spec = parse_spec(QUICKSTART, Path::new("q.toml"), &[]).unwrap();
    assert!(
        compile(&spec, Path::new("q.toml"))
            .unwrap()
            .warnings
            .is_empty()
    );
}

#[test]
fn a_layer_limit_changes_the_pruning_rounds_and_leaves_the_dense_model() {
    let base = keys(&[]);
    let capped = keys(&["prune.max_layer_sparsity=0.9"]);
    assert_eq!(base["train"], capped["train"]);
    assert_eq!(base["eval[0]"], capped["eval[0]"]);
    assert_ne!(base["prune[1]"], capped["prune[1]"]);
}

/// Synchronised batch norm trains what one device trains: two devices with `train.sync_bn` keep
/// the one-device keys, where per-device batch norm has keys of its own. Where it does nothing
/// (one device, no batch norm), `check` says so and the keys stay.
#[test]
fn sync_bn_keeps_the_one_device_keys_and_warns_where_it_does_nothing() {
    let two = "experiment.devices=[\"cpu\", \"cpu\"]";
    let base = keys(&[]);
    let per_device = keys(&[two]);
    assert_ne!(base["train"], per_device["train"]);
    assert_eq!(keys(&[two, "train.sync_bn=true"]), base);
    assert_eq!(keys(&["train.sync_bn=true"]), base);

    let warnings = |text: &str, overrides: &[&str]| {
        let overrides: Vec<Override> = overrides.iter().map(|o| o.parse().unwrap()).collect();
        let path = Path::new("x.toml");
        compile(&parse_spec(text, path, &overrides).unwrap(), path)
            .unwrap()
            .warnings
    };
    let one = warnings(QUICKSTART, &["train.sync_bn=true"]);
    assert!(
        one.iter()
            .any(|w| w.contains("sync_bn") && w.contains("one device")),
        "{one:?}"
    );
    assert!(warnings(QUICKSTART, &[two, "train.sync_bn=true"]).is_empty());
    let vit = include_str!("../experiments/vit-small.toml");
    let no_bn = warnings(vit, &[two, "train.sync_bn=true", "train.epochs=30"]);
    assert!(
        no_bn.iter().any(|w| w.contains("no batch norm")),
        "{no_bn:?}"
    );
}
