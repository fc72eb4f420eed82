//! The training loop's promises: masked weights stay exactly zero under momentum and weight
//! decay, and a run interrupted after an epoch resumes to the same weights as an unbroken one.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::training::{serial, tiny_data};
use pvr::backend::DeviceChoice;
use pvr::data::shapes::ShapesDataset;
use pvr::data::{Dataset, Sample};
use pvr::models::Stem;
use pvr::models::params::{list_params, prunable_set, read_params};
use pvr::models::{Architecture, Network, NetworkConfig};
use pvr::progress::SilentProgress;
use pvr::prune::{Masks, global_magnitude_prune};
use pvr::spec::{OptimizerSpec, TrainSpec};
use pvr::train::{FitRequest, fit};

fn tiny_network(seed: u64) -> (NetworkConfig, Network) {
    let config = NetworkConfig {
        arch: Architecture::ResNet18,
        width: 4,
        stem: Stem::Small,
        num_classes: 10,
    };
    let network = config.init(&DeviceChoice::Cpu.autodiff_device(), seed);
    (config, network)
}

fn recipe(epochs: usize) -> TrainSpec {
    TrainSpec {
        epochs,
        batch_size: 8,
        optimizer: OptimizerSpec::Sgd {
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 5e-3,
            nesterov: false,
        },
        ..TrainSpec::default()
    }
}

fn weights(network: &Network) -> BTreeMap<String, Vec<f32>> {
    read_params(network, &|_| true)
}

#[test]
fn masked_weights_stay_exactly_zero_through_training() {
    let _serial = serial();
    let (_, network) = tiny_network(1);
    let prunable = prunable_set(&list_params(&network), &["*".into()], &[]);
    let before = read_params(&network, &|p| prunable.iter().any(|q| q.path == p));
    let round = global_magnitude_prune(&before, &Masks::default(), 0.5);
    let device = DeviceChoice::Cpu.autodiff_device();
    let device_masks = round.masks.to_device(&device);
    let network = device_masks.apply(network);
    let scratch = tempfile::tempdir().unwrap();
    let data = tiny_data(3, 32);
    let recipe = recipe(2);
    let request = FitRequest {
        recipe: &recipe,
        seed: 0,
        dataset: &data,
        masks: &device_masks,
        devices: std::slice::from_ref(&device),
        scratch: scratch.path(),
        progress: &SilentProgress,
    };
    let (trained, _) = fit(network, &request).unwrap();
    let after = weights(&trained);
    let (mut zeros, mut moved) = (0, 0);
    for (path, mask) in &round.masks.tensors {
        for ((keep, old), new) in mask.keep.iter().zip(&before[path]).zip(&after[path]) {
            if *keep {
                moved += usize::from(old != new);
            } else {
                assert_eq!(*new, 0.0, "{path}: a pruned weight came back");
                zeros += 1;
            }
        }
    }
    assert_eq!(zeros, round.removed);
    assert!(
        moved > round.removed / 2,
        "unpruned weights should train ({moved} moved)"
    );
}

/// Panics on the n-th image fetched: a crash in the middle of an epoch.
struct CrashingData<'a> {
    inner: &'a ShapesDataset,
    fetched: AtomicUsize,
    crash_at: usize,
}

impl Dataset for CrashingData<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn get(&self, index: usize) -> anyhow::Result<Sample> {
        if self.fetched.fetch_add(1, Ordering::SeqCst) == self.crash_at {
            panic!("simulated crash");
        }
        self.inner.get(index)
    }
    fn num_classes(&self) -> usize {
        self.inner.num_classes()
    }
    fn class_names(&self) -> Vec<String> {
        self.inner.class_names()
    }
    fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }
}

#[test]
fn an_interrupted_run_resumes_to_the_same_weights() {
    let _serial = serial();
    let data = tiny_data(3, 24);
    let recipe = recipe(3);
    let device = DeviceChoice::Cpu.autodiff_device();
    let masks = Masks::default().to_device(&device);
    let run = |dataset: &dyn Dataset, scratch: &std::path::Path| {
        let (_, network) = tiny_network(5);
        let request = FitRequest {
            recipe: &recipe,
            seed: 9,
            dataset,
            masks: &masks,
            devices: std::slice::from_ref(&device),
            scratch,
            progress: &SilentProgress,
        };
        fit(network, &request).map(|(network, history)| (weights(&network), history))
    };

    let unbroken_dir = tempfile::tempdir().unwrap();
    let (unbroken, unbroken_history) = run(&data, unbroken_dir.path()).unwrap();

    let resumed_dir = tempfile::tempdir().unwrap();
    let crashing = CrashingData {
        inner: &data,
        fetched: AtomicUsize::new(0),
        crash_at: data.len() + 10,
    };
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(&crashing, resumed_dir.path())
    }));
    assert!(
        crashed.is_err(),
        "the crash should have happened in epoch 2"
    );
    let (resumed, resumed_history) = run(&data, resumed_dir.path()).unwrap();

    assert_eq!(resumed_history.len(), 3);
    assert_eq!(
        resumed_history[1].loss, unbroken_history[1].loss,
        "epoch 2 must see the same batches"
    );
    for (path, values) in &unbroken {
        assert!(resumed[path] == *values, "{path} differs after resuming");
    }
}

/// A seed's weights are drawn when the network is built, not when a layer is first read: a
/// network saved and loaded trains exactly as the freshly built one, and draws from the shared
/// generator in between (another stage seeding it, say) change nothing.
#[test]
fn a_seeded_network_trains_the_same_fresh_or_saved_and_loaded() {
    use burn::module::Module;
    let _serial = serial();
    let data = tiny_data(3, 24);
    let recipe = recipe(1);
    let device = DeviceChoice::Cpu.autodiff_device();
    let masks = Masks::default().to_device(&device);
    let train = |network: Network| {
        let scratch = tempfile::tempdir().unwrap();
        let request = FitRequest {
            recipe: &recipe,
            seed: 9,
            dataset: &data,
            masks: &masks,
            devices: std::slice::from_ref(&device),
            scratch: scratch.path(),
            progress: &SilentProgress,
        };
        weights(&fit(network, &request).unwrap().0)
    };
    let (config, fresh) = tiny_network(5);
    // Another draw from the generator, reseeded, before the fresh network's first forward pass.
    device.seed(77);
    let _ = burn::tensor::Tensor::<1>::random([16], burn::tensor::Distribution::Default, &device);
    let dir = tempfile::tempdir().unwrap();
    let (_, saved) = tiny_network(5);
    saved.valid().save_file(dir.path().join("m.mpk")).unwrap();
    let loaded = config
        .init(&device, 0)
        .try_load_file(dir.path().join("m.mpk"))
        .unwrap();
    let (from_fresh, from_loaded) = (train(fresh), train(loaded));
    for (path, values) in &from_fresh {
        assert!(from_loaded[path] == *values, "{path} differs");
    }
}
