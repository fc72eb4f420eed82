//! Reading a spec file: TOML syntax, typed deserialization, `--set` overrides and range checks,
//! each failure reported with the file, line, column and key, before anything runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::locate::{key_at, line_col, span_of};
use super::{Problems, Spec};

/// One `--set key.path=value` override. The value is read as a TOML value (`2`, `0.5`,
/// `"text"`, `[1, 2]`), and as a plain string when it is not one (`--set data.path=/x`).
#[derive(Debug, Clone)]
pub struct Override {
    pub key: String,
    pub value: toml::Value,
    pub raw: String,
}

impl FromStr for Override {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let (key, value) = raw
            .split_once('=')
            .ok_or_else(|| format!("`{raw}` is not of the form key.path=value"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!("`{raw}` has an empty key"));
        }
        let value = value.trim();
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut table| table.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        Ok(Override {
            key: key.to_string(),
            value: parsed,
            raw: raw.to_string(),
        })
    }
}

/// Where a spec problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// In the file, 1-based.
    File {
        line: usize,
        column: usize,
        source_line: String,
    },
    /// In a `--set` override from the command line.
    Override(String),
    /// The problem concerns the file as a whole (for example a missing section).
    Unknown,
}

/// One problem found in a spec.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub key: Option<String>,
    pub message: String,
    pub location: Location,
}

/// Everything wrong with a spec file, formatted like a compiler error.
#[derive(Debug, Clone)]
pub struct SpecError {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl std::error::Error for SpecError {}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            let key = diagnostic
                .key
                .as_ref()
                .map(|key| format!("key `{key}`: "))
                .unwrap_or_default();
            match &diagnostic.location {
                Location::File {
                    line,
                    column,
                    source_line,
                } => {
                    writeln!(
                        f,
                        "{}:{line}:{column}: {key}{}",
                        self.file.display(),
                        diagnostic.message
                    )?;
                    let gutter = line.to_string().len();
                    writeln!(f, "{:gutter$} |", "")?;
                    writeln!(f, "{line} | {source_line}")?;
                    write!(f, "{:gutter$} | {:>column$}", "", "^")?;
                }
                Location::Override(raw) => write!(
                    f,
                    "{} (in `--set {raw}`): {key}{}",
                    self.file.display(),
                    diagnostic.message
                )?,
                Location::Unknown => {
                    write!(f, "{}: {key}{}", self.file.display(), diagnostic.message)?
                }
            }
        }
        Ok(())
    }
}

/// Checks a parsed spec beyond its types; see [`crate::spec`].
pub type Validator<'a> = &'a dyn Fn(&Spec) -> Problems;

/// Reads a spec file and checks it with `validate`.
pub fn load_spec(
    path: &Path,
    overrides: &[Override],
    validate: Validator<'_>,
) -> Result<Spec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|err| SpecError {
        file: path.to_path_buf(),
        diagnostics: vec![Diagnostic {
            key: None,
            message: format!("cannot read the experiment file: {err}"),
            location: Location::Unknown,
        }],
    })?;
    parse_spec(&text, path, overrides, validate)
}

/// Parses spec text and checks it with `validate`; `file` is only used in messages.
pub fn parse_spec(
    text: &str,
    file: &Path,
    overrides: &[Override],
    validate: Validator<'_>,
) -> Result<Spec, SpecError> {
    let error = |diagnostics| SpecError {
        file: file.to_path_buf(),
        diagnostics,
    };
    let file_only = toml::from_str::<Spec>(text);
    let names_recipe = overrides.iter().any(|o| o.key == "train.recipe")
        || text
            .parse::<toml::Table>()
            .ok()
            .is_some_and(|table| recipe_name(&table).is_some());
    let spec = if overrides.is_empty() && !names_recipe {
        file_only.map_err(|err| error(vec![toml_diagnostic(text, &err)]))?
    } else {
        let mut table: toml::Table = text
            .parse()
            .map_err(|err: toml::de::Error| error(vec![toml_diagnostic(text, &err)]))?;
        for item in overrides {
            set_path(&mut table, &item.key, item.value.clone())
                .map_err(|message| error(vec![override_diagnostic(item, message)]))?;
        }
        fill_recipe(&mut table);
        match Spec::deserialize_table(table) {
            Ok(spec) => spec,
            // A problem already in the file is best shown where it is in the file.
            Err(merged_err) => match file_only {
                // A field the recipe does not fill either is missing from the file itself:
                // point at the file.
                Err(file_err)
                    if !is_missing_field(&file_err)
                        || file_err.message() == merged_err.message() =>
                {
                    return Err(error(vec![toml_diagnostic(text, &file_err)]));
                }
                _ if overrides.is_empty() => {
                    return Err(error(vec![Diagnostic {
                        key: None,
                        message: format!(
                            "{} (after filling in the recipe's values)",
                            merged_err.message().trim()
                        ),
                        location: Location::Unknown,
                    }]));
                }
                _ => {
                    let raw = overrides
                        .iter()
                        .map(|o| o.raw.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    return Err(error(vec![Diagnostic {
                        key: None,
                        message: merged_err.message().to_string(),
                        location: Location::Override(raw),
                    }]));
                }
            },
        }
    };
    let mut spec = spec;
    fill_paths_from_env(&mut spec);
    let problems = validate(&spec);
    if problems.is_empty() {
        return Ok(spec);
    }
    let diagnostics = problems
        .into_vec()
        .into_iter()
        .map(|(key, message)| {
            let location = match overrides.iter().rev().find(|o| o.key == key) {
                Some(item) => Location::Override(item.raw.clone()),
                None => file_location(text, span_of(text, &key).map(|span| span.start)),
            };
            Diagnostic {
                key: Some(key),
                message,
                location,
            }
        })
        .collect();
    Err(error(diagnostics))
}

/// Every `*path_env` key: the dataset folder from the environment when the file and `--set`
/// give none, so one paper file serves every machine.
fn fill_paths_from_env(spec: &mut Spec) {
    fn fill(path: &mut Option<String>, var: Option<&String>) {
        if path.is_none()
            && let Some(var) = var
            && let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty())
        {
            *path = Some(value.to_string_lossy().into_owned());
        }
    }
    fill(&mut spec.data.path, spec.data.path_env.as_ref());
    if let Some(lost) = &mut spec.lost {
        fill(&mut lost.path, lost.path_env.as_ref());
    }
    if let Some(ha) = &mut spec.ha {
        fill(&mut ha.path, ha.path_env.as_ref());
        fill(&mut ha.human_path, ha.human_path_env.as_ref());
    }
    for entry in &mut spec.attribution {
        fill(&mut entry.voc_path, entry.voc_path_env.as_ref());
    }
}

