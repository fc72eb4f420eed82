//! A sum across the replicas of a data-parallel step, differentiable: what synchronised batch
//! norm ([`super::sync_batch_norm`]) builds its global statistics from.
//!
//! Every replica runs its share of the batch on its own thread; each calls [`all_reduce_sum`]
//! with a tensor of the same shape, and each gets back `y = x_0 + x_1 + ... + x_{n-1}` on its
//! own device. Since every replica's output is that same sum, the gradient of the total loss
//! `L = L_0 + ... + L_{n-1}` with respect to replica `j`'s input is the sum of every replica's
//! output gradient, `dL/dx_j = sum_i dL_i/dy_i`: the backward pass is the same all-reduce of
//! the output gradients. It is a backend extension with a custom backward on the autodiff
//! backend (no composition of tensor operations crosses threads).
//!
//! The exchange goes through the host ([`ReplicaGroup`]): the tensors are per-channel
//! statistics (a few hundred floats), the sum runs in replica order in f64, so every replica
//! receives bit-identical values whatever the order in which they arrived. Burn 0.22.1's own
//! collectives (`DistributedOps::all_reduce`) are unimplemented for `flex` and key devices by id,
//! which two replicas on one device share.
//!
//! Every replica must make the same sequence of calls: the networks are the same, so their
//! forward passes reach their batch norms in the same order, and Burn runs each backward pass in
//! an order fixed by the graph's structure (depth, then discovery order), the same for every
//! replica. Each call carries a [`ReduceTag`] (the layer, which statistic, forward or
//! backward) that must agree across the replicas of a round: passes that diverged fail loudly
//! rather than add up unrelated tensors. A replica that fails aborts the group, so the others
//! stop instead of waiting.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex};

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Tensor, TensorData, read_sync};

/// The replicas of one training step, meeting at every all-reduce.
pub struct ReplicaGroup {
    size: usize,
    state: Mutex<Exchange>,
    changed: Condvar,
}

/// What an all-reduce reduces: the same on every replica of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReduceTag {
    /// The layer (its first parameter's id).
    pub layer: u64,
    /// Which of the layer's reductions.
    pub slot: u8,
    /// The backward pass's reduction of the forward one's gradients.
    pub backward: bool,
}

/// One all-reduce in progress.
#[derive(Default)]
struct Exchange {
    contributions: Vec<Option<Vec<f32>>>,
    /// The tag of the round's first contribution.
    tag: Option<ReduceTag>,
    arrived: usize,
    /// The sum of the finished round, until every replica has taken it.
    result: Option<Arc<Vec<f32>>>,
    taken: usize,
    /// Why the group stopped (a replica failed); every later call fails with it.
    aborted: Option<String>,
}

impl ReplicaGroup {
    /// A group of `size` replicas.
    pub fn new(size: usize) -> Arc<Self> {
        Arc::new(Self {
            size,
            state: Mutex::new(Exchange {
                contributions: vec![None; size],
                ..Exchange::default()
            }),
            changed: Condvar::new(),
        })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Contributes replica `index`'s values and waits for the element-wise sum over every
    /// replica (in replica order, accumulated in f64).
    pub fn sum(
        &self,
        index: usize,
        tag: ReduceTag,
        values: Vec<f32>,
    ) -> Result<Arc<Vec<f32>>, String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // The previous round's result must reach every replica before a new round starts.
        while state.result.is_some() && state.aborted.is_none() {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if let Some(why) = &state.aborted {
            return Err(why.clone());
        }
        if state.contributions[index].is_some() {
            return Err(format!(
                "replica {index} contributed twice to one all-reduce"
            ));
        }
        match state.tag {
            Some(first) if first != tag => {
                let why = format!(
                    "replica {index} reached {tag:?} while another reached {first:?}: the replicas' passes diverged"
                );
                state.aborted = Some(why.clone());
                self.changed.notify_all();
                return Err(why);
            }
            _ => state.tag = Some(tag),
        }
        state.contributions[index] = Some(values);
        state.arrived += 1;
        if state.arrived == self.size {
            let parts: Vec<Vec<f32>> = state
                .contributions
                .iter_mut()
                .flat_map(Option::take)
                .collect();
            state.arrived = 0;
            state.tag = None;
            let len = parts[0].len();
            if parts.iter().any(|part| part.len() != len) {
                let lens: Vec<usize> = parts.iter().map(Vec::len).collect();
                let why = format!("replicas reduced tensors of different sizes {lens:?}");
                state.aborted = Some(why.clone());
                self.changed.notify_all();
                return Err(why);
            }
            let sum = (0..len)
                .map(|i| parts.iter().map(|part| part[i] as f64).sum::<f64>() as f32)
                .collect();
            state.result = Some(Arc::new(sum));
            state.taken = 0;
            self.changed.notify_all();
        } else {
            while state.result.is_none() && state.aborted.is_none() {
                state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if let Some(why) = &state.aborted {
                return Err(why.clone());
            }
        }
        let result = state.result.clone().expect("a finished round");
        state.taken += 1;
        if state.taken == self.size {
            state.result = None;
            self.changed.notify_all();
        }
        Ok(result)
    }

    /// Stops the group: every replica waiting or arriving later fails with `why` (the first
    /// reason given is kept).
    pub fn abort(&self, why: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.aborted.is_none() {
            state.aborted = Some(why.to_string());
        }
        self.changed.notify_all();
    }
}

/// One replica's place in its group.
#[derive(Clone)]
pub struct ReplicaLink {
    pub group: Arc<ReplicaGroup>,
    pub index: usize,
    /// Images in the global batch (every replica's share together).
    pub global_images: usize,
}

impl std::fmt::Debug for ReplicaLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "replica {} of {}", self.index, self.group.size)
    }
}

