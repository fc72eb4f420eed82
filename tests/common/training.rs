//! What the training tests share: one training at a time, and tiny generated data.

use pvr::data::Split;
use pvr::data::shapes::{ShapesConfig, ShapesDataset};

/// Tests train one at a time: two trainings in one process were seen to change each other's
/// last digits (Burn's CPU kernels share one thread pool), as pvr's scheduler avoids.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `len` 16 px shapes images drawn with `seed`.
pub fn tiny_data(seed: u64, len: usize) -> ShapesDataset {
    ShapesDataset::new(ShapesConfig {
        seed,
        image_size: 16,
        len,
        split: Split::Train,
        texture_correlation: 0.8,
        distractors: 1,
    })
    .unwrap()
}