impl Spec {
    fn deserialize_table(table: toml::Table) -> Result<Spec, toml::de::Error> {
        // Round-trip through text: the Value deserializer would lose nothing, but this keeps
        // one error type and the same messages as for files.
        let text = toml::to_string(&table).expect("a TOML table always serializes");
        toml::from_str(&text)
    }
}

fn recipe_name(table: &toml::Table) -> Option<String> {
    table
        .get("train")?
        .get("recipe")?
        .as_str()
        .map(str::to_string)
}

/// `[train] recipe = "..."`: the preset's values under the given ones. An unknown name is
/// left for validation to report where it is written.
fn fill_recipe(table: &mut toml::Table) {
    let Some(preset) = recipe_name(table).and_then(|name| super::presets::find(&name)) else {
        return;
    };
    if let Some(toml::Value::Table(train)) = table.get_mut("train") {
        super::presets::fill_defaults(train, &preset);
    }
}

fn is_missing_field(err: &toml::de::Error) -> bool {
    err.message().starts_with("missing field")
}

fn toml_diagnostic(text: &str, err: &toml::de::Error) -> Diagnostic {
    let span = err.span();
    let key = span.as_ref().and_then(|span| key_at(text, span));
    Diagnostic {
        key,
        message: err.message().trim().to_string(),
        location: file_location(text, span.map(|span| span.start)),
    }
}

fn override_diagnostic(item: &Override, message: String) -> Diagnostic {
    Diagnostic {
        key: Some(item.key.clone()),
        message,
        location: Location::Override(item.raw.clone()),
    }
}

fn file_location(text: &str, offset: Option<usize>) -> Location {
    match offset {
        Some(offset) => {
            let (line, column) = line_col(text, offset);
            Location::File {
                line,
                column,
                source_line: text.lines().nth(line - 1).unwrap_or("").to_string(),
            }
        }
        None => Location::Unknown,
    }
}

/// Sets `key` (dotted; a numeric part after an array picks one of its tables, as in
/// `attribution.0.steps`) to `value`, creating missing tables.
fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let mut parts = key.split('.').peekable();
    let mut current = table;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_string(), value);
            return Ok(());
        }
        let mut entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Array(items) = entry {
            let index = parts
                .next()
                .and_then(|p| p.parse::<usize>().ok())
                .ok_or_else(|| format!("`{part}` is a list: name an entry, e.g. `{part}.0`"))?;
            let len = items.len();
            entry = items
                .get_mut(index)
                .ok_or_else(|| format!("`{part}` has {len} entries, so `{key}` cannot be set"))?;
            if parts.peek().is_none() {
                return Err(format!("`{key}` is a whole table; set one of its keys"));
            }
        }
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a table, so `{key}` cannot be set"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[experiment]
name = "t"

[train]
epochs = 3
optimizer = { kind = "sgd", lr = 0.05 }

