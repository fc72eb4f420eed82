//! A killed run leaves nothing that looks complete and resumes training where it stopped; two
//! runs on one cache serialise on its lock; the same spec gives the same numbers.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{ONE_ROUND_STAGES, TINY, Workspace, labels_with, stderr};
use pvr::backend::DeviceChoice;
use pvr::cache::{Cache, Lookup};
use pvr::exec::StageStatus;
use pvr::models::params::read_params;
use pvr::pool::load_checkpoint;

fn trained_weights(ws: &Workspace, label: &str) -> std::collections::BTreeMap<String, Vec<f32>> {
    let summary = pvr::exec::RunSummary::read(&ws.path().join("reports/tiny/run.json")).unwrap();
    let key = &summary
        .stages
        .iter()
        .find(|s| s.stage == label)
        .unwrap()
        .key;
    let cache = Cache::open(ws.path().join("cache")).unwrap();
    let Lookup::Hit(entry) = cache.lookup(key).unwrap() else {
        panic!("{label} not cached")
    };
    let model = load_checkpoint(&entry, &DeviceChoice::Cpu.device()).unwrap();
    read_params(&model.network, &|_| true)
}

#[test]
fn same_spec_same_numbers() {
    let a = Workspace::new();
    let b = Workspace::new();
    for ws in [&a, &b] {
        ws.write_spec("tiny.toml", TINY);
        // One report folder name for both, so the helpers below find it.
        ws.run_ok(
            "tiny.toml",
            &["--set", "prune.rounds=1", "--report-name", "tiny"],
        );
    }
    assert_eq!(
        trained_weights(&a, "prune[1]"),
        trained_weights(&b, "prune[1]")
    );
    let summary = |ws: &Workspace| {
        std::fs::read_to_string(ws.path().join("reports/tiny/summary.md")).unwrap()
    };
    // Timings differ; every metric column must not.
    let metrics = |text: String| {
        text.lines()
            .filter(|l| l.starts_with("| "))
            .map(|l| l.rsplitn(3, '|').nth(2).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(metrics(summary(&a)), metrics(summary(&b)));
}

#[test]
fn killed_training_leaves_no_entry_and_resumes() {
    let slow = TINY
        .replace("train_size = 48", "train_size = 384")
        .replace("epochs = 2", "epochs = 4");
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", &slow);
    let mut child = ws
        .command(&["run", "tiny.toml", "--set", "prune.rounds=0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the first epoch checkpoint, then kill without warning.
    let scratch = ws.path().join("cache/scratch");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let checkpointed = std::fs::read_dir(&scratch)
            .map(|dirs| dirs.flatten().any(|d| d.path().join("state.json").exists()))
            .unwrap_or(false);
        if checkpointed {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "pvr finished before it could be killed"
        );
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let check = ws.pvr(&["status", "tiny.toml", "--set", "prune.rounds=0"]);
    let status = String::from_utf8_lossy(&check.stdout);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("train ") && !l.contains("cached")),
        "{status}"
    );

    let output = ws.pvr(&[
        "run",
        "tiny.toml",
        "--set",
        "prune.rounds=0",
        "--report-name",
        "tiny",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("resuming after epoch"),
        "{}",
        stderr(&output)
    );
    let resumed = trained_weights(&ws, "train");

    let unbroken = Workspace::new();
    unbroken.write_spec("tiny.toml", &slow);
    unbroken.run_ok(
        "tiny.toml",
        &["--set", "prune.rounds=0", "--report-name", "tiny"],
    );
    assert_eq!(
        resumed,
        trained_weights(&unbroken, "train"),
        "a resumed run must reach the same weights"
    );
}

#[test]
fn two_runs_on_one_cache_do_each_stage_once() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    let spawn = |reports: &str| {
        ws.command(&[
            "run",
            "tiny.toml",
            "--quiet",
            "--set",
            "prune.rounds=1",
            "--report-name",
            "tiny",
            "--reports-dir",
            reports,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
    };
    let (mut first, mut second) = (spawn("reports-a"), spawn("reports-b"));
    assert!(first.wait().unwrap().success());
    assert!(second.wait().unwrap().success());
    let read = |dir: &str| {
        pvr::exec::RunSummary::read(&ws.path().join(dir).join("tiny/run.json")).unwrap()
    };
    let (a, b) = (read("reports-a"), read("reports-b"));
    let mut ran = labels_with(&a, StageStatus::Ran);
    ran.extend(labels_with(&b, StageStatus::Ran));
    ran.sort();
    assert_eq!(ran, ONE_ROUND_STAGES);
}
