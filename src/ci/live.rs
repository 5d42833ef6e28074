//! The live status line for a person at a terminal: one line (status, phase, lines streamed, time
//! left, elapsed) redrawn in place by indicatif while the log scrolls above it. Only for a local
//! run on a terminal; CI logs and pipes get exactly the bytes of their format.

use std::io::{self, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::env::Env;

/// Whether a person is watching: stdout is a terminal that can redraw (`TERM` is not `dumb`) and
/// no CI is detected (`CI`, `GITHUB_ACTIONS`, `GITLAB_CI`).
pub fn wanted(env: &Env, stdout_is_terminal: bool) -> bool {
    stdout_is_terminal
        && env.get("TERM").is_none_or(|term| term != "dumb")
        && !["CI", "GITHUB_ACTIONS", "GITLAB_CI"].iter().any(|name| env.get(name).is_some_and(|v| !v.is_empty()))
}

/// The status line, and a writer whose every write clears it first and redraws it after.
#[derive(Clone)]
pub struct Live {
    bar: ProgressBar,
}

impl Live {
    /// `color`: `NO_COLOR` unset; the spinner and the elapsed time are dimmed only then.
    pub fn start(color: bool) -> Live {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        let template = if color { "{spinner:.cyan} {msg} {elapsed:.dim}" } else { "{spinner} {msg} {elapsed}" };
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.set_message("waiting for the build");
        bar.enable_steady_tick(Duration::from_millis(200));
        Live { bar }
    }

    pub fn set(&self, text: String) {
        self.bar.set_message(text);
    }

    /// Removes the line for good, before the result and the outputs are printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// The terminal, written around the status line.
    pub fn writer(&self) -> Box<dyn Write + Send> {
        Box::new(Around { bar: self.bar.clone(), out: io::stdout() })
    }
}

struct Around {
    bar: ProgressBar,
    out: io::Stdout,
}

impl Write for Around {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let out = &mut self.out;
        self.bar.suspend(|| out.write_all(buf).and_then(|()| out.flush())).map(|()| buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_terminal_outside_ci_gets_the_live_line() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        assert!(wanted(&env(&[("TERM", "xterm-256color")]), true));
        assert!(!wanted(&env(&[("TERM", "xterm-256color")]), false), "piped");
        assert!(!wanted(&env(&[("TERM", "dumb")]), true), "TERM=dumb");
        assert!(!wanted(&env(&[("CI", "true")]), true), "in a CI");
        assert!(!wanted(&env(&[("GITLAB_CI", "true")]), true));
        assert!(wanted(&env(&[("CI", "")]), true), "an empty CI counts as unset");
    }
}
