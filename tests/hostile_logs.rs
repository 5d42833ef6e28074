//! End-to-end: the log stream against logs endpoints that misbehave the way real services do
//! (issue 11, one section per observed class): short windows, a bad entry, long lines, a log
//! that starts over, an ignored `limit`, a growing last line, long-line volume, `Retry-After`,
//! a hanging endpoint, and escapes in log text. Each test checks the contract's promise: every
//! line printed once, in order, or one marker line (with the logs URL) where lines may be
//! missing or shown twice.

mod common;

use std::time::Instant;

use common::*;

const LOGS_URL: &str = "https://console.example/logs/hostile";

/// What the GitHub format printed of the log, in order: log lines (inside the
/// `::stop-commands::` fences) and the marker warnings between them.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Line(String),
    Marker(String),
}

fn is_marker(text: &str) -> bool {
    ["may not have been shown", "started over", "still being written"].iter().any(|m| text.contains(m))
}

fn events(stdout: &str) -> Vec<Event> {
    let mut token: Option<String> = None;
    let mut out = Vec::new();
    for line in stdout.split('\n') {
        match &token {
            Some(t) if line == format!("::{t}::") => token = None,
            Some(_) => out.push(Event::Line(line.to_string())),
            None => {
                if let Some(t) = line.strip_prefix("::stop-commands::") {
                    token = Some(t.to_string());
                } else if let Some(w) = line.strip_prefix("::warning::")
                    && is_marker(w)
                {
                    out.push(Event::Marker(w.to_string()));
                }
            }
        }
    }
    out
}

fn printed_lines(stdout: &str) -> Vec<String> {
    events(stdout)
        .into_iter()
        .filter_map(|e| match e {
            Event::Line(l) => Some(l),
            Event::Marker(_) => None,
        })
        .collect()
}

fn markers(stdout: &str) -> Vec<String> {
    events(stdout)
        .into_iter()
        .filter_map(|e| match e {
            Event::Marker(m) => Some(m),
            Event::Line(_) => None,
        })
        .collect()
}

/// What [`check_stream`] found.
#[derive(Debug, Default)]
struct Stream {
    printed: usize,
    markers: usize,
    /// Lines of the log never printed (each inside a stretch a marker covers).
    missing: usize,
    /// Lines printed again (each after a marker).
    repeated: usize,
}

/// The contract's promise against the true log `all` (its lines distinct): every printed line
/// is a line of the log; two lines printed with no marker between them are consecutive in the
/// log; a line never printed lies in a stretch a marker covers, the log's last line included.
fn check_stream(all: &[String], stdout: &str) -> Stream {
    let index: std::collections::HashMap<&str, usize> = all.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    assert_eq!(index.len(), all.len(), "the test log's lines must be distinct");
    let mut seen = vec![false; all.len()];
    let mut s = Stream::default();
    let (mut prev, mut marked): (Option<usize>, bool) = (None, false);
    for event in events(stdout) {
        match event {
            Event::Marker(m) => {
                assert!(m.contains(LOGS_URL), "a marker without the logs URL: {m}");
                s.markers += 1;
                marked = true;
            }
            Event::Line(line) => {
                let Some(&i) = index.get(line.as_str()) else {
                    panic!("printed a line that is not in the log: {:?}", cut_for_message(&line))
                };
                let expected = prev.map_or(0, |p| p + 1);
                assert!(
                    i == expected || marked,
                    "line {i} printed after line {prev:?} with no marker between (expected {expected})"
                );
                if seen[i] {
                    s.repeated += 1;
                }
                seen[i] = true;
                s.printed += 1;
                prev = Some(i);
                marked = false;
            }
        }
    }
    assert!(
        prev == Some(all.len() - 1) || marked,
        "the log ends at line {} but the stream at {prev:?}, with no marker after it",
        all.len() - 1
    );
    s.missing = seen.iter().filter(|s| !**s).count();
    eprintln!("{s:?}");
    s
}

fn cut_for_message(line: &str) -> String {
    line.chars().take(120).collect()
}

fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix} {i:05}")).collect()
}

