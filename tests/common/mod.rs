//! Helpers for driving the `pvr` binary in a scratch folder.
#![allow(dead_code)]

pub mod training;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pvr::exec::{RunSummary, StageStatus};

pub const TINY: &str = include_str!("../fixtures/tiny.toml");

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
        let name = experiment_name(&std::fs::read_to_string(self.path().join(spec)).unwrap());
        RunSummary::read(&self.path().join("reports").join(name).join("run.json"))
            .expect("run.json")
    }
}

pub fn experiment_name(spec_text: &str) -> String {
    let table: toml::Table = spec_text.parse().unwrap();
    table["experiment"]["name"].as_str().unwrap().to_string()
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
