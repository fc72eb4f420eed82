//! Learning-rate schedules, evaluated per optimizer step so that a restarted schedule (LRR) and
//! a resumed run land on exactly the same rates.

use crate::spec::ScheduleSpec;

/// Learning rate at `step` (0-based) of a run of `total_steps`, `steps_per_epoch` per epoch.
pub fn learning_rate(
    schedule: &ScheduleSpec,
    base_lr: f64,
    step: usize,
    steps_per_epoch: usize,
    total_steps: usize,
) -> f64 {
    let steps_per_epoch = steps_per_epoch.max(1) as f64;
    let warmup_epochs = match schedule {
        ScheduleSpec::Cosine { warmup_epochs, .. }
        | ScheduleSpec::Step { warmup_epochs, .. }
        | ScheduleSpec::Constant { warmup_epochs } => *warmup_epochs,
    };
    let warmup_steps = (warmup_epochs * steps_per_epoch).round() as usize;
    if step < warmup_steps {
        // Linear warmup that reaches the base rate at the end of the warmup.
        return base_lr * (step + 1) as f64 / warmup_steps as f64;
    }
    match schedule {
        ScheduleSpec::Constant { .. } => base_lr,
        ScheduleSpec::Step { every, gamma, .. } => {
            let epoch = (step as f64 / steps_per_epoch).floor() as i32;
            base_lr * gamma.powi(epoch / *every as i32)
        }
        ScheduleSpec::Cosine { min_lr, .. } => {
            let decay_steps = total_steps.saturating_sub(warmup_steps).max(1) as f64;
            let progress = ((step - warmup_steps) as f64 / decay_steps).min(1.0);
            min_lr + (base_lr - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_starts_at_base_and_decays_to_min() {
        let schedule = ScheduleSpec::Cosine {
            warmup_epochs: 0.0,
            min_lr: 0.0,
        };
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
        };
        assert_eq!(learning_rate(&schedule, 0.1, 29 * 5, 5, 450), 0.1);
        assert!((learning_rate(&schedule, 0.1, 30 * 5, 5, 450) - 0.01).abs() < 1e-12);
        assert!((learning_rate(&schedule, 0.1, 60 * 5, 5, 450) - 0.001).abs() < 1e-12);
    }

    #[test]
    fn warmup_rises_linearly_then_hands_over() {
        let schedule = ScheduleSpec::Cosine {
            warmup_epochs: 1.0,
            min_lr: 0.0,
        };
        assert!((learning_rate(&schedule, 0.1, 0, 10, 100) - 0.01).abs() < 1e-12);
        assert!((learning_rate(&schedule, 0.1, 9, 10, 100) - 0.1).abs() < 1e-12);
        assert!((learning_rate(&schedule, 0.1, 10, 10, 100) - 0.1).abs() < 1e-12);
    }
}
