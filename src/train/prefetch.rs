//! The input pipeline of a training epoch: a pool of worker threads decodes, crops, flips and
//! normalises images ahead of the training step, into a bounded queue of whole batches.
//!
//! Workers take single images (not whole batches), so every core stays busy even when a batch
//! is smaller than the pool, and the first batch is ready as soon as possible. An image depends
//! only on (seed, epoch, index) and batches are handed over in order, so the batches are the
//! same whatever the number of workers. At most `depth` batches are in flight (being prepared or
//! waiting), which bounds memory: the workers wait while the trainer is behind.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Condvar, Mutex, MutexGuard};

use super::loader::{Augmentation, Batch, prepare};
use crate::data::{Dataset, ImageF32};

/// What to prepare: the epoch's order cut into batches, and how.
pub struct EpochBatches<'a> {
    pub dataset: &'a dyn Dataset,
    /// Dataset indices in visiting order; batch `b` is `order[b * batch_size..]`.
    pub order: &'a [usize],
    pub batch_size: usize,
    pub augmentation: Option<Augmentation<'a>>,
    /// Worker threads (at least one).
    pub workers: usize,
}

impl EpochBatches<'_> {
    fn batch_count(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    fn batch_len(&self, batch: usize) -> usize {
        self.batch_size
            .min(self.order.len() - batch * self.batch_size)
    }

    /// Batches in flight: enough images for every worker, and at least one batch ready
    /// while the next is prepared.
    fn depth(&self) -> usize {
        (self.workers.div_ceil(self.batch_size) + 1).max(2)
    }
}

/// The default worker count: one per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Prepares the batches on worker threads and calls `consume` with each, in order, on the
/// calling thread. Stops at the first error of either side. A worker that panics (a corrupt
/// dataset implementation) makes this panic with the same payload, as the plain loop would.
pub fn for_each_batch(
    plan: &EpochBatches<'_>,
    mut consume: impl FnMut(usize, Batch) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let queue = Queue::default();
    std::thread::scope(|scope| {
        for _ in 0..plan.workers.max(1) {
            scope.spawn(|| work(plan, &queue));
        }
        // Wakes waiting workers and lets them exit however this thread leaves the scope
        // (error, panic or the end), so the scope's join cannot hang.
        let _close = CloseOnDrop(&queue);
        for batch in 0..plan.batch_count() {
            match queue.take(batch) {
                Ok(prepared) => consume(batch, prepared)?,
                Err(Failure::Error(error)) => return Err(error),
                Err(Failure::Panic(payload)) => resume_unwind(payload),
            }
        }
        Ok(())
    })
}

enum Failure {
    Error(anyhow::Error),
    Panic(Box<dyn std::any::Any + Send>),
}

/// One batch being prepared: its images by position, then the assembled batch.
struct Slot {
    images: Vec<Option<(ImageF32, usize)>>,
    remaining: usize,
    failure: Option<Failure>,
    ready: Option<Result<Batch, Failure>>,
}

#[derive(Default)]
struct State {
    /// Next image to hand out, as a position in the epoch's order.
    next: usize,
    /// Batches already handed to the trainer.
    consumed: usize,
    slots: HashMap<usize, Slot>,
    closed: bool,
}

#[derive(Default)]
struct Queue {
    state: Mutex<State>,
    /// Signalled when a batch is assembled.
    ready: Condvar,
    /// Signalled when the trainer takes a batch (room for more) or the queue closes.
    room: Condvar,
}

