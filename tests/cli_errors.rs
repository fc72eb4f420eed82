//! What a user sees when something is wrong: file, line, column and key for spec errors; the
//! expected path for missing data; model/data mismatches before any training.

mod common;

use common::{TINY, Workspace, stderr};

#[test]
fn spec_errors_name_file_line_column_and_key() {
    let ws = Workspace::new();
    ws.write_spec(
        "bad.toml",
        &TINY.replace("epochs = 2", "epochs = 2\nepochz = 3"),
    );
    let output = ws.pvr(&["check", "bad.toml"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("bad.toml:17:1"), "{err}");
    assert!(err.contains("epochz"), "{err}");

    ws.write_spec("range.toml", &TINY.replace("rate = 0.2", "rate = 1.2"));
    let err = stderr(&ws.pvr(&["run", "range.toml"]));
    assert!(err.contains("range.toml:21:8"), "{err}");
    assert!(err.contains("key `prune.rate`"), "{err}");
    assert!(
        !ws.path().join("cache/entries").exists()
            || std::fs::read_dir(ws.path().join("cache/entries"))
                .unwrap()
                .next()
                .is_none()
    );

    let err = stderr(&ws.pvr(&[
        "check",
        "range.toml",
        "--set",
        "prune.rate=0.5",
        "--set",
        "train.batch_size=0",
    ]));
    assert!(err.contains("--set train.batch_size=0"), "{err}");
}

#[test]
fn missing_data_names_the_expected_path() {
    let ws = Workspace::new();
    let text = TINY.replace(
        "image_size = 16",
        "source = \"imagefolder\"\npath = \"nowhere/imagenet\"\nimage_size = 16",
    );
    ws.write_spec("folder.toml", &text);
    // An image folder's class count comes from the folder: without it, planning needs it given.
    let err = stderr(&ws.pvr(&["check", "folder.toml"]));
    assert!(
        err.contains("nowhere/imagenet does not exist") && err.contains("model.num_classes"),
        "{err}"
    );
    let output = ws.pvr(&["check", "folder.toml", "--set", "model.num_classes=2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = common::stdout(&output);
    assert!(out.contains("nowhere/imagenet does not exist"), "{out}");
    // `run` fails the stages that read the folder, saying where it should be, and no other.
    let output = ws.pvr(&["run", "folder.toml", "--set", "model.num_classes=2"]);
    assert!(!output.status.success());
    let all = format!("{}{}", common::stdout(&output), stderr(&output));
    assert!(all.contains("nowhere/imagenet does not exist"), "{all}");
}

#[test]
fn model_data_mismatch_is_caught_before_training() {
    let ws = Workspace::new();
    ws.write_spec(
        "mismatch.toml",
        &TINY.replace("width = 4", "width = 4\nnum_classes = 1000"),
    );
    let output = ws.pvr(&["run", "mismatch.toml"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("model/dataset mismatch"), "{err}");
    assert!(!ws.path().join("reports").exists());
}

#[test]
fn image_size_too_small_for_the_stem() {
    let ws = Workspace::new();
    ws.write_spec(
        "small.toml",
        &TINY.replace("width = 4", "width = 4\nstem = \"imagenet\""),
    );
    let err = stderr(&ws.pvr(&["check", "small.toml"]));
    assert!(err.contains("data.image_size"), "{err}");
}
