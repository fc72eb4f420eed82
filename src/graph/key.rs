//! Stage keys: blake3 over a canonical encoding of what determines a stage's outputs.

use serde_json::Value;

/// Encodes `value` with object keys sorted at every level, so that key order in the spec (or in
/// serde's output) never changes a hash. Numbers use serde_json's shortest round-trip form.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (index, (key, inner)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(inner, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The key of a stage: kind and implementation version, its parameters, its inputs' keys (by
/// label) and the cache schema version. No paths, times or host names enter it.
pub fn stage_key(kind: &str, version: u32, params: &Value, inputs: &[(String, String)]) -> String {
    let mut sorted_inputs = inputs.to_vec();
    sorted_inputs.sort();
    let material = serde_json::json!({
        "schema": crate::CACHE_SCHEMA_VERSION,
        "kind": kind,
        "version": version,
        "params": params,
        "inputs": sorted_inputs,
    });
    blake3::hash(canonical_json(&material).as_bytes())
        .to_hex()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2.5, "x": [1, 2]}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": [1, 2], "y": 2.5}, "b": 1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            stage_key("train", 1, &a, &[]),
            stage_key("train", 1, &b, &[])
        );
    }

    #[test]
    fn every_ingredient_changes_the_key() {
        let params = json!({"epochs": 6});
        let base = stage_key("train", 1, &params, &[("train".into(), "k".into())]);
        assert_ne!(
            base,
            stage_key("eval", 1, &params, &[("train".into(), "k".into())])
        );
        assert_ne!(
            base,
            stage_key("train", 2, &params, &[("train".into(), "k".into())])
        );
        assert_ne!(
            base,
            stage_key(
                "train",
                1,
                &json!({"epochs": 7}),
                &[("train".into(), "k".into())]
            )
        );
        assert_ne!(
            base,
            stage_key("train", 1, &params, &[("train".into(), "k2".into())])
        );
        assert_eq!(base.len(), 64);
    }

    #[test]
    fn array_order_matters() {
        assert_ne!(
            canonical_json(&json!([1, 2])),
            canonical_json(&json!([2, 1]))
        );
    }
}
