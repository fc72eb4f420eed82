//! Where a training step computes: the master device alone, or data-parallel over several
//! devices with PyTorch DDP's semantics (the global batch split across devices, gradients
//! summed into the global batch's mean on the first device, one optimizer there).
//!
//! Burn's own pieces do the work: `Module::fork` puts a replica of the master weights on a
//! device (same parameter ids), and `GradientsParams::to_device` with `GradientsAccumulator`
//! brings the gradients together, as burn-train's multi-device strategy does. Each device has
//! a thread that lives as long as the training run: Burn keeps batch norm's running statistics
//! per thread and averages them across threads, so every replica normalises with the
//! statistics of its own share (per-device batch norm, DDP's default) while the running
//! statistics become the mean of the replicas' (PyTorch keeps device 0's instead). With
//! `train.sync_bn` the replicas of a step form a [`ReplicaGroup`] and batch norm normalises with
//! the global batch's statistics ([`crate::models::sync_batch_norm`]): the replicas' threads
//! run their forward and backward passes concurrently, meeting at every batch norm.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::Scope;

use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::Device;

use super::shard::{Shard, ShardOutput, StepSettings, replica, shard_gradients};
use crate::models::Network;
use crate::models::all_reduce::{ReplicaGroup, ReplicaLink, as_replica};

/// The summed result of one step over every shard.
pub struct StepGradients {
    /// On the master device.
    pub grads: GradientsParams,
    pub loss_sum: f64,
    pub hits: usize,
}

/// The devices of a training run.
pub enum StepDevices {
    /// The master weights' device computes the whole batch on the calling thread.
    One(Device),
    /// One worker per device; the first device holds the master weights.
    Many { main: Device, workers: Vec<Worker> },
}

pub struct Worker {
    jobs: Sender<Job>,
    results: Receiver<Result<ShardOutput, String>>,
}

struct Job {
    network: Network,
    shard: Shard,
    settings: StepSettings,
    /// The replica's place in the step's group, when batch norm is synchronised.
    link: Option<ReplicaLink>,
}

impl StepDevices {
    /// Starts a worker thread per device in `scope` when there are several devices.
    pub fn start<'scope>(scope: &'scope Scope<'scope, '_>, devices: &[Device]) -> Self {
        let main = devices
            .first()
            .cloned()
            .expect("at least one training device");
        if devices.len() == 1 {
            return StepDevices::One(main);
        }
        let workers = devices
            .iter()
            .map(|device| {
                let (jobs, inbox) = channel::<Job>();
                let (outbox, results) = channel();
                let device = device.clone();
                scope.spawn(move || {
                    for job in inbox {
                        let Job {
                            network,
                            shard,
                            settings,
                            link,
                        } = job;
                        let output = catch_unwind(AssertUnwindSafe(|| {
                            let network = replica(&network, &device);
                            let compute = || shard_gradients(&network, shard, settings, &device);
                            match link.clone() {
                                Some(link) => as_replica(link, compute),
                                None => compute(),
                            }
                        }))
                        .map_err(|payload| panic_text(payload.as_ref()));
                        // The other replicas may be waiting for this one at a batch norm.
                        if let (Err(why), Some(link)) = (&output, &link) {
                            link.group
                                .abort(&format!("replica {} failed: {why}", link.index));
                        }
                        if outbox.send(output).is_err() {
                            break;
                        }
                    }
                });
                Worker { jobs, results }
            })
            .collect();
        StepDevices::Many { main, workers }
    }

    /// Number of shares a batch is split into.
    pub fn count(&self) -> usize {
        match self {
            StepDevices::One(_) => 1,
            StepDevices::Many { workers, .. } => workers.len(),
        }
    }

    /// The gradients of the global batch for `network` (the master weights), from `shards`
    /// (at most one per device, as [`super::shard::split_batch`] makes them).
    pub fn gradients(
        &self,
        network: &Network,
        shards: Vec<Shard>,
        settings: StepSettings,
    ) -> anyhow::Result<StepGradients> {
        match self {
            StepDevices::One(device) => {
                let mut outputs = Vec::new();
                for shard in shards {
                    outputs.push(shard_gradients(network, shard, settings, device));
                }
                Ok(sum(network, outputs, device))
            }
            StepDevices::Many { main, workers } => {
                anyhow::ensure!(shards.len() <= workers.len(), "more shards than devices");
                let busy = shards.len();
                let group = (settings.sync_bn && busy > 1).then(|| ReplicaGroup::new(busy));
                for (index, (worker, shard)) in workers.iter().zip(shards).enumerate() {
                    let job = Job {
                        network: network.clone(),
                        shard,
                        settings,
                        link: group.as_ref().map(|group| ReplicaLink {
                            group: group.clone(),
                            index,
                            global_images: settings.global_count,
                        }),
                    };
                    if worker.jobs.send(job).is_err() {
                        if let Some(group) = &group {
                            group.abort("a training device's thread stopped");
                        }
                        anyhow::bail!("a training device's thread stopped");
                    }
                }
                let mut outputs = Vec::with_capacity(busy);
                for (index, worker) in workers.iter().take(busy).enumerate() {
                    match worker.results.recv() {
                        Ok(Ok(output)) => outputs.push(output),
                        Ok(Err(message)) => {
                            panic!("training on device {index} failed: {message}")
                        }
                        Err(_) => {
                            if let Some(group) = &group {
                                group.abort("a training device's thread stopped");
                            }
                            anyhow::bail!("training device {index}'s thread stopped")
                        }
                    }
                }
                Ok(sum(network, outputs, main))
            }
        }
    }
}

