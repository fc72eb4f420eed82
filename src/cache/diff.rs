//! Human-readable parameter diffs for "why is this stage stale?".

use std::collections::BTreeSet;

use serde_json::Value;

/// Lists how `new` differs from `old`, one line per leaf, recursing into objects (dotted paths)
/// and same-length arrays (`[i]`): `train.epochs: 6 -> 2`, `optimizer.momentum: added (0.9)`,
/// `optimizer.nesterov: removed (was true)`. Empty when equal.
pub fn diff_params(old: &Value, new: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    diff_into(&mut lines, String::new(), old, new);
    lines
}

fn diff_into(lines: &mut Vec<String>, path: String, old: &Value, new: &Value) {
    match (old, new) {
        (Value::Object(old_map), Value::Object(new_map)) => {
            let keys: BTreeSet<&String> = old_map.keys().chain(new_map.keys()).collect();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (old_map.get(key), new_map.get(key)) {
                    (Some(o), Some(n)) => diff_into(lines, child, o, n),
                    (None, Some(n)) => lines.push(format!("{child}: added ({n})")),
                    (Some(o), None) => lines.push(format!("{child}: removed (was {o})")),
                    (None, None) => unreachable!("key came from one of the maps"),
                }
            }
        }
        (Value::Array(old_items), Value::Array(new_items))
            if old_items.len() == new_items.len() =>
        {
            for (i, (o, n)) in old_items.iter().zip(new_items).enumerate() {
                diff_into(lines, format!("{path}[{i}]"), o, n);
            }
        }
        _ if old != new => {
            let shown = if path.is_empty() { "(params)" } else { &path };
            lines.push(format!("{shown}: {old} -> {new}"));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::diff_params;
    use serde_json::json;

    #[test]
    fn reports_changes_additions_and_removals_with_dotted_paths() {
        let old = json!({
            "train": {"epochs": 6, "seed": 1},
            "optimizer": {"lr": 0.1, "name": "sgd", "nesterov": true},
            "sizes": [1, 2, 3],
            "tags": ["a"]
        });
        let new = json!({
            "train": {"epochs": 2, "seed": 1},
            "optimizer": {"lr": 0.05, "name": "sgd", "momentum": 0.9},
            "sizes": [1, 5, 3],
            "tags": ["a", "b"]
        });
        assert_eq!(
            diff_params(&old, &new),
            [
                "optimizer.lr: 0.1 -> 0.05",
                "optimizer.momentum: added (0.9)",
                "optimizer.nesterov: removed (was true)",
                "sizes[1]: 2 -> 5",
                r#"tags: ["a"] -> ["a","b"]"#,
                "train.epochs: 6 -> 2",
            ]
        );
    }

    #[test]
    fn equal_params_and_scalar_roots() {
        let v = json!({"a": {"b": [1, {"c": null}]}});
        assert!(diff_params(&v, &v).is_empty());
        assert_eq!(
            diff_params(&json!(1), &json!("x")),
            [r#"(params): 1 -> "x""#]
        );
        assert_eq!(
            diff_params(&json!({"a": 1}), &json!({"a": {"b": 1}})),
            [r#"a: 1 -> {"b":1}"#]
        );
    }
}
