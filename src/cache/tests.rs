//! End-to-end tests of entries: commit, lookup, crash and corruption handling, gc.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use serde_json::json;

use super::*;

fn key(n: u8) -> String {
    blake3::hash(&[n]).to_hex().to_string()
}

fn info(label: &str) -> ManifestInfo {
    ManifestInfo {
        label: label.to_string(),
        kind: "prune".to_string(),
        params: json!({"sparsity": 0.5, "train": {"epochs": 2}}),
        inputs: vec![("train".to_string(), key(200))],
        seconds: 1.5,
    }
}

/// Commits an entry with a top-level JSON file and a nested binary file.
fn commit_sample(cache: &Cache, key: &str) -> Entry {
    let writer = cache.begin(key).unwrap();
    fs::write(writer.dir().join("metrics.json"), br#"{"acc": 0.91}"#).unwrap();
    fs::create_dir(writer.dir().join("weights")).unwrap();
    fs::write(writer.dir().join("weights/model.bin"), vec![7u8; 4096]).unwrap();
    writer.commit(info("prune[3]")).unwrap()
}

fn is_empty_dir(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().next().is_none()
}

fn expect_corrupt(cache: &Cache, key: &str, needle: &str) {
    match cache.lookup(key).unwrap() {
        Lookup::Corrupt { reason } => {
            assert!(
                reason.contains(needle),
                "reason {reason:?} lacks {needle:?}"
            )
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        cache.lookup(key).unwrap(),
        Lookup::Missing,
        "corrupt entry not moved aside"
    );
    assert!(is_empty_dir(&cache.tmp_dir()), "trash left in tmp/");
}

#[test]
fn commit_then_lookup_hits_with_correct_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let _lock = cache.lock(false).unwrap();
    let k = key(1);
    assert_eq!(cache.lookup(&k).unwrap(), Lookup::Missing);
    let committed = commit_sample(&cache, &k);
    assert_eq!(
        committed.dir,
        dir.path().join("entries").join(&k[..2]).join(&k)
    );
    assert!(is_empty_dir(&cache.tmp_dir()));

    let Lookup::Hit(entry) = cache.lookup(&k).unwrap() else {
        panic!("expected a hit");
    };
    assert_eq!(entry, committed);
    let m = &entry.manifest;
    assert_eq!(
        (m.schema, m.key.as_str()),
        (crate::CACHE_SCHEMA_VERSION, k.as_str())
    );
    assert_eq!((m.label.as_str(), m.kind.as_str()), ("prune[3]", "prune"));
    assert_eq!(m.params["train"]["epochs"], 2);
    assert_eq!(m.inputs, [("train".to_string(), key(200))]);
    assert_eq!(m.pvr_version, crate::PVR_VERSION);
    let files: Vec<_> = m.files.iter().map(|f| (f.path.as_str(), f.bytes)).collect();
    assert_eq!(files, [("metrics.json", 13), ("weights/model.bin", 4096)]);
    let expected = blake3::hash(&[7u8; 4096]).to_hex().to_string();
    assert_eq!(m.files[1].blake3, expected);
    let metrics: serde_json::Value = entry.read_json("metrics.json").unwrap();
    assert_eq!(metrics["acc"], 0.91);
    assert!(entry.path("weights/model.bin").is_file());
    let err = entry
        .read_json::<serde_json::Value>("nope.json")
        .unwrap_err();
    assert!(format!("{err:#}").contains("nope.json"));
}

#[test]
fn crash_before_rename_is_missing_and_cleaned_on_next_lock() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(2);
    let temp = {
        let cache = Cache::open(dir.path()).unwrap();
        let _lock = cache.lock(false).unwrap();
        let writer = cache.begin(&k).unwrap();
        fs::write(writer.dir().join("out.bin"), b"data").unwrap();
        writer.seal_and_abandon(info("train"))
    };
    assert!(
        temp.join(MANIFEST_FILE).is_file(),
        "sealed temp dir should look complete"
    );

    let cache = Cache::open(dir.path()).unwrap();
    assert_eq!(cache.lookup(&k).unwrap(), Lookup::Missing);
    let _lock = cache.lock(false).unwrap();
    assert!(!temp.exists(), "stale temp dir survived taking the lock");
    assert!(is_empty_dir(&cache.tmp_dir()));
}

