//! The only place that prints progress: a progress bar on stderr, hidden with `--quiet` or
//! when stderr is not a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress reporting for one long-running command.
pub struct Reporter {
    bar: ProgressBar,
}

impl Reporter {
    /// A byte-based progress bar of `total` bytes labelled `what`.
    pub fn bytes(total: u64, what: &str, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), Self::target(quiet));
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {percent:>3}% {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        Reporter { bar }
    }

    /// A counter of `total` steps labelled `what`.
    pub fn steps(total: u64, what: &str, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), Self::target(quiet));
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        Reporter { bar }
    }

    fn target(quiet: bool) -> ProgressDrawTarget {
        if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        }
    }

    /// Sets the position.
    pub fn set(&self, pos: u64) {
        self.bar.set_position(pos);
    }

    /// Replaces the label.
    pub fn message(&self, msg: String) {
        self.bar.set_message(msg);
    }

    /// Advances by one step.
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