/// A running build with `lines` visible in the given bursts (`(at ms, count)`), succeeding at
/// `done` ms.
fn bursts(lines: &[String], at: &[(u64, usize)], done: u64) -> PipecatBuild {
    let mut build = PipecatBuild::new(ID).step(ms(0), "building").step(ms(done), "success").logs_url(LOGS_URL);
    let mut next = 0;
    for &(when, count) in at {
        build = build.logs(ms(when), lines[next..next + count].to_vec());
        next += count;
    }
    assert_eq!(next, lines.len(), "the bursts cover the log");
    build
}

fn log_reads(api: &FakeApi) -> Vec<fake_api::RecordedRequest> {
    api.requests().into_iter().filter(|r| r.route() == Some(Route::Logs)).collect()
}

/// The log reads made, for messages: when, and the limit asked.
fn trace(api: &FakeApi) -> String {
    api.requests()
        .iter()
        .filter(|r| r.route() == Some(Route::Logs))
        .map(|r| format!("{:?} {}", r.at, r.query))
        .collect::<Vec<_>>()
        .join(", ")
}

fn count(stdout: &str, needle: &str) -> usize {
    stdout.matches(needle).count()
}

// 1. Short windows: an endpoint that caps every answer.

#[test]
fn a_capped_endpoint_loses_no_line_while_each_burst_fits_its_cap() {
    let all = numbered("capped", 0..3_400);
    // Bursts far apart, so that a read falls between any two even on a loaded machine.
    let build = bursts(&all, &[(0, 200), (500, 800), (1000, 800), (1500, 800), (2000, 800)], 2_400).logs_cap(1000);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = check_stream(&all, &run.stdout);
    assert_eq!((s.missing, s.repeated), (0, 0), "{s:?}");
    assert_eq!(s.printed, all.len());
}

#[test]
fn a_cap_below_the_usual_window_is_not_taken_for_the_whole_log() {
    // Every answer at most 300 lines, though 500 are asked for: a short answer is the whole
    // log only when it agrees with what was printed.
    let all = numbered("short", 0..3_400);
    let at: Vec<(u64, usize)> = (0..17).map(|k| (250 * k, 200)).collect();
    let build = bursts(&all, &at, 4_400).logs_cap(300);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = check_stream(&all, &run.stdout);
    assert_eq!((s.missing, s.repeated), (0, 0), "{s:?} {}", trace(&api));
    assert_eq!(s.printed, all.len());
}

#[test]
fn a_capped_endpoint_that_hides_part_of_a_burst_marks_the_gap_with_the_logs_url() {
    // 3300 new lines between two reads, and never more than 1000 in an answer: the first
    // 2300 of them cannot be read. Issue 11 saw 1000 of 3400 printed, exit 0, no marker.
    let all = numbered("capped", 0..3_400);
    // The second burst comes well after the first read, whatever the machine's load.
    let build = bursts(&all, &[(0, 100), (600, 3_300)], 1_000).logs_cap(1000);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = check_stream(&all, &run.stdout);
    assert!(s.markers >= 1, "{s:?}");
    assert!(s.missing > 0 && s.missing <= 2_300, "at most what the cap hides: {s:?}");
    assert_eq!(s.repeated, 0, "{s:?}");
    assert_eq!(count(&run.stdout, "may not have been shown"), 1, "one marker for the one gap");
}

// 2. One bad entry: decoded on its own, never the window.

/// A 3000-line log whose line 100 is `bad` (raw JSON), the rest arriving in a burst after it.
fn log_with_bad_entry(bad: Vec<u8>) -> (Vec<String>, PipecatBuild) {
    let all = numbered("entry", 0..3_000);
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(600), "success")
        .logs_url(LOGS_URL)
        .logs(ms(0), all[..100].to_vec())
        .raw_log(ms(0), bad)
        .logs(ms(150), all[101..].to_vec());
    (all, build)
}

fn assert_bad_entry_printed_as(raw: &[u8], shown: &str) {
    let (mut all, build) = log_with_bad_entry(raw.to_vec());
    all[100] = shown.to_string();
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let printed = printed_lines(&run.stdout);
    assert_eq!(printed.len(), all.len(), "{} {}", markers(&run.stdout).join("\n"), trace(&api));
    assert!(printed == all, "every line once, in order, the bad one as {shown:?}");
    assert!(count(&run.stdout, "cannot read the build logs") <= 1, "{}", run.stdout);
    assert!(markers(&run.stdout).is_empty(), "{:?}", markers(&run.stdout));
}

