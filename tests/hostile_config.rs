//! End-to-end: configuration and outputs that would crash or lie — durations the clock cannot
//! hold, values that are not UTF-8, typos, the command line, outputs files that are not files
//! or fill up, and a signal while stdout blocks.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn succeeding() -> PipecatBuild {
    PipecatBuild::new(ID).step(ms(0), "building").step(ms(50), "success").image_uri("registry/img:1")
}

fn api() -> FakeApi {
    FakeApi::start(Scenario::new().pipecat(succeeding()))
}

fn quick(api: &FakeApi, extra: &[(&str, &str)]) -> Run {
    let mut env = vec![("BUILDGATE_LOGS", "false")];
    env.extend_from_slice(extra);
    gate(api, &env)
}

/// A configuration error: exit 2 (never a panic), and the message names `variable`.
fn assert_config_error(run: &Run, variable: &str, what: &str) {
    assert_eq!(run.code, 2, "{what}: {}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
    assert!(run.stderr.contains(&format!("{variable}: ")), "{what}: {variable} named in\n{}", run.stderr);
}

/// The variables named as the subject of an error line (`  NAME: why`).
fn erring_variables(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.trim_start().split_once(": ").map(|(name, _)| name.to_string()))
        .filter(|name| name.starts_with("BUILDGATE_") || name.ends_with("_OUTPUT"))
        .collect()
}

/// The gate run by hand with `env` and `args` (plus an outputs file in a fresh directory).
struct Raw {
    code: i32,
    stdout: String,
    stderr: String,
    output_file: String,
}

fn run_raw(env: &[(&OsStr, &OsStr)], args: &[&str]) -> Raw {
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs");
    let mut cmd = assert_cmd::Command::cargo_bin("buildgate").unwrap();
    cmd.env_clear().current_dir(dir.path()).env("BUILDGATE_OUTPUT_FILE", &outputs).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.timeout(Duration::from_secs(60)).output().unwrap();
    Raw {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        output_file: std::fs::read_to_string(&outputs).unwrap_or_default(),
    }
}

fn base_env(api: &FakeApi) -> Vec<(String, String)> {
    [
        ("BUILDGATE_BUILD_ID", ID.to_string()),
        ("BUILDGATE_API_URL", api.pipecat_url()),
        ("BUILDGATE_API_KEY", DEFAULT_API_KEY.to_string()),
        ("BUILDGATE_LOGS", "false".to_string()),
        ("BUILDGATE_POLL_INTERVAL", "10ms".to_string()),
        ("BUILDGATE_FORMAT", "github".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn os_pairs(env: &[(String, String)]) -> Vec<(&OsStr, &OsStr)> {
    env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))).collect()
}

// ---------------------------------------------------------------------------------------------
// Durations.

#[test]
fn a_duration_the_clock_cannot_hold_is_refused_with_the_accepted_range_not_a_panic() {
    let api = api();
    for variable in ["BUILDGATE_TIMEOUT", "BUILDGATE_REQUEST_TIMEOUT"] {
        for dry_run in ["false", "true"] {
            let run = quick(&api, &[(variable, "18446744073709551615"), ("BUILDGATE_DRY_RUN", dry_run)]);
            let what = format!("{variable} dry_run={dry_run}");
            assert_config_error(&run, variable, &what);
            assert!(run.stderr.contains("744h"), "{what}: the accepted range in\n{}", run.stderr);
            assert!(run.stderr.contains("from 1ms to 744h"), "{what}: {}", run.stderr);
        }
    }
    for huge in ["18446744073709551615s", "18446744073709551615h", "99999999999999999999999999999999999999999ms"] {
        let run = quick(&api, &[("BUILDGATE_TIMEOUT", huge)]);
        assert_config_error(&run, "BUILDGATE_TIMEOUT", huge);
    }
    assert!(api.requests().is_empty(), "no request on invalid configuration");
}

