//! `report[verdict]`: one answer per experiment to "where does pruning benefit?". For every
//! metric of every analysis the spec runs, each pruned round gets a verdict from the one rule of
//! [`crate::metrics::sweet_spot`] (paired per-image gains over the reference in accuracy and in the
//! metric, both above zero after Holm over the rounds; collapsed models never qualify), with
//! across-seed means and hierarchical-bootstrap intervals (seeds, then images). Writes
//! `verdict.parquet`, `verdict.png` (every metric against sparsity, each seed faintly, the mean
//! boldly) and `summary.md`, whose verdict leads the pool's summary.

mod figure;
mod rule;
mod sources;
mod summary;
mod table;

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub use rule::{Evidence, RoundVerdict, Values, Verdict, verdicts};
pub use sources::{MetricSource, metric_sources};

use crate::files::tables::write_parquet;
use crate::graph::{Stage, StageContext, StageLabel};
use crate::metrics::Hierarchical;
use crate::metrics::sweet_spot::ALPHA;
use crate::pool::collapse::collapse_reasons;
use crate::pool::{EVAL_FILE, ROUND_FILE, pool_inputs, read_pool_members};
use table::{VerdictRow, verdict_frame};

pub const VERDICT_FILE: &str = "verdict.parquet";
/// Every metric against sparsity, each seed faintly and the mean boldly.
pub const FIGURE_FILE: &str = "verdict.png";

pub struct VerdictStage {
    pub experiment: String,
    pub arch: String,
    pub seeds: Vec<u64>,
    /// Several seeds: input labels carry them (`eval[2]@s1`).
    pub multi: bool,
    /// With the matched-compute control: every metric also against it (`reference = control`).
    pub control: bool,
    pub rounds: usize,
    pub sources: Vec<MetricSource>,
    pub bootstrap: Hierarchical,
}

impl VerdictStage {
    fn seeded(&self, label: StageLabel, seed: u64) -> StageLabel {
        if self.multi {
            label.with_seed(seed)
        } else {
            label
        }
    }

    fn label_seed(&self, seed: u64) -> Option<u64> {
        self.multi.then_some(seed)
    }
}

/// Per round of one seed: measured sparsity and why it collapsed (empty when it did not), and
/// why its matched control collapsed (empty without a control, and for round 0).
struct SeedPool {
    sparsity: Vec<f64>,
    collapse: Vec<Vec<String>>,
    control_collapse: Vec<Vec<String>>,
}

impl VerdictStage {
    /// Per metric, `[seed][round][image]` of the pruned pool, or of the control pool (round 0,
    /// the dense model, shared).
    fn read_values(&self, ctx: &StageContext<'_>, control: bool) -> anyhow::Result<Vec<Values>> {
        let mut values = Vec::new();
        for source in &self.sources {
            let mut per_seed = Vec::new();
            for &seed in &self.seeds {
                let rounds = (0..=self.rounds)
                    .map(|round| source.read(ctx, round, self.label_seed(seed), control))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                per_seed.push(rounds);
            }
            values.push(per_seed);
        }
        Ok(values)
    }
}

/// Per seed whose model at `round` collapsed, why; with `reference`, also why the reference
/// did (`dense`: round 0; `control`: that round's control).
fn collapse_text(pools: &[SeedPool], seeds: &[u64], round: usize, reference: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (pool, seed) in pools.iter().zip(seeds) {
        if !pool.collapse[round].is_empty() {
            parts.push(format!("seed {seed}: {}", pool.collapse[round].join(", ")));
        }
        let (whose, reasons) = match reference {
            "control" => ("control", &pool.control_collapse[round]),
            _ => ("dense model", &pool.collapse[0]),
        };
        if !reasons.is_empty() && round > 0 {
            parts.push(format!("seed {seed} {whose}: {}", reasons.join(", ")));
        }
    }
    parts.join("; ")
}

/// Why a model `label` (a control, `prune[n]@control`) collapsed, from its record and eval.
fn member_collapse(ctx: &StageContext<'_>, round: usize) -> anyhow::Result<Vec<String>> {
    let record = ctx
        .input(&StageLabel::model(round).in_control())
        .read_json(ROUND_FILE)?;
    let eval = ctx
        .input(&StageLabel::eval(round).in_control())
        .read_json(EVAL_FILE)?;
    Ok(collapse_reasons(&record, &eval)
        .iter()
        .map(ToString::to_string)
        .collect())
}

