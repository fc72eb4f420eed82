//! A compact Graphviz drawing of a plan: one cluster per pool round, sibling stages of one kind
//! in a round (the HA datasets, say) drawn as one node with their count, edges between such
//! groups drawn once. The quickstart's 160 stages fit on one screen this way; `pvr dag --format
//! text` still lists every stage with its key.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Plan;

/// Siblings of one kind in one round are merged from this many up.
const MERGE_FROM: usize = 3;

/// A node of the drawing: one stage, or several siblings merged.
struct Group {
    round: Option<usize>,
    title: String,
    detail: String,
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Plan {
    /// Graphviz source of the DAG, compact (see the module docs).
    pub fn to_dot(&self) -> String {
        let mut siblings: BTreeMap<(Option<usize>, String), usize> = BTreeMap::new();
        for stage in self.stages() {
            *siblings
                .entry((stage.label.round, stage.label.kind.clone()))
                .or_default() += 1;
        }
        // Group index of every stage node, in plan order.
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of = vec![0usize; self.graph.node_count()];
        let mut merged: BTreeMap<(Option<usize>, String), usize> = BTreeMap::new();
        for &node in &self.order {
            let stage = &self.graph[node];
            let label = &stage.label;
            let count = siblings[&(label.round, label.kind.clone())];
            // The dense model is round 0's model.
            let round = label.round.or_else(|| (label.kind == "train").then_some(0));
            group_of[node.index()] = if count >= MERGE_FROM && label.round.is_some() {
                *merged
                    .entry((label.round, label.kind.clone()))
                    .or_insert_with(|| {
                        groups.push(Group {
                            round,
                            title: match label.round {
                                Some(r) => format!("{}[{r}] ×{count}", label.kind),
                                None => format!("{} ×{count}", label.kind),
                            },
                            detail: format!("{count} stages"),
                        });
                        groups.len() - 1
                    })
            } else {
                groups.push(Group {
                    round,
                    title: label.to_string(),
                    detail: stage.key[..8].to_string(),
                });
                groups.len() - 1
            };
        }
        // An edge from inside a round to a stage outside every round (a report) is drawn once
        // per round, from the round's cluster (the report reads the whole pool).
        let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
        let mut from_round: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for e in self.graph.raw_edges() {
            let (a, b) = (group_of[e.source().index()], group_of[e.target().index()]);
            match (groups[a].round, groups[b].round) {
                _ if a == b => {}
                (Some(r), None) => {
                    from_round.entry((r, b)).or_insert(a);
                }
                _ => {
                    edges.insert((a, b));
                }
            }
        }

        let mut out = format!(
            "digraph \"{}\" {{\n  rankdir=LR;\n  compound=true;\n  nodesep=0.12;\n  ranksep=0.3;\n  \
             fontname=\"Helvetica\";\n  fontsize=11;\n  \
             node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\", fontname=\"Helvetica\", \
             fontsize=10, height=0.3, margin=\"0.08,0.03\"];\n  \
             edge [color=\"#888888\", arrowsize=0.5];\n",
            quote(&self.experiment)
        );
        let rounds: BTreeSet<Option<usize>> = groups.iter().map(|g| g.round).collect();
        for round in rounds {
            let indent = if let Some(r) = round {
                let _ = writeln!(
                    out,
                    "  subgraph cluster_round_{r} {{\n    label=\"round {r}\";\n    style=\"rounded\";\n    color=\"#bbbbbb\";"
                );
                "    "
            } else {
                "  "
            };
            for (i, g) in groups.iter().enumerate().filter(|(_, g)| g.round == round) {
                let _ = writeln!(
                    out,
                    "{indent}g{i} [label=\"{}\\n{}\"];",
                    quote(&g.title),
                    quote(&g.detail)
                );
            }
            if round.is_some() {
                out.push_str("  }\n");
            }
        }
        // Stages outside every round (the reports) read the pool: they go last, right of it.
        let outside: Vec<String> = (0..groups.len())
            .filter(|&i| groups[i].round.is_none())
            .map(|i| format!("g{i};"))
            .collect();
        if !outside.is_empty() {
            let _ = writeln!(out, "  {{ rank=sink; {} }}", outside.join(" "));
        }
        for &(a, b) in &edges {
            // The model chain across rounds does not push rounds apart: they stack.
            let across = groups[a].round.is_some() && groups[a].round != groups[b].round;
            let style = if across { " [constraint=false]" } else { "" };
            let _ = writeln!(out, "  g{a} -> g{b}{style};");
        }
        // Drawn from the round's deepest node, so the reports rank after the whole round.
        let mut depth = vec![0usize; groups.len()];
        for &(a, b) in &edges {
            if groups[a].round == groups[b].round {
                depth[b] = depth[b].max(depth[a] + 1);
            }
        }
        let deepest = |r: usize| {
            (0..groups.len())
                .filter(|&i| groups[i].round == Some(r))
                .max_by_key(|&i| (depth[i], std::cmp::Reverse(i)))
        };
        for ((r, b), a) in from_round {
            let a = deepest(r).unwrap_or(a);
            let _ = writeln!(out, "  g{a} -> g{b} [ltail=cluster_round_{r}];");
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{Stage, StageContext, StageLabel};
    use super::*;

    struct Fake {
        label: StageLabel,
        inputs: Vec<StageLabel>,
    }

    impl Stage for Fake {
        fn kind(&self) -> &'static str {
            match self.label.kind.as_str() {
                "train" => "train",
                "prune" => "prune",
                "ha" => "ha",
                "eval" => "eval",
                _ => "report",
            }
        }
        fn label(&self) -> StageLabel {
            self.label.clone()
        }
        fn version(&self) -> u32 {
            1
        }
        fn params(&self) -> Value {
            json!({})
        }
        fn inputs(&self) -> Vec<StageLabel> {
            self.inputs.clone()
        }
        fn run(&self, _: &StageContext<'_>) -> anyhow::Result<()> {
            Ok(())
        }
    }

    fn fake(label: StageLabel, inputs: Vec<StageLabel>) -> Box<dyn Stage> {
        Box::new(Fake { label, inputs })
    }

    #[test]
    fn siblings_merge_rounds_cluster_and_reports_take_one_edge_per_round() {
        let model = |r: usize| {
            if r == 0 {
                StageLabel::new("train")
            } else {
                StageLabel::round("prune", r)
            }
        };
        let mut stages = vec![fake(StageLabel::new("train"), vec![])];
        let mut everything = vec![StageLabel::new("train")];
        for r in 0..3 {
            if r > 0 {
                stages.push(fake(model(r), vec![model(r - 1)]));
                everything.push(model(r));
            }
            for d in ["a", "b", "c", "d", "e"] {
                let label = StageLabel::round_named("ha", r, d);
                stages.push(fake(label.clone(), vec![model(r)]));
                everything.push(label);
            }
            stages.push(fake(StageLabel::round("eval", r), vec![model(r)]));
            everything.push(StageLabel::round("eval", r));
        }
        stages.push(fake(StageLabel::new("report"), everything));
        let plan = Plan::new("toy", stages).unwrap();
        let dot = plan.to_dot();
        for r in 0..3 {
            assert!(
                dot.contains(&format!("subgraph cluster_round_{r} {{")),
                "{dot}"
            );
            assert!(dot.contains(&format!("ha[{r}] ×5\\n5 stages")), "{dot}");
            assert_eq!(
                dot.matches(&format!("[ltail=cluster_round_{r}]")).count(),
                1,
                "{dot}"
            );
        }
        // 3 models, 3 merged HA groups, 3 evals and the report: 10 nodes for 22 stages.
        assert_eq!(dot.matches(" [label=").count(), 10, "{dot}");
        let key = &plan.find(&StageLabel::new("report")).unwrap().key[..8];
        assert!(dot.contains(&format!("report\\n{key}")), "{dot}");
        assert!(dot.contains("rank=sink"));
    }
}
