//! The planner's decisions, pinned in virtual time: no clock, no I/O.

use super::*;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn settings(logs: bool) -> Settings {
    Settings {
        first_interval: ms(2_000),
        max_interval: ms(10_000),
        deadline: ms(600_000),
        request_timeout: ms(30_000),
        log_interval: logs.then_some(ms(60_000)),
        seed: 7,
    }
}

#[test]
fn the_first_status_read_is_at_once_and_bounded_by_the_deadline() {
    let mut p = Planner::new(settings(true));
    let a = p.next(ms(0));
    assert_eq!(a.read_status, Some(ms(600_000)));
    assert_eq!(a.read_logs, None, "nothing to read before the build runs");
    assert_eq!(p.next(ms(1)), Actions { wake_at: Some(ms(600_000)), ..Actions::default() }, "one read at a time");
}

#[test]
fn polls_back_off_with_jitter_and_start_over_when_the_build_changes() {
    let mut p = Planner::new(settings(false));
    let mut now = ms(0);
    let mut delays = Vec::new();
    for _ in 0..6 {
        assert!(p.next(now).read_status.is_some());
        p.status_answered(now, Seen::Pending { changed: false });
        let wake = p.next(now).wake_at.unwrap();
        delays.push(wake.checked_sub(now).expect("a wake not before now"));
        now = wake;
    }
    let bases = [2_000, 4_000, 8_000, 10_000, 10_000, 10_000];
    for (delay, base) in delays.iter().zip(bases) {
        assert!(*delay <= ms(base) && *delay > ms(base * 4 / 5), "{delays:?}");
    }
    assert!(p.next(now).read_status.is_some());
    p.status_answered(now, Seen::Running { changed: true });
    let wake = p.next(now).wake_at.unwrap();
    assert!(wake.checked_sub(now).expect("a wake not before now") <= ms(2_000), "back to the first interval");
}

#[test]
fn the_log_is_read_when_the_build_runs_and_concurrently_with_status_reads() {
    let mut p = Planner::new(settings(true));
    p.next(ms(0));
    p.status_answered(ms(100), Seen::Running { changed: true });
    let a = p.next(ms(100));
    assert!(a.read_logs.is_some(), "the first poll that finds it running reads the log");
    // The log read hangs; status reads go on without it.
    let wake = a.wake_at.unwrap();
    let b = p.next(wake);
    assert!(b.read_status.is_some(), "a hanging log read never holds up the status");
    assert_eq!(b.read_logs, None, "and no second log read is stacked on it");
}

#[test]
fn a_terminal_status_drops_a_hanging_log_read_for_a_short_final_one() {
    let mut p = Planner::new(settings(true));
    p.next(ms(0));
    p.status_answered(ms(50), Seen::Running { changed: true });
    assert!(p.next(ms(50)).read_logs.is_some());
    let wake = p.next(ms(51)).wake_at.unwrap();
    p.next(wake);
    p.status_answered(wake + ms(10), Seen::Terminal);
    let end = p.next(wake + ms(10));
    assert!(end.cancel_logs);
    let until = end.read_logs.expect("a final read");
    assert!(
        until.checked_sub(wake + ms(10)).expect("a read until after now") <= ms(2_000),
        "bounded by the first interval, not the request timeout: {until:?}"
    );
    assert_eq!(p.next(wake + ms(20)).stop, None, "waits for the final read");
    p.logs_read(
        wake + ms(30),
        LogsRead { new_entries: 3, failed: false, retry_after: None, usual_window: 500, stage: Stage::Unknown },
    );
    assert_eq!(p.next(wake + ms(30)).stop, Some(Stop { ended: true, log_read_missed: false }));
}

#[test]
fn retry_after_on_the_log_is_honoured_and_a_final_read_past_it_is_skipped() {
    let mut p = Planner::new(settings(true));
    p.next(ms(0));
    p.status_answered(ms(10), Seen::Running { changed: false });
    assert!(p.next(ms(10)).read_logs.is_some());
    p.logs_read(
        ms(20),
        LogsRead {
            new_entries: 0,
            failed: true,
            retry_after: Some(ms(500_000)),
            usual_window: 500,
            stage: Stage::Early,
        },
    );
    // Many status answers later, still before the log's Retry-After: no log read.
    let mut now = ms(20);
    while now < ms(50_000) {
        let a = p.next(now);
        assert_eq!(a.read_logs, None, "at {now:?}");
        if a.read_status.is_some() {
            p.status_answered(now, Seen::Running { changed: false });
        }
        now = p.next(now).wake_at.unwrap();
    }
    p.next(now);
    p.status_answered(now, Seen::Terminal);
    let end = p.next(now);
    assert_eq!(end.read_logs, None);
    assert_eq!(end.stop, Some(Stop { ended: true, log_read_missed: true }));
}

