//! Writing and reading Parquet through Polars.

use std::fs::File;
use std::path::Path;

use anyhow::Context;
use polars::prelude::*;

pub fn write_parquet(frame: &mut DataFrame, path: &Path) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    anyhow::Context::with_context(ParquetWriter::new(file).finish(frame), || {
        format!("writing {}", path.display())
    })?;
    Ok(())
}

pub fn read_parquet(path: &Path) -> anyhow::Result<DataFrame> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    anyhow::Context::with_context(ParquetReader::new(file).finish(), || {
        format!("reading {}", path.display())
    })
}

/// The key columns every table leads with (`docs/tables.md`): experiment, arch and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct TableKeys {
    pub experiment: String,
    pub arch: String,
    pub seed: i64,
}

/// Puts `keys` first in `frame` (experiment, arch, seed, then the existing columns); a column
/// the table already has keeps its values and moves to its place.
pub fn with_key_columns(frame: DataFrame, keys: &TableKeys) -> anyhow::Result<DataFrame> {
    let height = frame.height();
    let mut leading: Vec<Column> = Vec::new();
    let given = |name: &str| frame.column(name).ok().cloned();
    leading.push(given("experiment").unwrap_or_else(|| {
        Column::new("experiment".into(), vec![keys.experiment.as_str(); height])
    }));
    leading.push(
        given("arch")
            .unwrap_or_else(|| Column::new("arch".into(), vec![keys.arch.as_str(); height])),
    );
    leading
        .push(given("seed").unwrap_or_else(|| Column::new("seed".into(), vec![keys.seed; height])));
    let rest = frame
        .columns()
        .iter()
        .filter(|c| !matches!(c.name().as_str(), "experiment" | "arch" | "seed"))
        .cloned();
    Ok(DataFrame::new(
        height,
        leading.into_iter().chain(rest).collect(),
    )?)
}

/// Rewrites every `.parquet` file under `dir` with [`with_key_columns`].
pub fn add_key_columns(dir: &Path, keys: &TableKeys) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            add_key_columns(&path, keys)?;
        } else if path.extension().is_some_and(|e| e == "parquet") {
            let mut frame = with_key_columns(read_parquet(&path)?, keys)?;
            write_parquet(&mut frame, &path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_columns_lead_and_keep_given_values() {
        let keys = TableKeys {
            experiment: "quick".into(),
            arch: "resnet18".into(),
            seed: 2,
        };
        let frame = DataFrame::new(
            2,
            vec![
                Column::new("round".into(), [0i64, 1]),
                Column::new("arch".into(), ["vit", "vit"]),
            ],
        )
        .unwrap();
        let keyed = with_key_columns(frame, &keys).unwrap();
        let names: Vec<&str> = keyed
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(names, ["experiment", "arch", "seed", "round"]);
        assert_eq!(
            keyed.column("arch").unwrap().str().unwrap().get(0),
            Some("vit")
        );
        assert_eq!(keyed.column("seed").unwrap().i64().unwrap().get(1), Some(2));
        let dir = std::env::temp_dir().join(format!("pvr-keys-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("inner")).unwrap();
        let mut table = DataFrame::new(1, vec![Column::new("x".into(), [1.0f64])]).unwrap();
        write_parquet(&mut table, &dir.join("inner/t.parquet")).unwrap();
        add_key_columns(&dir, &keys).unwrap();
        let read = read_parquet(&dir.join("inner/t.parquet")).unwrap();
        assert_eq!(read.width(), 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
