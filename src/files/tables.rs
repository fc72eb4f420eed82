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
