//! Trial-by-trial consistency of a model with a human observer (Geirhos et al. 2020, "Beyond
//! accuracy", as the model-vs-human benchmark computes it), from which trials each got right.

/// Consistency of two observers on the same trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consistency {
    /// Share of trials where both are right or both are wrong.
    pub observed: f64,
    /// The share expected from the two accuracies alone: `p1 p2 + (1 - p1)(1 - p2)`.
    pub expected: f64,
    /// Cohen's kappa `(observed - expected) / (1 - expected)`; 1 when `observed` is 1 (the
    /// benchmark's convention, which also covers both observers being right on every trial,
    /// where kappa is 0/0).
    pub error_consistency: f64,
    pub first_accuracy: f64,
    pub second_accuracy: f64,
}

/// Consistency of two correct/incorrect records of the same trials; `None` without trials.
pub fn consistency(first: &[bool], second: &[bool]) -> Option<Consistency> {
    assert_eq!(
        first.len(),
        second.len(),
        "consistency needs the same trials"
    );
    if first.is_empty() {
        return None;
    }
    let n = first.len() as f64;
    let rate = |hits: &[bool]| hits.iter().filter(|&&h| h).count() as f64 / n;
    let (p1, p2) = (rate(first), rate(second));
    let observed = first.iter().zip(second).filter(|(a, b)| a == b).count() as f64 / n;
    let expected = p1 * p2 + (1.0 - p1) * (1.0 - p2);
    let error_consistency = if observed == 1.0 {
        1.0
    } else {
        (observed - expected) / (1.0 - expected)
    };
    Some(Consistency {
        observed,
        expected,
        error_consistency,
        first_accuracy: p1,
        second_accuracy: p2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(correct: &[usize], n: usize) -> Vec<bool> {
        (0..n).map(|i| correct.contains(&i)).collect()
    }

    #[test]
    fn hand_computed_kappa() {
        // Both right on 0-3, only the model on 4-5, only the human on 6-7, both wrong on 8-9:
        // c_obs = 6/10, p = 0.6 each, c_exp = 0.36 + 0.16 = 0.52, kappa = 0.08 / 0.48 = 1/6.
        let model = hits(&[0, 1, 2, 3, 4, 5], 10);
        let human = hits(&[0, 1, 2, 3, 6, 7], 10);
        let c = consistency(&model, &human).unwrap();
        assert!((c.observed - 0.6).abs() < 1e-12);
        assert!((c.expected - 0.52).abs() < 1e-12);
        assert!((c.error_consistency - 1.0 / 6.0).abs() < 1e-12, "{c:?}");
        // Errors on exactly opposite trials: c_obs = 0, c_exp = 0.5, kappa = -1.
        let c = consistency(&hits(&[0, 1], 4), &hits(&[2, 3], 4)).unwrap();
        assert_eq!(c.error_consistency, -1.0);
    }

    #[test]
    fn degenerate_cases() {
        // Both right on every trial: c_exp = 1, kappa is 0/0; the benchmark reports 1.
        let c = consistency(&[true; 5], &[true; 5]).unwrap();
        assert_eq!(
            (c.observed, c.expected, c.error_consistency),
            (1.0, 1.0, 1.0)
        );
        // One observer always right: agreement is what the other's accuracy predicts, kappa 0.
        let c = consistency(&[true; 4], &hits(&[0, 1, 2], 4)).unwrap();
        assert!((c.error_consistency).abs() < 1e-12, "{c:?}");
        assert!(consistency(&[], &[]).is_none());
    }
}