#[test]
fn dropping_an_uncommitted_writer_removes_its_temp_dir() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let writer = cache.begin(&key(3)).unwrap();
    fs::write(writer.dir().join("half.bin"), b"x").unwrap();
    drop(writer);
    assert!(is_empty_dir(&cache.tmp_dir()));
    assert_eq!(cache.lookup(&key(3)).unwrap(), Lookup::Missing);
}

#[test]
fn truncated_file_is_corrupt_then_missing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let entry = commit_sample(&cache, &key(4));
    let model = entry.path("weights/model.bin");
    fs::write(&model, vec![7u8; 100]).unwrap();
    expect_corrupt(
        &cache,
        &key(4),
        "weights/model.bin: size 100 bytes, manifest says 4096",
    );
}

#[test]
fn flipped_byte_is_corrupt_then_missing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let entry = commit_sample(&cache, &key(5));
    let model = entry.path("weights/model.bin");
    let mut bytes = fs::read(&model).unwrap();
    bytes[1000] ^= 0x01;
    fs::write(&model, bytes).unwrap();
    expect_corrupt(&cache, &key(5), "weights/model.bin: blake3 ");
}

#[test]
fn deleted_file_is_corrupt_then_missing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let entry = commit_sample(&cache, &key(6));
    fs::remove_file(entry.path("metrics.json")).unwrap();
    expect_corrupt(&cache, &key(6), "metrics.json: missing");
}

#[test]
fn garbled_or_foreign_manifest_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let entry = commit_sample(&cache, &key(7));
    fs::write(entry.path(MANIFEST_FILE), b"{\"schema\": 1, ").unwrap();
    expect_corrupt(&cache, &key(7), "manifest.json: unparseable");

    let entry = commit_sample(&cache, &key(8));
    let mut manifest = entry.manifest.clone();
    manifest.key = key(9);
    fs::write(
        entry.path(MANIFEST_FILE),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    expect_corrupt(&cache, &key(8), "records key");
}

#[test]
fn verify_reports_corruption_without_removing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let entry = commit_sample(&cache, &key(10));
    fs::remove_file(entry.path("metrics.json")).unwrap();
    assert!(matches!(
        cache.verify(&key(10)).unwrap(),
        Lookup::Corrupt { .. }
    ));
    assert!(matches!(
        cache.verify(&key(10)).unwrap(),
        Lookup::Corrupt { .. }
    ));
}

#[test]
fn entry_dir_without_manifest_is_missing_and_commit_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let k = key(11);
    let stray = cache.entry_dir(&k);
    fs::create_dir_all(&stray).unwrap();
    fs::write(stray.join("leftover.bin"), b"junk").unwrap();
    assert_eq!(cache.lookup(&k).unwrap(), Lookup::Missing);
    commit_sample(&cache, &k);
    assert!(matches!(cache.lookup(&k).unwrap(), Lookup::Hit(_)));
    assert!(!stray.join("leftover.bin").exists());
}

#[test]
fn stray_extra_files_do_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let entry = commit_sample(&cache, &key(12));
    fs::write(entry.path("model.bin.partial"), b"half").unwrap();
    assert!(matches!(cache.lookup(&key(12)).unwrap(), Lookup::Hit(_)));
}

#[test]
fn concurrent_identical_commit_keeps_the_first_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let k = key(13);
    let late = cache.begin(&k).unwrap();
    fs::write(late.dir().join("metrics.json"), b"{\"acc\": 0.5}").unwrap();
    let first = commit_sample(&cache, &k);
    let second = late.commit(info("prune[3]")).unwrap();
    assert_eq!(second, first);
    assert!(is_empty_dir(&cache.tmp_dir()));
    let metrics: serde_json::Value = second.read_json("metrics.json").unwrap();
    assert_eq!(metrics["acc"], 0.91);
}

