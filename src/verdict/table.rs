//! `verdict.parquet`: long, one row per analysis, metric and pruned round, in the layout of
//! `docs/tables.md` (key columns first; `gain`/`gain_low`/`gain_high` against `reference`).

use polars::prelude::*;

use super::rule::RoundVerdict;

/// One row of the verdict table.
pub struct VerdictRow {
    pub analysis: String,
    pub metric: String,
    /// `dense` or `control`.
    pub reference: String,
    pub round: usize,
    /// Measured sparsity, averaged over the seeds.
    pub sparsity: f64,
    /// Per seed that collapsed at this round, why, and why the reference did; empty when none did.
    pub collapse_reason: String,
    pub verdict: RoundVerdict,
}

/// The table; `seed` is the pool's seed, or -1 for rows pooling `seeds` seeds.
pub fn verdict_frame(
    experiment: &str,
    arch: &str,
    seed: i64,
    seeds: usize,
    ci_level: f64,
    rows: &[VerdictRow],
) -> PolarsResult<DataFrame> {
    let n = rows.len();
    let f = |get: fn(&VerdictRow) -> f64| rows.iter().map(get).collect::<Vec<_>>();
    let s = |get: fn(&VerdictRow) -> &str| rows.iter().map(get).collect::<Vec<_>>();
    df!(
        "experiment" => vec![experiment; n],
        "arch" => vec![arch; n],
        "seed" => vec![seed; n],
        "round" => rows.iter().map(|r| r.round as i64).collect::<Vec<_>>(),
        "sparsity" => f(|r| r.sparsity),
        "seeds" => vec![seeds as i64; n],
        "analysis" => s(|r| &r.analysis),
        "metric" => s(|r| &r.metric),
        "reference" => s(|r| &r.reference),
        "value" => f(|r| r.verdict.value.estimate),
        "value_low" => f(|r| r.verdict.value.low),
        "value_high" => f(|r| r.verdict.value.high),
        "gain" => f(|r| r.verdict.gain.estimate),
        "gain_low" => f(|r| r.verdict.gain.low),
        "gain_high" => f(|r| r.verdict.gain.high),
        "ci_level" => vec![ci_level; n],
        "p" => f(|r| r.verdict.p),
        "p_holm" => f(|r| r.verdict.p_holm),
        "accuracy_p_holm" => f(|r| r.verdict.accuracy_p_holm),
        "collapsed" => rows.iter().map(|r| r.verdict.verdict == super::Verdict::Collapsed).collect::<Vec<_>>(),
        "reference_collapsed" => rows.iter().map(|r| r.verdict.verdict == super::Verdict::ReferenceCollapsed).collect::<Vec<_>>(),
        "collapse_reason" => s(|r| &r.collapse_reason),
        "verdict" => rows.iter().map(|r| r.verdict.verdict.name()).collect::<Vec<_>>(),
    )
}
