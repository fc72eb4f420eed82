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

#[test]
fn non_finite_weights_are_named_at_import() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", &TINY.replace("rounds = 2", "rounds = 0"));
    ws.run_ok("tiny.toml", &[]);
    let output = ws.pvr(&["export", "tiny.toml", "--out", "exports"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let exported = ws.path().join("exports/tiny-round0.safetensors");
    let bytes = std::fs::read(&exported).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (
                name,
                view.dtype(),
                view.shape().to_vec(),
                view.data().to_vec(),
            )
        })
        .collect();
    let fc = tensors.iter_mut().find(|t| t.0 == "fc.weight").unwrap();
    fc.3[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            let view = safetensors::tensor::TensorView::new(*dtype, shape.clone(), data).unwrap();
            (name.clone(), view)
        })
        .collect();
    std::fs::write(
        ws.path().join("nan.safetensors"),
        safetensors::serialize(views, None).unwrap(),
    )
    .unwrap();
    let spec = TINY
        .replace("rounds = 2", "rounds = 0")
        .replace("name = \"tiny\"", "name = \"nan\"")
        .replace("width = 4", "width = 4\npretrained = \"nan.safetensors\"");
    ws.write_spec("nan.toml", &spec);
    let output = ws.pvr(&["run", "nan.toml", "--quiet"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("NaN or infinite values in 1 tensor(s): `fc.weight` (1 of"),
        "{err}"
    );
    assert!(!err.contains("lower train.optimizer.lr"), "{err}");
}

/// An ImageFolder tree with two classes of two same-size PNGs each.
fn image_tree(root: &std::path::Path) {
    for (class, colours) in [
        ("a", [[10, 0, 0], [20, 0, 0]]),
        ("b", [[0, 10, 0], [0, 20, 0]]),
    ] {
        for split in ["train", "val"] {
            for (i, rgb) in colours.iter().enumerate() {
                let path = root.join(split).join(class).join(format!("{i}.png"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                image::RgbImage::from_pixel(4, 4, image::Rgb(*rgb))
                    .save(&path)
                    .unwrap();
            }
        }
    }
}

fn train_fingerprint(root: &std::path::Path) -> String {
    use pvr::data::Dataset;
    pvr::data::imagefolder::ImageFolder::open(root, pvr::data::Split::Train, 4)
        .unwrap()
        .fingerprint()
}

#[test]
fn same_size_changes_to_an_image_tree_change_its_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    image_tree(dir.path());
    let before = train_fingerprint(dir.path());
    // Two same-size images swapped between classes.
    let (a, b) = (
        dir.path().join("train/a/0.png"),
        dir.path().join("train/b/0.png"),
    );
    let (bytes_a, bytes_b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(bytes_a.len(), bytes_b.len());
    std::fs::write(&a, &bytes_b).unwrap();
    std::fs::write(&b, &bytes_a).unwrap();
    assert_ne!(train_fingerprint(dir.path()), before);
}

#[test]
fn symlink_loops_and_non_utf8_names_are_named() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    image_tree(dir.path());
    std::os::unix::fs::symlink("..", dir.path().join("train/a/up")).unwrap();
    let err = pvr::data::imagefolder::ImageFolder::open(dir.path(), pvr::data::Split::Train, 4)
        .unwrap_err()
        .to_string();
    assert!(err.contains("symlink loop"), "{err}");
    assert!(err.contains("train/a/up"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    image_tree(dir.path());
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9.png");
    std::fs::copy(
        dir.path().join("val/a/0.png"),
        dir.path().join("val/a").join(bad),
    )
    .unwrap();
    let err = pvr::data::imagefolder::ImageFolder::open(dir.path(), pvr::data::Split::Val, 4)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not valid UTF-8"), "{err}");
    assert!(err.contains("val/a"), "{err}");
}

#[test]
fn a_missing_name_beside_a_recipe_gets_a_line_and_column() {
    let ws = Workspace::new();
    let text = TINY.replace("name = \"tiny\"\n", "").replace(
        "batch_size = 16",
        "batch_size = 16\nrecipe = \"torchvision-resnet\"",
    );
    ws.write_spec("recipe.toml", &text);
    let err = stderr(&ws.pvr(&["check", "recipe.toml"]));
    assert!(err.contains("recipe.toml:2:1"), "{err}");
    assert!(err.contains("missing field `name`"), "{err}");
    assert!(!err.contains("--set"), "{err}");
}

/// A JPEG whose entropy-coded data is scrambled after its headers.
fn damaged_jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_fn(32, 32, |x, y| image::Rgb([x as u8 * 8, y as u8 * 8, 90]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(&image)
        .unwrap();
    let (start, end) = (bytes.len() / 2, bytes.len() - 2);
    let mut state = 7u32;
    for byte in &mut bytes[start..end] {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        *byte = (state >> 16) as u8;
    }
    bytes
}

#[test]
fn an_unreadable_image_fails_naming_it_or_is_skipped_and_counted() {
    let ws = Workspace::new();
    image_tree(&ws.path().join("data"));
    std::fs::write(ws.path().join("data/train/b/broken.jpg"), damaged_jpeg()).unwrap();
    let spec = |policy: &str| {
        TINY.replace("rounds = 2", "rounds = 0").replace(
            "image_size = 16",
            &format!("source = \"imagefolder\"\npath = \"data\"\non_bad_image = \"{policy}\"\nimage_size = 16"),
        )
    };
    ws.write_spec("fail.toml", &spec("fail"));
    let output = ws.pvr(&["run", "fail.toml", "--quiet"]);
    let err = stderr(&output);
    assert_ne!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("broken.jpg"), "{err}");

    ws.write_spec(
        "skip.toml",
        &spec("skip").replace("name = \"tiny\"", "name = \"skip\""),
    );
    let check = ws.pvr(&["check", "skip.toml"]);
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("1 unreadable image(s) skipped"),
        "{}",
        stderr(&check)
    );
    ws.run_ok("skip.toml", &[]);
    let summary = std::fs::read_to_string(ws.path().join("reports/skip/summary.md")).unwrap();
    assert!(
        summary.contains("1 image file(s) could not be decoded"),
        "{summary}"
    );
    assert!(summary.contains("train/b/broken.jpg"), "{summary}");
}
