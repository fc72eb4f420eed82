//! How a run looks: indicatif bars on a terminal, plain lines when piped, nothing but the
//! summary with `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiMode {
    Bars,
    Lines,
    Quiet,
}

impl UiMode {
    /// Bars on a terminal, lines otherwise.
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            UiMode::Quiet
        } else if std::io::stderr().is_terminal() {
            UiMode::Bars
        } else {
            UiMode::Lines
        }
    }
}

pub struct Ui {
    mode: UiMode,
    multi: MultiProgress,
    overall: ProgressBar,
}

impl Ui {
    pub fn new(mode: UiMode, total_stages: u64) -> Self {
        let multi = MultiProgress::with_draw_target(match mode {
            UiMode::Bars => ProgressDrawTarget::stderr(),
            _ => ProgressDrawTarget::hidden(),
        });
        let overall = multi.add(ProgressBar::new(total_stages));
        overall.set_style(
            ProgressStyle::with_template("{prefix:>12.bold} [{bar:30.green/dim}] {pos}/{len} stages · {elapsed_precise} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        overall.set_prefix("pipeline");
        if mode == UiMode::Bars {
            // Redraw on a timer, so the elapsed time keeps moving through a long stage.
            overall.enable_steady_tick(std::time::Duration::from_millis(500));
        }
        Self {
            mode,
            multi,
            overall,
        }
    }

    /// A line that survives the bars (stage finished, cache problems).
    pub fn line(&self, text: &str) {
        match self.mode {
            UiMode::Bars => {
                let _ = self.multi.println(text);
            }
            UiMode::Lines => eprintln!("{text}"),
            UiMode::Quiet => {}
        }
    }

    pub fn stage_done(&self, message: &str) {
        self.overall.inc(1);
        self.line(message);
    }

    /// The estimated time left (see `eta`), shown after the elapsed time.
    pub fn set_eta(&self, remaining: Option<f64>) {
        if let Some(seconds) = remaining {
            self.overall
                .set_message(format!("· about {} left", super::format_seconds(seconds)));
        }
    }

    pub fn finish(&self) {
        self.overall.finish_and_clear();
    }

    /// A bar for one running stage.
    pub fn stage(&self, label: &str) -> StageBar<'_> {
        let bar = self.multi.insert_from_back(1, ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12.cyan} [{bar:25.cyan/dim}] {pos}/{len} eta {eta:<4} {wide_msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        StageBar {
            ui: self,
            label: label.to_string(),
            bar,
            phase: Mutex::new((String::new(), Instant::now())),
        }
    }
}

/// The [`Progress`] of one stage.
pub struct StageBar<'a> {
    ui: &'a Ui,
    label: String,
    bar: ProgressBar,
    phase: Mutex<(String, Instant)>,
}

impl Progress for StageBar<'_> {
    fn phase(&self, name: &str, total: u64) {
        self.bar.reset();
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_message(name.to_string());
        *self.phase.lock().expect("phase lock") = (name.to_string(), Instant::now());
    }

    fn advance(&self, done: u64, status: &str) {
        self.bar.inc(done);
        if !status.is_empty() {
            let phase = self.phase.lock().expect("phase lock").0.clone();
            self.bar.set_message(format!("{phase} {status}"));
        }
    }

    fn note(&self, line: &str) {
        if self.ui.mode == UiMode::Lines || self.ui.mode == UiMode::Bars {
            self.ui.line(&format!("{:>12} {line}", self.label));
        }
    }
}

impl Drop for StageBar<'_> {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        self.ui.multi.remove(&self.bar);
    }
}