#[test]
fn one_last_read_at_the_deadline_then_stop() {
    let mut p = Planner::new(Settings { deadline: ms(5_000), ..settings(false) });
    let mut now = ms(0);
    loop {
        let a = p.next(now);
        if let Some(until) = a.read_status {
            if now >= ms(5_000) {
                assert_eq!(until, ms(35_000), "the last read gets the one request timeout past the deadline");
                p.status_answered(now, Seen::Running { changed: false });
                break;
            }
            assert_eq!(until, ms(5_000));
            p.status_answered(now, Seen::Running { changed: false });
        }
        now = p.next(now).wake_at.unwrap();
    }
    assert_eq!(p.next(now).stop, Some(Stop { ended: false, log_read_missed: false }));
}

#[test]
fn a_retry_after_past_the_deadline_ends_at_the_deadline_without_another_read() {
    let mut p = Planner::new(Settings { deadline: ms(5_000), ..settings(false) });
    p.next(ms(0));
    let retry = p.status_failed(ms(10), Failed { retry_after: Some(ms(3_600_000)), unreadable: false });
    assert!(matches!(retry, Retry::After { asked: true, .. }));
    assert_eq!(p.next(ms(10)).wake_at, Some(ms(5_000)), "the wait is cut at the deadline");
    assert_eq!(p.next(ms(5_000)).stop, Some(Stop { ended: false, log_read_missed: false }));
}

#[test]
fn unreadable_answers_give_up_on_the_third_in_a_row() {
    let mut p = Planner::new(settings(false));
    let unreadable = Failed { retry_after: None, unreadable: true };
    assert!(matches!(p.status_failed(ms(0), unreadable), Retry::After { .. }));
    assert!(matches!(p.status_failed(ms(1), unreadable), Retry::After { .. }));
    p.status_failed(ms(2), Failed { retry_after: None, unreadable: false });
    assert!(matches!(p.status_failed(ms(3), unreadable), Retry::After { .. }), "a transient failure breaks the row");
    assert!(matches!(p.status_failed(ms(4), unreadable), Retry::After { .. }));
    assert_eq!(p.status_failed(ms(5), unreadable), Retry::GiveUp);
}

#[test]
fn a_build_found_at_the_deadline_gets_its_first_status_read_within_the_same_bound() {
    let mut p = Planner::new(Settings { deadline: ms(1_000), ..settings(true) });
    p.next(ms(0));
    p.status_answered(ms(10), Seen::NotYet);
    let last_search = p.next(ms(1_000)).read_status.unwrap();
    assert_eq!(last_search, ms(31_000));
    p.status_answered(ms(1_500), Seen::Found);
    assert_eq!(p.next(ms(1_500)).read_status, Some(ms(31_000)), "the same hard stop, not a new request timeout");
    p.status_answered(ms(1_600), Seen::Running { changed: true });
    let end = p.next(ms(1_600));
    let until = end.read_logs.expect("the last log read");
    assert!(until <= ms(31_000));
}

/// A planner whose build runs with its log read once (`new` entries, at `stage`), at `now`.
fn running_with_log(now: Duration, new: usize, stage: Stage) -> Planner {
    let mut p = Planner::new(settings(true));
    p.next(ms(0));
    p.status_answered(ms(0), Seen::Running { changed: true });
    assert!(p.next(ms(0)).read_logs.is_some());
    p.logs_read(now, LogsRead { new_entries: new, failed: false, retry_after: None, usual_window: 500, stage });
    p
}

fn read(p: &mut Planner, now: Duration, new: usize, stage: Stage) {
    p.logs_read(now, LogsRead { new_entries: new, failed: false, retry_after: None, usual_window: 500, stage });
}

/// The next status read at or after `now`, answering nothing in between.
fn next_status_read(p: &mut Planner, mut now: Duration) -> Duration {
    loop {
        let a = p.next(now);
        if a.read_status.is_some() {
            return now;
        }
        now = a.wake_at.expect("a wake");
    }
}

#[test]
fn while_lines_flow_and_phases_are_told_the_status_is_read_rarely() {
    let mut p = running_with_log(ms(1_000), 50, Stage::Early);
    let at = next_status_read(&mut p, ms(1_000));
    p.status_answered(at, Seen::Running { changed: false });
    // Lines flow: the status waits twice the log interval, the log is read within the longest interval.
    let a = p.next(at);
    assert!(a.wake_at.unwrap() <= at + ms(10_000), "the log is due within the longest interval");
    let mut now = at;
    let mut log_reads = 0;
    while now < at + ms(100_000) {
        let a = p.next(now);
        assert!(a.read_status.is_none(), "no status read while lines flow ({now:?})");
        if a.read_logs.is_some() {
            log_reads += 1;
            read(&mut p, now, 20, Stage::Early);
        }
        now = p.next(now).wake_at.unwrap();
    }
    assert!((10..=13).contains(&log_reads), "a read every 8-10 s: {log_reads}");
}