#[test]
fn decimal_durations_are_accepted() {
    let api = api();
    let run = quick(&api, &[("BUILDGATE_TIMEOUT", "1.5m"), ("BUILDGATE_DRY_RUN", "true")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("deadline         1m30s"), "1.5m is 90 s:\n{}", run.stdout);
    let run = quick(&api, &[("BUILDGATE_TIMEOUT", "0.5s"), ("BUILDGATE_DRY_RUN", "true")]);
    assert!(run.stdout.contains("deadline         500ms"), "{}", run.stdout);
    // And a real run under a decimal deadline works.
    let run = quick(&api, &[("BUILDGATE_TIMEOUT", "0.25m"), ("BUILDGATE_REQUEST_TIMEOUT", "2.5s")]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn zero_is_refused_saying_what_is_accepted() {
    let api = api();
    for zero in ["0", "0s", "0.0m", "0ms"] {
        let run = quick(&api, &[("BUILDGATE_TIMEOUT", zero)]);
        assert_config_error(&run, "BUILDGATE_TIMEOUT", zero);
        assert!(run.stderr.contains("zero"), "{zero}: {}", run.stderr);
        assert!(run.stderr.contains("like 500ms, 1.5m, 90s or 1h30m"), "{zero}: says what is accepted: {}", run.stderr);
    }
    assert!(api.requests().is_empty());
}

#[test]
fn a_huge_poll_interval_is_reported_on_the_poll_interval_not_the_cap() {
    let api = api();
    let run = quick(&api, &[("BUILDGATE_POLL_INTERVAL", "99999999999h")]);
    assert_config_error(&run, "BUILDGATE_POLL_INTERVAL", "99999999999h");
    assert_eq!(erring_variables(&run.stderr), ["BUILDGATE_POLL_INTERVAL"], "{}", run.stderr);
    assert!(run.stderr.contains("744h"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// Values that are not UTF-8, typos.

#[test]
fn a_value_that_is_not_utf8_is_refused_by_name_not_read_as_unset() {
    let api = api();
    let bad = OsStr::from_bytes(b"5m\xff");
    for variable in ["BUILDGATE_TIMEOUT", "BUILDGATE_API_KEY", "BUILDGATE_FORMAT", "BUILDGATE_OUTPUT_FILE"] {
        let env = base_env(&api);
        let mut pairs: Vec<(&OsStr, &OsStr)> = os_pairs(&env).into_iter().filter(|(k, _)| *k != variable).collect();
        pairs.push((OsStr::new(variable), bad));
        let run = run_raw(&pairs, &[]);
        assert_eq!(run.code, 2, "{variable}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(&format!("{variable}: ")), "{variable}: {}", run.stderr);
        assert!(run.stderr.contains("UTF-8"), "{variable}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    // The fallback key and the GitHub outputs path too.
    for variable in ["PIPECAT_API_KEY", "GITHUB_OUTPUT"] {
        let env = base_env(&api);
        let drop = if variable == "PIPECAT_API_KEY" { "BUILDGATE_API_KEY" } else { "BUILDGATE_OUTPUT_FILE" };
        let mut pairs: Vec<(&OsStr, &OsStr)> = os_pairs(&env).into_iter().filter(|(k, _)| *k != drop).collect();
        pairs.push((OsStr::new(variable), bad));
        // run_raw sets an outputs file; an empty one counts as unset.
        if variable == "GITHUB_OUTPUT" {
            pairs.push((OsStr::new("BUILDGATE_OUTPUT_FILE"), OsStr::new("")));
        }
        let run = run_raw(&pairs, &[]);
        assert_eq!(run.code, 2, "{variable}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(&format!("{variable}: ")), "{variable}: {}", run.stderr);
    }
    assert!(api.requests().is_empty(), "no request");
}

#[test]
fn a_misspelt_buildgate_variable_is_warned_about_with_the_closest_name() {
    let api = api();
    let run = quick(&api, &[("BUILDGATE_TIMEOUTT", "5m")]);
    assert_eq!(run.code, 0, "a warning, not an error: {}", run.stderr);
    let warning = "BUILDGATE_TIMEOUTT is not a buildgate variable and is ignored; did you mean BUILDGATE_TIMEOUT?";
    assert_eq!(run.stdout.matches(warning).count(), 1, "once:\n{}", run.stdout);
    assert!(run.stdout.contains(&format!("::warning::{warning}")), "{}", run.stdout);
    // The project's own names (the GitLab template's image selector, the dotenv keys) are known.
    let own = quick(&api, &[("BUILDGATE_IMAGE", "ghcr.io/x/buildgate:1"), ("BUILDGATE_STATUS", "success")]);
    assert_eq!(own.code, 0);
    assert!(!own.stdout.contains("is not a buildgate variable"), "{}", own.stdout);
}

// ---------------------------------------------------------------------------------------------
// The command line.

#[test]
fn help_prints_the_usage_page_and_makes_no_request() {
    let api = api();
    let env = base_env(&api);
    for flag in ["--help", "-h"] {
        let run = run_raw(&os_pairs(&env), &[flag]);
        assert_eq!(run.code, 0, "{flag}: {}", run.stderr);
        assert!(run.stdout.contains("Usage: buildgate"), "{flag}: {}", run.stdout);
        for var in buildgate::VARS {
            assert!(run.stdout.contains(var.name), "{flag}: {} on the page", var.name);
            if !var.default.is_empty() {
                assert!(run.stdout.contains(&format!("(default: {})", var.default)), "{flag}: {}", var.name);
            }
        }
        let (_, codes) = run.stdout.split_once("Exit codes:").expect("an exit code section");
        let numbers: Vec<&str> = codes.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).collect();
        for code in ["0", "1", "2", "3", "124", "130", "143", "129"] {
            assert!(numbers.contains(&code), "{flag}: exit code {code} on the page:\n{codes}");
        }
        assert!(run.output_file.is_empty(), "{flag}: no outputs");
    }
    assert!(api.requests().is_empty(), "--help starts no run");
}

#[test]
fn version_prints_buildgate_and_its_version() {
    let api = api();
    let env = base_env(&api);
    for flag in ["--version", "-V"] {
        let run = run_raw(&os_pairs(&env), &[flag]);
        assert_eq!(run.code, 0, "{flag}: {}", run.stderr);
        assert_eq!(run.stdout, format!("buildgate {}\n", env!("CARGO_PKG_VERSION")), "{flag}");
    }
    assert!(api.requests().is_empty());
}

#[test]
fn any_other_argument_is_a_configuration_error_before_any_request() {
    let api = api();
    let env = base_env(&api);
    for args in [&["run"][..], &["--dry-run"], &["-v"], &[""], &["--HELP"], &["help"], &[ID]] {
        let run = run_raw(&os_pairs(&env), args);
        assert_eq!(run.code, 2, "{args:?}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(&format!("{:?}", args[0])), "{args:?}: the argument is named: {}", run.stderr);
        assert!(run.stderr.contains("--help"), "{args:?}: {}", run.stderr);
        assert!(run.output_file.is_empty(), "{args:?}");
    }
    // An argument that is not UTF-8 is refused as well, not read as no argument.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("buildgate").unwrap();
    cmd.env_clear().current_dir(dir.path()).envs(env).arg(OsStr::from_bytes(b"--he\xffp"));
    let out = cmd.timeout(Duration::from_secs(60)).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(api.requests().is_empty(), "no run started because of an argument");
}

// ---------------------------------------------------------------------------------------------
// The outputs file.

/// Each kind of path that is not an appendable regular file, made in `dir`.
fn unusable_paths(dir: &Path) -> Vec<(String, &'static str)> {
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let directory = dir.join("a-directory");
    std::fs::create_dir(&directory).unwrap();
    let to_device = dir.join("link-to-dev-full");
    std::os::unix::fs::symlink("/dev/full", &to_device).unwrap();
    // A link to a file that cannot be created: its directory does not exist.
    let dangling = dir.join("dangling-link");
    std::os::unix::fs::symlink(dir.join("missing-dir/outputs"), &dangling).unwrap();
    vec![
        (to_device.display().to_string(), "not a regular file"),
        (dangling.display().to_string(), "does not exist"),
        (fifo.display().to_string(), "not a regular file"),
        (directory.display().to_string(), "is a directory"),
        ("/dev/full".to_string(), "not a regular file"),
        (dir.join("missing/outputs").display().to_string(), "does not exist"),
    ]
}

#[test]
fn an_outputs_file_that_is_not_a_regular_file_is_exit_2_naming_the_variable_also_in_the_dry_run() {
    let api = api();
    let dir = tempfile::tempdir().unwrap();
    for (path, why) in unusable_paths(dir.path()) {
        for dry_run in ["false", "true"] {
            // Named by BUILDGATE_OUTPUT_FILE, and by GITHUB_OUTPUT (the github default).
            let cases = [
                ("BUILDGATE_OUTPUT_FILE", vec![("BUILDGATE_OUTPUT_FILE", path.as_str())]),
                ("GITHUB_OUTPUT", vec![("BUILDGATE_OUTPUT_FILE", ""), ("GITHUB_OUTPUT", path.as_str())]),
            ];
            for (variable, mut extra) in cases {
                extra.push(("BUILDGATE_DRY_RUN", dry_run));
                let started = Instant::now();
                let run = quick(&api, &extra);
                let what = format!("{path} via {variable}, dry_run={dry_run}");
                assert!(started.elapsed() < Duration::from_secs(10), "{what}: opening never blocks");
                assert_config_error(&run, variable, &what);
                assert!(run.stderr.contains(why), "{what}: {why:?} in {}", run.stderr);
            }
        }
    }
    assert!(api.requests().is_empty(), "found before any request");
}

#[test]
fn a_full_disk_while_writing_outputs_is_exit_2_naming_the_variable() {
    let huge_uri = format!("registry.example/{}:1", "b".repeat(256 * 1024));
    let api = FakeApi::start(Scenario::new().pipecat(succeeding().image_uri(&huge_uri)));
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs");
    let bin = assert_cmd::cargo::cargo_bin("buildgate");
    // Files may hold at most one 1 KiB block; SIGXFSZ ignored so the write fails with EFBIG.
    let mut cmd = Command::new("/bin/bash");
    cmd.args(["-c", "ulimit -f 1; trap '' XFSZ; exec \"$0\""]).arg(&bin);
    cmd.env_clear()
        .current_dir(dir.path())
        .envs(base_env(&api))
        .env("BUILDGATE_OUTPUT_FILE", &outputs)
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"));
    let out = assert_cmd::Command::from_std(cmd).timeout(Duration::from_secs(60)).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let both = format!("{stdout}\n{stderr}");
    assert!(both.contains("BUILDGATE_OUTPUT_FILE"), "the variable is named:\n{both}");
    assert!(both.contains("File too large") || both.contains("too large"), "the system's reason:\n{both}");
    assert!(stdout.contains("status: success"), "the log says what the build did first:\n{stdout}");
    let written = std::fs::read_to_string(&outputs).unwrap_or_default();
    assert!(written.len() <= 1024, "{}", written.len());
    assert_key_absent(DEFAULT_API_KEY, &stdout, &stderr, &written, "");
}

// ---------------------------------------------------------------------------------------------
// A signal while stdout blocks.

#[test]
fn sigterm_ends_the_gate_while_stdout_blocks_on_a_pipe_nobody_reads() {
    let took = blocked("60s", true);
    assert!(took < Duration::from_secs(3), "within a few seconds (the contract: 2 s): {took:?}");
}

#[test]
fn the_deadline_ends_the_gate_while_stdout_blocks_on_a_pipe_nobody_reads() {
    // Measured from about 0.3 s after the first log reads; the deadline is at 3 s, the one last
    // read after it has a 1 s request timeout, and then the gate must end within 2 s.
    let took = blocked("3s", false);
    assert!(took < Duration::from_secs(3 + 1 + 2), "{took:?}");
}

fn blocked(deadline: &str, signal: bool) -> Duration {
    let line = "x".repeat(200);
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .logs(ms(0), (0..20_000).map(|n| format!("{n:05} {line}")))
        .logs_ignore_limit(true);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(&api);
    env.retain(|(k, _)| k != "BUILDGATE_LOGS");
    env.push(("BUILDGATE_LOG_INTERVAL".into(), "10ms".into()));
    env.push(("BUILDGATE_TIMEOUT".into(), deadline.into()));
    env.push(("BUILDGATE_REQUEST_TIMEOUT".into(), "1s".into()));
    let child = Command::new(assert_cmd::cargo::cargo_bin("buildgate"))
        .env_clear()
        .envs(env)
        .env("BUILDGATE_OUTPUT_FILE", dir.path().join("outputs"))
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
        .stdout(Stdio::piped()) // never read: it fills and blocks
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Gate(child);
    let start = Instant::now();
    while api.count(Route::Logs) < 2 {
        assert!(start.elapsed() < Duration::from_secs(30), "the gate never read the logs");
        std::thread::sleep(ms(10));
    }
    // Several MiB of log against a 64 KiB pipe: the writer is blocked by now.
    std::thread::sleep(ms(300));
    let sent = Instant::now();
    if signal {
        assert!(Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap().success());
    }
    let until = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > until {
            break None;
        }
        std::thread::sleep(ms(5));
    };
    let took = sent.elapsed();
    let status = status.expect("the gate ended although stdout blocks");
    assert_eq!(status.code(), Some(if signal { 143 } else { 124 }));
    let outputs = parse_outputs(&std::fs::read_to_string(dir.path().join("outputs")).unwrap());
    assert!(outputs.iter().any(|(k, v)| k == "status" && v == "waiting"), "outputs written: {outputs:?}");
    drop(child.0.stdout.take());
    took
}

/// A child killed (and reaped) if the test ends before it does.
struct Gate(std::process::Child);

impl Drop for Gate {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn a_poll_interval_above_the_default_cap_is_reported_on_the_variable_that_was_set() {
    let api = api();
    for dry_run in ["false", "true"] {
        // The cap unset (empty counts as unset): its default, 10s, is below the first interval.
        let run = quick(
            &api,
            &[("BUILDGATE_POLL_INTERVAL", "30s"), ("BUILDGATE_POLL_MAX_INTERVAL", ""), ("BUILDGATE_DRY_RUN", dry_run)],
        );
        assert_config_error(&run, "BUILDGATE_POLL_INTERVAL", "30s");
        assert_eq!(erring_variables(&run.stderr), ["BUILDGATE_POLL_INTERVAL"], "{}", run.stderr);
        assert!(run.stderr.contains("at most 10s"), "says what is accepted: {}", run.stderr);
        // Set too: then the cap is the one that is wrong.
        let run = quick(
            &api,
            &[
                ("BUILDGATE_POLL_INTERVAL", "30s"),
                ("BUILDGATE_POLL_MAX_INTERVAL", "20s"),
                ("BUILDGATE_DRY_RUN", dry_run),
            ],
        );
        assert_config_error(&run, "BUILDGATE_POLL_MAX_INTERVAL", "20s < 30s");
        assert_eq!(erring_variables(&run.stderr), ["BUILDGATE_POLL_MAX_INTERVAL"], "{}", run.stderr);
    }
    assert!(api.requests().is_empty());
}
