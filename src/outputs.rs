//! Step outputs: GitHub's heredoc outputs file, a GitLab dotenv report, or plain `name=value`
//! lines on stdout; and GitHub's Markdown step summary.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::ci::random_hex;
use crate::config::Format;

/// GitLab rejects a whole dotenv report over 5 KiB: long values are cut to keep well under it.
const DOTENV_VALUE_MAX: usize = 500;

/// Where and how outputs go.
pub struct Outputs {
    format: Format,
    path: Option<PathBuf>,
    written: Vec<String>,
    /// Plain format without a file: printed after the result.
    pending: Vec<(String, String)>,
}

impl Outputs {
    pub fn new(format: Format, path: Option<PathBuf>) -> Self {
        Outputs { format, path, written: Vec::new(), pending: Vec::new() }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Writes one output now (appended to the file), once per name.
    pub fn set(&mut self, name: &str, value: &str) -> io::Result<()> {
        if self.written.iter().any(|n| n == name) {
            return Ok(());
        }
        self.written.push(name.to_string());
        let entry = match (self.format, &self.path) {
            (Format::Github, Some(_)) => github_entry(name, value),
            (Format::Gitlab, Some(_)) => dotenv_line(name, value),
            (Format::Plain, Some(_)) => plain_line(name, value),
            (_, None) => {
                self.pending.push((name.to_string(), value.to_string()));
                return Ok(());
            }
        };
        let path = self.path.as_ref().expect("matched Some above");
        OpenOptions::new().create(true).append(true).open(path)?.write_all(entry.as_bytes())
    }

    /// The outputs that have no file, as `name=value` lines to print.
    pub fn take_pending(&mut self) -> Vec<String> {
        self.pending
            .drain(..)
            .map(|(name, value)| plain_line(&name, &value).trim_end_matches('\n').to_string())
            .collect()
    }
}

/// `name<<DELIM`, the value, `DELIM`, with LF line ends and a fresh delimiter not found in the value.
pub fn github_entry(name: &str, value: &str) -> String {
    github_entry_with(name, value, || format!("ghadelimiter_{}", random_hex(16)))
}

/// [`github_entry`] with the delimiters drawn from `fresh`, tried until one fits.
pub fn github_entry_with(name: &str, value: &str, mut fresh: impl FnMut() -> String) -> String {
    let value = value.replace("\r\n", "\n").replace('\r', "\n");
    let delimiter = loop {
        let candidate = fresh();
        if !value.contains(&candidate) && !name.contains(&candidate) {
            break candidate;
        }
    };
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// `BUILDGATE_NAME=value` on one line: GitLab's dotenv allows no multi-line values, and trims.
pub fn dotenv_line(name: &str, value: &str) -> String {
    format!("{}={}\n", dotenv_key(name), truncate(&one_line(value), DOTENV_VALUE_MAX))
}

/// `build-id` → `BUILDGATE_BUILD_ID`.
pub fn dotenv_key(name: &str) -> String {
    let key: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("BUILDGATE_{key}")
}

fn plain_line(name: &str, value: &str) -> String {
    format!("{name}={}\n", one_line(value))
}

/// Line breaks and surrounding blanks folded away.
pub fn one_line(value: &str) -> String {
    value.split(['\r', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

pub fn truncate(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut end = max_bytes.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// The facts of the step summary.
pub struct Summary<'a> {
    pub provider: &'a str,
    pub build_id: Option<&'a str>,
    pub status: &'a str,
    pub provider_status: Option<&'a str>,
    pub duration_secs: Option<u64>,
    pub image_uri: Option<&'a str>,
    pub logs_url: Option<&'a str>,
    pub waited_secs: u64,
    pub error_message: Option<&'a str>,
    /// The last build log lines, shown when the build failed.
    pub log_tail: &'a [String],
}

/// Keeps the summary far from GitHub's 1 MiB limit whatever the log holds.
const SUMMARY_TAIL_MAX_BYTES: usize = 64 * 1024;

pub fn summary_markdown(s: &Summary) -> String {
    let cell = |v: &str| v.replace('|', "\\|").replace(['\r', '\n'], " ");
    let mut md = format!("### buildgate: {} build {}\n\n", s.provider, s.status);
    md.push_str("| | |\n|---|---|\n");
    let mut row = |k: &str, v: String| md.push_str(&format!("| {k} | {} |\n", cell(&v)));
    if let Some(id) = s.build_id {
        row("Build", format!("`{id}`"));
    }
    row(
        "Status",
        match s.provider_status {
            Some(p) => format!("{} (`{p}`)", s.status),
            None => s.status.to_string(),
        },
    );
    if let Some(d) = s.duration_secs {
        row("Duration", format!("{d} s"));
    }
    if let Some(uri) = s.image_uri {
        row("Image", format!("`{uri}`"));
    }
    if let Some(url) = s.logs_url {
        row("Logs", format!("[build logs]({url})"));
    }
    row("Waited", format!("{} s", s.waited_secs));
    if let Some(e) = s.error_message {
        row("Error", truncate(&one_line(e), 2000));
    }
    if !s.log_tail.is_empty() {
        let mut tail = s.log_tail.join("\n");
        tail = truncate(&tail, SUMMARY_TAIL_MAX_BYTES);
        let fence = "`".repeat(longest_backtick_run(&tail).max(2) + 1);
        md.push_str(&format!(
            "\n<details open><summary>Last {} log lines</summary>\n\n{fence}text\n{tail}\n{fence}\n\n</details>\n",
            s.log_tail.len()
        ));
    }
    md.push('\n');
    md
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

pub fn append_summary(path: &Path, s: &Summary) -> io::Result<()> {
    OpenOptions::new().create(true).append(true).open(path)?.write_all(summary_markdown(s).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    use fake_api::ci::parse_env_file as parse_github_file;

    #[test]
    fn golden_bytes_of_each_outputs_form() {
        let values = [("build-id", "b1"), ("status", "failed"), ("error-message", "COPY failed:\r\nno file  ")];
        let mut n = 0;
        // The first delimiter occurs in the value: the writer must draw another.
        let mut fresh = || {
            n += 1;
            format!("ghadelimiter_{n}")
        };
        let mut github = github_entry_with("image-uri", "x ghadelimiter_1 y", &mut fresh);
        for (name, value) in values {
            github.push_str(&github_entry_with(name, value, &mut fresh));
        }
        let dotenv: String = values.iter().map(|(n, v)| dotenv_line(n, v)).collect();
        let plain: String = values.iter().map(|(n, v)| plain_line(n, v)).collect();
        insta::assert_snapshot!("github_outputs", github);
        insta::assert_snapshot!("gitlab_dotenv", dotenv);
        insta::assert_snapshot!("plain_outputs", plain);
        let summary = summary_markdown(&Summary {
            provider: "pipecat",
            build_id: Some("b1"),
            status: "failed",
            provider_status: Some("failed"),
            duration_secs: Some(42),
            image_uri: None,
            logs_url: Some("https://console.example/logs"),
            waited_secs: 45,
            error_message: Some("COPY failed: no file"),
            log_tail: &["Step 3/6 : COPY missing.txt .".to_string(), "ERROR: ``` not found".to_string()],
        });
        insta::assert_snapshot!("step_summary", summary);
    }

    #[test]
    fn heredoc_entries_round_trip_any_value() {
        for value in ["", "plain", "two\nlines", "crlf\r\nend", "ghadelimiter_ fake", "a<<b", "trailing\n"] {
            let text = github_entry("name", value);
            assert!(!text.contains('\r'));
            let parsed = parse_github_file(&text);
            assert_eq!(parsed, vec![("name".to_string(), value.replace("\r\n", "\n"))], "{value:?}");
        }
        assert_ne!(github_entry("a", "v"), github_entry("a", "v"), "fresh delimiter each time");
    }

    #[test]
    fn dotenv_lines_are_single_valid_lines() {
        assert_eq!(dotenv_line("image-uri", "reg/img:1"), "BUILDGATE_IMAGE_URI=reg/img:1\n");
        assert_eq!(dotenv_line("error-message", "  a\r\nb\n\n c "), "BUILDGATE_ERROR_MESSAGE=a b c\n");
        let long = dotenv_line("error-message", &"é".repeat(1000));
        assert!(long.len() < DOTENV_VALUE_MAX + 40 && long.ends_with("...\n"));
        assert!(dotenv_key("provider-status").chars().all(|c| c.is_ascii_uppercase() || c == '_'));
    }

    #[test]
    fn each_output_is_written_once_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, "earlier=1\n").unwrap();
        let mut outputs = Outputs::new(Format::Github, Some(path.clone()));
        outputs.set("build-id", "b1").unwrap();
        outputs.set("build-id", "b2").unwrap();
        outputs.set("status", "success").unwrap();
        let parsed = parse_github_file(&std::fs::read_to_string(&path).unwrap());
        let names: Vec<&str> = parsed.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["earlier", "build-id", "status"]);
        assert_eq!(parsed[1].1, "b1");
    }

    #[test]
    fn summary_stays_small_and_fenced() {
        let tail: Vec<String> = (0..10_000).map(|i| format!("line {i} ``` {}", "x".repeat(100))).collect();
        let md = summary_markdown(&Summary {
            provider: "pipecat",
            build_id: Some("b1"),
            status: "failed",
            provider_status: Some("failed"),
            duration_secs: Some(3),
            image_uri: None,
            logs_url: Some("https://logs"),
            waited_secs: 4,
            error_message: Some("a | b\nc"),
            log_tail: &tail,
        });
        assert!(md.len() < 100 * 1024);
        assert!(md.contains("| Error | a \\| b c |"));
        assert!(md.contains("````text\n"));
    }

    #[test]
    fn property_any_value_round_trips_through_the_runners_rules() {
        // Values built from the pieces that break naive writers.
        let pieces = ["a", "\n", "\r\n", "\r", "<<", "=", "ghadelimiter_", "EOF", " ", "\u{e9}", "%0A", "::x::", ""];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..3000 {
            let value: String = (0..next(12)).map(|_| pieces[next(pieces.len())]).collect();
            let name = ["build-id", "error-message", "x"][next(3)];
            let file = format!("{}{}", github_entry("before", "1"), github_entry(name, &value));
            let parsed = parse_github_file(&file);
            let expected = value.replace("\r\n", "\n").replace('\r', "\n");
            assert_eq!(parsed, vec![("before".into(), "1".into()), (name.into(), expected)], "{value:?}");
            let line = dotenv_line(name, &value);
            assert_eq!(line.matches('\n').count(), 1, "{value:?}");
            assert!(!line.contains('\r'));
            let (key, rest) = line.trim_end_matches('\n').split_once('=').unwrap();
            assert!(key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'));
            assert_eq!(rest, truncate(&one_line(&value), DOTENV_VALUE_MAX), "{value:?}");
        }
    }
}