/// A build whose log flows and tells phases, its status read once; then the next log read
/// (`new` entries at `stage`): the planner and when that read was made.
fn flowing_then_read(new: usize, stage: Stage) -> (Planner, Duration) {
    let mut p = running_with_log(ms(1_000), 50, Stage::Early);
    let mut now = next_status_read(&mut p, ms(1_000));
    p.status_answered(now, Seen::Running { changed: false });
    loop {
        let a = p.next(now);
        if a.read_logs.is_some() {
            read(&mut p, now, new, stage);
            return (p, now);
        }
        now = a.wake_at.unwrap();
    }
}

#[test]
fn a_log_that_stops_calls_for_a_status_read_at_once() {
    let (mut p, now) = flowing_then_read(0, Stage::Early);
    assert!(p.next(now).read_status.is_some(), "the quiet read is followed by a status read at once");
}

#[test]
fn the_final_lines_make_the_status_read_at_once_then_at_half_the_first_interval() {
    let (mut p, now) = flowing_then_read(5, Stage::Final);
    assert!(p.next(now).read_status.is_some(), "at once");
    p.status_answered(now, Seen::Running { changed: false });
    let again = next_status_read(&mut p, now);
    let gap = again.saturating_sub(now);
    assert!(gap <= ms(1_000) && gap > ms(800), "then half the first interval: {gap:?}");
    p.status_answered(again, Seen::Running { changed: false });
    let third = next_status_read(&mut p, again);
    let gap = third.saturating_sub(again);
    assert!(gap <= ms(2_000) && gap > ms(1_600), "backing off: {gap:?}");
}

#[test]
fn the_last_long_phase_reads_the_log_at_half_the_longest_interval() {
    let mut p = running_with_log(ms(1_000), 50, Stage::Late);
    let a = p.next(ms(1_000));
    let due = a.wake_at.unwrap();
    assert!(due <= ms(6_000), "the log within 5 s: {due:?}");
}

#[test]
fn without_phase_lines_the_status_keeps_the_plain_backoff() {
    let mut p = running_with_log(ms(1_000), 50, Stage::Unknown);
    let at = next_status_read(&mut p, ms(1_000));
    assert!(at <= ms(2_000), "the backoff's first interval: {at:?}");
    p.status_answered(at, Seen::Running { changed: false });
    let next = next_status_read(&mut p, at);
    assert!(next.saturating_sub(at) <= ms(4_000), "then its second: {next:?} after {at:?}");
}

#[test]
fn earlier_builds_make_a_log_without_phases_read_around_the_likely_end() {
    let mut p = running_with_log(ms(1_000), 50, Stage::Unknown);
    p.eta(ms(1_000), Eta { end: ms(300_000), spread: ms(6_000) });
    let mut now = ms(1_000);
    let mut reads_in_window = Vec::new();
    while now < ms(320_000) {
        let a = p.next(now);
        if a.read_status.is_some() {
            p.status_answered(now, Seen::Running { changed: false });
        }
        if a.read_logs.is_some() {
            if now >= ms(294_000) && now <= ms(306_000) {
                reads_in_window.push(now);
            }
            read(&mut p, now, 10, Stage::Unknown);
        }
        now = p.next(now).wake_at.unwrap();
    }
    assert!(
        reads_in_window.first().is_some_and(|t| *t <= ms(294_100)),
        "read as the window opens: {reads_in_window:?}"
    );
    assert!(reads_in_window.len() >= 3, "and at half the longest interval in it: {reads_in_window:?}");
}

#[test]
fn a_log_read_that_hangs_or_fails_stops_putting_the_status_off() {
    for fails in [false, true] {
        let (mut p, read_at) = flowing_then_read(30, Stage::Early);
        // From here the log endpoint hangs (no answer) or fails: no new proof that lines flow.
        let mut now = read_at;
        let status = loop {
            let a = p.next(now);
            if a.read_status.is_some() {
                break now;
            }
            if a.read_logs.is_some() && fails {
                let failed = LogsRead {
                    new_entries: 0,
                    failed: true,
                    retry_after: None,
                    usual_window: 500,
                    stage: Stage::Early,
                };
                p.logs_read(now, failed);
            }
            now = a.wake_at.unwrap();
        };
        assert!(status <= read_at + ms(20_000), "fails: {fails}: within twice the longest interval: {status:?}");
    }
}
