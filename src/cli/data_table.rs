//! `pvr check`'s data table: every dataset folder the plan reads, where pvr looks for it, how
//! to set it, whether it is there, and what to put there when it is not.

use std::fmt::Write as _;

use crate::data::root::{DataState, DataStatus};

/// Rows of one folder read under several keys (the train and val splits, or one VOC folder
/// for every `[[attribution]]` table) are shown once.
struct Row<'a> {
    status: &'a DataStatus,
    keys: Vec<&'a str>,
    details: Vec<&'a str>,
}

pub fn data_table(statuses: &[DataStatus]) -> String {
    let mut rows: Vec<Row<'_>> = Vec::new();
    for status in statuses {
        let same = rows.iter_mut().find(|row| {
            row.status.root.dataset == status.root.dataset
                && row.status.root.path == status.root.path
                && row.status.root.env == status.root.env
                && row.status.state == status.state
        });
        match same {
            Some(row) => {
                if !row.keys.contains(&status.root.key.as_str()) {
                    row.keys.push(&status.root.key);
                }
                if !row.details.contains(&status.detail.as_str()) {
                    row.details.push(&status.detail);
                }
            }
            None => rows.push(Row {
                status,
                keys: vec![&status.root.key],
                details: vec![&status.detail],
            }),
        }
    }
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            let root = &row.status.root;
            let folder = root
                .path
                .as_ref()
                .map_or("(not given)".to_string(), |p| p.display().to_string());
            let env = root
                .env
                .as_ref()
                .map(|v| format!("{v} or "))
                .unwrap_or_default();
            [
                root.dataset.clone(),
                row.status.state.to_string(),
                folder,
                format!("{env}{}", row.keys.join(", ")),
            ]
        })
        .collect();
    let header = ["data", "state", "folder", "set by"];
    let widths: Vec<usize> = (0..4)
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |cols: [&str; 4]| {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cols[0],
            cols[1],
            cols[2],
            cols[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    };
    line(header);
    for row in &cells {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
    for row in &rows {
        let root = &row.status.root;
        match row.status.state {
            DataState::Found => {
                let _ = writeln!(out, "  {}: {}", root.dataset, row.details.join("; "));
            }
            DataState::Missing | DataState::Incomplete => {
                let _ = writeln!(
                    out,
                    "  {}: {}; expected {}",
                    root.dataset,
                    row.details.join("; "),
                    root.layout
                );
            }
        }
    }
    let missing = rows
        .iter()
        .filter(|r| r.status.state != DataState::Found)
        .count();
    if missing > 0 {
        let _ = writeln!(
            out,
            "{missing} of {} dataset folder(s) not ready: `pvr run` runs every stage that does not read them; the others fail saying what is missing",
            rows.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::data::root::DataRoot;

    fn status(key: &str, path: Option<&str>, state: DataState, detail: &str) -> DataStatus {
        DataStatus {
            root: DataRoot {
                dataset: "PASCAL VOC2012 segmentation".into(),
                key: key.into(),
                env: Some("PVR_VOC".into()),
                path: path.map(PathBuf::from),
                layout: "VOCdevkit/VOC2012".into(),
            },
            state,
            detail: detail.into(),
        }
    }

    #[test]
    fn one_row_per_folder_with_every_key_that_names_it() {
        let table = data_table(&[
            status(
                "attribution.0.voc_path",
                None,
                DataState::Missing,
                "no folder given",
            ),
            status(
                "attribution.1.voc_path",
                None,
                DataState::Missing,
                "no folder given",
            ),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[1].contains("missing") && lines[1].contains("(not given)"));
        assert!(lines[1].contains("PVR_VOC or attribution.0.voc_path, attribution.1.voc_path"));
        assert!(lines[2].contains("expected VOCdevkit/VOC2012"), "{table}");
        assert!(lines[3].starts_with("1 of 1 dataset folder(s) not ready"));
    }

    #[test]
    fn found_folders_say_what_was_found() {
        let table = data_table(&[status(
            "lost.path",
            Some("/data/VOCdevkit"),
            DataState::Found,
            "1449 images",
        )]);
        assert!(table.contains("found") && table.contains("/data/VOCdevkit"));
        assert!(table.contains("1449 images"));
        assert!(!table.contains("not ready"));
    }
}
