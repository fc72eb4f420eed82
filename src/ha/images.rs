//! Per-image rows of a human-alignment stage (`images.parquet` in `ha[round,dataset]`, gathered
//! into the report's `ha_images.parquet`): which image, its condition, label and decision, and
//! the probabilities the decision was taken on, so a researcher can join pool members image by
//! image or recompute any metric.

use polars::prelude::{Column, DataFrame};

use super::mapping::CATEGORIES;

/// The stage entry's per-image table.
pub const IMAGES_FILE: &str = "images.parquet";

/// One scored image.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageRow {
    /// The file under the benchmark folder (`contrast/dnn/session-1/0001_....png`), or
    /// `val/<index:06>` for an embedded analogue of validation image `index`.
    pub image_id: String,
    pub condition: String,
    pub label: usize,
    pub predicted: usize,
    /// Cue-conflict: the texture's class.
    pub texture: Option<usize>,
    /// The 16 categories' probabilities (benchmark), or the model's softmax (embedded).
    pub probabilities: Vec<f32>,
}

/// The rows as a table: `prob_<category>` columns for the 16 benchmark categories, or
/// `prob_<index>` for the model's own classes.
pub fn images_frame(round: usize, dataset: &str, rows: &[ImageRow]) -> anyhow::Result<DataFrame> {
    let n = rows.len();
    let mut columns = vec![
        Column::new("round".into(), vec![round as u32; n]),
        Column::new("dataset".into(), vec![dataset; n]),
        Column::new(
            "image_id".into(),
            rows.iter().map(|r| r.image_id.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "condition".into(),
            rows.iter()
                .map(|r| r.condition.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "label".into(),
            rows.iter().map(|r| r.label as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            "predicted".into(),
            rows.iter().map(|r| r.predicted as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            "correct".into(),
            rows.iter()
                .map(|r| r.predicted == r.label)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "texture".into(),
            rows.iter()
                .map(|r| r.texture.map(|t| t as u32))
                .collect::<Vec<_>>(),
        ),
    ];
    let classes = rows.first().map_or(0, |r| r.probabilities.len());
    anyhow::ensure!(
        rows.iter().all(|r| r.probabilities.len() == classes),
        "images scored in different class spaces"
    );
    let names: Vec<String> = if classes == CATEGORIES.len() {
        CATEGORIES.iter().map(|c| format!("prob_{c}")).collect()
    } else {
        (0..classes).map(|class| format!("prob_{class}")).collect()
    };
    for (class, name) in names.into_iter().enumerate() {
        columns.push(Column::new(
            name.into(),
            rows.iter()
                .map(|r| r.probabilities[class])
                .collect::<Vec<_>>(),
        ));
    }
    Ok(DataFrame::new(n, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benchmark_rows_name_the_sixteen_categories() {
        let mut probabilities = vec![0.0; 16];
        probabilities[3] = 1.0;
        let row = ImageRow {
            image_id: "cue-conflict/bear/bear1-bicycle2.png".into(),
            condition: "0".into(),
            label: 2,
            predicted: 3,
            texture: Some(3),
            probabilities,
        };
        let frame = images_frame(4, "cue-conflict", &[row]).unwrap();
        assert_eq!(frame.height(), 1);
        let column = format!("prob_{}", CATEGORIES[3]);
        let p = frame.column(&column).unwrap().f32().unwrap().get(0);
        assert_eq!(p, Some(1.0));
        assert_eq!(
            frame.column("correct").unwrap().bool().unwrap().get(0),
            Some(false)
        );
        assert_eq!(
            frame.column("round").unwrap().u32().unwrap().get(0),
            Some(4)
        );
    }
}
