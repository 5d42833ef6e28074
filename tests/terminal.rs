//! End to end at a terminal: the binary under a pseudo-terminal (util-linux `script`) gets one
//! live status line redrawn in place under the scrolling log; with `TERM=dumb`, in a CI, or when
//! piped, not a byte of it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Control sequences indicatif redraws its line with: clearing the line, and the cursor moving up.
const REDRAW: [&str; 2] = ["\x1b[2K", "\x1b[1A"];

/// `script`, when this machine has it (it ships with util-linux).
fn script() -> Option<&'static str> {
    let found = Command::new("script").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if found.is_ok_and(|s| s.success()) {
        Some("script")
    } else {
        eprintln!("terminal tests SKIPPED: no `script` (util-linux) to make a pseudo-terminal");
        None
    }
}

fn slow_build() -> Scenario {
    let build = PipecatBuild::new(ID).step(ms(0), "building").step(ms(1_500), "success").image_uri("registry/app:1");
    let build = (0..30).fold(build, |b, i| b.log(ms(40 * i), &format!("step {i:02} of the build")));
    Scenario::new().pipecat(build)
}

/// The gate under a pseudo-terminal: everything the terminal received.
fn at_terminal(api: &FakeApi, extra: &[(&str, &str)]) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("buildgate");
    let url = api.pipecat_url();
    let mut cmd = Command::new(script().expect("checked"));
    cmd.args(["-q", "-e", "-c", &bin.display().to_string(), "/dev/null"]).env_clear();
    for (name, value) in [
        ("PATH", "/usr/bin:/bin"),
        ("TERM", "xterm-256color"),
        ("BUILDGATE_BUILD_ID", ID),
        ("BUILDGATE_API_URL", url.as_str()),
        ("BUILDGATE_API_KEY", DEFAULT_API_KEY),
        ("BUILDGATE_POLL_INTERVAL", "20ms"),
        ("BUILDGATE_POLL_MAX_INTERVAL", "100ms"),
        ("BUILDGATE_TIMEOUT", "20s"),
    ]
    .iter()
    .chain(extra)
    {
        cmd.env(name, value);
    }
    let started = Instant::now();
    let out = cmd.stdin(Stdio::null()).output().expect("script runs");
    assert!(started.elapsed() < Duration::from_secs(20), "bounded");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_terminal_gets_one_live_line_under_the_scrolling_log() {
    if script().is_none() {
        return;
    }
    let api = FakeApi::start(slow_build());
    let (code, screen) = at_terminal(&api, &[]);
    assert_eq!(code, 0, "{screen}");
    assert!(REDRAW.iter().any(|seq| screen.contains(seq)), "the line is redrawn in place: {screen:?}");
    assert!(screen.contains("building · ") && screen.contains(" log lines"), "status and lines streamed: {screen:?}");
    for i in 0..30 {
        assert!(screen.contains(&format!("step {i:02} of the build")), "every log line scrolls above it");
    }
    // The line is gone before the result and the outputs, which end the screen as in a pipe.
    let result = screen.rfind("succeeded").expect("the result line");
    assert!(!REDRAW.iter().any(|seq| screen[result..].contains(seq)), "nothing redrawn after the result");
    assert!(screen.contains("image-uri=registry/app:1"));
}

#[test]
fn no_color_keeps_the_live_line_but_drops_its_colours() {
    if script().is_none() {
        return;
    }
    let api = FakeApi::start(slow_build());
    let (code, screen) = at_terminal(&api, &[("NO_COLOR", "1")]);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains(" log lines"), "{screen:?}");
    assert!(!screen.contains("\x1b[36m") && !screen.contains("\x1b[2m"), "no colour at all: {screen:?}");
}

#[test]
fn a_dumb_terminal_or_a_ci_gets_plain_lines_only() {
    if script().is_none() {
        return;
    }
    for extra in [[("TERM", "dumb")], [("CI", "true")]] {
        let api = FakeApi::start(slow_build());
        let (code, screen) = at_terminal(&api, &extra);
        assert_eq!(code, 0, "{screen}");
        assert!(!REDRAW.iter().any(|seq| screen.contains(seq)), "{extra:?}: {screen:?}");
        assert!(!screen.contains(" log lines"), "{extra:?}: {screen:?}");
        assert!(screen.contains("step 29 of the build"));
    }
}
