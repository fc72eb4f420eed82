//! Spearman's rank correlation with a bootstrap interval: the paper's RQ1 claim (interpretability
//! against accuracy across the pool, negative for CNNs and positive for ViTs) is a correlation.

use super::Interval;
use super::bootstrap::stratified::bootstrap_ci;

/// Ranks from 1, ties sharing the mean of their ranks.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end + 1) as f64 / 2.0;
        for &index in &order[start..end] {
            ranks[index] = mean_rank;
        }
        start = end;
    }
    ranks
}

/// Pearson correlation; `None` when either side is constant.
fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Spearman's rho over the pairs finite in both; `None` with fewer than three such pairs or a
/// constant side.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "paired samples differ in length");
    let (x, y): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .unzip();
    if x.len() < 3 {
        return None;
    }
    pearson(&ranks(&x), &ranks(&y))
}

/// Spearman's rho with a percentile interval from resampling the pairs (pool members) with
/// replacement; resamples where rho is undefined are skipped. `count` is the pairs.
pub fn spearman_interval(
    x: &[f64],
    y: &[f64],
    resamples: usize,
    level: f64,
    seed: u64,
) -> Option<Interval> {
    let estimate = spearman(x, y)?;
    let (low, high) = bootstrap_ci(&[x.len()], resamples, level, seed, |indices| {
        let (rx, ry): (Vec<f64>, Vec<f64>) = indices[0].iter().map(|&i| (x[i], y[i])).unzip();
        spearman(&rx, &ry)
    })?;
    Some(Interval {
        estimate,
        low,
        high,
        count: x.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_rhos() {
        // d = (-1, 1, -1, 1, 0): rho = 1 - 6 * 4 / (5 * 24) = 0.8.
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]).unwrap();
        assert!((rho - 0.8).abs() < 1e-12, "{rho}");
        // Ties share ranks (1, 2.5, 2.5, 4): rho = 4.5 / sqrt(4.5 * 5).
        let rho = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((rho - 4.5 / (22.5f64).sqrt()).abs() < 1e-12, "{rho}");
        // Monotone, not linear: still 1; reversed: -1.
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[1.0, 10.0, 1000.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]), None);
        assert_eq!(spearman(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 3.0]), None);
    }

    #[test]
    fn interval_brackets_rho_and_is_tight_for_a_clean_trend() {
        let x: Vec<f64> = (0..30).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| v * v).collect();
        let ci = spearman_interval(&x, &y, 500, 0.95, 1).unwrap();
        assert_eq!(
            (ci.estimate, ci.low, ci.high, ci.count),
            (1.0, 1.0, 1.0, 30)
        );
        let noisy: Vec<f64> = x.iter().map(|v| ((v * 7.3).sin() * 40.0) + v).collect();
        let ci = spearman_interval(&x, &noisy, 500, 0.95, 1).unwrap();
        assert!(ci.low <= ci.estimate && ci.estimate <= ci.high && ci.low < ci.high);
    }
}
