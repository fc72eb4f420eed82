//! The data-parallel path through the whole pipeline: a run on two (replicated) CPU devices,
//! the worker count outside stage keys, the replica count inside them for batch-norm networks
//! unless batch norm is synchronised.

mod common;

use common::{TINY, Workspace};
use pvr::exec::StageStatus;

#[test]
fn two_devices_train_every_round_and_only_unsynchronised_replicas_enter_keys() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    let two = ["--set", "experiment.devices=[\"cpu\", \"cpu\"]"];
    let first = ws.run_ok("tiny.toml", &two);
    assert_eq!(first.count(StageStatus::Ran), 8, "{:?}", first.stages);

    // The worker count changes speed only.
    let workers = [two[0], two[1], "--set", "train.workers=1"];
    let again = ws.run_ok("tiny.toml", &workers);
    assert_eq!(again.count(StageStatus::Cached), 8, "{:?}", again.stages);

    // Synchronised batch norm: the statistics of the global batch, not of each share, so the
    // models are retrained...
    let synced = [two[0], two[1], "--set", "train.sync_bn=true"];
    let synced = ws.run_ok("tiny.toml", &synced);
    assert_eq!(synced.count(StageStatus::Ran), 8, "{:?}", synced.stages);

    // ... and they are what one device trains: its stages find them in the cache.
    let one = ws.run_ok("tiny.toml", &[]);
    assert_eq!(one.count(StageStatus::Cached), 8, "{:?}", one.stages);
}