#[test]
fn a_lone_surrogate_escape_in_one_entry_becomes_a_replacement_character_and_changes_nothing_else() {
    assert_bad_entry_printed_as(br#""bad \udcff entry""#, "bad \u{FFFD} entry");
}

#[test]
fn an_invalid_byte_in_one_entry_becomes_a_replacement_character_and_changes_nothing_else() {
    assert_bad_entry_printed_as(b"\"bad \xff byte\"", "bad \u{FFFD} byte");
}

#[test]
fn an_entry_over_64_kib_is_cut_there_with_a_marker_saying_how_many_bytes_were_cut() {
    let long = format!("long {}", "x".repeat(300 * 1024));
    let shown = format!(
        "{} [buildgate: line cut at 64 KiB, {} more bytes not shown]",
        &long[..64 * 1024],
        long.len() - 64 * 1024
    );
    assert_bad_entry_printed_as(serde_json::to_string(&long).unwrap().as_bytes(), &shown);
}

#[test]
fn an_entry_over_the_body_cap_costs_only_itself_and_is_marked_with_the_logs_url() {
    // 9 MiB: no answer holding it can be read (the 8 MiB cap), so the lines after it can be
    // read only in windows that stop short of it.
    let all = numbered("entry", 0..3_000);
    let huge = format!("\"huge {}\"", "y".repeat(9 * 1024 * 1024));
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(900), "success")
        .logs_url(LOGS_URL)
        .logs(ms(0), all[..100].to_vec())
        .raw_log(ms(150), huge)
        .logs(ms(300), all[101..].to_vec());
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = check_stream(&all, &run.stdout);
    assert_eq!(
        (s.missing, s.repeated),
        (1, 0),
        "only the huge entry is not shown: {s:?} {:?} {}",
        markers(&run.stdout),
        trace(&api)
    );
    assert!(s.markers >= 1, "{s:?}");
    assert!(count(&run.stdout, "cannot read the build logs") <= 1, "{}", run.stdout);
}

// 3. Long lines and a burst: windows sized in bytes, under the 8 MiB body cap. Reading
// megabytes is slow in a debug build: the timelines leave each read time to finish.

/// 4.5 KB lines, distinct.
fn wide(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("wide {i:05} {}", "w".repeat(4_500 - 11))).collect()
}

/// Every logs request asked for a window whose answer the body cap holds.
fn assert_windows_under_the_body_cap(api: &FakeApi, line_bytes: usize) {
    for r in log_reads(api) {
        let limit: usize = r.query.strip_prefix("limit=").and_then(|n| n.parse().ok()).expect("a limit");
        assert!(limit * line_bytes < 8 * 1024 * 1024, "limit {limit} asks for more than the body cap holds");
    }
}

#[test]
fn long_lines_and_a_burst_within_the_byte_budget_are_printed_once_each() {
    // 1000 printed, then 1000 more at once: 2000 lines of 4.5 KB would be over the body cap,
    // so the re-read is sized in bytes.
    let all = wide(0..2_000);
    let build = bursts(&all, &[(0, 1_000), (2_000, 1_000)], 5_000);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = check_stream(&all, &run.stdout);
    assert_eq!((s.missing, s.repeated, s.markers), (0, 0, 0), "{s:?} {:?} {}", markers(&run.stdout), trace(&api));
    assert_eq!(count(&run.stdout, "cannot read the build logs"), 0, "no answer over the body cap");
    assert_windows_under_the_body_cap(&api, 4_500);
}

