//! End-to-end: build logs streamed from the fake API's sliding tail — every line once and in
//! order across bursts, phase groups, hostile text, the failure report, caps and failing logs,
//! and how often the log is read.

mod common;

use common::*;

/// The build log lines GitHub shows: what is inside the `::stop-commands::` fences.
fn fenced_lines(stdout: &str) -> Vec<String> {
    let mut token: Option<String> = None;
    let mut lines = Vec::new();
    for line in stdout.split('\n') {
        match &token {
            Some(t) if line == format!("::{t}::") => token = None,
            Some(_) => lines.push(line.to_string()),
            None => token = line.strip_prefix("::stop-commands::").map(str::to_string),
        }
    }
    lines
}

fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    // Repeats are real lines: blank lines and progress dots must survive alignment.
    range
        .map(|i| match i % 7 {
            3 => String::new(),
            5 => ".".to_string(),
            _ => format!("step {i}"),
        })
        .collect()
}

#[test]
fn every_line_is_printed_once_in_order_across_bursts_larger_than_the_window() {
    let all = numbered(0..9_400);
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(900), "success")
        .logs(ms(0), all[..100].to_vec())
        .logs(ms(150), all[100..2_100].to_vec())
        .logs(ms(300), all[2_100..2_400].to_vec())
        .logs(ms(450), all[2_400..9_400].to_vec());
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let printed = fenced_lines(&run.stdout);
    assert_eq!(printed.len(), all.len(), "no line lost or repeated");
    assert!(printed == all, "in order");
    assert!(!run.stdout.contains("may not have been shown"));
    let limits: Vec<String> =
        api.requests().iter().filter(|r| r.path.ends_with("/logs")).map(|r| r.query.clone()).collect();
    assert!(limits.iter().any(|q| q == "limit=2000") && limits.iter().any(|q| q == "limit=8000"), "{limits:?}");
    assert_eq!(run.stdout.matches("::group::").count(), run.stdout.matches("::endgroup::").count());
}

#[test]
fn a_burst_beyond_the_largest_window_is_marked_once_with_the_logs_url() {
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(400), "success")
        .logs_url("https://console.example/logs/1")
        .logs(ms(0), ["first"])
        .logs(ms(150), (0..15_000).map(|i| format!("burst {i}")));
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0);
    let printed = fenced_lines(&run.stdout);
    assert_eq!(printed.first().map(String::as_str), Some("first"));
    assert_eq!(printed.last().map(String::as_str), Some("burst 14999"));
    assert_eq!(printed.len(), 1 + 10_000, "the API can still give the last 10000");
    assert_eq!(run.stdout.matches("may not have been shown").count(), 1);
    assert!(run.stdout.contains("https://console.example/logs/1"));
}

#[test]
fn phases_get_groups_of_their_own_in_both_spellings() {
    let build = PipecatBuild::new(ID).step(ms(0), "building").step(ms(200), "success").logs(
        ms(0),
        [
            "[Container] 2026/03/04 10:00:00 Running on CodeBuild",
            "[Container] 2026/03/04 10:00:00 Entering phase: INSTALL",
            "pip install -r requirements.txt",
            "[Container] 2026/03/04 10:00:05 Entering phase BUILD",
            "docker build .",
        ],
    );
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    let groups: Vec<&str> = run.stdout.lines().filter_map(|l| l.strip_prefix("::group::")).collect();
    assert_eq!(groups, ["Build log", "Build log · INSTALL", "Build log · BUILD"], "{}", run.stdout);
    assert_eq!(run.stdout.matches("::endgroup::").count(), 3);
}

const HOSTILE: &[&str] = HOSTILE_LOG_LINES;

fn hostile_build() -> PipecatBuild {
    PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(200), "success")
        .image_uri("registry/real:1")
        .logs(ms(0), HOSTILE.iter().copied())
        .logs(ms(100), ["after"])
}

#[test]
fn hostile_log_lines_have_no_effect_on_github() {
    let api = FakeApi::start(Scenario::new().pipecat(hostile_build()));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(run.output("image-uri").as_deref(), Some("registry/real:1"));
    assert_eq!(run.output("status").as_deref(), Some("success"));
    for command in command_lines(&run.stdout) {
        let allowed = ["::add-mask::test-key", "::group::Build log", "::endgroup::"];
        assert!(allowed.iter().any(|a| command.starts_with(a)), "a command outside the fence: {command:?}");
    }
    assert!(!run.stdout.contains('\r'));
    assert!(!run.stdout.contains("##["));
    let printed = fenced_lines(&run.stdout);
    assert_eq!(printed.len(), HOSTILE.len() + 1);
    assert_eq!(printed[5], "ab");
    assert_eq!(printed[6], "a::error::after a bare CR", "a CR cannot start a new command line");
}

