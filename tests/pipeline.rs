//! End to end through the CLI on the tiny experiment: a full run, a no-op rerun, exact
//! invalidation when one value changes, and `pvr status` explaining why.

mod common;

use common::{TINY, Workspace, labels_with, stdout};
use pvr::exec::StageStatus;

fn strings(items: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    out.sort();
    out
}

#[test]
fn run_rerun_and_exact_invalidation() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);

    let first = ws.run_ok("tiny.toml", &[]);
    assert_eq!(
        labels_with(&first, StageStatus::Ran),
        strings(&[
            "train",
            "prune[1]",
            "prune[2]",
            "eval[0]",
            "eval[1]",
            "eval[2]",
            "report",
            "report[verdict]"
        ])
    );
    let report = ws.path().join("reports/tiny");
    for file in [
        "pool.parquet",
        "layers.parquet",
        "summary.md",
        "accuracy.png",
        "run.json",
    ] {
        assert!(report.join(file).is_file(), "missing {file}");
    }
    let pool = pvr::files::tables::read_parquet(&report.join("pool.parquet")).unwrap();
    assert_eq!(pool.height(), 3);
    // Key columns lead the table; the verdict leads the summary, the pool's page follows.
    let names: Vec<String> = pool
        .get_column_names()
        .iter()
        .take(4)
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names, ["experiment", "arch", "seed", "round"]);
    let summary = std::fs::read_to_string(report.join("summary.md")).unwrap();
    assert!(
        summary.starts_with("# tiny\n\n## Verdict") && summary.contains("## The pool"),
        "{summary}"
    );
    let verdict = pvr::files::tables::read_parquet(&report.join("verdict.parquet")).unwrap();
    // One metric (top-1, no analysis), two pruned rounds, against the dense model.
    assert_eq!(verdict.height(), 2);
    let sparsity: Vec<f64> = pool
        .column("sparsity")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(sparsity[0], 0.0);
    assert!((sparsity[1] - 0.2).abs() < 1e-3, "{sparsity:?}");
    assert!((sparsity[2] - 0.36).abs() < 1e-3, "{sparsity:?}");

    // Nothing changed: every stage is a cache hit.
    let second = ws.run_ok("tiny.toml", &[]);
    assert_eq!(second.count(StageStatus::Cached), 8, "{:?}", second.stages);

    // The evaluation batch size changes speed, not results: nothing reruns.
    let third = ws.run_ok("tiny.toml", &["--set", "eval.batch_size=12"]);
    assert_eq!(third.count(StageStatus::Cached), 8, "{:?}", third.stages);

    // The pruning rate leaves the dense model and its evaluation alone.
    let status = stdout(&ws.pvr(&["status", "tiny.toml", "--set", "prune.rate=0.3"]));
    // In the spec's words, with a total line at the end.
    assert!(status.contains("prune.rate: 0.2 -> 0.3"), "{status}");
    let total = status.lines().last().unwrap_or_default();
    assert!(
        total.starts_with("total: ") && total.contains(" cached") && total.contains(" stale"),
        "{status}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("train ") && l.contains("cached")),
        "{status}"
    );
    let fourth = ws.run_ok("tiny.toml", &["--set", "prune.rate=0.3"]);
    assert_eq!(
        labels_with(&fourth, StageStatus::Ran),
        strings(&[
            "prune[1]",
            "prune[2]",
            "eval[1]",
            "eval[2]",
            "report",
            "report[verdict]"
        ])
    );
    assert_eq!(
        labels_with(&fourth, StageStatus::Cached),
        strings(&["train", "eval[0]"])
    );

    // Comments, key order and formatting do not change any key.
    let reordered = format!(
        "# a comment\n{}",
        TINY.replace("rate = 0.2\nrounds = 2", "rounds = 2\nrate   =   0.2")
    );
    ws.write_spec("tiny.toml", &reordered);
    let fifth = ws.run_ok("tiny.toml", &[]);
    assert_eq!(fifth.count(StageStatus::Cached), 8, "{:?}", fifth.stages);
}

#[test]
fn a_corrupted_entry_is_detected_and_rebuilt() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    let first = ws.run_ok("tiny.toml", &["--set", "prune.rounds=1"]);
    let eval_key = &first
        .stages
        .iter()
        .find(|s| s.stage == "eval[1]")
        .unwrap()
        .key;
    let metrics = ws
        .path()
        .join("cache/entries")
        .join(&eval_key[..2])
        .join(eval_key)
        .join("metrics.json");
    let mut bytes = std::fs::read(&metrics).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(&metrics, bytes).unwrap();

    let second = ws.run_ok("tiny.toml", &["--set", "prune.rounds=1"]);
    let eval = second.stages.iter().find(|s| s.stage == "eval[1]").unwrap();
    assert_eq!(eval.status, StageStatus::Ran);
    assert!(
        eval.note.as_deref().unwrap_or("").contains("metrics.json"),
        "{eval:?}"
    );
    assert_eq!(
        labels_with(&second, StageStatus::Ran),
        strings(&["eval[1]"])
    );
}