impl Stage for VerdictStage {
    fn kind(&self) -> &'static str {
        "report"
    }
    fn label(&self) -> StageLabel {
        StageLabel::report(Some("verdict"))
    }
    fn version(&self) -> u32 {
        // 2: a collapsed reference (dense model or matched control) withholds the comparison.
        2
    }
    fn params(&self) -> Value {
        json!({
            "experiment": self.experiment,
            "arch": self.arch,
            "seeds": self.seeds,
            "rounds": self.rounds,
            "control": self.control,
            "metrics": self.sources,
            "resamples": self.bootstrap.resamples,
            "confidence": self.bootstrap.confidence,
            "bootstrap_seed": self.bootstrap.seed,
            "alpha": ALPHA,
        })
    }
    fn inputs(&self) -> Vec<StageLabel> {
        let mut inputs = Vec::new();
        for &seed in &self.seeds {
            let mut own = pool_inputs(self.rounds);
            own.push(StageLabel::report(None));
            for source in &self.sources {
                for round in 0..=self.rounds {
                    own.extend(source.labels(round));
                }
            }
            if self.control {
                for round in 1..=self.rounds {
                    own.push(StageLabel::model(round).in_control());
                    own.push(StageLabel::eval(round).in_control());
                    for source in &self.sources {
                        own.extend(source.pool_labels(round, None, true));
                    }
                }
            }
            own.sort();
            own.dedup();
            inputs.extend(own.into_iter().map(|label| self.seeded(label, seed)));
        }
        inputs
    }
    fn publishes_report(&self) -> bool {
        true
    }
    fn run(&self, ctx: &StageContext<'_>) -> anyhow::Result<()> {
        let mut pools = Vec::new();
        for &seed in &self.seeds {
            let own: BTreeMap<StageLabel, _> = ctx
                .inputs
                .iter()
                .filter(|(label, _)| label.seed == self.label_seed(seed))
                .map(|(label, entry)| (label.without_seed(), entry.clone()))
                .collect();
            let seed_ctx = StageContext {
                inputs: &own,
                ..*ctx
            };
            let members = read_pool_members(&seed_ctx, self.rounds)?;
            let mut control_collapse = vec![Vec::new(); self.rounds + 1];
            if self.control {
                for (round, reasons) in control_collapse.iter_mut().enumerate().skip(1) {
                    *reasons = member_collapse(&seed_ctx, round)?;
                }
            }
            pools.push(SeedPool {
                control_collapse,
                sparsity: members.iter().map(|m| m.record.measured.sparsity).collect(),
                collapse: members
                    .iter()
                    .map(|m| {
                        collapse_reasons(&m.record, &m.eval)
                            .iter()
                            .map(ToString::to_string)
                            .collect()
                    })
                    .collect(),
            });
        }
        let collapsed: Vec<bool> = (0..=self.rounds)
            .map(|round| pools.iter().any(|p| !p.collapse[round].is_empty()))
            .collect();
        let dense_collapsed = collapsed[0];
        let control_collapsed: Vec<bool> = (0..=self.rounds)
            .map(|round| pools.iter().any(|p| !p.control_collapse[round].is_empty()))
            .collect();
        let sparsity: Vec<f64> = (0..=self.rounds)
            .map(|round| pools.iter().map(|p| p.sparsity[round]).sum::<f64>() / pools.len() as f64)
            .collect();
        let values = self.read_values(ctx, false)?;
        let control = if self.control {
            Some(self.read_values(ctx, true)?)
        } else {
            None
        };
        let mut rows = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            let references = [
                Some(("dense", None)),
                control
                    .as_ref()
                    .map(|c| ("control", Some((&c[index], &c[0])))),
            ];
            for (reference, against) in references.into_iter().flatten() {
                // The control of round n replaces the dense model as round n's reference, so a
                // collapsed dense model only voids comparisons against itself.
                let reference_collapsed: Vec<bool> = if against.is_some() {
                    control_collapsed.clone()
                } else {
                    vec![dense_collapsed; self.rounds + 1]
                };
                let evidence = Evidence {
                    metric: &values[index],
                    accuracy: &values[0],
                    reference: against,
                    collapsed: &collapsed,
                    reference_collapsed: &reference_collapsed,
                };
                for verdict in verdicts(&evidence, &self.bootstrap) {
                    let round = verdict.round;
                    rows.push(VerdictRow {
                        analysis: source.analysis.clone(),
                        metric: source.metric.clone(),
                        reference: reference.into(),
                        round,
                        sparsity: sparsity[round],
                        collapse_reason: collapse_text(&pools, &self.seeds, round, reference),
                        verdict,
                    });
                }
            }
        }
        let sparsity_per_seed: Vec<Vec<f64>> = pools.iter().map(|p| p.sparsity.clone()).collect();
        figure::metrics_figure(
            &self.experiment,
            &self.sources,
            &values,
            &sparsity_per_seed,
            &rows,
            &self.bootstrap,
        )
        .save(&ctx.out_dir.join(FIGURE_FILE))?;
        let seed_column = if self.multi { -1 } else { self.seeds[0] as i64 };
        write_parquet(
            &mut verdict_frame(
                &self.experiment,
                &self.arch,
                seed_column,
                self.seeds.len(),
                self.bootstrap.confidence,
                &rows,
            )?,
            &ctx.out_dir.join(VERDICT_FILE),
        )?;
        let mut markdown = summary::verdict_markdown(&self.experiment, &self.seeds, &rows);
        markdown.push_str(&format!(
            "![Every metric against sparsity: each seed faint, the across-seed mean bold]({FIGURE_FILE})\n\n"
        ));
        if self.multi {
            markdown.push_str(&summary::seed_links(&self.seeds));
        } else {
            let pool = ctx.input(&StageLabel::report(None)).path("summary.md");
            let pool = std::fs::read_to_string(pool)?;
            // The pool's own page follows under the verdict's title.
            let heading = format!("# {}\n", self.experiment);
            markdown.push_str("## The pool\n");
            markdown.push_str(pool.strip_prefix(&heading).unwrap_or(&pool));
        }
        std::fs::write(ctx.out_dir.join("summary.md"), markdown)?;
        Ok(())
    }
}
