//! Shared harness for the end-to-end tests: runs the real binary with a clean environment
//! against the fake API, reads back what it printed and wrote, and checks the key never leaks.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
pub use fake_api::{
    DEFAULT_API_KEY, FakeApi, Fault, FaultKind, PipecatBuild, PrimeArtifact, PrimeBuild, Route, Scenario,
};

pub const ID: &str = "123e4567-e89b-12d3-a456-426614174000";
pub const ID2: &str = "223e4567-e89b-12d3-a456-426614174000";

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What one run of the gate left behind.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The outputs file, raw.
    pub output_file: String,
    pub summary: String,
    _dir: tempfile::TempDir,
}

impl Run {
    /// Outputs parsed as the GitHub runner reads them (heredoc entries), or dotenv lines.
    pub fn outputs(&self) -> Vec<(String, String)> {
        parse_outputs(&self.output_file)
    }

    pub fn output(&self, name: &str) -> Option<String> {
        self.outputs().into_iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn names(&self) -> Vec<String> {
        self.outputs().into_iter().map(|(n, _)| n).collect()
    }
}

pub use fake_api::ci::{HOSTILE_LOG_LINES, parse_env_file as parse_outputs};

/// A gate run against `api` in the GitHub format with fast polling; `extra` overrides.
pub fn gate(api: &FakeApi, extra: &[(&str, &str)]) -> Run {
    let url = api.pipecat_url();
    let mut env: Vec<(String, String)> = [
        ("BUILDGATE_BUILD_ID", ID),
        ("BUILDGATE_API_URL", url.as_str()),
        ("BUILDGATE_API_KEY", DEFAULT_API_KEY),
        ("BUILDGATE_POLL_INTERVAL", "10ms"),
        ("BUILDGATE_POLL_MAX_INTERVAL", "40ms"),
        // The log on every poll, as most tests script what each read sees; the cadence tests
        // in tests/logs.rs set longer intervals.
        ("BUILDGATE_LOG_INTERVAL", "10ms"),
        ("BUILDGATE_TIMEOUT", "20s"),
        ("BUILDGATE_REQUEST_TIMEOUT", "5s"),
        ("BUILDGATE_FORMAT", "github"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
    run_env(&env)
}

/// Runs the binary with exactly `env` (plus the outputs and summary files), bounded in time.
pub fn run_env(env: &[(String, String)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let output_path = dir.path().join("outputs");
    let summary_path = dir.path().join("summary.md");
    let mut cmd = Command::cargo_bin("buildgate").unwrap();
    cmd.env_clear().current_dir(dir.path());
    cmd.env("BUILDGATE_OUTPUT_FILE", &output_path).env("GITHUB_STEP_SUMMARY", &summary_path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = assert_cmd::Command::from_std(cmd).timeout(Duration::from_secs(60)).output().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output_file: std::fs::read_to_string(&output_path).unwrap_or_default(),
        summary: std::fs::read_to_string(&summary_path).unwrap_or_default(),
        _dir: dir,
    };
    for (k, v) in env {
        if k.ends_with("API_KEY") && !v.trim().is_empty() {
            assert_no_key(&run, v);
        }
    }
    run
}

/// The key appears nowhere, except in GitHub's own `::add-mask::` line, which the runner hides.
pub fn assert_no_key(run: &Run, key: &str) {
    assert_key_absent(key, &run.stdout, &run.stderr, &run.output_file, &run.summary);
}

/// [`assert_no_key`] over the texts of a run made by hand.
pub fn assert_key_absent(key: &str, stdout: &str, stderr: &str, output_file: &str, summary: &str) {
    let masked = format!("::add-mask::{key}");
    let stdout: String = stdout.lines().filter(|l| *l != masked).collect::<Vec<_>>().join("\n");
    for (what, text) in
        [("stdout", stdout.as_str()), ("stderr", stderr), ("outputs", output_file), ("summary", summary)]
    {
        assert!(!text.contains(key), "the API key leaked into {what}:\n{text}");
    }
}

/// Text without ANSI colour sequences.
pub fn uncolored(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for n in chars.by_ref() {
                if n.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The status names printed, in order.
pub fn statuses(stdout: &str) -> Vec<String> {
    uncolored(stdout).lines().filter_map(|l| l.split_once("] status: ").map(|(_, s)| s.to_string())).collect()
}

/// The lines of stdout outside `::stop-commands::` fences: what the runner may read as commands.
pub fn command_lines(stdout: &str) -> Vec<String> {
    let mut token: Option<String> = None;
    let mut commands = Vec::new();
    for line in stdout.split(['\n', '\r']) {
        match &token {
            Some(t) if line.trim() == format!("::{t}::") => token = None,
            Some(_) => {}
            None => {
                if let Some(t) = line.strip_prefix("::stop-commands::") {
                    token = Some(t.to_string());
                } else if line.trim_start().starts_with("::") || line.contains("##[") {
                    commands.push(line.to_string());
                }
            }
        }
    }
    assert!(token.is_none(), "stop-commands left open:\n{stdout}");
    commands
}

pub fn tmp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
