//! Helpers for driving the `pvr` binary in a scratch folder.
#![allow(dead_code)]

pub mod training;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pvr::exec::{RunSummary, StageStatus};

pub const TINY: &str = include_str!("../fixtures/tiny.toml");

/// Every stage of a plan with one pruning round and no analyses, sorted as [`labels_with`]
/// returns them.
pub const ONE_ROUND_STAGES: [&str; 6] = [
    "eval[0]",
    "eval[1]",
    "prune[1]",
    "report",
    "report[verdict]",
    "train",
];

/// A scratch working directory with its own cache and reports.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write_spec(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("write spec");
        path
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pvr"));
        command
            .args(args)
            .current_dir(self.path())
            .env("PVR_CACHE_DIR", self.path().join("cache"))
            .env_remove("RUST_BACKTRACE");
        command
    }

    pub fn pvr(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run pvr")
    }

    /// Runs `pvr run`, insisting on success, and returns its run.json.
    pub fn run_ok(&self, spec: &str, extra: &[&str]) -> RunSummary {
        let mut args = vec!["run", spec, "--quiet"];
        args.extend_from_slice(extra);
        let output = self.pvr(&args);
        assert!(
            output.status.success(),
            "pvr run failed:\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        RunSummary::read(&self.report_dir(&output).join("run.json")).expect("run.json")
    }

    /// The report folder a `pvr run` printed at its end (`... · report: DIR/index.html`).
    pub fn report_dir(&self, output: &Output) -> PathBuf {
        let out = String::from_utf8_lossy(&output.stdout);
        let page = out
            .lines()
            .rev()
            .find_map(|line| line.split_once(" · report: ").map(|(_, page)| page.trim()))
            .unwrap_or_else(|| panic!("no report path in pvr's output:\n{out}"));
        self.path().join(page).parent().unwrap().to_path_buf()
    }
}

/// Labels of the stages with `status`, sorted.
pub fn labels_with(summary: &RunSummary, status: StageStatus) -> Vec<String> {
    let mut labels: Vec<String> = summary
        .stages
        .iter()
        .filter(|s| s.status == status)
        .map(|s| s.stage.clone())
        .collect();
    labels.sort();
    labels
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
