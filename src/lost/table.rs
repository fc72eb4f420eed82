//! The per-image results of a `lost[round]` stage as a Parquet table, and reading them back.

use polars::prelude::*;

/// LOST on one image of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct LostRow {
    /// Index in the LOST dataset.
    pub image: u32,
    /// VOC id, or the shapes index.
    pub image_id: String,
    pub width: u32,
    pub height: u32,
    /// Predicted box on the original image (exclusive ends); None when LOST found no object.
    pub predicted: Option<[f32; 4]>,
    /// Seed patch, row-major index on the grid, and its row and column.
    pub seed: u32,
    pub seed_row: u32,
    pub seed_col: u32,
    pub grid_rows: u32,
    pub grid_cols: u32,
    /// Input pixels per patch.
    pub stride: u32,
    pub expansion_size: u32,
    pub component_size: u32,
    /// Number of ground-truth boxes.
    pub ground_truth: u32,
    pub best_iou: f64,
    /// `best_iou >= 0.5`.
    pub correct: bool,
    /// Chance of a uniformly random grid box localising this image.
    pub chance: f64,
}

pub fn lost_frame(rows: &[LostRow]) -> PolarsResult<DataFrame> {
    let corner = |k: usize| {
        rows.iter()
            .map(|r| r.predicted.map(|b| b[k]))
            .collect::<Vec<_>>()
    };
    let column = |f: fn(&LostRow) -> u32| rows.iter().map(f).collect::<Vec<_>>();
    df!(
        "image" => column(|r| r.image),
        "image_id" => rows.iter().map(|r| r.image_id.clone()).collect::<Vec<_>>(),
        "width" => column(|r| r.width),
        "height" => column(|r| r.height),
        "x0" => corner(0),
        "y0" => corner(1),
        "x1" => corner(2),
        "y1" => corner(3),
        // The seed patch's index; not `seed`, the training seed's key column (docs/tables.md).
        "seed_patch" => column(|r| r.seed),
        "seed_row" => column(|r| r.seed_row),
        "seed_col" => column(|r| r.seed_col),
        "grid_rows" => column(|r| r.grid_rows),
        "grid_cols" => column(|r| r.grid_cols),
        "stride" => column(|r| r.stride),
        "expansion_size" => column(|r| r.expansion_size),
        "component_size" => column(|r| r.component_size),
        "ground_truth" => column(|r| r.ground_truth),
        "best_iou" => rows.iter().map(|r| r.best_iou).collect::<Vec<_>>(),
        "correct" => rows.iter().map(|r| r.correct).collect::<Vec<_>>(),
        "chance" => rows.iter().map(|r| r.chance).collect::<Vec<_>>(),
    )
}

fn column<'a>(frame: &'a DataFrame, name: &str) -> anyhow::Result<&'a Column> {
    frame
        .column(name)
        .map_err(|err| anyhow::anyhow!("LOST table: column `{name}`: {err}"))
}

/// The rows of a frame written by [`lost_frame`].
pub fn lost_rows(frame: &DataFrame) -> anyhow::Result<Vec<LostRow>> {
    let u32s = |name: &str| -> anyhow::Result<Vec<u32>> {
        Ok(column(frame, name)?
            .u32()
            .map_err(|e| anyhow::anyhow!("LOST table: column `{name}`: {e}"))?
            .into_no_null_iter()
            .collect())
    };
    let f64s = |name: &str| -> anyhow::Result<Vec<f64>> {
        Ok(column(frame, name)?
            .f64()
            .map_err(|e| anyhow::anyhow!("LOST table: column `{name}`: {e}"))?
            .into_no_null_iter()
            .collect())
    };
    let f32s = |name: &str| -> anyhow::Result<Vec<Option<f32>>> {
        Ok(column(frame, name)?
            .f32()
            .map_err(|e| anyhow::anyhow!("LOST table: column `{name}`: {e}"))?
            .iter()
            .collect())
    };
    let ids: Vec<String> = column(frame, "image_id")?
        .str()
        .map_err(|e| anyhow::anyhow!("LOST table: column `image_id`: {e}"))?
        .no_null_iter()
        .map(str::to_string)
        .collect();
    let correct: Vec<bool> = column(frame, "correct")?
        .bool()
        .map_err(|e| anyhow::anyhow!("LOST table: column `correct`: {e}"))?
        .no_null_iter()
        .collect();
    let (image, width, height) = (u32s("image")?, u32s("width")?, u32s("height")?);
    let (x0, y0, x1, y1) = (f32s("x0")?, f32s("y0")?, f32s("x1")?, f32s("y1")?);
    // Entries written before the rename call the seed patch `seed`.
    let seed = u32s("seed_patch").or_else(|_| u32s("seed"))?;
    let (seed_row, seed_col) = (u32s("seed_row")?, u32s("seed_col")?);
    let (grid_rows, grid_cols, stride) = (u32s("grid_rows")?, u32s("grid_cols")?, u32s("stride")?);
    let (expansion, component) = (u32s("expansion_size")?, u32s("component_size")?);
    let ground_truth = u32s("ground_truth")?;
    let (best_iou, chance) = (f64s("best_iou")?, f64s("chance")?);
    Ok((0..frame.height())
        .map(|i| LostRow {
            image: image[i],
            image_id: ids[i].clone(),
            width: width[i],
            height: height[i],
            predicted: match (x0[i], y0[i], x1[i], y1[i]) {
                (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
                _ => None,
            },
            seed: seed[i],
            seed_row: seed_row[i],
            seed_col: seed_col[i],
            grid_rows: grid_rows[i],
            grid_cols: grid_cols[i],
            stride: stride[i],
            expansion_size: expansion[i],
            component_size: component[i],
            ground_truth: ground_truth[i],
            best_iou: best_iou[i],
            correct: correct[i],
            chance: chance[i],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::tables::{read_parquet, write_parquet};

    #[test]
    fn rows_survive_a_parquet_round_trip() {
        let row = |image: u32, predicted| LostRow {
            image,
            image_id: format!("img{image}"),
            width: 500,
            height: 375,
            predicted,
            seed: 17,
            seed_row: 1,
            seed_col: 1,
            grid_rows: 12,
            grid_cols: 16,
            stride: 32,
            expansion_size: 9,
            component_size: 11,
            ground_truth: 2,
            best_iou: 0.61,
            correct: true,
            chance: 0.07,
        };
        let rows = vec![row(0, Some([1.0, 2.0, 300.0, 200.5])), row(3, None)];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_parquet(&mut lost_frame(&rows).unwrap(), &path).unwrap();
        assert_eq!(lost_rows(&read_parquet(&path).unwrap()).unwrap(), rows);
    }
}