#[test]
fn invalid_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    for bad in [
        "",
        "abc",
        "../etc",
        &key(1).to_uppercase(),
        &format!("{}0", key(1)),
    ] {
        assert!(cache.lookup(bad).is_err(), "{bad:?}");
        assert!(cache.begin(bad).is_err(), "{bad:?}");
        assert!(cache.scratch_dir(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn scratch_dir_is_per_key_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let scratch = cache.scratch_dir(&key(14)).unwrap();
    assert_eq!(scratch, dir.path().join("scratch").join(key(14)));
    write_atomic(&scratch.join("epoch-3.ckpt"), b"weights").unwrap();
    assert_eq!(fs::read(scratch.join("epoch-3.ckpt")).unwrap(), b"weights");
    cache.clear_scratch(&key(14)).unwrap();
    assert!(!scratch.exists());
    cache.clear_scratch(&key(14)).unwrap();
}

#[test]
fn taking_the_lock_sweeps_interrupted_atomic_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let scratch = cache.scratch_dir(&key(15)).unwrap();
    fs::create_dir(scratch.join("ckpt")).unwrap();
    write_atomic(&scratch.join("ckpt/epoch-1.bin"), b"done").unwrap();
    let half = scratch.join(format!("ckpt/{TEMP_PREFIX}epoch-2.bin-1-2-3"));
    fs::write(&half, b"hal").unwrap();
    drop(cache.lock(false).unwrap());
    assert!(!half.exists());
    assert_eq!(fs::read(scratch.join("ckpt/epoch-1.bin")).unwrap(), b"done");
}

#[test]
fn gc_keeps_given_keys_and_dry_run_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let _lock = cache.lock(false).unwrap();
    for n in [20, 21, 22] {
        commit_sample(&cache, &key(n));
    }
    write_atomic(&cache.scratch_dir(&key(21)).unwrap().join("c"), b"12345").unwrap();
    write_atomic(&cache.scratch_dir(&key(23)).unwrap().join("c"), b"123").unwrap();
    write_atomic(&cache.scratch_dir(&key(20)).unwrap().join("c"), b"1").unwrap();
    let listed = cache.entries().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|e| e.label == "prune[3]" && e.kind == "prune")
    );
    let entry_bytes = listed[0].bytes;
    assert!(
        entry_bytes > 4096 + 13,
        "manifest counted too: {entry_bytes}"
    );
    assert!(listed[0].created_unix > 0);

    let keep: HashSet<String> = [key(20)].into();
    let dry = cache.gc(&keep, true).unwrap();
    let mut removed: Vec<_> = dry.removed.iter().map(|e| e.key.clone()).collect();
    removed.sort();
    let mut expected = vec![key(21), key(22)];
    expected.sort();
    assert_eq!(removed, expected);
    let mut scratch_expected = vec![key(21), key(23)];
    scratch_expected.sort();
    assert_eq!(dry.removed_scratch, scratch_expected);
    assert_eq!(dry.bytes_freed, 2 * entry_bytes + 5 + 3);
    assert_eq!(
        cache.entries().unwrap().len(),
        3,
        "dry run removed something"
    );
    assert!(cache.scratch_dir(&key(23)).unwrap().join("c").exists());

    let real = cache.gc(&keep, false).unwrap();
    assert_eq!(real, dry);
    let left: Vec<_> = cache
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(left, [key(20)]);
    assert!(matches!(cache.lookup(&key(20)).unwrap(), Lookup::Hit(_)));
    assert_eq!(cache.lookup(&key(21)).unwrap(), Lookup::Missing);
    assert!(!dir.path().join("scratch").join(key(21)).exists());
    assert!(!dir.path().join("scratch").join(key(23)).exists());
    assert!(dir.path().join("scratch").join(key(20)).join("c").exists());
    assert!(is_empty_dir(&cache.tmp_dir()));
}
