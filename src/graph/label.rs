//! Stage labels: the one name a stage has in a plan, in `pvr status`/`dag` output, in the
//! cache's label records and in every message. `kind[round,name]`, each part optional:
//! `train`, `prune[3]`, `eval[0]`, `attribute[2,gradcam]`, `report`, `report[lost]`.
//!
//! The text form enters stage keys (through the inputs' labels), so [`fmt::Display`] must
//! keep producing exactly these strings.

use std::fmt;
use std::str::FromStr;

/// The name of a stage in a plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StageLabel {
    /// What the stage does for the pool (`train`, `prune`, `eval`, `lost`, `report`, ...).
    pub kind: String,
    /// The pool member it belongs to, when it belongs to one.
    pub round: Option<usize>,
    /// What distinguishes it from its siblings in the same round (an attribution table, an HA
    /// dataset, the analysis a report belongs to).
    pub name: Option<String>,
    /// The training seed of the pool it belongs to, in an experiment of several seeds
    /// (`prune[3]@s1`); `None` with one seed, so that labels (and keys) stay as they were.
    pub seed: Option<u64>,
    /// Whether it belongs to the matched-compute dense control (`prune[3]@control`: the dense
    /// model with round 3's training) rather than the pruned pool.
    pub control: bool,
}

impl StageLabel {
    /// A label with neither round nor name, e.g. `report`.
    pub fn new(kind: &str) -> StageLabel {
        StageLabel {
            kind: kind.to_string(),
            round: None,
            name: None,
            seed: None,
            control: false,
        }
    }

    /// This label in the matched-compute control pool.
    pub fn in_control(&self) -> StageLabel {
        StageLabel {
            control: true,
            ..self.clone()
        }
    }

    /// This label in the pruned pool.
    pub fn without_control(&self) -> StageLabel {
        StageLabel {
            control: false,
            ..self.clone()
        }
    }

    /// This label in the pool of training seed `seed`.
    pub fn with_seed(&self, seed: u64) -> StageLabel {
        StageLabel {
            seed: Some(seed),
            ..self.clone()
        }
    }

    /// This label without its seed: the name the stage has within its own pool.
    pub fn without_seed(&self) -> StageLabel {
        StageLabel {
            seed: None,
            ..self.clone()
        }
    }

    /// `kind[round]`.
    pub fn round(kind: &str, round: usize) -> StageLabel {
        StageLabel {
            round: Some(round),
            ..StageLabel::new(kind)
        }
    }

    /// `kind[name]`, e.g. `report[lost]`.
    pub fn named(kind: &str, name: &str) -> StageLabel {
        StageLabel {
            name: Some(name.to_string()),
            ..StageLabel::new(kind)
        }
    }

    /// `kind[round,name]`, e.g. `attribute[2,gradcam]`.
    pub fn round_named(kind: &str, round: usize, name: &str) -> StageLabel {
        StageLabel {
            round: Some(round),
            name: Some(name.to_string()),
            ..StageLabel::new(kind)
        }
    }

    /// The stage that makes pool member `round`: `train` for the dense model, `prune[n]` after.
    pub fn model(round: usize) -> StageLabel {
        if round == 0 {
            StageLabel::new("train")
        } else {
            StageLabel::round("prune", round)
        }
    }

    /// `eval[round]`: the evaluation of pool member `round`.
    pub fn eval(round: usize) -> StageLabel {
        StageLabel::round("eval", round)
    }

    /// The report of the analysis `name`, or the pool's own report for `None`.
    pub fn report(name: Option<&str>) -> StageLabel {
        match name {
            Some(name) => StageLabel::named("report", name),
            None => StageLabel::new("report"),
        }
    }

    /// The pool member this stage belongs to: the round, or 0 for `train`.
    pub fn pool_round(&self) -> Option<usize> {
        self.round.or((self.kind == "train").then_some(0))
    }
}

impl fmt::Display for StageLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        match (self.round, &self.name) {
            (None, None) => Ok(()),
            (Some(round), None) => write!(f, "[{round}]"),
            (None, Some(name)) => write!(f, "[{name}]"),
            (Some(round), Some(name)) => write!(f, "[{round},{name}]"),
        }?;
        if self.control {
            f.write_str("@control")?;
        }
        match self.seed {
            Some(seed) => write!(f, "@s{seed}"),
            None => Ok(()),
        }
    }
}

impl FromStr for StageLabel {
    type Err = String;

    fn from_str(text: &str) -> Result<StageLabel, String> {
        if let Some((label, seed)) = text.rsplit_once("@s")
            && let Ok(seed) = seed.parse::<u64>()
        {
            return Ok(label.parse::<StageLabel>()?.with_seed(seed));
        }
        if let Some(label) = text.strip_suffix("@control") {
            return Ok(label.parse::<StageLabel>()?.in_control());
        }
        let bad = || {
            format!(
                "`{text}` is not a stage label (expected e.g. `train`, `prune[3]`, `attribute[2,gradcam]`)"
            )
        };
        let Some((kind, rest)) = text.split_once('[') else {
            return valid_kind(text)
                .then(|| StageLabel::new(text))
                .ok_or_else(bad);
        };
        let inner = rest.strip_suffix(']').ok_or_else(bad)?;
        if !valid_kind(kind) || inner.is_empty() {
            return Err(bad());
        }
        let (first, name) = match inner.split_once(',') {
            Some((first, name)) => (first, Some(name)),
            None => (inner, None),
        };
        Ok(match (first.parse::<usize>(), name) {
            (Ok(round), None) => StageLabel::round(kind, round),
            (Ok(round), Some(name)) => StageLabel::round_named(kind, round, name),
            (Err(_), _) => StageLabel::named(kind, inner),
        })
    }
}

fn valid_kind(kind: &str) -> bool {
    !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        for text in [
            "train",
            "prune[3]",
            "eval[0]",
            "attribute[2,gradcam]",
            "ha[1,cue-conflict]",
            "report",
            "report[lost]",
            "score[0,ig,blur]",
            "prune[3]@s1",
            "train@s0",
            "report[lost]@s12",
            "prune[2]@control",
            "eval[4]@control@s1",
        ] {
            let label: StageLabel = text.parse().unwrap();
            assert_eq!(label.to_string(), text);
        }
    }

    #[test]
    fn constructors_give_todays_strings() {
        assert_eq!(StageLabel::model(0).to_string(), "train");
        assert_eq!(StageLabel::model(4).to_string(), "prune[4]");
        assert_eq!(StageLabel::eval(2).to_string(), "eval[2]");
        assert_eq!(StageLabel::report(Some("ha")).to_string(), "report[ha]");
        assert_eq!(StageLabel::report(None).to_string(), "report");
        assert_eq!(StageLabel::model(0).pool_round(), Some(0));
        let seeded = StageLabel::eval(2).with_seed(7);
        assert_eq!(seeded.to_string(), "eval[2]@s7");
        assert_eq!(seeded.without_seed(), StageLabel::eval(2));
        assert_eq!("eval[2]@s7".parse::<StageLabel>(), Ok(seeded));
        assert_eq!(StageLabel::report(None).pool_round(), None);
    }

    #[test]
    fn rejects_malformed_labels() {
        for text in ["", "prune[", "prune[]", "[3]", "a b", "eval[1", "eval[1]@s"] {
            assert!(text.parse::<StageLabel>().is_err(), "{text}");
        }
    }
}
