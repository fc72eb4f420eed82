//! The run-level report: one folder per configuration, provenance that a cached rerun keeps,
//! and an `index.html` whose every link resolves.

mod common;

use common::{TINY, Workspace};
use pvr::exec::StageStatus;
use pvr::report::{Provenance, broken_links};

#[test]
fn each_configuration_gets_a_page_whose_links_resolve_and_reruns_keep_history() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    let base = ws.run_ok("tiny.toml", &[]);
    let base_dir = ws.path().join(&base.report_dir);
    assert!(base_dir.ends_with("reports/tiny"), "{}", base_dir.display());
    let page = base_dir.join("index.html");
    assert_eq!(broken_links(&page).unwrap(), Vec::<String>::new());
    let html = std::fs::read_to_string(&page).unwrap();
    for expected in [
        "accuracy.png",
        "pool.parquet",
        "summary.md",
        "id=\"provenance\"",
    ] {
        assert!(html.contains(expected), "{expected} not on the page");
    }
    // Every figure comes as a PNG with its SVG beside it, both linked from the page.
    let pngs: Vec<String> = std::fs::read_dir(&base_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    assert!(!pngs.is_empty(), "{pngs:?}");
    for png in &pngs {
        let svg = png.replace(".png", ".svg");
        assert!(base_dir.join(&svg).exists(), "{svg} missing");
        assert!(html.contains(&svg), "{svg} not linked");
    }

    // The effective spec and the machine are recorded.
    let provenance: Provenance =
        serde_json::from_slice(&std::fs::read(base_dir.join("provenance.json")).unwrap()).unwrap();
    assert_eq!(provenance.git_commit, pvr::PVR_GIT_COMMIT);
    assert!(!provenance.host.is_empty() && !provenance.cpu_model.is_empty());
    let spec = std::fs::read_to_string(base_dir.join("spec.toml")).unwrap();
    let effective: toml::Table = spec.parse().unwrap();
    assert_eq!(effective["train"]["epochs"].as_integer(), Some(2));

    // A --set run writes its own folder; the base one is left alone.
    let before = std::fs::read(base_dir.join("pool.parquet")).unwrap();
    let set = ws.run_ok("tiny.toml", &["--set", "prune.rounds=1"]);
    assert_ne!(set.report_dir, base.report_dir);
    let set_dir = ws.path().join(&set.report_dir);
    assert_eq!(
        broken_links(&set_dir.join("index.html")).unwrap(),
        Vec::<String>::new()
    );
    let spec = std::fs::read_to_string(set_dir.join("spec.toml")).unwrap();
    assert_eq!(
        spec.parse::<toml::Table>().unwrap()["prune"]["rounds"].as_integer(),
        Some(1)
    );
    assert_eq!(
        std::fs::read(base_dir.join("pool.parquet")).unwrap(),
        before
    );

    // A cached rerun appends a run line and keeps each stage's build time and host.
    let rerun = ws.run_ok("tiny.toml", &[]);
    assert_eq!(rerun.count(StageStatus::Cached), base.stages.len());
    let train = |summary: &pvr::exec::RunSummary| {
        summary
            .stages
            .iter()
            .find(|s| s.stage == "train")
            .cloned()
            .unwrap()
    };
    let (built, cached) = (train(&base), train(&rerun));
    // The building run's time (from the entry's manifest), not the rerun's lookup.
    assert!(cached.seconds > 0.0, "{cached:?}");
    assert_eq!(cached.built_unix, built.built_unix);
    assert!(cached.built_on.is_some() && cached.built_on == built.built_on);
    let runs = std::fs::read_to_string(base_dir.join("runs.jsonl")).unwrap();
    assert_eq!(runs.lines().count(), 2, "{runs}");
}
