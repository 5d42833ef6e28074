//! End-to-end: SIGINT, SIGTERM and SIGHUP stop the gate within 2 s with their exit codes,
//! closed groups and the outputs known so far — also as PID 1 of a PID namespace, where a
//! signal without a handler of the gate's own would be ignored.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn running_build() -> FakeApi {
    FakeApi::start(Scenario::new().pipecat(
        PipecatBuild::new(ID).step(ms(0), "building").logs(ms(0), ["[Container] Entering phase: BUILD", "compiling"]),
    ))
}

struct Started {
    child: Child,
    dir: tempfile::TempDir,
}

fn start(api: &FakeApi, as_pid_one: bool) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("buildgate");
    let mut cmd = if as_pid_one {
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    cmd.env_clear()
        .env("BUILDGATE_BUILD_ID", ID)
        .env("BUILDGATE_API_URL", api.pipecat_url())
        .env("BUILDGATE_API_KEY", DEFAULT_API_KEY)
        .env("BUILDGATE_POLL_INTERVAL", "10ms")
        .env("BUILDGATE_POLL_MAX_INTERVAL", "50ms")
        .env("BUILDGATE_LOG_INTERVAL", "10ms")
        .env("BUILDGATE_TIMEOUT", "30s")
        .env("BUILDGATE_FORMAT", "github")
        .env("BUILDGATE_OUTPUT_FILE", dir.path().join("outputs"))
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("start the gate");
    Started { child, dir }
}

/// Waits (bounded) until the gate has streamed log lines, i.e. a group is open.
fn wait_until_streaming(api: &FakeApi) {
    let start = Instant::now();
    // Two logs reads: the first has been answered and printed by the time the second comes.
    while api.requests().iter().filter(|r| r.path.ends_with("/logs")).count() < 2 {
        assert!(start.elapsed() < Duration::from_secs(20), "the gate never read the logs");
        std::thread::sleep(ms(10));
    }
}

/// The gate's pid: the child itself, or unshare's child (PID 1 inside its namespace).
fn gate_pid(started: &Started, as_pid_one: bool) -> String {
    let pid = started.child.id();
    if !as_pid_one {
        return pid.to_string();
    }
    let start = Instant::now();
    loop {
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if let Some(child) = children.split_whitespace().next() {
            return child.to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "unshare started no child");
        std::thread::sleep(ms(10));
    }
}

fn interrupt(signal: &str, expected_code: i32, as_pid_one: bool) {
    let api = running_build();
    let mut started = start(&api, as_pid_one);
    wait_until_streaming(&api);
    let pid = gate_pid(&started, as_pid_one);
    let sent = Instant::now();
    assert!(Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = started.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = started.child.kill();
            panic!("SIG{signal} did not stop the gate");
        }
        std::thread::sleep(ms(5));
    };
    let took = sent.elapsed();
    let output = started.child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        status.code(),
        Some(expected_code),
        "SIG{signal}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(took < Duration::from_secs(2), "stopped within 2 s, took {took:?}");
    assert_eq!(stdout.matches("::group::").count(), stdout.matches("::endgroup::").count(), "{stdout}");
    command_lines(&stdout); // panics if a stop-commands fence was left open
    assert!(stdout.contains(&format!("Interrupted by SIG{signal}: build {ID} was building")), "{stdout}");
    let output_file = std::fs::read_to_string(started.dir.path().join("outputs")).unwrap();
    let summary = std::fs::read_to_string(started.dir.path().join("summary.md")).unwrap_or_default();
    assert_key_absent(DEFAULT_API_KEY, &stdout, &String::from_utf8_lossy(&output.stderr), &output_file, &summary);
    let outputs = parse_outputs(&output_file);
    let get = |n: &str| outputs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(get("build-id"), Some(ID));
    assert_eq!(get("status"), Some("waiting"));
    assert_eq!(get("provider-status"), Some("building"));
    assert!(get("waited").is_some());
}

#[test]
fn sigint_exits_130() {
    interrupt("INT", 130, false);
}

#[test]
fn sigterm_exits_143() {
    interrupt("TERM", 143, false);
}

#[test]
fn sighup_exits_129() {
    interrupt("HUP", 129, false);
}

#[test]
fn as_pid_one_every_signal_still_stops_the_gate() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        interrupt(signal, code, true);
    }
}