struct CloseOnDrop<'a>(&'a Queue);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.room.notify_all();
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (no invariant spans an
        // unlock), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for batch `batch` and takes it.
    fn take(&self, batch: usize) -> Result<Batch, Failure> {
        let mut state = self.lock();
        loop {
            if let Some(result) = state.slots.get_mut(&batch).and_then(|s| s.ready.take()) {
                state.slots.remove(&batch);
                state.consumed = batch + 1;
                drop(state);
                self.room.notify_all();
                return result;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// The next image position to prepare, waiting while `depth` batches are in flight;
    /// `None` when the epoch is handed out or the queue closed.
    fn next_job(&self, plan: &EpochBatches<'_>) -> Option<usize> {
        let mut state = self.lock();
        loop {
            if state.closed || state.next >= plan.order.len() {
                return None;
            }
            let batch = state.next / plan.batch_size;
            if batch < state.consumed + plan.depth() {
                let position = state.next;
                state.next += 1;
                return Some(position);
            }
            state = self
                .room
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Files the image at `position`; the worker that files a batch's last image assembles it.
    fn file(
        &self,
        plan: &EpochBatches<'_>,
        position: usize,
        result: Result<(ImageF32, usize), Failure>,
    ) {
        let batch = position / plan.batch_size;
        let mut state = self.lock();
        let slot = state.slots.entry(batch).or_insert_with(|| Slot {
            images: (0..plan.batch_len(batch)).map(|_| None).collect(),
            remaining: plan.batch_len(batch),
            failure: None,
            ready: None,
        });
        match result {
            Ok(image) => slot.images[position % plan.batch_size] = Some(image),
            Err(failure) => {
                slot.failure.get_or_insert(failure);
            }
        }
        slot.remaining -= 1;
        if slot.remaining > 0 {
            return;
        }
        let images = std::mem::take(&mut slot.images);
        let failure = slot.failure.take();
        drop(state);
        // Assembling copies a whole batch: done outside the lock, off the training thread.
        let assembled = match failure {
            Some(failure) => Err(failure),
            None => Ok(assemble(images.into_iter().flatten())),
        };
        let mut state = self.lock();
        if let Some(slot) = state.slots.get_mut(&batch) {
            slot.ready = Some(assembled);
        }
        drop(state);
        self.ready.notify_all();
    }
}

fn work(plan: &EpochBatches<'_>, queue: &Queue) {
    while let Some(position) = queue.next_job(plan) {
        let index = plan.order[position];
        let result = match catch_unwind(AssertUnwindSafe(|| {
            prepare(plan.dataset, index, plan.augmentation)
        })) {
            Ok(Ok(image)) => Ok(image),
            Ok(Err(error)) => Err(Failure::Error(error)),
            Err(payload) => Err(Failure::Panic(payload)),
        };
        queue.file(plan, position, result);
    }
}

/// Images of equal size into one NCHW buffer, in the given order.
pub fn assemble(images: impl IntoIterator<Item = (ImageF32, usize)>) -> Batch {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let (mut height, mut width) = (0, 0);
    for (image, label) in images {
        if labels.is_empty() {
            (height, width) = (image.height, image.width);
            pixels.reserve(image.data.len() * 64);
        }
        assert_eq!(
            (image.height, image.width),
            (height, width),
            "images of one batch must share their size"
        );
        pixels.extend_from_slice(&image.data);
        labels.push(label as i64);
    }
    Batch {
        count: labels.len(),
        images: pixels,
        labels,
        height,
        width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::{ShapesConfig, ShapesDataset};
    use crate::data::{Sample, Split};
    use crate::spec::{AugmentSpec, RandomResizedCropSpec};

    fn data(len: usize) -> ShapesDataset {
        ShapesDataset::new(ShapesConfig {
            seed: 1,
            image_size: 16,
            len,
            split: Split::Train,
            texture_correlation: 0.8,
            distractors: 1,
        })
        .unwrap()
    }

    fn collect(plan: &EpochBatches<'_>) -> Vec<Batch> {
        let mut batches = Vec::new();
        for_each_batch(plan, |number, batch| {
            assert_eq!(number, batches.len(), "batches arrive in order");
            batches.push(batch);
            Ok(())
        })
        .unwrap();
        batches
    }

    #[test]
    fn batches_are_identical_whatever_the_worker_count() {
        let dataset = data(23);
        let spec = AugmentSpec {
            crop_padding: 0,
            random_resized_crop: Some(RandomResizedCropSpec::default()),
            ..AugmentSpec::default()
        };
        let order = super::super::loader::epoch_order(dataset.len(), 4, 1);
        let plan = |workers| EpochBatches {
            dataset: &dataset,
            order: &order,
            batch_size: 5,
            augmentation: Some(Augmentation {
                spec: &spec,
                seed: 4,
                epoch: 1,
            }),
            workers,
        };
        let one = collect(&plan(1));
        let three = collect(&plan(3));
        assert_eq!(one.len(), 5);
        assert_eq!(
            one.last().unwrap().count,
            3,
            "the last batch holds the rest"
        );
        for (a, b) in one.iter().zip(&three) {
            assert_eq!(a.labels, b.labels);
            assert!(
                a.images == b.images,
                "pixels differ between 1 and 3 workers"
            );
        }
        // And they are the batches the one-thread loader makes.
        for (number, batch) in one.iter().enumerate() {
            let indices = &order[number * 5..(number * 5 + 5).min(order.len())];
            let direct =
                super::super::loader::load_batch(&dataset, indices, plan(1).augmentation).unwrap();
            assert!(direct.images == batch.images && direct.labels == batch.labels);
        }
    }

    struct Failing {
        inner: ShapesDataset,
        bad: usize,
        panic: bool,
    }

    impl Dataset for Failing {
        fn len(&self) -> usize {
            self.inner.len()
        }
        fn get(&self, index: usize) -> anyhow::Result<Sample> {
            if index == self.bad {
                if self.panic {
                    panic!("broken reader");
                }
                anyhow::bail!("unreadable image {index}");
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
    fn errors_and_panics_of_workers_reach_the_trainer() {
        let order: Vec<usize> = (0..20).collect();
        for panic in [false, true] {
            let dataset = Failing {
                inner: data(20),
                bad: 13,
                panic,
            };
            let plan = EpochBatches {
                dataset: &dataset,
                order: &order,
                batch_size: 4,
                augmentation: None,
                workers: 3,
            };
            let mut seen = 0;
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                for_each_batch(&plan, |_, _| {
                    seen += 1;
                    Ok(())
                })
            }));
            assert_eq!(seen, 3, "batches before the broken one are delivered");
            match outcome {
                Ok(Err(error)) if !panic => {
                    assert!(
                        format!("{error:#}").contains("unreadable image 13"),
                        "{error:#}"
                    )
                }
                Err(_) if panic => {}
                _ => panic!("the failure of image 13 was lost (panic: {panic})"),
            }
        }
    }

    #[test]
    fn a_trainer_error_stops_the_workers() {
        let dataset = data(40);
        let order: Vec<usize> = (0..40).collect();
        let plan = EpochBatches {
            dataset: &dataset,
            order: &order,
            batch_size: 2,
            augmentation: None,
            workers: 2,
        };
        let result = for_each_batch(&plan, |number, _| {
            anyhow::ensure!(number < 1, "diverged");
            Ok(())
        });
        assert!(result.unwrap_err().to_string().contains("diverged"));
    }
}