#[test]
fn long_lines_and_a_burst_past_the_byte_budget_lose_only_what_no_window_holds_and_say_so() {
    // Issue 11's numbers: 1000 printed, then 1400 at once. A grown window stays under 6 MiB
    // (README, "Log alignment"): 1393 lines of 4.5 KB, so a few of the 1400 cannot be read;
    // issue 11 saw the limits cycle 500, 2000, 500, ... and 1000 of 2700 lines printed.
    let all = wide(0..2_400);
    let build = bursts(&all, &[(0, 1_000), (2_000, 1_400)], 6_000);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = check_stream(&all, &run.stdout);
    assert_eq!(s.repeated, 0, "{s:?}");
    assert!(s.missing <= 20, "only the lines past the largest window: {s:?} {}", trace(&api));
    assert_eq!(count(&run.stdout, "may not have been shown"), usize::from(s.missing > 0), "{:?}", markers(&run.stdout));
    assert_eq!(count(&run.stdout, "cannot read the build logs"), 0, "no answer over the body cap");
    assert_windows_under_the_body_cap(&api, 4_500);
}

#[test]
fn a_long_line_log_met_at_once_is_read_in_a_window_the_body_cap_holds() {
    // 2000 lines of 4.5 KB already written at the first read: the window in hand (500 lines)
    // sizes the larger re-read, which must not ask for 2000 (9 MB, over the cap).
    let all = wide(0..2_000);
    let build = bursts(&all, &[(0, 2_000)], 3_000);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(count(&run.stdout, "cannot read the build logs"), 0, "no answer over the body cap: {}", trace(&api));
    assert_windows_under_the_body_cap(&api, 4_500);
    let s = check_stream(&all, &run.stdout);
    assert!(s.printed >= 1_300 && s.repeated == 0, "the largest window the cap allows: {s:?}");
    assert_eq!(count(&run.stdout, "may not have been shown"), 1, "{:?}", markers(&run.stdout));
}

// 4. The log starts over.

#[test]
fn a_log_that_starts_over_is_streamed_again_after_a_started_over_marker() {
    let first = numbered("first", 0..300);
    let second = numbered("second", 0..200);
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(700), "success")
        .logs_url(LOGS_URL)
        .logs(ms(0), first.clone())
        .log_restart(ms(300))
        .logs(ms(300), second[..100].to_vec())
        .logs(ms(450), second[100..].to_vec());
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let all: Vec<String> = first.iter().chain(&second).cloned().collect();
    let s = check_stream(&all, &run.stdout);
    assert_eq!((s.missing, s.repeated), (0, 0), "{s:?}");
    let ev = events(&run.stdout);
    let last_first = ev.iter().position(|e| *e == Event::Line(first[299].clone())).unwrap();
    let first_second = ev.iter().position(|e| *e == Event::Line(second[0].clone())).unwrap();
    let between: Vec<&Event> = ev[last_first + 1..first_second].iter().collect();
    assert!(
        matches!(between.as_slice(), [Event::Marker(m)] if m.contains("started over")),
        "one started-over marker between the attempts: {between:?}"
    );
    assert_eq!(markers(&run.stdout).len(), 1);
}

#[test]
fn a_log_that_starts_over_longer_than_before_keeps_every_line_of_the_new_attempt() {
    let first = numbered("first", 0..300);
    let second = numbered("second", 0..1_500);
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(600), "success")
        .logs_url(LOGS_URL)
        .logs(ms(0), first.clone())
        .log_restart(ms(300))
        .logs(ms(300), second.clone());
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ev = events(&run.stdout);
    let last_first = ev.iter().position(|e| *e == Event::Line(first[299].clone())).expect("first attempt");
    let rest: Vec<String> = ev[last_first + 1..]
        .iter()
        .filter_map(|e| match e {
            Event::Line(l) => Some(l.clone()),
            Event::Marker(_) => None,
        })
        .collect();
    assert!(rest == second, "the new attempt, every line once, in order");
    assert!(
        matches!(&ev[last_first + 1], Event::Marker(m) if m.contains(LOGS_URL)),
        "a marker first: {:?}",
        ev[last_first + 1]
    );
    assert_eq!(markers(&run.stdout).len(), 1);
}

// 5. An endpoint that ignores `limit`.

#[test]
fn an_endpoint_that_ignores_limit_prints_a_log_past_ten_thousand_lines_once() {
    // Issue 11 saw 76,300 repeated lines for this 11,000-line log.
    let all = numbered("whole", 0..11_000);
    let at = [(0, 1_000), (100, 2_000), (200, 2_000), (300, 2_000), (400, 2_000), (500, 2_000)];
    let build = bursts(&all, &at, 800).logs_ignore_limit(true);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = check_stream(&all, &run.stdout);
    assert_eq!((s.missing, s.repeated, s.markers), (0, 0, 0), "{s:?}");
    assert_eq!(s.printed, all.len());
}

