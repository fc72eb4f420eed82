//! Learning-rate schedules, evaluated per optimizer step so that a restarted schedule (LRR) and
//! a resumed run land on exactly the same rates.

use crate::spec::{ScheduleSpec, ScheduleUpdate};

/// Learning rate at `step` (0-based) of a run of `total_steps`, `steps_per_epoch` per epoch.
///
/// With `update = "epoch"` time is counted in whole epochs and the rate is held within each,
/// as torchvision's reference `train.py` does (its scheduler steps once per epoch).
pub fn learning_rate(
    schedule: &ScheduleSpec,
    base_lr: f64,
    step: usize,
    steps_per_epoch: usize,
    total_steps: usize,
) -> f64 {
    let steps_per_epoch = steps_per_epoch.max(1);
    let (warmup_epochs, start_factor, update) = schedule.warmup_and_update();
    // Time `t`, its units per epoch, and the run's length, in the schedule's units.
    let (t, per_epoch, total) = match update {
        ScheduleUpdate::Step => (step as f64, steps_per_epoch as f64, total_steps as f64),
        ScheduleUpdate::Epoch => (
            (step / steps_per_epoch) as f64,
            1.0,
            total_steps.div_ceil(steps_per_epoch) as f64,
        ),
    };
    let warmup = (warmup_epochs * per_epoch).round();
    if t < warmup {
        let factor = match start_factor {
            // torchvision's LinearLR(start_factor=f, total_iters=W): f + (1 - f) * t / W.
            Some(f) => f + (1.0 - f) * t / warmup,
            // Linear warmup that reaches the base rate at the end of the warmup.
            None => (t + 1.0) / warmup,
        };
        return base_lr * factor;
    }
    match schedule {
        ScheduleSpec::Constant { .. } => base_lr,
        ScheduleSpec::Step { every, gamma, .. } => {
            let epoch = (t / per_epoch).floor() as i32;
            base_lr * gamma.powi(epoch / *every as i32)
        }
        ScheduleSpec::Cosine { min_lr, .. } => {
            // torchvision's CosineAnnealingLR(T_max = run - warmup, eta_min = min_lr).
            let decay = (total - warmup).max(1.0);
            let progress = ((t - warmup) / decay).min(1.0);
            min_lr + (base_lr - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(warmup_epochs: f64) -> ScheduleSpec {
        ScheduleSpec::Cosine {
            warmup_epochs,
            min_lr: 0.0,
            warmup_start_factor: None,
            update: ScheduleUpdate::Step,
        }
    }

    #[test]
    fn cosine_starts_at_base_and_decays_to_min() {
        let schedule = cosine(0.0);
        assert_eq!(learning_rate(&schedule, 0.1, 0, 10, 100), 0.1);
        assert!((learning_rate(&schedule, 0.1, 50, 10, 100) - 0.05).abs() < 1e-12);
        assert!(learning_rate(&schedule, 0.1, 99, 10, 100) < 0.001);
    }

    #[test]
    fn step_schedule_drops_every_n_epochs() {
        let schedule = ScheduleSpec::Step {
            every: 30,
            gamma: 0.1,
            warmup_epochs: 0.0,
            warmup_start_factor: None,
            update: ScheduleUpdate::Step,
        };
        assert_eq!(learning_rate(&schedule, 0.1, 29 * 5, 5, 450), 0.1);
        assert!((learning_rate(&schedule, 0.1, 30 * 5, 5, 450) - 0.01).abs() < 1e-12);
        assert!((learning_rate(&schedule, 0.1, 60 * 5, 5, 450) - 0.001).abs() < 1e-12);
    }

    #[test]
    fn warmup_rises_linearly_then_hands_over() {
        let schedule = cosine(1.0);
        assert!((learning_rate(&schedule, 0.1, 0, 10, 100) - 0.01).abs() < 1e-12);
        assert!((learning_rate(&schedule, 0.1, 9, 10, 100) - 0.1).abs() < 1e-12);
        assert!((learning_rate(&schedule, 0.1, 10, 10, 100) - 0.1).abs() < 1e-12);
    }

    /// torchvision's recipes (SequentialLR of LinearLR then CosineAnnealingLR, stepped per
    /// epoch); the reference rates were computed with PyTorch 2.15.
    #[test]
    fn epoch_updates_match_torchvision_warmup_and_cosine() {
        let check =
            |schedule: &ScheduleSpec, base: f64, epochs: usize, expected: &[(usize, f64)]| {
                let steps_per_epoch = 7;
                for &(epoch, torch_lr) in expected {
                    // Every step of the epoch has the epoch's rate.
                    for within in [0, 3, 6] {
                        let step = epoch * steps_per_epoch + within;
                        let ours = learning_rate(schedule, base, step, steps_per_epoch, epochs * 7);
                        assert!(
                            (ours - torch_lr).abs() < 1e-12 * base.max(1.0) + 1e-15,
                            "epoch {epoch}: {ours} vs torch {torch_lr}"
                        );
                    }
                }
            };
        let vit = ScheduleSpec::Cosine {
            warmup_epochs: 30.0,
            min_lr: 0.0,
            warmup_start_factor: Some(0.033),
            update: ScheduleUpdate::Epoch,
        };
        check(
            &vit,
            0.003,
            300,
            &[
                (0, 9.900000000000001e-05),
                (1, 0.0001957),
                (15, 0.0015495),
                (29, 0.0029033000000000006),
                (30, 0.003),
                (31, 0.0029998984620056434),
                (150, 0.001760472266500396),
                (299, 1.0153799435669294e-07),
            ],
        );
        let swin = ScheduleSpec::Cosine {
            warmup_epochs: 20.0,
            min_lr: 1e-5,
            warmup_start_factor: Some(0.01),
            update: ScheduleUpdate::Epoch,
        };
        check(
            &swin,
            0.001,
            300,
            &[
                (0, 1e-05),
                (1, 5.9499999999999996e-05),
                (19, 0.0009505000000000005),
                (20, 0.001),
                (21, 0.0009999688430935769),
                (160, 0.0005049999999999995),
                (299, 1.0031156906423219e-05),
            ],
        );
    }
}
