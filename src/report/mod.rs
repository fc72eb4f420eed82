//! The run-level report: one folder per configuration (`reports/<name>` or
//! `reports/<name>-<hash of the overrides>`), the provenance of the run that wrote it, and an
//! `index.html` page that ties the pool's and every analysis's files together.

mod links;
mod markdown;
mod page;
mod provenance;
mod run_table;

use std::collections::BTreeMap;

pub use links::broken_links;
pub use page::{INDEX_FILE, write_index};
pub use provenance::{PROVENANCE_FILE, Provenance, RUNS_FILE, SPEC_FILE, write_provenance};
pub use run_table::run_table;

use crate::spec::Override;

/// The report folder's name: the experiment's own for the spec as written, and
/// `<experiment>-<8 hex>` for a run with `--set` overrides, hashed over the effective
/// `key = value` pairs (a key set twice counts once, with its last value; order does not
/// matter), so two configurations never write to the same folder. `explicit` (from
/// `--report-name`) wins.
pub fn report_name(experiment: &str, overrides: &[Override], explicit: Option<&str>) -> String {
    if let Some(name) = explicit {
        return name.to_string();
    }
    if overrides.is_empty() {
        return experiment.to_string();
    }
    let effective: BTreeMap<&str, String> = overrides
        .iter()
        .map(|o| (o.key.as_str(), o.value.to_string()))
        .collect();
    let mut hasher = blake3::Hasher::new();
    for (key, value) in &effective {
        hasher.update(format!("{key}={value}\n").as_bytes());
    }
    let hash = hasher.finalize().to_hex();
    format!("{experiment}-{}", &hash[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(list: &[&str]) -> Vec<Override> {
        list.iter().map(|o| o.parse().unwrap()).collect()
    }

    #[test]
    fn each_configuration_has_its_own_folder() {
        assert_eq!(report_name("quick", &[], None), "quick");
        let epochs = report_name("quick", &overrides(&["train.epochs=2"]), None);
        assert!(epochs.starts_with("quick-") && epochs.len() == "quick-".len() + 8);
        let other = report_name("quick", &overrides(&["train.epochs=3"]), None);
        assert_ne!(epochs, other);
        // Order and spacing do not make a new configuration; the last value of a key counts.
        let both = overrides(&["train.epochs=2", "prune.rate=0.3"]);
        let swapped = overrides(&["prune.rate = 0.3", "train.epochs=5", "train.epochs=2"]);
        assert_eq!(
            report_name("quick", &both, None),
            report_name("quick", &swapped, None)
        );
        assert_eq!(report_name("quick", &both, Some("mine")), "mine");
    }
}