// 6. The newest entry grows between reads.

#[test]
fn a_line_still_being_written_is_shown_again_only_when_it_changed_one_marker_each_time() {
    let before = numbered("before", 0..50);
    let after = numbered("after", 0..20);
    let steps: Vec<(u64, String)> = (1..=10)
        .map(|k| {
            (50 * k, format!("Downloading{}", (1..=k).map(|p| format!(" {}%", p * 10)).collect::<Vec<_>>().concat()))
        })
        .collect();
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(900), "success")
        .logs_url(LOGS_URL)
        .logs(ms(0), before.clone())
        .growing_line(steps.iter().map(|(at, t)| (ms(*at), t.clone())))
        .logs(ms(650), after.clone());
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let printed = printed_lines(&run.stdout);
    let versions: Vec<&String> = printed.iter().filter(|l| l.starts_with("Downloading")).collect();
    let others: Vec<String> = printed.iter().filter(|l| !l.starts_with("Downloading")).cloned().collect();
    let expected: Vec<String> = before.iter().chain(&after).cloned().collect();
    assert!(others == expected, "every other line once, in order");
    assert!(printed.len() <= before.len() + after.len() + steps.len(), "no mass repetition: {}", printed.len());
    let texts: Vec<&String> = steps.iter().map(|(_, t)| t).collect();
    let mut last = None;
    for v in &versions {
        let k = texts.iter().position(|t| t == v).unwrap_or_else(|| panic!("not a real version: {v}"));
        assert!(last.is_none_or(|l| k > l), "each version shown is newer than the one before");
        last = Some(k);
    }
    assert_eq!(versions.last().map(|v| v.as_str()), Some(texts[9].as_str()), "the finished line is shown");
    // Each copy after the first stands after one marker saying the line changed.
    let changed = count(&run.stdout, "still being written");
    assert_eq!(changed, versions.len() - 1, "{:?}", markers(&run.stdout));
    assert_eq!(count(&run.stdout, "may not have been shown"), 0, "{:?}", markers(&run.stdout));
    let ev = events(&run.stdout);
    for (i, e) in ev.iter().enumerate() {
        if let Event::Line(l) = e
            && l.starts_with("Downloading")
            && versions.first().is_some_and(|f| *f != l)
        {
            assert!(matches!(&ev[i - 1], Event::Marker(m) if m.contains("still being written")), "{:?}", ev[i - 1]);
        }
    }
}

// 7. Memory: the benchmarks measure it; here, long lines still stream exactly.

#[test]
fn ten_kilobyte_lines_stream_exactly() {
    // 5 MB of 10 KB lines, written about as fast as a debug build of the gate reads them.
    let all: Vec<String> = (0..500).map(|i| format!("ten-k {i:05} {}", "k".repeat(10 * 1024 - 12))).collect();
    let at: Vec<(u64, usize)> = (0..25).map(|k| (150 * k, 20)).collect();
    let build = bursts(&all, &at, 5_000);
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = check_stream(&all, &run.stdout);
    assert_eq!((s.missing, s.repeated, s.markers), (0, 0, 0), "{s:?} {:?} {}", markers(&run.stdout), trace(&api));
    assert_eq!(count(&run.stdout, "cannot read the build logs"), 0);
    assert_windows_under_the_body_cap(&api, 10 * 1024);
}

// 8. `Retry-After` on the logs endpoint.

#[test]
fn retry_after_on_the_logs_endpoint_holds_off_every_log_read_within_the_wait() {
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(1_500), "success")
        .logs_url(LOGS_URL)
        .logs(ms(0), numbered("polite", 0..20));
    let api = FakeApi::start(
        Scenario::new().pipecat(build).fault(Fault::new(Route::Logs, FaultKind::retry_after(429, "60"))),
    );
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reads = log_reads(&api);
    assert_eq!(
        reads.len(),
        1,
        "no log read within the 60 s asked for: {:?}",
        reads.iter().map(|r| r.at).collect::<Vec<_>>()
    );
    assert!(api.count(Route::GetBuild) >= 10, "the status is still polled");
    assert_eq!(count(&run.stdout, "cannot read the build logs"), 1);
    assert!(run.stdout.contains("the final read of the log did not complete"), "{}", run.stdout);
}