[prune]
rate = 0.2
rounds = 2
"#;

    fn parse(text: &str, overrides: &[&str]) -> Result<Spec, SpecError> {
        let overrides: Vec<Override> = overrides.iter().map(|o| o.parse().unwrap()).collect();
        // The whole check, as `pvr check` runs it.
        parse_spec(
            text,
            Path::new("exp.toml"),
            &overrides,
            &crate::pipeline::validate,
        )
    }

    #[test]
    fn a_good_spec_gets_defaults() {
        let spec = parse(GOOD, &[]).unwrap();
        assert_eq!(spec.train.epochs, 3);
        assert_eq!(spec.data.image_size, 32);
        assert_eq!(spec.prune.round_count(), 2);
    }

    #[test]
    fn unknown_key_names_file_line_column_and_key() {
        let text = GOOD.replace("epochs = 3", "epochs = 3\nepohcs = 4");
        let err = parse(&text, &[]).unwrap_err().to_string();
        assert!(err.starts_with("exp.toml:7:1: "), "{err}");
        assert!(err.contains("epohcs"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let text = GOOD.replace("epochs = 3", "epochs = \"three\"");
        let err = parse(&text, &[]).unwrap_err();
        let first = &err.diagnostics[0];
        assert_eq!(first.key.as_deref(), Some("train.epochs"));
        assert!(matches!(first.location, Location::File { line: 6, .. }));
    }

    #[test]
    fn out_of_range_value_points_at_the_value() {
        let text = GOOD.replace("rate = 0.2", "rate = 1.5");
        let err = parse(&text, &[]).unwrap_err();
        let first = &err.diagnostics[0];
        assert_eq!(first.key.as_deref(), Some("prune.rate"));
        assert!(
            matches!(
                first.location,
                Location::File {
                    line: 10,
                    column: 8,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn overrides_change_values_and_are_blamed_for_their_errors() {
        let spec = parse(
            GOOD,
            &[
                "train.epochs=1",
                "data.source=imagenet",
                "data.path=/data/x",
            ],
        )
        .unwrap();
        assert_eq!(spec.train.epochs, 1);
        assert_eq!(spec.data.path.as_deref(), Some("/data/x"));
        // A folder for generated data is a mistake worth saying, at the override.
        let err = parse(GOOD, &["data.path=/data/x"]).unwrap_err();
        assert!(matches!(err.diagnostics[0].location, Location::Override(_)));
        assert!(err.to_string().contains("`shapes` is generated"), "{err}");
        let err = parse(GOOD, &["train.batch_size=0"]).unwrap_err();
        assert!(matches!(err.diagnostics[0].location, Location::Override(_)));
        assert!(err.to_string().contains("train.batch_size"), "{err}");
    }

    #[test]
    fn a_recipe_fills_what_the_file_does_not_give() {
        let text = GOOD.replace("[train]\n", "[train]\nrecipe = \"torchvision-resnet\"\n");
        let spec = parse(&text, &[]).unwrap();
        // Given: epochs and the optimizer's lr; filled: the rest.
        assert_eq!(spec.train.epochs, 3);
        assert_eq!(spec.train.batch_size, 256);
        assert_eq!(spec.train.optimizer.lr(), 0.05);
        assert!(matches!(
            spec.train.optimizer,
            crate::spec::OptimizerSpec::Sgd {
                weight_decay: 1e-4,
                ..
            }
        ));
        assert!(spec.train.augment.random_resized_crop.is_some());
        // The same through --set, and an override beats the preset.
        let spec = parse(
            GOOD,
            &[
                "train.recipe=torchvision-vit",
                "train.label_smoothing=0.2",
                "train.epochs=40",
            ],
        )
        .unwrap();
        assert_eq!(spec.train.label_smoothing, 0.2);
        assert_eq!(spec.train.clip_grad_norm, Some(1.0));
        // Unknown names are pointed at.
        let text = GOOD.replace("[train]\n", "[train]\nrecipe = \"timm\"\n");
        let err = parse(&text, &[]).unwrap_err();
        assert_eq!(err.diagnostics[0].key.as_deref(), Some("train.recipe"));
        assert!(err.to_string().contains("torchvision-resnet"), "{err}");
        assert!(matches!(
            err.diagnostics[0].location,
            Location::File { line: 6, .. }
        ));
    }

    #[test]
    fn new_recipe_keys_at_their_defaults_leave_the_serialized_recipe_as_it_was() {
        // The serialized recipe enters training stage keys: adding keys must not move them.
        let spec = parse(GOOD, &[]).unwrap();
        let json = serde_json::to_string(&spec.train).unwrap();
        assert_eq!(
            json,
            r#"{"epochs":3,"batch_size":64,"optimizer":{"kind":"sgd","lr":0.05,"momentum":0.9,"weight_decay":0.0005,"nesterov":false},"schedule":{"kind":"cosine","warmup_epochs":0.0,"min_lr":0.0},"augment":{"crop_padding":4,"horizontal_flip":true}}"#
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse("[experiment\nname = 1", &[]).unwrap_err();
        assert!(matches!(
            err.diagnostics[0].location,
            Location::File { line: 1, .. }
        ));
    }
}
