//! Dataset fingerprint cost: blake3 of every file of a 100,000-file tree (first pass), then the
//! same tree again (second pass: `stat` only, through the stat cache).
//!
//! `cargo bench --bench fingerprint [-- FILES BYTES]` (defaults 100000 files of 4 KiB).

use std::time::Instant;

use pvr::data::fingerprint::tree_fingerprint;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let files: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let bytes: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4096);
    let root = tempfile::tempdir().expect("temp dir");
    let cache = tempfile::tempdir().expect("temp dir");
    // SAFETY: set before any thread reads the environment.
    unsafe { std::env::set_var("PVR_HASH_CACHE", cache.path()) };
    let started = Instant::now();
    let mut relative = Vec::with_capacity(files);
    for i in 0..files {
        let rel = format!("class{:03}/img{i:06}.jpg", i % 1000);
        let path = root.path().join(&rel);
        if i < 1000 {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        }
        let mut content = vec![0u8; bytes];
        content[..8].copy_from_slice(&(i as u64).to_le_bytes());
        std::fs::write(&path, content).unwrap();
        relative.push(rel);
    }
    println!(
        "made {files} files of {bytes} B in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Files younger than the stat cache's 2 s race window are hashed but not cached.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for pass in ["first pass (hash every file)", "second pass (stat cache)"] {
        let started = Instant::now();
        let digest = tree_fingerprint("bench", root.path(), &relative).unwrap();
        println!(
            "{pass:<30} {:>8.2} s  ({threads} threads, {})",
            started.elapsed().as_secs_f64(),
            &digest[..12]
        );
    }
}