/// Sums the shards' gradients on `main`, in device order (so the sum is deterministic).
fn sum(network: &Network, outputs: Vec<ShardOutput>, main: &Device) -> StepGradients {
    if outputs.len() == 1 {
        let output = outputs.into_iter().next().expect("one output");
        return StepGradients {
            grads: output.grads,
            loss_sum: output.loss_sum,
            hits: output.hits,
        };
    }
    let mut accumulator = GradientsAccumulator::<Network>::new();
    let (mut loss_sum, mut hits) = (0.0, 0);
    for output in outputs {
        accumulator.accumulate(network, output.grads.to_device(main, network));
        loss_sum += output.loss_sum;
        hits += output.hits;
    }
    StepGradients {
        grads: accumulator.grads(),
        loss_sum,
        hits,
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::tensor::{FloatDType, Tensor};

    use super::*;
    use crate::models::NetworkConfig;
    use crate::models::Stem;
    use crate::train::loader::Batch;
    use crate::train::shard::split_batch;

    fn batch() -> Batch {
        let count = 6;
        Batch {
            images: (0..count * 3 * 16 * 16)
                .map(|i| ((i * 29 % 17) as f32 - 8.0) / 8.0)
                .collect(),
            labels: (0..count as i64).map(|i| i % 3).collect(),
            count,
            height: 16,
            width: 16,
        }
    }

    struct Flatten<'a> {
        grads: &'a GradientsParams,
        values: Vec<f32>,
    }

    impl ModuleVisitor for Flatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.get::<D>(param.id) {
                let data = grad.into_data().convert::<f32>();
                self.values.extend(data.try_into_vec::<f32>().unwrap());
            }
        }
    }

    fn flatten(network: &Network, grads: &GradientsParams) -> Vec<f32> {
        let mut flat = Flatten {
            grads,
            values: Vec::new(),
        };
        network.visit(&mut flat);
        flat.values
    }

    /// DDP's definition with per-device batch norm: each replica's gradient is that of its own
    /// share (normalised by the share's statistics), and the step's gradient their weighted
    /// sum. Computed here share by share on the calling thread, and by two replica threads.
    #[test]
    fn replicas_sum_the_gradients_of_their_shares() {
        let device = Device::flex().autodiff();
        let network = NetworkConfig {
            arch: crate::models::Architecture::ResNet18,
            width: 4,
            stem: Stem::Small,
            num_classes: 3,
        }
        .init(&device, 5);
        let settings = StepSettings {
            global_count: 6,
            classes: 3,
            dtype: FloatDType::F32,
            loss_scale: 1.0,
            sync_bn: false,
        };
        let parallel = std::thread::scope(|scope| {
            let devices = StepDevices::start(scope, &[device.clone(), device.clone()]);
            assert_eq!(devices.count(), 2);
            devices
                .gradients(&network, split_batch(batch(), None, 2), settings)
                .unwrap()
        });
        let mut accumulator = GradientsAccumulator::<Network>::new();
        let mut loss_sum = 0.0;
        for shard in split_batch(batch(), None, 2) {
            let output = shard_gradients(&network, shard, settings, &device);
            loss_sum += output.loss_sum;
            accumulator.accumulate(&network, output.grads);
        }
        let expected = flatten(&network, &accumulator.grads());
        let got = flatten(&network, &parallel.grads);
        assert_eq!(got.len(), expected.len());
        assert!(!got.is_empty());
        let worst = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-6, "replica gradients differ by {worst}");
        assert!((parallel.loss_sum - loss_sum).abs() < 1e-9);
    }
}
