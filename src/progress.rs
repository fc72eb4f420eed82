//! What a running stage reports about itself. The scheduler draws it as indicatif bars on a
//! terminal and as plain lines otherwise; tests use [`SilentProgress`].

/// Progress sink handed to a stage.
pub trait Progress: Send + Sync {
    /// Starts a phase of `total` units (batches, images), e.g. "epoch 3/6".
    fn phase(&self, name: &str, total: u64);
    /// `done` more units, with a short status such as "loss 1.23 · 312 img/s".
    fn advance(&self, done: u64, status: &str);
    /// A line worth keeping in the log (an epoch summary).
    fn note(&self, line: &str);
}

/// Discards everything.
pub struct SilentProgress;

impl Progress for SilentProgress {
    fn phase(&self, _name: &str, _total: u64) {}
    fn advance(&self, _done: u64, _status: &str) {}
    fn note(&self, _line: &str) {}
}