/// 2000 lines at once, so the first read (500) does not tell where it belongs and the gate
/// reads a larger window: that re-read, the second log request, meets `fault`.
fn a_burst_whose_re_read_meets(prefix: &str, fault: FaultKind) -> (Vec<String>, FakeApi) {
    let all = numbered(prefix, 0..2_000);
    let build = bursts(&all, &[(0, 2_000)], 1_200);
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(build)
            .fault(Fault::new(Route::Logs, FaultKind::Delay(ms(0))))
            .fault(Fault::new(Route::Logs, fault)),
    );
    (all, api)
}

#[test]
fn a_larger_re_read_that_fails_once_is_made_again_and_loses_no_line() {
    // 2000 lines at once: the first read (500) does not tell where it belongs; the larger
    // re-read meets a 502, and the window in hand waits for the next read instead of being
    // printed with the lines before it marked as missing.
    let (all, api) = a_burst_whose_re_read_meets("retried", FaultKind::status(502));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let s = check_stream(&all, &run.stdout);
    assert_eq!((s.printed, s.missing, s.repeated, s.markers), (2_000, 0, 0, 0), "{s:?}\n{}", trace(&api));
    assert_eq!(count(&run.stdout, "cannot read the build logs"), 1);
}

#[test]
fn retry_after_on_a_larger_re_read_holds_off_the_log_too() {
    // 2000 lines at once: the first read (500) does not tell where it belongs, so the gate
    // reads a larger window; that read is the one refused.
    let (all, api) = a_burst_whose_re_read_meets("polite", FaultKind::retry_after(429, "60"));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reads = log_reads(&api);
    assert_eq!(
        reads.len(),
        2,
        "no log read within the 60 s asked for: {:?}",
        reads.iter().map(|r| (r.at, r.query.clone())).collect::<Vec<_>>()
    );
    // The window in hand is printed, the lines before it marked; the log was never read again.
    let s = check_stream(&all, &run.stdout);
    assert!(s.printed >= 500 && s.markers >= 1, "{s:?}");
    assert!(!run.stdout.contains("can be read again"), "{}", run.stdout);
}

// 9. A hanging logs endpoint does not delay the verdict.

