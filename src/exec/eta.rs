//! The run's remaining time, for the overall bar. Stages of one kind cost about the same (every
//! `ha[n,*]` scores its images, every `prune[n]` retrains), so each kind's mean time so far in
//! this run, times its stages still to run, estimates the rest; a kind not seen yet takes the
//! mean of every stage run so far. Nothing is estimated before the first stage finishes.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Eta {
    pending: HashMap<&'static str, usize>,
    /// Seconds and count of the stages of each kind run so far.
    spent: HashMap<&'static str, (f64, usize)>,
}

impl Eta {
    /// An estimate over the stages still to run, by kind.
    pub fn new(pending: impl IntoIterator<Item = &'static str>) -> Eta {
        let mut eta = Eta::default();
        for kind in pending {
            *eta.pending.entry(kind).or_default() += 1;
        }
        eta
    }

    /// A stage of `kind` ended: it ran for `seconds`, or (`None`) failed or was skipped, and
    /// says nothing of its kind's cost.
    pub fn finished(&mut self, kind: &'static str, seconds: Option<f64>) {
        if let Some(left) = self.pending.get_mut(kind) {
            *left = left.saturating_sub(1);
        }
        if let Some(seconds) = seconds {
            let (total, count) = self.spent.entry(kind).or_default();
            *total += seconds;
            *count += 1;
        }
    }

    /// Seconds the stages still to run would take one after another, once any has run.
    pub fn remaining(&self) -> Option<f64> {
        let (total, count) = self
            .spent
            .values()
            .fold((0.0, 0), |(t, c), (total, count)| (t + total, c + count));
        if count == 0 {
            return None;
        }
        let overall = total / count as f64;
        Some(
            self.pending
                .iter()
                .map(|(kind, &left)| {
                    let mean = self
                        .spent
                        .get(kind)
                        .map_or(overall, |&(total, count)| total / count as f64);
                    left as f64 * mean
                })
                .sum(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_costs_its_own_mean_and_unseen_kinds_the_overall_one() {
        let mut eta = Eta::new(["train", "prune", "prune", "ha", "ha", "ha"]);
        assert_eq!(
            eta.remaining(),
            None,
            "nothing is known before a stage ends"
        );
        eta.finished("train", Some(60.0));
        // Two retrainings at train's 60 s, three HA stages at the overall mean (60 s).
        assert_eq!(eta.remaining(), Some(300.0));
        eta.finished("ha", Some(2.0));
        eta.finished("ha", Some(4.0));
        // Prune has no run yet: the overall mean; the last HA stage: HA's own mean, 3 s.
        let overall = (60.0 + 2.0 + 4.0) / 3.0;
        assert_eq!(eta.remaining(), Some(2.0 * overall + 3.0));
        eta.finished("prune", None);
        assert_eq!(
            eta.remaining(),
            Some(overall + 3.0),
            "a failure only counts down"
        );
    }
}
