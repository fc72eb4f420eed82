//! `pvr run --executor slurm` against a real Slurm: the one-node cluster on 127.0.0.1 that
//! `scripts/slurm-up.sh` starts (`.ci/run` starts it before the tests). Without it these tests
//! fail and say so; they never skip.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TINY, Workspace, stderr, stdout};

fn cluster_answers() -> bool {
    Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| {
            let states = String::from_utf8_lossy(&o.stdout);
            ["idle", "mix", "alloc"].iter().any(|s| states.contains(s))
        })
}

/// The loopback cluster, started with `scripts/slurm-up.sh` (once per test binary) when no
/// cluster answers; a test fails, saying why, when that does not work.
fn require_cluster() {
    static START: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let started = START.get_or_init(|| {
        if cluster_answers() {
            return Ok(());
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/slurm-up.sh");
        let output = Command::new("bash")
            .arg(script)
            .output()
            .map_err(|e| format!("running {script}: {e}"))?;
        if output.status.success() && cluster_answers() {
            Ok(())
        } else {
            Err(format!(
                "{script} could not start the cluster (it needs root for Debian's slurm packages and daemons):\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    });
    if let Err(why) = started {
        panic!("no Slurm cluster answers on this machine: {why}");
    }
}

/// `pvr status` lines as (label, state, key).
fn status(ws: &Workspace, spec: &str) -> Vec<(String, String, String)> {
    stdout(&ws.pvr(&["status", spec]))
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with("total:"))
        .map(|line| {
            let mut parts = line.split_whitespace();
            let mut next = || parts.next().unwrap_or("").to_string();
            (next(), next(), next())
        })
        .collect()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A training long enough (seconds) to be caught running.
fn slow_spec(rounds: usize) -> String {
    TINY.replace("epochs = 2", "epochs = 40")
        .replace("train_size = 48", "train_size = 480")
        .replace("rounds = 2", &format!("rounds = {rounds}"))
}

fn job_of(output: &str, label: &str) -> String {
    output
        .lines()
        .find(|l| l.split_whitespace().next() == Some(label))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("no job for {label} in\n{output}"))
        .to_string()
}

#[test]
fn a_run_through_slurm_gives_the_local_runs_keys_and_results() {
    require_cluster();
    let local = Workspace::new();
    local.write_spec("tiny.toml", TINY);
    local.run_ok("tiny.toml", &[]);
    let cluster = Workspace::new();
    cluster.write_spec("tiny.toml", TINY);
    let output = cluster.pvr(&["run", "tiny.toml", "--executor", "slurm", "--wait"]);
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("submitted 8 job(s)"),
        "{}",
        stdout(&output)
    );
    let (a, b) = (status(&local, "tiny.toml"), status(&cluster, "tiny.toml"));
    assert_eq!(a, b);
    assert!(b.iter().all(|(_, state, _)| state == "cached"), "{b:?}");
    let read = |ws: &Workspace| {
        let path = ws.path().join("reports/tiny/pool.parquet");
        let frame = pvr::files::tables::read_parquet(&path).unwrap();
        frame.column("top1").unwrap().f64().unwrap().to_vec()
    };
    assert_eq!(read(&local), read(&cluster));
    // Another configuration gets its own report folder, as a local run's would: here every
    // stage is cached (the eval batch size keys nothing), so it is published from the cache.
    let other = cluster.pvr(&[
        "run",
        "tiny.toml",
        "--executor",
        "slurm",
        "--set",
        "eval.batch_size=7",
    ]);
    let text = stdout(&other);
    assert!(text.contains("submitted 0 job(s)"), "{text}");
    let folder = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report folder in {text}"));
    assert!(folder.contains("reports/tiny-"), "{folder}");
    assert!(Path::new(folder).join("pool.parquet").is_file(), "{folder}");
}

#[test]
fn a_second_submission_reuses_queued_jobs_and_edits_do_not_reach_them() {
    require_cluster();
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    let held = ["--set", "executor.slurm.default.extra=[\"--hold\"]"];
    let first = ws.pvr(&[&["run", "tiny.toml", "--executor", "slurm"][..], &held].concat());
    assert!(first.status.success(), "{}", stderr(&first));
    let submitted = stdout(&first);
    let before = status(&ws, "tiny.toml");
    assert!(before.iter().all(|(_, s, _)| s == "queued"), "{before:?}");

    let second =
        stdout(&ws.pvr(&[&["run", "tiny.toml", "--executor", "slurm"][..], &held].concat()));
    assert!(
        second.contains("submitted 0 job(s), 8 already queued"),
        "{second}"
    );

    // Editing the file after submission changes nothing the queued jobs compute.
    ws.write_spec("tiny.toml", &TINY.replace("epochs = 2", "epochs = 3"));
    let ids: Vec<String> = [
        "train",
        "eval[0]",
        "prune[1]",
        "eval[1]",
        "prune[2]",
        "eval[2]",
        "report",
        "report[verdict]",
    ]
    .iter()
    .map(|label| job_of(&submitted, label))
    .collect();
    let release = Command::new("scontrol")
        .arg("release")
        .arg(ids.join(","))
        .status()
        .unwrap();
    assert!(release.success());
    ws.write_spec("original.toml", TINY);
    wait_until("the released jobs", Duration::from_secs(180), || {
        status(&ws, "original.toml")
            .iter()
            .all(|(_, s, _)| s == "cached")
    });
    let edited = status(&ws, "tiny.toml");
    assert!(
        edited
            .iter()
            .any(|(label, s, _)| label == "train" && s != "cached"),
        "{edited:?}"
    );
}

#[test]
fn a_cancelled_job_is_reported_and_the_next_run_finishes_only_what_is_missing() {
    require_cluster();
    let ws = Workspace::new();
    // Long enough a training that it is still running when cancelled.
    ws.write_spec("slow.toml", &slow_spec(1));
    let submitted = stdout(&ws.pvr(&["run", "slow.toml", "--executor", "slurm"]));
    let train = job_of(&submitted, "train");
    wait_until("training to start", Duration::from_secs(60), || {
        status(&ws, "slow.toml")
            .iter()
            .any(|(l, s, _)| l == "train" && s == "running")
    });
    assert!(
        Command::new("scancel")
            .arg(&train)
            .status()
            .unwrap()
            .success()
    );
    wait_until("the cancellation", Duration::from_secs(60), || {
        status(&ws, "slow.toml")
            .iter()
            .any(|(l, s, _)| l == "train" && s == "failed")
    });
    let text = stdout(&ws.pvr(&["status", "slow.toml"]));
    assert!(text.contains("log: "), "{text}");

    // The rest was cancelled by Slurm with it; the next run resubmits them all, and only them.
    let again = ws.pvr(&["run", "slow.toml", "--executor", "slurm", "--wait"]);
    assert!(
        again.status.success(),
        "{}\n{}",
        stdout(&again),
        stderr(&again)
    );
    assert!(
        stdout(&again).contains("submitted 6 job(s), 0 already"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn a_signalled_training_job_requeues_and_resumes_from_its_epoch() {
    require_cluster();
    let ws = Workspace::new();
    ws.write_spec("slow.toml", &slow_spec(0));
    let submitted = stdout(&ws.pvr(&["run", "slow.toml", "--executor", "slurm"]));
    let train = job_of(&submitted, "train");
    let log = || {
        let dir = ws.path().join("cache/slurm/logs");
        std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    wait_until("a finished epoch", Duration::from_secs(90), || {
        log().contains("epoch 2/40")
    });
    // What Slurm sends before the time limit (`--signal=B:USR1@...`), sent now.
    let signal = Command::new("scancel")
        .args(["--signal=USR1", "--batch", &train])
        .status()
        .unwrap();
    assert!(signal.success());
    wait_until(
        "the requeued job to finish",
        Duration::from_secs(240),
        || {
            status(&ws, "slow.toml")
                .iter()
                .all(|(_, s, _)| s == "cached")
        },
    );
    assert!(log().contains("resuming after epoch"), "{}", log());
}