#[test]
fn hostile_log_lines_cannot_touch_gitlab_sections() {
    let api = FakeApi::start(Scenario::new().pipecat(hostile_build()));
    let run = gate(&api, &[("BUILDGATE_FORMAT", "gitlab")]);
    assert_eq!(run.code, 0);
    // CRs remain only in the gate's own markers (`…\r\e[0K`).
    assert_eq!(run.stdout.matches('\r').count(), 2, "{:?}", run.stdout);
    let markers: Vec<&str> =
        run.stdout.lines().filter(|l| l.contains("section_start:") || l.contains("section_end:")).collect();
    // One group for the whole log: exactly its own start and end marker survive.
    assert_eq!(markers.len(), 2, "{markers:#?}");
    assert!(markers[0].contains("section_start:") && markers[0].contains("[collapsed=true]\r\x1b[0K"));
    assert!(markers[1].contains("section_end:"));
    assert!(run.output_file.contains("BUILDGATE_IMAGE_URI=registry/real:1\n"));
}

#[test]
fn a_failed_build_repeats_the_last_lines_outside_any_group_with_a_hint() {
    let mut lines: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
    lines.push("ERROR: No matching distribution found for pipecat-ai-nope".into());
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(150), "failed")
        .error_message("Docker build failed: pip install returned a non-zero code")
        .logs(ms(0), lines.clone());
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 1);
    let after_error = run.stdout.split("::error title=Build failed::").nth(1).expect("annotation");
    assert!(
        after_error
            .starts_with("Docker build failed: pip install returned a non-zero code\nLast 30 build log lines:\n")
    );
    assert!(!after_error.contains("::group::"), "the tail is outside any group");
    let tail = fenced_lines(after_error);
    assert_eq!(tail, lines[lines.len() - 30..].to_vec());
    assert!(after_error.contains("Hint: a dependency is missing or unavailable: check requirements.txt"));
    assert!(run.summary.contains("```text\nline 71\n"), "{}", run.summary);
    assert!(run.summary.contains("No matching distribution found"));
}

#[test]
fn a_failing_logs_endpoint_never_changes_the_exit_code() {
    for fault in
        [FaultKind::status(500), FaultKind::status(404), FaultKind::body(200, "application/json", "{\"logs\": 7}")]
    {
        let api = FakeApi::start(
            Scenario::new()
                .pipecat(PipecatBuild::new(ID).step(ms(0), "building").step(ms(150), "success").logs(ms(0), ["x"]))
                .fault(Fault::new(Route::Logs, fault).times(1000)),
        );
        let run = gate(&api, &[]);
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert_eq!(run.stdout.matches("cannot read the build logs").count(), 1, "warned once:\n{}", run.stdout);
        assert!(api.requests().iter().filter(|r| r.path.ends_with("/logs")).count() > 1, "logs retried on later ticks");
    }
}

#[test]
fn the_line_cap_stops_streaming_and_says_so() {
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(150), "success")
        .logs(ms(0), (0..200).map(|i| format!("l{i}")));
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[("BUILDGATE_MAX_LOG_LINES", "50")]);
    assert_eq!(run.code, 0);
    assert_eq!(fenced_lines(&run.stdout).len(), 50);
    assert_eq!(run.stdout.matches("the cap set by BUILDGATE_MAX_LOG_LINES").count(), 1);
}

#[test]
fn log_entries_as_objects_are_read_too() {
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(100), "success")
        .log_objects(true)
        .logs(ms(0), ["one", "two"]);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(fenced_lines(&run.stdout), ["one", "two"]);
}

