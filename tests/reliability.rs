//! Edges where a run used to go wrong after `pvr check` accepted it, or where a cache answer
//! went stale or got lost: each test failed on the main of 2026-11-28 before the fix.

mod common;

use std::process::{Command, Stdio};

use common::{TINY, Workspace, stderr};

/// `pvr check` rejects the spec with a message naming `key` (exit 2, no panic, no abort).
fn rejected(ws: &Workspace, replace: (&str, &str), key: &str) -> String {
    ws.write_spec("edge.toml", &TINY.replace(replace.0, replace.1));
    let output = ws.pvr(&["check", "edge.toml"]);
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{replace:?} was accepted:\n{err}"
    );
    assert!(err.contains(key), "{replace:?}: no `{key}` in\n{err}");
    err
}

#[test]
fn names_that_would_escape_or_overflow_the_report_folder_are_rejected() {
    let ws = Workspace::new();
    for name in ["..", ".", ".hidden"] {
        rejected(
            &ws,
            ("name = \"tiny\"", &format!("name = \"{name}\"")),
            "experiment.name",
        );
    }
    let long = "a".repeat(300);
    let err = rejected(
        &ws,
        ("name = \"tiny\"", &format!("name = \"{long}\"")),
        "experiment.name",
    );
    assert!(
        err.len() < 2000,
        "the message repeats the whole name: {err}"
    );
}

#[test]
fn sizes_that_would_abort_on_allocation_are_rejected() {
    let ws = Workspace::new();
    rejected(
        &ws,
        ("train_size = 48", "train_size = 4294967296"),
        "data.train_size",
    );
    rejected(
        &ws,
        ("val_size = 24", "val_size = 1000000000000"),
        "data.val_size",
    );
    rejected(
        &ws,
        ("train_size = 48", "train_size = 9223372036854775807"),
        "data.train_size",
    );
    rejected(
        &ws,
        ("image_size = 16", "image_size = 100000"),
        "data.image_size",
    );
    rejected(
        &ws,
        ("batch_size = 24", "batch_size = 100000000"),
        "eval.batch_size",
    );
    rejected(&ws, ("width = 4", "width = 4096"), "model.width");
    let ha = format!("{TINY}\n[ha]\nimages_per_condition = 18446744073709551615\n");
    ws.write_spec("ha.toml", &ha);
    let err = stderr(&ws.pvr(&["check", "ha.toml"]));
    assert!(err.contains("ha.images_per_condition"), "{err}");
    let ig = format!(
        "{TINY}\n[[attribution]]\nmethod = \"ig\"\nbaseline = \"blurred\"\nblur_sigma = 1e300\n"
    );
    ws.write_spec("ig.toml", &ig);
    let err = stderr(&ws.pvr(&["check", "ig.toml"]));
    assert!(err.contains("attribution.0.blur_sigma"), "{err}");
}

#[test]
fn derived_round_counts_and_infinite_decay_are_rejected() {
    let ws = Workspace::new();
    rejected(
        &ws,
        (
            "rate = 0.2\nrounds = 2",
            "rate = 1e-300\ntarget_sparsity = 0.99",
        ),
        "prune.target_sparsity",
    );
    let err = rejected(
        &ws,
        (
            "optimizer = { kind = \"sgd\", lr = 0.05 }",
            "optimizer = { kind = \"sgd\", lr = 0.05, weight_decay = inf }",
        ),
        "train.optimizer.weight_decay",
    );
    assert!(!err.contains("lower train.optimizer.lr"), "{err}");
}

#[test]
fn carets_line_up_after_non_ascii_text() {
    let ws = Workspace::new();
    let text = TINY.replace("width = 4", "width = 4\npool = [\"\u{e4}.pth\", 3]");
    ws.write_spec("caret.toml", &text);
    let err = stderr(&ws.pvr(&["check", "caret.toml"]));
    // The `3` is the 18th character of its line and its 19th byte (`ä` takes two).
    assert!(err.contains("caret.toml:14:18"), "{err}");
}

#[test]
fn a_closed_pipe_ends_pvr_quietly() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pvr"))
        .args(["models"])
        .current_dir(ws.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before pvr writes: every write then meets a broken pipe.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(output.status.code(), Some(101), "{err}");
}

#[test]
fn gc_keeps_what_a_set_run_built_and_a_recent_run_reached() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", &TINY.replace("rounds = 2", "rounds = 0"));
    ws.run_ok("tiny.toml", &["--set", "train.epochs=1"]);
    let entries = || {
        std::fs::read_dir(ws.path().join("cache/entries"))
            .unwrap()
            .flat_map(|shard| std::fs::read_dir(shard.unwrap().path()).unwrap())
            .count()
    };
    let built = entries();
    assert!(built >= 3, "{built}");
    // With the same --set, the file's plan covers every entry.
    let output = ws.pvr(&[
        "gc",
        "tiny.toml",
        "--set",
        "train.epochs=1",
        "--keep-days",
        "0",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(entries(), built);
    // Without it, the recent run record still keeps them...
    let output = ws.pvr(&["gc", "tiny.toml", "--dry-run"]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("would remove 0 entries"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    // ...and only `--keep-days 0` lets them go, listed by stage label.
    let output = ws.pvr(&["gc", "tiny.toml", "--keep-days", "0", "--dry-run"]);
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(listing.contains("train"), "{listing}");
    assert!(
        listing.contains(&format!("would remove {built} entries")),
        "{listing}"
    );
}