#[test]
fn gc_keeps_what_the_given_experiments_reach() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    let other = TINY
        .replace("name = \"tiny\"", "name = \"other\"")
        .replace("batch_size = 24", "batch_size = 12");
    ws.write_spec("other.toml", &other);
    ws.run_ok("tiny.toml", &[]);
    let other_run = ws.run_ok("other.toml", &[]);
    // Same data, model and recipe, and an evaluation batch size that changes no result: every
    // stage is shared but the report, which is named after its experiment.
    assert_eq!(
        labels_with(&other_run, StageStatus::Ran),
        strings(&["report", "report[verdict]"])
    );

    // By default gc also keeps what a run reached in the last week: `other` ran just now.
    let dry = stdout(&ws.pvr(&["gc", "tiny.toml", "--dry-run"]));
    assert!(dry.contains("would remove 0 entries"), "{dry}");
    let dry = stdout(&ws.pvr(&["gc", "tiny.toml", "--dry-run", "--keep-days", "0"]));
    assert!(dry.contains("would remove 2 entries"), "{dry}");
    assert_eq!(ws.run_ok("other.toml", &[]).count(StageStatus::Cached), 8);

    let removed = stdout(&ws.pvr(&["gc", "tiny.toml", "--keep-days", "0"]));
    assert!(removed.contains("removed 2 entries"), "{removed}");
    assert_eq!(ws.run_ok("tiny.toml", &[]).count(StageStatus::Cached), 8);
    let rerun = ws.run_ok("other.toml", &[]);
    assert_eq!(
        labels_with(&rerun, StageStatus::Ran),
        strings(&["report", "report[verdict]"])
    );
}

#[test]
fn a_failing_stage_stops_its_descendants_and_the_run_exits_non_zero() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    // A learning rate this large makes the loss overflow in the first epoch.
    let output = ws.pvr(&[
        "run",
        "tiny.toml",
        "--quiet",
        "--set",
        "train.optimizer.lr=1e30",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = common::stderr(&output);
    assert!(
        err.contains("stage `train` failed") && err.contains("diverged"),
        "{err}"
    );
    let summary = pvr::exec::RunSummary::read(&ws.report_dir(&output).join("run.json")).unwrap();
    assert_eq!(
        labels_with(&summary, StageStatus::Failed),
        strings(&["train"])
    );
    assert_eq!(summary.count(StageStatus::Skipped), 7);
    // Nothing of the failed stage is left looking complete.
    let status = stdout(&ws.pvr(&["status", "tiny.toml", "--set", "train.optimizer.lr=1e30"]));
    assert!(!status.contains("cached"), "{status}");
}

/// The matched control on the tiny experiment (its models sit at chance level, 12 classes): the
/// verdict reads each control's record and evaluation, names a collapsed reference in
/// `collapse_reason`, and draws every seed faintly with the mean in `verdict.png`.
#[test]
fn the_verdict_checks_the_control_and_dense_models_for_collapse() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    let output = ws.pvr(&[
        "run",
        "tiny.toml",
        "--quiet",
        "--set",
        "control.matched_dense=true",
        "--set",
        "experiment.seeds=[0, 1]",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = ws.report_dir(&output);
    let verdict = pvr::files::tables::read_parquet(&report.join("verdict.parquet")).unwrap();
    // Top-1 only, two pruned rounds, against the dense model and the control.
    assert_eq!(verdict.height(), 4);
    let text = |name: &str| -> Vec<String> {
        verdict
            .column(name)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect()
    };
    let (references, reasons, verdicts) =
        (text("reference"), text("collapse_reason"), text("verdict"));
    let flags = |name: &str| -> Vec<bool> {
        verdict
            .column(name)
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect()
    };
    let (collapsed, reference_collapsed) = (flags("collapsed"), flags("reference_collapsed"));
    for i in 0..4 {
        let whose = if references[i] == "control" {
            "control"
        } else {
            "dense model"
        };
        // Every model of the tiny pool is at chance; the reason names the reference's too.
        assert!(
            reasons[i].contains(&format!("{whose}: top-1 interval")),
            "{}: {}",
            references[i],
            reasons[i]
        );
        // The pruned model's own collapse comes first; a reference's never hides it.
        assert!(collapsed[i] && !reference_collapsed[i]);
        assert_eq!(verdicts[i], "collapsed");
    }
    assert!(report.join("verdict.png").is_file());
    let summary = std::fs::read_to_string(report.join("summary.md")).unwrap();
    assert!(summary.contains("](verdict.png)"), "{summary}");
}
