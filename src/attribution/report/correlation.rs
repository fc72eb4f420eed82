//! RQ1 as the paper states it: across the pool, the rank correlation (Spearman) between top-1
//! accuracy and each attribution metric, per method, with a bootstrap interval over pool
//! members. The paper reports it negative for CNNs and positive for ViTs; with a handful of
//! rounds the interval is wide, and the report says so rather than reading a sign into noise.

use std::fmt::Write as _;

use super::summary::MetricRow;
use crate::metrics::Bootstrap;
use crate::metrics::rank::spearman_interval;

/// Spearman's rho between top-1 and one metric over one method's pool members.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub method: String,
    pub metric: &'static str,
    pub members: usize,
    pub rho: f64,
    pub rho_low: f64,
    pub rho_high: f64,
}

/// One correlation per (method, metric) present in `rows`, over the members with a defined mean;
/// pairs with fewer than three such members or a constant side are left out.
pub fn correlations(rows: &[MetricRow], bootstrap: &Bootstrap) -> Vec<Correlation> {
    let mut groups: Vec<(String, &'static str)> = rows
        .iter()
        .map(|r| (r.method.clone(), r.metric.name()))
        .collect();
    groups.dedup();
    groups
        .into_iter()
        .filter_map(|(method, metric)| {
            let (top1, values): (Vec<f64>, Vec<f64>) = rows
                .iter()
                .filter(|r| r.method == method && r.metric.name() == metric)
                .filter_map(|r| r.mean.map(|m| (r.top1, m.estimate)))
                .unzip();
            let ci = spearman_interval(
                &top1,
                &values,
                bootstrap.resamples,
                bootstrap.confidence,
                bootstrap.seed,
            )?;
            Some(Correlation {
                method,
                metric,
                members: ci.count,
                rho: ci.estimate,
                rho_low: ci.low,
                rho_high: ci.high,
            })
        })
        .collect()
}

/// The RQ1 section of `attribution.md`.
pub fn correlation_markdown(correlations: &[Correlation], confidence: f64) -> String {
    let mut md = String::from("\n## RQ1: interpretability against accuracy across the pool\n\n");
    if correlations.is_empty() {
        md += "Not computed: fewer than three pool members with a defined metric.\n";
        return md;
    }
    let _ = writeln!(
        md,
        "Spearman's rank correlation between top-1 and the metric's mean over the pool members, \
         with a {:.0}% bootstrap interval over members. An interval containing zero says this pool \
         does not settle the sign.\n",
        confidence * 100.0
    );
    let _ = writeln!(md, "| method | metric | members | rho | interval | sign |");
    let _ = writeln!(md, "| --- | --- | ---: | ---: | --- | --- |");
    for c in correlations {
        let sign = if c.rho_low > 0.0 {
            "positive"
        } else if c.rho_high < 0.0 {
            "negative"
        } else {
            "undetermined"
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:+.2} | [{:+.2}, {:+.2}] | {sign} |",
            c.method, c.metric, c.members, c.rho, c.rho_low, c.rho_high
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::report::Metric;
    use crate::metrics::Interval;
    use std::collections::BTreeMap;

    fn row(round: usize, top1: f64, mean: f64) -> MetricRow {
        MetricRow {
            method: "gradcam".into(),
            metric: Metric::Rma,
            round,
            sparsity: 0.2 * round as f64,
            top1,
            mean: Some(Interval {
                estimate: mean,
                low: mean,
                high: mean,
                count: 10,
            }),
            gain: None,
            top1_gain: 0.0,
            undefined: BTreeMap::new(),
        }
    }

    #[test]
    fn a_metric_falling_with_accuracy_is_a_negative_correlation() {
        // Top-1 rises while RMA falls but for one swap. Top-1 ranks 1..6, RMA ranks 6,5,3,4,2,1:
        // sum d^2 = 25 + 9 + 0 + 0 + 9 + 25 = 68, rho = 1 - 6 * 68 / (6 * 35) = 1 - 408/210.
        let rows: Vec<MetricRow> = [
            (0.5, 0.9),
            (0.6, 0.8),
            (0.7, 0.6),
            (0.8, 0.7),
            (0.85, 0.5),
            (0.9, 0.4),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(top1, rma))| row(i, top1, rma))
        .collect();
        let found = correlations(&rows, &Bootstrap::default());
        assert_eq!(found.len(), 1);
        let c = &found[0];
        assert!((c.rho - (1.0 - 408.0 / 210.0)).abs() < 1e-12, "{c:?}");
        assert_eq!(
            (c.method.as_str(), c.metric, c.members),
            ("gradcam", "RMA", 6)
        );
        assert!(c.rho_low <= c.rho && c.rho <= c.rho_high);
        let md = correlation_markdown(&found, 0.95);
        assert!(md.contains("| gradcam | RMA | 6 | -0.94 |"), "{md}");
        // Two members are too few.
        assert!(correlations(&rows[..2], &Bootstrap::default()).is_empty());
    }
}