fn assert_verdict_not_held_up_by(kind: FaultKind) {
    let build =
        PipecatBuild::new(ID).step(ms(0), "building").step(ms(1_000), "success").logs(ms(0), numbered("slow", 0..20));
    let api = FakeApi::start(Scenario::new().pipecat(build).fault(Fault::new(Route::Logs, kind).times(1_000)));
    let started = Instant::now();
    let run = gate(&api, &[("BUILDGATE_REQUEST_TIMEOUT", "5s")]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(statuses(&run.stdout).last().map(String::as_str), Some("success"));
    assert!(took < ms(4_000), "the verdict waited on the logs read: {took:?}");
    // The status was polled all along, not once per log request timeout.
    assert!(api.count(Route::GetBuild) >= 10, "{} status polls", api.count(Route::GetBuild));
    assert!(run.stdout.contains("may not have been shown"), "the unread end is said:\n{}", run.stdout);
}

#[test]
fn a_hanging_logs_endpoint_does_not_delay_the_verdict() {
    assert_verdict_not_held_up_by(FaultKind::Hang);
}

#[test]
fn a_trickling_logs_endpoint_does_not_delay_the_verdict() {
    assert_verdict_not_held_up_by(FaultKind::Trickle { every: ms(300), bytes: 1 });
}

// 10. Escapes in log text, in every format.

/// The escape lines of [`HOSTILE_LOG_LINES`] and how each must read once inert.
const ESCAPE_LINES: &[(&str, &str)] = &[
    ("pip: error \x1b[31", "pip: error "),
    ("lone escape \x1b", "lone escape "),
    ("black on black \x1b[30;40m", "black on black "),
    ("concealed \x1b[8m", "concealed "),
];

/// Every ESC in `stdout` starts a complete SGR (`ESC [ digits ; : m`), except the `ESC [0K`
/// of GitLab's own section markers; every line that sets a style ends with a reset.
fn assert_inert(stdout: &str) {
    for line in stdout.split('\n') {
        let own_marker = (line.starts_with("\x1b[0Ksection_start:") || line.starts_with("\x1b[0Ksection_end:"))
            && line.contains(":buildgate_");
        let mut rest = line;
        let mut last_sgr: Option<&str> = None;
        while let Some(at) = rest.find('\x1b') {
            let seq = &rest[at..];
            let params_end = seq[1..]
                .strip_prefix('[')
                .map(|p| p.bytes().take_while(|b| b.is_ascii_digit() || *b == b';' || *b == b':').count());
            let Some(n) = params_end else { panic!("an ESC that starts no CSI in {line:?}") };
            let end = 2 + n;
            match seq.as_bytes().get(end) {
                Some(b'm') => last_sgr = Some(&seq[..=end]),
                Some(b'K') if own_marker && &seq[..=end] == "\x1b[0K" => {}
                _ => panic!("an escape other than a complete SGR in {line:?}"),
            }
            rest = &seq[end + 1..];
        }
        if let Some(sgr) = last_sgr {
            assert!(sgr == "\x1b[0m" || sgr == "\x1b[m", "the line ends styled ({sgr:?}): {line:?}");
        }
    }
}

fn assert_escapes_inert_in(format: &str) {
    let mut lines: Vec<&str> = HOSTILE_LOG_LINES.to_vec();
    for (raw, _) in ESCAPE_LINES {
        assert!(HOSTILE_LOG_LINES.contains(raw), "{raw:?} is one of HOSTILE_LOG_LINES");
    }
    // The escape lines last: on a failed build the gate's own error line comes right after.
    lines.retain(|l| !ESCAPE_LINES.iter().any(|(raw, _)| raw == l));
    lines.extend(ESCAPE_LINES.iter().map(|(raw, _)| *raw));
    let build = PipecatBuild::new(ID)
        .step(ms(0), "building")
        .step(ms(200), "failed")
        .error_message("Docker build failed")
        .logs(ms(0), lines.clone());
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = gate(&api, &[("BUILDGATE_FORMAT", format)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_inert(&run.stdout);
    let shown: Vec<String> =
        run.stdout.split('\n').map(|l| uncolored(l).trim_start_matches("  | ").to_string()).collect();
    for (raw, inert) in ESCAPE_LINES {
        // Printed in the log group, and again in the failure's last lines.
        let copies = shown.iter().filter(|l| l.as_str() == *inert).count();
        assert_eq!(copies, 2, "{raw:?} shown as its own line {inert:?}:\n{}", run.stdout);
    }
    // A log line that sets a style ends with a reset.
    for line in run.stdout.split('\n') {
        let text = uncolored(line);
        let text = text.trim_start_matches("  | ");
        if line.contains('\x1b') && lines.iter().any(|l| uncolored(l) == text) {
            assert!(line.ends_with("\x1b[0m"), "{line:?}");
        }
    }
    // What follows the last log line is a line of the gate's own, not glued onto it: the
    // fence's or section's end, or the status line.
    let last = shown.iter().position(|l| l.as_str() == ESCAPE_LINES[3].1).expect("the last log line");
    let next = &shown[last + 1];
    assert!(
        next.starts_with("::")
            || (next.contains("section_end:") && next.contains(":buildgate_"))
            || next.starts_with('['),
        "after the log: {next:?}\n{}",
        run.stdout
    );
    assert!(
        shown.iter().any(|l| l.starts_with("::error title=Build failed::") || l.starts_with("error: Build failed")),
        "{}",
        run.stdout
    );
}

#[test]
fn escapes_in_log_text_stay_inert_and_on_their_own_line_on_github() {
    assert_escapes_inert_in("github");
}

#[test]
fn escapes_in_log_text_stay_inert_and_on_their_own_line_on_gitlab() {
    assert_escapes_inert_in("gitlab");
}

#[test]
fn escapes_in_log_text_stay_inert_and_on_their_own_line_in_plain_text() {
    assert_escapes_inert_in("plain");
}
