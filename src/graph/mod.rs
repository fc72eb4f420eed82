//! The plan of a run: a petgraph DAG of stages, each with its content key.

mod dot;
pub mod key;
mod label;
pub mod stage;

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{anyhow, bail};
use petgraph::Direction;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};

pub use key::{canonical_json, stage_key};
pub use label::StageLabel;
pub use stage::{Stage, StageContext};

/// A stage placed in the plan, with its key.
pub struct PlannedStage {
    pub stage: Box<dyn Stage>,
    pub label: StageLabel,
    pub key: String,
    /// (label, key) of each input.
    pub inputs: Vec<(StageLabel, String)>,
}

impl PlannedStage {
    /// `(label, key)` of each input, in the text form manifests and label records keep.
    pub fn input_keys(&self) -> Vec<(String, String)> {
        self.inputs
            .iter()
            .map(|(label, key)| (label.to_string(), key.clone()))
            .collect()
    }
}

/// The compiled DAG of an experiment. Edges point from an input to the stage that reads it.
pub struct Plan {
    pub experiment: String,
    pub graph: DiGraph<PlannedStage, ()>,
    /// Node indices in an order where every input comes before its readers.
    pub order: Vec<NodeIndex>,
}

impl Plan {
    /// Links stages by their declared inputs and computes every key in dependency order.
    pub fn new(experiment: &str, stages: Vec<Box<dyn Stage>>) -> anyhow::Result<Plan> {
        let mut graph = DiGraph::new();
        let mut by_label = HashMap::new();
        for stage in stages {
            let label = stage.label();
            let node = graph.add_node(PlannedStage {
                stage,
                label: label.clone(),
                key: String::new(),
                inputs: Vec::new(),
            });
            if by_label.insert(label.clone(), node).is_some() {
                bail!("two stages are labelled `{label}`");
            }
        }
        for node in graph.node_indices().collect::<Vec<_>>() {
            for input in graph[node].stage.inputs() {
                let from = *by_label.get(&input).ok_or_else(|| {
                    anyhow!(
                        "stage `{}` reads `{input}`, which is not in the plan",
                        graph[node].label
                    )
                })?;
                graph.add_edge(from, node, ());
            }
        }
        let order = toposort(&graph, None).map_err(|cycle| {
            anyhow!(
                "the stages form a cycle through `{}`",
                graph[cycle.node_id()].label
            )
        })?;
        for &node in &order {
            let inputs: Vec<(StageLabel, String)> = graph[node]
                .stage
                .inputs()
                .into_iter()
                .map(|label| {
                    let key = graph[by_label[&label]].key.clone();
                    (label, key)
                })
                .collect();
            graph[node].inputs = inputs;
            let key_inputs = graph[node].input_keys();
            let stage = &graph[node].stage;
            graph[node].key =
                stage_key(stage.kind(), stage.version(), &stage.params(), &key_inputs);
        }
        Ok(Plan {
            experiment: experiment.to_string(),
            graph,
            order,
        })
    }

    pub fn stages(&self) -> impl Iterator<Item = &PlannedStage> {
        self.order.iter().map(|&node| &self.graph[node])
    }

    pub fn find(&self, label: &StageLabel) -> Option<&PlannedStage> {
        self.stages().find(|s| &s.label == label)
    }

    /// Every stage downstream of `node` (not including it).
    pub fn descendants(&self, node: NodeIndex) -> Vec<NodeIndex> {
        let mut seen = vec![false; self.graph.node_count()];
        let mut stack = vec![node];
        let mut out = Vec::new();
        while let Some(current) = stack.pop() {
            for next in self.graph.neighbors_directed(current, Direction::Outgoing) {
                if !seen[next.index()] {
                    seen[next.index()] = true;
                    out.push(next);
                    stack.push(next);
                }
            }
        }
        out
    }

    /// Stages that cannot run for missing data, and every stage downstream of one: their keys
    /// are stand-ins until the data is there (see `Stage::missing_data`).
    pub fn waiting_for_data(&self) -> std::collections::HashSet<NodeIndex> {
        let mut waiting = std::collections::HashSet::new();
        for &node in &self.order {
            if !waiting.contains(&node) && self.graph[node].stage.missing_data().is_some() {
                waiting.insert(node);
                waiting.extend(self.descendants(node));
            }
        }
        waiting
    }

    /// A readable listing: one stage a line, with its short key and inputs.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let widest = |f: &dyn Fn(&PlannedStage) -> usize| self.stages().map(f).max().unwrap_or(0);
        let label_w = widest(&|s| s.label.to_string().chars().count());
        let kind_w = widest(&|s| s.stage.kind().len());
        for stage in self.stages() {
            let inputs: Vec<String> = stage
                .inputs
                .iter()
                .map(|(label, _)| label.to_string())
                .collect();
            let _ = write!(
                out,
                "{:<label_w$} {:<kind_w$} {}",
                stage.label.to_string(),
                stage.stage.kind(),
                &stage.key[..12]
            );
            if !inputs.is_empty() {
                let _ = write!(out, "  <- {}", inputs.join(", "));
            }
            out.push('\n');
        }
        out
    }
}
