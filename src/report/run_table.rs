//! The table `pvr run` ends with: the stages by kind, how many ran or came from the cache, the
//! compute time behind them, and where the report is.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::exec::{RunSummary, StageStatus, format_seconds};

/// Per stage kind: ran, cached, failed or skipped, and the seconds of the runs that computed
/// them (a cached stage counts its building run's time).
pub fn run_table(summary: &RunSummary, page: &Path) -> String {
    #[derive(Default)]
    struct Row {
        ran: usize,
        cached: usize,
        other: usize,
        seconds: f64,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for stage in &summary.stages {
        let row = rows.entry(stage.kind.as_str()).or_default();
        match stage.status {
            StageStatus::Ran => row.ran += 1,
            StageStatus::Cached => row.cached += 1,
            _ => row.other += 1,
        }
        row.seconds += stage.seconds;
    }
    let mut out = format!(
        "{:<12} {:>6} {:>7} {:>14} {:>10}\n",
        "stage kind", "ran", "cached", "failed/skipped", "compute"
    );
    for (kind, row) in &rows {
        let _ = writeln!(
            out,
            "{kind:<12} {:>6} {:>7} {:>14} {:>10}",
            row.ran,
            row.cached,
            row.other,
            format_seconds(row.seconds)
        );
    }
    let _ = writeln!(out, "report: {}", page.display());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::StageOutcome;

    fn stage(label: &str, kind: &str, status: StageStatus, seconds: f64) -> StageOutcome {
        StageOutcome {
            stage: label.into(),
            kind: kind.into(),
            key: String::new(),
            status,
            seconds,
            error: None,
            note: None,
            built_on: None,
            built_unix: None,
            output_dir: None,
        }
    }

    #[test]
    fn stages_are_counted_and_timed_by_kind() {
        let summary = RunSummary {
            experiment: "x".into(),
            stages: vec![
                stage("train", "train", StageStatus::Cached, 100.0),
                stage("eval[0]", "eval", StageStatus::Ran, 2.0),
                stage("eval[1]", "eval", StageStatus::Skipped, 0.0),
            ],
            wall_seconds: 2.5,
            report_dir: "reports/x".into(),
        };
        let table = run_table(&summary, Path::new("reports/x/index.html"));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(
            lines[1].starts_with("eval") && lines[1].contains(" 1 "),
            "{table}"
        );
        assert!(
            lines[2].starts_with("train") && lines[2].contains("1m40s"),
            "{table}"
        );
        assert_eq!(lines[3], "report: reports/x/index.html");
    }
}
