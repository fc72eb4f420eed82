//! `pvr status` in the spec's words: a stage parameter's path (`recipe.epochs`, as the stage
//! keys it) named by the spec key a user edits (`train.epochs`), and data fingerprints (hashes
//! of every file) reported as "files changed" rather than as two hashes.

use serde_json::Value;

/// Parameters that are content fingerprints of data files, by stage kind (last path segment).
const FINGERPRINTS: [&str; 4] = ["train_data", "val_data", "data", "images.data"];

/// Whether `path` (a parameter of a `kind` stage) holds a fingerprint of data files.
pub fn is_fingerprint(path: &str) -> bool {
    FINGERPRINTS.contains(&path)
        || FINGERPRINTS
            .iter()
            .any(|f| path.ends_with(&format!(".{f}")) && *f != "data")
}

/// What the fingerprint at `path` covers, in words.
fn files_of(kind: &str, path: &str) -> &'static str {
    match (kind, path) {
        (_, "train_data") => "training data files",
        (_, "val_data") => "validation data files",
        ("lost", _) | ("report", "data") => "LOST images",
        _ => "validation data files",
    }
}

/// The spec key behind parameter `path` of a stage of `kind` named `name` (`[[attribution]]`
/// tables and HA datasets carry names); `params` are the stage's parameters, for the names of
/// the attribution jobs a report lists. Unknown paths are returned as they are.
pub fn spec_key(
    kind: &str,
    name: Option<&str>,
    report: Option<&str>,
    path: &str,
    params: &Value,
) -> String {
    if is_fingerprint(path) {
        return files_of(if report.is_some() { "report" } else { kind }, path).into();
    }
    let rewrite = |rules: &[(&str, &str)]| {
        rules.iter().find_map(|(from, to)| {
            if path == *from {
                Some(to.to_string())
            } else {
                path.strip_prefix(&format!("{from}."))
                    .map(|rest| format!("{to}.{rest}"))
            }
        })
    };
    let common = [("seed", "experiment.seed"), ("device", "experiment.device")];
    let attribution = |table: &str, rest: &str| {
        let rest = rest
            .replace("images.count", "images")
            .replace("method.method", "method")
            .replace("method.", "")
            .replace("images.split", "eval_set");
        format!("attribution[{table}].{rest}")
    };
    let key = match (kind, report) {
        ("train" | "prune", _) => rewrite(&[
            ("recipe", "train"),
            ("network", "model"),
            ("rate", "prune.rate"),
            ("method", "prune.method"),
            ("prunable", "prune.include/exclude"),
            ("round", "prune.rounds"),
        ]),
        ("ha", None) => rewrite(&[
            ("images.shapes.len", "ha.images_per_condition"),
            ("images.shapes.image_size", "data.image_size"),
            (
                "images.shapes.texture_correlation",
                "data.texture_correlation",
            ),
            ("images.shapes.distractors", "data.distractors"),
            ("images.shapes.seed", "data.seed"),
            ("images.shapes.split", "ha (validation scenes)"),
            ("images.source", "ha.path"),
            ("image_size", "data.image_size"),
            ("dataset", "ha.datasets"),
            ("seed", "ha.seed"),
        ]),
        ("attribute" | "score", None) => {
            let table = name.unwrap_or("?");
            (!matches!(path, "seed" | "device")).then(|| attribution(table, path))
        }
        ("lost", None) => Some(format!("lost.{path}")),
        (_, Some("lost")) => rewrite(&[
            ("bootstrap", "lost.bootstrap"),
            ("examples", "lost.examples"),
            ("rounds", "prune.rounds"),
            ("experiment", "experiment.name"),
        ]),
        (_, Some("attribution")) => path.strip_prefix("jobs[").and_then(|rest| {
            let (index, rest) = rest.split_once("].")?;
            let table = params["jobs"][index.parse::<usize>().ok()?]["name"].as_str()?;
            Some(attribution(table, rest))
        }),
        (_, Some("ha")) => rewrite(&[
            ("source", "ha.images_per_condition / ha.path"),
            ("bootstrap", "ha.bootstrap_samples"),
        ]),
        _ => rewrite(&[
            ("rounds", "prune.rounds"),
            ("experiment", "experiment.name"),
        ]),
    };
    key.or_else(|| rewrite(&common))
        .unwrap_or_else(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stage_parameters_are_named_by_their_spec_keys() {
        let none = json!({});
        assert_eq!(
            spec_key("train", None, None, "recipe.epochs", &none),
            "train.epochs"
        );
        assert_eq!(
            spec_key("prune", None, None, "recipe.optimizer.lr", &none),
            "train.optimizer.lr"
        );
        assert_eq!(spec_key("prune", None, None, "rate", &none), "prune.rate");
        assert_eq!(
            spec_key("train", None, None, "network.width", &none),
            "model.width"
        );
        assert_eq!(
            spec_key("train", None, None, "seed", &none),
            "experiment.seed"
        );
        assert_eq!(
            spec_key("ha", Some("edge"), None, "images.shapes.len", &none),
            "ha.images_per_condition"
        );
        assert_eq!(
            spec_key("attribute", Some("ig"), None, "method.steps", &none),
            "attribution[ig].steps"
        );
        assert_eq!(
            spec_key("attribute", Some("ig"), None, "images.count", &none),
            "attribution[ig].images"
        );
        assert_eq!(spec_key("lost", None, None, "k", &none), "lost.k");
        let jobs = json!({"jobs": [{"name": "gradcam"}, {"name": "ig"}]});
        assert_eq!(
            spec_key(
                "report",
                Some("attribution"),
                Some("attribution"),
                "jobs[1].images.count",
                &jobs
            ),
            "attribution[ig].images"
        );
        assert_eq!(
            spec_key("report", Some("lost"), Some("lost"), "bootstrap", &none),
            "lost.bootstrap"
        );
        assert_eq!(
            spec_key("eval", None, None, "val_data", &none),
            "validation data files"
        );
        assert_eq!(
            spec_key("train", None, None, "train_data", &none),
            "training data files"
        );
        assert_eq!(spec_key("lost", None, None, "data", &none), "LOST images");
        assert_eq!(
            spec_key("train", None, None, "something.new", &none),
            "something.new"
        );
    }
}
