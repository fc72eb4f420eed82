//! Holm's step-down correction (Holm 1979) for testing every round of a pool at once: sort the
//! `m` p-values, multiply the i-th smallest by `m - i + 1`, and keep the sequence monotone. It
//! controls the family-wise error rate at `alpha` under any dependence between the tests, which
//! the rounds of one pool (each pruned from the previous one) certainly have.

/// Holm-adjusted p-values, in the order given. NaN entries are not tests: they stay NaN and do not
/// count toward the family size.
pub fn holm_adjust(p_values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p_values.len())
        .filter(|&i| !p_values[i].is_nan())
        .collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let family = order.len();
    let mut adjusted = vec![f64::NAN; p_values.len()];
    let mut running_max = 0.0_f64;
    for (rank, &index) in order.iter().enumerate() {
        let scaled = ((family - rank) as f64 * p_values[index]).min(1.0);
        running_max = running_max.max(scaled);
        adjusted[index] = running_max;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn hand_computed_adjustments() {
        // Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> kept at 0.06.
        let adjusted = holm_adjust(&[0.01, 0.04, 0.03, 0.005]);
        assert!(close(&adjusted, &[0.03, 0.06, 0.06, 0.02]), "{adjusted:?}");
        // At alpha = 0.05 only the first and last survive, although 0.03 and 0.04 are below it.
        let rejected: Vec<bool> = adjusted.iter().map(|&p| p < 0.05).collect();
        assert_eq!(rejected, [true, false, false, true]);
        // Capped at one; a single test is unchanged.
        assert!(close(&holm_adjust(&[0.5, 0.6]), &[1.0, 1.0]));
        assert!(close(&holm_adjust(&[0.2]), &[0.2]));
    }

    #[test]
    fn nans_are_not_tests() {
        let adjusted = holm_adjust(&[0.01, f64::NAN, 0.02]);
        assert!(adjusted[1].is_nan());
        assert!(close(&[adjusted[0], adjusted[2]], &[0.02, 0.02]));
        assert!(holm_adjust(&[]).is_empty());
    }
}