impl ReplicaLink {
    /// The sum over the group of every replica's `data`, in `data`'s shape and format.
    fn sum_data(&self, tag: ReduceTag, data: TensorData) -> TensorData {
        let (shape, dtype) = (data.shape().clone(), data.dtype());
        let values = data
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 values after conversion");
        let sum = self
            .group
            .sum(self.index, tag, values)
            .unwrap_or_else(|why| panic!("all-reduce across replicas stopped: {why}"));
        let out = TensorData::new(sum.as_ref().clone(), shape);
        if dtype == DType::F32 {
            out
        } else {
            out.convert_dtype(dtype)
        }
    }
}

thread_local! {
    /// The replica the current thread computes for, inside [`as_replica`].
    static REPLICA: RefCell<Option<ReplicaLink>> = const { RefCell::new(None) };
}

/// Runs `f` with the current thread computing as `link`'s replica: synchronised batch norm
/// reduces its statistics over `link`'s group.
pub fn as_replica<R>(link: ReplicaLink, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<ReplicaLink>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REPLICA.with(|r| *r.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(REPLICA.with(|r| r.borrow_mut().replace(link)));
    f()
}

/// The replica the current thread computes for, if it is one of several.
pub fn current_replica() -> Option<ReplicaLink> {
    REPLICA
        .with(|r| r.borrow().clone())
        .filter(|link| link.group.size > 1)
}

/// The sum of `x` over every replica of `link`'s group, on `x`'s device; gradients flow back to
/// every replica's `x` (see the module documentation). Every replica passes the same `tag`.
pub fn all_reduce_sum<const D: usize>(
    x: Tensor<D>,
    link: &ReplicaLink,
    tag: ReduceTag,
) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as AllReduceBackend>::all_reduce_sum(
        x.into_dispatch(),
        link.clone(),
        tag,
    ))
}

/// The backend operation behind [`all_reduce_sum`]: through the host on every backend; the
/// autodiff backend adds the backward pass.
#[backend_extension(
    Flex,
    Autodiff,
    Cube: cfg(any(feature = "cuda", feature = "vulkan"))
)]
pub trait AllReduceBackend: Backend {
    fn all_reduce_sum(
        x: FloatTensor<Self>,
        link: ReplicaLink,
        tag: ReduceTag,
    ) -> FloatTensor<Self> {
        let device = x.device();
        let data = read_sync(Self::float_into_data(x))
            .unwrap_or_else(|e| panic!("reading a tensor for an all-reduce: {e:?}"));
        Self::float_from_data(link.sum_data(tag, data), &device)
    }
}

impl AllReduceBackend for Flex {}

#[cfg(any(feature = "cuda", feature = "vulkan"))]
impl AllReduceBackend for burn::backend::Cube {}

