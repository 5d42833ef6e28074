//! How far the build has come, as the status lines tell it: its phase, the likely end from
//! earlier builds (placed on the local clock through the server's), and at the end its duration
//! against theirs.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::clock::{ServerClock, unix_ms};
use crate::duration;
use crate::history::History;
use crate::planner::Eta;
use crate::provider::Snapshot;

#[derive(Default)]
pub struct Progress {
    clock: ServerClock,
    started_at_ms: Option<i64>,
    /// When the gate started, on the local clock (ms since the epoch).
    gate_started_ms: i64,
    history: Option<History>,
    eta: Option<Eta>,
}

impl Progress {
    pub fn new(gate_started: SystemTime) -> Self {
        Progress { gate_started_ms: unix_ms(gate_started), ..Progress::default() }
    }

    /// Takes what a status answer tells; returns the likely end when it is first known or moves.
    pub fn observe(&mut self, snapshot: &Snapshot) -> Option<Eta> {
        if let Some(reading) = snapshot.timing.clock {
            self.clock.observe(reading);
        }
        if snapshot.timing.started_at_ms.is_some() {
            self.started_at_ms = snapshot.timing.started_at_ms;
        }
        self.update()
    }

    /// Takes the durations of earlier builds; returns the likely end when it can now be placed.
    pub fn history(&mut self, history: History) -> Option<Eta> {
        self.history = Some(history);
        self.update()
    }

    fn update(&mut self) -> Option<Eta> {
        let eta = self.history.as_ref()?.eta(self.started_at_ms?, &self.clock, self.gate_started_ms)?;
        // Readings of the clock narrow the end by milliseconds: only a move of a second counts.
        let moved = self.eta.is_none_or(|old| old.end.abs_diff(eta.end) >= Duration::from_secs(1));
        self.eta = Some(eta);
        moved.then_some(eta)
    }

    /// `status: building · BUILD · about 1m50s left` (what is known of it).
    pub fn status_text(&self, now: Duration, status: &str, phase: Option<&str>) -> String {
        format!("status: {}", self.live_text(now, status, phase, None))
    }

    /// The live line at a terminal: `building · BUILD · 1200 log lines · about 1m50s left`.
    pub fn live_text(&self, now: Duration, status: &str, phase: Option<&str>, lines: Option<usize>) -> String {
        let mut text = status.to_string();
        if let Some(phase) = phase {
            let _ = write!(text, " · {phase}");
        }
        if let Some(lines) = lines {
            let _ = write!(text, " · {lines} log lines");
        }
        if let Some(eta) = self.eta {
            let _ = match eta.end.checked_sub(now) {
                Some(left) if left >= Duration::from_secs(1) => write!(text, " · about {} left", rounded(left)),
                _ => write!(text, " · past the usual {}", self.median_text().unwrap_or_default()),
            };
        }
        text
    }

    fn median_text(&self) -> Option<String> {
        Some(duration::format(Duration::from_secs(self.history.as_ref()?.median()?.as_secs())))
    }

    /// `took 3m05s, median of the last 20: 3m10s`, when both are known.
    pub fn ended_text(&self, took_secs: Option<u64>) -> Option<String> {
        let took = Duration::from_secs(took_secs?);
        Some(format!("took {}", self.history.as_ref()?.compare(took)?))
    }
}

/// A time left, to the second under a minute and to 10 s above: an estimate, not a promise.
fn rounded(left: Duration) -> String {
    let secs = left.as_secs();
    duration::format(Duration::from_secs(if secs < 60 { secs } else { secs / 10 * 10 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Reading;
    use crate::provider::{BuildState, Snapshot, Timing};

    fn snapshot(started_at_ms: i64, date_ms: i64, at_ms: i64) -> Snapshot {
        Snapshot {
            id: "b".into(),
            state: BuildState::Running,
            provider_status: "building".into(),
            phase: None,
            image: Err("running"),
            duration_secs: None,
            logs_url: None,
            error_message: None,
            parts: Vec::new(),
            timing: Timing {
                started_at_ms: Some(started_at_ms),
                clock: Some(Reading { date_ms, sent_ms: at_ms, received_ms: at_ms + 10 }),
                like: None,
            },
        }
    }

    #[test]
    fn status_lines_tell_the_phase_and_the_time_left() {
        let start = 1_800_000_000_000;
        let mut progress = Progress::new(SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(start).unwrap()));
        assert_eq!(progress.status_text(Duration::ZERO, "building", Some("BUILD")), "status: building · BUILD");
        // The server is 2 minutes behind; the build started there 80 s before the gate.
        let behind = 120_000;
        assert_eq!(progress.observe(&snapshot(start - behind - 80_000, start - behind, start)), None, "no history yet");
        let history = History { durations: vec![Duration::from_secs(190); 5], same_dockerfile: true };
        let eta = progress.history(history).expect("now placed");
        assert!(eta.end.abs_diff(Duration::from_secs(110)) < Duration::from_secs(1), "{eta:?}");
        assert_eq!(
            progress.status_text(Duration::from_secs(5), "building", Some("BUILD")),
            "status: building · BUILD · about 1m40s left"
        );
        assert_eq!(
            progress.status_text(Duration::from_secs(200), "building", None),
            "status: building · past the usual 3m10s"
        );
        assert_eq!(
            progress.ended_text(Some(185)).unwrap(),
            "took 3m5s, median of the last 5 of the same Dockerfile: 3m10s"
        );
        assert_eq!(progress.observe(&snapshot(start - behind - 80_000, start - behind, start + 20)), None, "no move");
    }
}