#[test]
fn logs_are_not_read_before_the_build_starts_nor_when_disabled() {
    let build = PipecatBuild::new(ID).step(ms(0), "pending").step(ms(100), "building").step(ms(200), "success");
    let api = FakeApi::start(Scenario::new().pipecat(build.clone()));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0);
    let requests = api.requests();
    let first_logs = requests.iter().position(|r| r.path.ends_with("/logs")).expect("logs read");
    assert!(requests[first_logs].at >= ms(100), "not while pending");
    assert!(requests.last().unwrap().path.ends_with("/logs"), "one final read after the terminal status");
    let api = FakeApi::start(Scenario::new().pipecat(build));
    gate(&api, &[("BUILDGATE_LOGS", "false")]);
    assert!(api.requests().iter().all(|r| !r.path.ends_with("/logs")));
}

#[test]
fn each_kind_of_logs_failure_warns_once_and_the_recovery_is_said() {
    let build = PipecatBuild::new(ID).step(ms(0), "building").step(ms(800), "success").logs(ms(0), ["x"]);
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(build)
            .fault(Fault::new(Route::Logs, FaultKind::status(503)).times(2))
            .fault(Fault::new(Route::Logs, FaultKind::Delay(ms(0))))
            .fault(Fault::new(Route::Logs, FaultKind::status(500)).times(2))
            .fault(Fault::new(Route::Logs, FaultKind::Delay(ms(0))))
            .fault(Fault::new(Route::Logs, FaultKind::body(200, "application/json", "{\"logs\": 7}")).times(2)),
    );
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0);
    // Two outages of the same kind (server errors) warn once; an unreadable answer is another kind.
    assert_eq!(run.stdout.matches("cannot read the build logs").count(), 2, "{}", run.stdout);
    assert_eq!(run.stdout.matches("The build logs can be read again").count(), 2, "{}", run.stdout);
}

fn reads(api: &FakeApi, route: Route) -> usize {
    api.requests().iter().filter(|r| r.route() == Some(route)).count()
}

/// Runs the gate with `interval` on a build writing one line every 20 ms for 800 ms and ending
/// at 900 ms; checks it printed every line once, in order, and returns the API it read.
fn trickle_with_log_interval(interval: &str, max_interval: &str) -> FakeApi {
    let all = numbered(0..40);
    let build = PipecatBuild::new(ID).step(ms(0), "building").step(ms(900), "success");
    let build = all.iter().enumerate().fold(build, |b, (i, line)| b.logs(ms(20 * i as u64), [line.clone()]));
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[("BUILDGATE_LOG_INTERVAL", interval), ("BUILDGATE_POLL_MAX_INTERVAL", max_interval)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(fenced_lines(&run.stdout) == all, "every line once, in order: {}", run.stdout);
    api
}

#[test]
fn a_line_waits_at_most_the_longest_poll_interval_to_be_read() {
    // A trickle over 900 ms, a 1 m log interval, polls backing off to 40 ms: the log is read about
    // every 32-40 ms (not once at the start and once at the end), and without phase lines the
    // status keeps the plain backoff beside it.
    let api = trickle_with_log_interval("1m", "40ms");
    let logs = reads(&api, Route::Logs);
    assert!((12..=40).contains(&logs), "{logs} log reads");
    let polls = reads(&api, Route::GetBuild);
    assert!(polls >= 10, "while the status was polled {polls} times");
}

#[test]
fn the_log_interval_bounds_the_wait_between_reads_when_it_is_shorter() {
    let api = trickle_with_log_interval("250ms", "1s");
    // The first read, three or so 200-250 ms apart, the last: not one every second poll interval.
    let logs = reads(&api, Route::Logs);
    assert!((3..=8).contains(&logs), "{logs} log reads");
}

#[test]
fn a_fast_log_is_read_on_every_poll_so_none_of_it_is_lost() {
    // 1000 lines every 30 ms: 15000 in 450 ms, more than the largest window (10000), so reads
    // at the start and the end alone would lose lines; the flow's rate makes every poll read.
    let all: Vec<String> = (0..15_000).map(|i| format!("layer {i:05}")).collect();
    let build = PipecatBuild::new(ID).step(ms(0), "building").step(ms(600), "success");
    let build = all.chunks(1000).enumerate().fold(build, |b, (k, chunk)| b.logs(ms(30 * k as u64), chunk.to_vec()));
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[("BUILDGATE_LOG_INTERVAL", "1m")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let printed = fenced_lines(&run.stdout);
    assert_eq!(printed.len(), all.len());
    assert!(printed == all, "every line once, in order");
    assert!(!run.stdout.contains("may not have been shown"));
    let logs = reads(&api, Route::Logs);
    assert!(logs >= 8, "{logs} log reads");
}
