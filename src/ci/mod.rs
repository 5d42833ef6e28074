//! What the gate prints and writes for each CI: the [`Format`] and how it is detected, one
//! [`Dialect`] per format for the exact bytes, the [`Console`] that keeps groups balanced and
//! untrusted text fenced, and the outputs file.

mod console;
pub mod github;
pub mod gitlab;
pub mod live;
mod outputs;
pub mod plain;

use std::fmt::Write as _;
use std::path::PathBuf;

pub use console::Console;
pub use outputs::{OutputsFile, append};

use crate::env::Env;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Github,
    Gitlab,
    Plain,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Github => "github",
            Format::Gitlab => "gitlab",
            Format::Plain => "plain",
        }
    }

    /// `BUILDGATE_FORMAT`, with `auto` (or unset) detected from `GITHUB_ACTIONS` / `GITLAB_CI`.
    pub fn from_config(value: Option<&str>, env: &Env) -> Result<Format, String> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("auto") if env.is_true("GITHUB_ACTIONS") => Ok(Format::Github),
            None | Some("auto") if env.is_true("GITLAB_CI") => Ok(Format::Gitlab),
            None | Some("auto" | "plain") => Ok(Format::Plain),
            Some("github") => Ok(Format::Github),
            Some("gitlab") => Ok(Format::Gitlab),
            Some(other) => Err(format!("{other:?} is not a format; use auto, github, gitlab or plain")),
        }
    }

    /// Where outputs go when `BUILDGATE_OUTPUT_FILE` is unset, and the variable that says so.
    pub fn outputs_default(self, env: &Env) -> Option<(PathBuf, &'static str)> {
        match self {
            Format::Github => env.get("GITHUB_OUTPUT").map(|p| (PathBuf::from(p), "GITHUB_OUTPUT")),
            Format::Gitlab => Some((PathBuf::from("buildgate.env"), "BUILDGATE_OUTPUT_FILE")),
            Format::Plain => None,
        }
    }

    /// GitHub's step summary file.
    pub fn summary_path(self, env: &Env) -> Option<PathBuf> {
        match self {
            Format::Github => env.get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            Format::Gitlab | Format::Plain => None,
        }
    }

    /// One output as the outputs file of this format holds it.
    pub fn output_entry(self, name: &str, value: &str) -> String {
        match self {
            Format::Github => github::output_entry(name, value),
            Format::Gitlab => gitlab::dotenv_line(name, value),
            Format::Plain => plain::output_line(name, value),
        }
    }
}

/// The exact bytes of one CI format. Every method appends whole lines to `out`; the texts
/// given are already redacted and inert (see [`Console`]).
pub trait Dialect {
    /// A line of the gate's own (status changes, results, headings).
    fn line(&self, out: &mut String, text: &str);
    fn status(&self, out: &mut String, elapsed: &str, text: &str);
    fn warning(&self, out: &mut String, text: &str);
    fn error(&self, out: &mut String, title: &str, text: &str);
    fn mask(&self, _out: &mut String, _secret: &str) {}
    /// Opens collapsible group number `id` (unique within the run) titled `title`.
    fn group_start(&self, out: &mut String, id: usize, title: &str);
    fn group_end(&self, out: &mut String, id: usize, title: &str);
    /// Brackets untrusted text so the CI does not read commands in it.
    fn untrusted_start(&self, _out: &mut String) {}
    fn untrusted_end(&self, _out: &mut String) {}
    /// One line of untrusted build log, defused.
    fn log_line(&self, out: &mut String, line: &str);
    /// Whether the gate's own lines must be printed outside groups (GitHub groups cannot nest,
    /// and a collapsed GitLab section would hide them).
    /// The build's phases are shown as a table at the end of the log (GitHub shows them in the
    /// step summary instead).
    fn phase_table_in_log(&self) -> bool {
        true
    }

    fn closes_groups_for_gate_lines(&self) -> bool {
        true
    }
}

/// Randomness and time a dialect needs, fixed in tests.
#[derive(Clone, Debug)]
pub struct Session {
    /// The `::stop-commands::` token: 128 random bits.
    pub token: String,
    pub color: bool,
    pub unix_time: fn() -> u64,
}

impl Session {
    pub fn new(color: bool) -> Self {
        Session { token: random_hex(16), color, unix_time: unix_now }
    }

    /// `text` in the SGR colour `code`, when colour is on.
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `bytes` random bytes as lowercase hex, from the operating system's generator.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random number generator is unavailable");
    buf.iter().fold(String::with_capacity(2 * bytes), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

pub fn dialect(format: Format, session: Session) -> Box<dyn Dialect + Send> {
    match format {
        Format::Github => Box::new(github::Github::new(session)),
        Format::Gitlab => Box::new(gitlab::Gitlab::new(session)),
        Format::Plain => Box::new(plain::Plain::new(session)),
    }
}

/// Removes every CR: the GitHub runner splits lines on a bare CR (so text after it could be
/// read as a command), and in GitLab's log view it overwrites what came before.
pub fn without_cr(line: &str) -> std::borrow::Cow<'_, str> {
    if line.contains('\r') { line.replace('\r', "").into() } else { line.into() }
}

/// GitHub's legacy `##[` command form is found anywhere in a line: a zero-width space breaks it.
/// Plain output may end up in a GitHub log too, so both use it.
pub fn defuse_legacy_commands(line: &str) -> String {
    without_cr(line).replace("##[", "##\u{200B}[")
}

/// A line of the gate's own that may quote API text: kept on one line and never read as a
/// command (the runner only looks for `::` at the start of a trimmed line).
pub fn gate_text(text: &str) -> String {
    let one_line = defuse_legacy_commands(&text.replace('\n', " "));
    if one_line.trim_start().starts_with("::") { format!("\u{200B}{one_line}") } else { one_line }
}

#[cfg(test)]
pub(crate) mod testing;