impl<B: Backend + AllReduceBackend, C: CheckpointStrategy> AllReduceBackend for Autodiff<B, C> {
    fn all_reduce_sum(
        x: FloatTensor<Self>,
        link: ReplicaLink,
        tag: ReduceTag,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AllReduceSumBackward;

        impl<B: Backend + AllReduceBackend> Backward<B, 1> for AllReduceSumBackward {
            type State = (ReplicaLink, ReduceTag);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (link, tag) = ops.state;
                let tag = ReduceTag {
                    backward: true,
                    ..tag
                };
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::all_reduce_sum(grad, link, tag)
                });
            }
        }

        match AllReduceSumBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = B::all_reduce_sum(x.primitive().clone(), link.clone(), tag);
                prep.finish((link, tag), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::all_reduce_sum(x.into_primitive(), link, tag))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::models::test_support::values;

    const TAG: ReduceTag = ReduceTag {
        layer: 1,
        slot: 0,
        backward: false,
    };

    /// Three replicas, `y_i = all_reduce_sum(x_i)` and `L_i = c_i * sum(y_i^2)`: every `y_i` is
    /// `S = x_0 + x_1 + x_2`, and the gradient of `L = sum_i L_i` for every `x_j` is
    /// `2 (c_0 + c_1 + c_2) S`. An identity backward would give each replica `2 c_j S` instead.
    #[test]
    fn forward_sums_and_backward_sums_the_replicas_gradients() {
        let device = Device::flex().autodiff();
        let inputs = [[1.0f32, -2.0], [0.5, 4.0], [-3.0, 0.25]];
        let weights = [1.0f32, 2.0, -0.5];
        let group = ReplicaGroup::new(3);
        let results: Vec<(Vec<f32>, Vec<f32>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..3)
                .map(|index| {
                    let (group, device) = (group.clone(), device.clone());
                    scope.spawn(move || {
                        let link = ReplicaLink {
                            group,
                            index,
                            global_images: 3,
                        };
                        let x = Tensor::<1>::from_floats(inputs[index], &device).require_grad();
                        let y = all_reduce_sum(x.clone(), &link, TAG);
                        let loss = y.clone().square().sum().mul_scalar(weights[index]);
                        let grads = loss.backward();
                        (values(y), values(x.grad(&grads).unwrap()))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let sum = [-1.5f32, 2.25];
        let factor = 2.0 * weights.iter().sum::<f32>();
        for (y, grad) in &results {
            assert_eq!(y, &sum.to_vec());
            assert_eq!(grad, &sum.iter().map(|s| factor * s).collect::<Vec<_>>());
        }
    }

    #[test]
    fn rounds_follow_each_other_and_a_failure_stops_every_replica() {
        let group = ReplicaGroup::new(2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                let first = group.sum(1, TAG, vec![1.0, 2.0]).unwrap();
                let second = group.sum(1, TAG, vec![10.0]).unwrap();
                (first, second)
            });
            assert_eq!(*group.sum(0, TAG, vec![0.5, 0.5]).unwrap(), vec![1.5, 2.5]);
            assert_eq!(*group.sum(0, TAG, vec![-4.0]).unwrap(), vec![6.0]);
            let (first, second) = other.join().unwrap();
            assert_eq!(
                (first.as_slice(), second.as_slice()),
                (&[1.5f32, 2.5][..], &[6.0f32][..])
            );
        });
        // Different sizes: both replicas get the reason, neither waits forever.
        let group = ReplicaGroup::new(2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| group.sum(1, TAG, vec![1.0]));
            let mine = group.sum(0, TAG, vec![1.0, 2.0]);
            let theirs = other.join().unwrap();
            assert!(mine.is_err() && theirs.is_err());
            assert!(mine.unwrap_err().contains("different sizes"));
        });
        // Replicas at different reductions: an error, not a sum of unrelated tensors.
        let group = ReplicaGroup::new(2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| group.sum(1, ReduceTag { slot: 1, ..TAG }, vec![1.0]));
            let mine = group.sum(0, TAG, vec![1.0]);
            let theirs = other.join().unwrap();
            let why = mine.err().or(theirs.err()).unwrap();
            assert!(why.contains("diverged"), "{why}");
        });
        // A replica that fails releases the one waiting for it.
        let group = ReplicaGroup::new(2);
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| group.sum(0, TAG, vec![1.0]));
            std::thread::sleep(std::time::Duration::from_millis(20));
            group.abort("replica 1 failed: out of memory");
            let why = waiting.join().unwrap().unwrap_err();
            assert!(why.contains("out of memory"), "{why}");
            assert!(group.sum(1, TAG, vec![1.0]).is_err());
        });
    }
}
