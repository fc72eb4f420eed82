//! The `pvr` command line.

mod cluster;
mod commands;
mod data_table;
mod export;
mod models;
mod spec_words;
mod status;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::spec::Override;

#[derive(Parser, Debug)]
#[command(
    name = "pvr",
    version,
    about = "When does pruning benefit vision representations? Train, prune with LRR, evaluate, report — cached.",
    propagate_version = true
)]
pub struct Cli {
    /// Cache folder (stage outputs, resumable checkpoints).
    #[arg(long, global = true, env = "PVR_CACHE_DIR", default_value = "cache")]
    pub cache_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

/// An experiment file with its command-line overrides.
#[derive(clap::Args, Debug, Clone)]
pub struct SpecArgs {
    /// Experiment TOML file.
    pub file: PathBuf,
    /// Override a value, e.g. `--set train.epochs=2` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub overrides: Vec<Override>,
}

/// A report folder name is one path component of plain characters: it lands in shell scripts
/// (Slurm jobs) and must not leave `--reports-dir`.
fn parse_report_name(text: &str) -> Result<String, String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.chars().all(plain)
        && text.len() <= 128
    {
        Ok(text.to_string())
    } else {
        Err("a report name starts with a letter or digit and uses letters, digits, `-`, `_` and `.` (at most 128)".into())
    }
}

fn parse_override(text: &str) -> Result<Override, String> {
    text.parse()
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run an experiment: every stage not already cached, then the report.
    Run {
        #[command(flatten)]
        spec: SpecArgs,
        /// Stages run at once (a training stage always runs alone, for reproducible numbers).
        #[arg(long, short = 'j', default_value_t = 1)]
        jobs: usize,
        /// Where the report folder goes.
        #[arg(long, default_value = "reports")]
        reports_dir: PathBuf,
        /// The report folder's name; by default the experiment's, with a hash of the `--set`
        /// overrides appended when there are any.
        #[arg(long, value_parser = parse_report_name)]
        report_name: Option<String>,
        /// Print only the final summary.
        #[arg(long, short = 'q')]
        quiet: bool,
        /// Where stages run: in this process, or as Slurm jobs (see "Running on a cluster").
        #[arg(long, value_enum, default_value_t = Executor::Local)]
        executor: Executor,
        /// With `--executor slurm`: follow the jobs to the end instead of returning at once.
        #[arg(long)]
        wait: bool,
    },
    /// Cancel the Slurm jobs of an experiment's stages.
    Cancel {
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Run one stage of a stored spec against the cache (what a Slurm job runs).
    #[command(hide = true)]
    RunStage {
        /// The spec snapshot the submission stored in the cache.
        snapshot: PathBuf,
        #[arg(long)]
        label: String,
        /// The key the submission computed; the job refuses to run under another.
        #[arg(long)]
        key: String,
        #[arg(long, default_value = "reports")]
        reports_dir: PathBuf,
        /// The report folder under `--reports-dir` (the submission's configuration).
        #[arg(long, value_parser = parse_report_name)]
        report_name: Option<String>,
    },
    /// Validate an experiment file and print the compiled plan.
    Check {
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Show each stage as cached or not, and why a stale one is stale.
    Status {
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Print the stage graph.
    Dag {
        #[command(flatten)]
        spec: SpecArgs,
        #[arg(long, value_enum, default_value_t = DagFormat::Text)]
        format: DagFormat,
    },
    /// Write pool members as safetensors files with torchvision's names (run the experiment first).
    Export {
        #[command(flatten)]
        spec: SpecArgs,
        /// Folder for `<experiment>-round<N>.safetensors`.
        #[arg(long, default_value = "exports")]
        out: PathBuf,
        /// Rounds to export (repeatable); every round when not given.
        #[arg(long = "round", value_name = "N")]
        rounds: Vec<usize>,
        /// `applied`: plain weights, pruned ones zero (loads into stock torchvision);
        /// `pairs`: torch.nn.utils.prune's weight_orig/weight_mask for pruned tensors.
        #[arg(long, value_enum, default_value_t = MaskFormat::Applied)]
        masks: MaskFormat,
    },
    /// List the architectures, or show one configuration's parameter count, prunable
    /// parameter count and FLOPs per image.
    Models {
        /// Experiment TOML file whose `[model]` to show.
        file: Option<PathBuf>,
        /// An architecture: resnet18, resnet50, vit_b_32, swin_v2_t, vit, swin.
        #[arg(long)]
        arch: Option<String>,
        /// ResNet: first-stage channels; ViT: hidden size; Swin: embedding size.
        #[arg(long)]
        width: Option<usize>,
        /// Side of the square input, in pixels.
        #[arg(long)]
        image_size: Option<usize>,
        /// Classes of the classifier (default: the spec's data, or 1000 for the torchvision
        /// architectures and 10 for the small ones).
        #[arg(long)]
        classes: Option<usize>,
        /// Any other model value, e.g. `--set model.layers=4` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
        overrides: Vec<Override>,
        /// Also print the expected memory of a training step with this many images per device.
        #[arg(long)]
        batch: Option<usize>,
    },
    /// Render the 12 parametric model-vs-human sets from `<from>/<category>/<image>` files, in
    /// the benchmark's layout (`<out>/<dataset>/dnn/session-1/...png`, 224 x 224).
    RenderHa {
        /// Source images sorted into folders named after the 16 categories.
        #[arg(long)]
        from: PathBuf,
        /// Output folder; a dataset folder already there is left alone and reported.
        #[arg(long)]
        out: PathBuf,
        /// Seed of the random distortions (noise, phase, eidolons).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Comma-separated datasets (default: all 12 parametric ones).
        #[arg(long, value_delimiter = ',')]
        datasets: Vec<crate::ha::HaDataset>,
    },
    /// Remove cache entries that none of the given experiments reaches.
    Gc {
        /// Experiment files whose stages are kept.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Overrides applied to every file, as in `pvr run FILE --set ...`.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
        overrides: Vec<Override>,
        /// Also keep every entry a run reached in the last N days (0: only the files' stages).
        #[arg(long, value_name = "N", default_value_t = 7)]
        keep_days: u64,
        /// Say what would be removed, by stage label, without removing it.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    Local,
    Slurm,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskFormat {
    Applied,
    Pairs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DagFormat {
    Text,
    Dot,
}

/// `pvr check FILE | head -1`: when the reader goes away, end as other command-line tools do
/// (killed by SIGPIPE, silently) instead of panicking in `println!`. Rust ignores SIGPIPE by
/// default, which turns a closed pipe into an error on every write.
fn exit_quietly_on_closed_pipe() {
    // SAFETY: restoring the default disposition of one signal at start-up, before any thread
    // exists; no handler runs Rust code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Entry point of the binary: parses arguments, runs, prints errors like cargo does.
pub fn main() -> std::process::ExitCode {
    exit_quietly_on_closed_pipe();
    crate::host::keep_freed_memory();
    let cli = Cli::parse();
    match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(error) => {
            let prefix = if std::io::stderr().is_terminal() {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!("{prefix}: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            std::process::ExitCode::from(2)
        }
    }
}
