//! The polling policy as a pure planner: what has been observed goes in (status answers, log
//! reads, failures, `Retry-After`), the next actions come out. No I/O and no clock of its own:
//! every time is passed in, as time since the gate started.

mod cadence;
mod schedule;

use std::time::Duration;

pub use cadence::Cadence;
pub use schedule::{Schedule, base_delays};

/// Answers that cannot be read are retried this many times in a row before the gate gives up.
pub const UNREADABLE_LIMIT: u32 = 3;

/// The settings the policy follows, all from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub first_interval: Duration,
    pub max_interval: Duration,
    pub deadline: Duration,
    pub request_timeout: Duration,
    /// The longest wait between two log reads; `None` when logs are not streamed.
    pub log_interval: Option<Duration>,
    pub seed: u64,
}

/// What the I/O loop does next. Reads end by the time given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    /// Read the status now (search by context hash while the build is not known yet).
    pub read_status: Option<Duration>,
    /// Read the build log now.
    pub read_logs: Option<Duration>,
    /// Drop the log read in flight: the build ended, and a final read replaces it.
    pub cancel_logs: bool,
    /// Ask again at this time at the latest, or as soon as a read in flight ends.
    pub wake_at: Option<Duration>,
    pub stop: Option<Stop>,
}

/// Why the wait is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stop {
    /// The build ended (else the deadline passed).
    pub ended: bool,
    /// The final log read was not made or did not complete: its lines may be missing.
    pub log_read_missed: bool,
}

/// A status answer, as far as the policy cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The search by context hash found no build yet.
    NotYet,
    /// The search found the build: poll it at once.
    Found,
    /// Accepted, not started: its log is not read yet. `changed`: the build changed since the last answer.
    Pending {
        changed: bool,
    },
    /// Running, or a status not known: in progress.
    Running {
        changed: bool,
    },
    Terminal,
}

/// A status read that failed without ending the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failed {
    pub retry_after: Option<Duration>,
    /// The answer came but could not be read (else: transient).
    pub unreadable: bool,
}

/// What to do after a failed status read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Try again after `delay`; `asked`: the API's `Retry-After` made it longer than scheduled.
    After { delay: Duration, asked: bool },
    /// Unreadable [`UNREADABLE_LIMIT`] times in a row.
    GiveUp,
}

/// A completed log read (with the re-reads it took).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogsRead {
    pub new_entries: usize,
    pub failed: bool,
    pub retry_after: Option<Duration>,
    /// How many entries a usual read holds now (fewer than the API's default for long lines).
    pub usual_window: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FinalRead {
    NotYet,
    Reading,
    Done { missed: bool },
}

struct Logs {
    cadence: Cadence,
    due: bool,
    in_flight: Option<Duration>,
    not_before: Duration,
    /// The slowest recent read, fading by half a read: sizes the final read's budget.
    latency: Duration,
    final_read: FinalRead,
}

/// Where the wait stands: the build's end wins over the deadline, even when both are seen.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    /// The build ended.
    Ended,
    /// The deadline passed before the build ended.
    DeadlineOver,
}

pub struct Planner {
    settings: Settings,
    schedule: Schedule,
    status_in_flight: bool,
    next_status_at: Duration,
    unreadable_in_a_row: u32,
    /// The API asked to wait past the deadline: no read is made at it.
    waits_past_deadline: bool,
    last_read_made: bool,
    phase: Phase,
    logs: Option<Logs>,
}

impl Planner {
    pub fn new(settings: Settings) -> Self {
        Planner {
            schedule: Schedule::new(settings.first_interval, settings.max_interval, settings.seed),
            status_in_flight: false,
            next_status_at: Duration::ZERO,
            unreadable_in_a_row: 0,
            waits_past_deadline: false,
            last_read_made: false,
            phase: Phase::Waiting,
            logs: settings.log_interval.map(|interval| Logs {
                cadence: Cadence::new(interval),
                due: false,
                in_flight: None,
                not_before: Duration::ZERO,
                latency: Duration::ZERO,
                final_read: FinalRead::NotYet,
            }),
            settings,
        }
    }

    /// The latest any request may end: one request timeout after the deadline.
    fn hard_stop(&self) -> Duration {
        self.settings.deadline.saturating_add(self.settings.request_timeout)
    }

    /// Reads started before the deadline end by it (each request also by its own timeout).
    fn until(&self, _now: Duration) -> Duration {
        self.settings.deadline
    }

    pub fn next(&mut self, now: Duration) -> Actions {
        if self.phase == Phase::Waiting && now >= self.settings.deadline {
            if self.status_in_flight {
                return Actions::default();
            }
            if self.last_read_made || self.waits_past_deadline {
                self.phase = Phase::DeadlineOver;
            } else {
                // One last read at the deadline, bounded by the one request timeout past it.
                self.last_read_made = true;
                self.status_in_flight = true;
                return Actions { read_status: Some(self.hard_stop()), ..Actions::default() };
            }
        }
        if self.phase != Phase::Waiting {
            return self.end(now);
        }
        let mut actions = Actions::default();
        let mut wake = self.settings.deadline;
        if !self.status_in_flight {
            if now >= self.next_status_at {
                self.status_in_flight = true;
                actions.read_status = Some(self.until(now));
            } else {
                wake = wake.min(self.next_status_at);
            }
        }
        let until = self.until(now);
        if let Some(logs) = self.logs.as_mut()
            && logs.due
            && logs.in_flight.is_none()
        {
            if now >= logs.not_before {
                logs.due = false;
                logs.in_flight = Some(now);
                actions.read_logs = Some(until);
            } else {
                wake = wake.min(logs.not_before);
            }
        }
        actions.wake_at = Some(wake);
        actions
    }

    /// After the build ended or the deadline passed: the final log read, then stop.
    fn end(&mut self, now: Duration) -> Actions {
        let ended = self.phase == Phase::Ended;
        let hard_stop = self.hard_stop();
        let budget = self.final_budget();
        let Some(logs) = self.logs.as_mut() else {
            return Actions { stop: Some(Stop { ended, log_read_missed: false }), ..Actions::default() };
        };
        match logs.final_read {
            FinalRead::Done { missed } => {
                Actions { stop: Some(Stop { ended, log_read_missed: missed }), ..Actions::default() }
            }
            FinalRead::Reading => Actions::default(),
            FinalRead::NotYet => {
                let cancel_logs = logs.in_flight.take().is_some();
                let until = now.saturating_add(budget).min(hard_stop);
                if logs.not_before > now {
                    if logs.not_before < until {
                        return Actions { cancel_logs, wake_at: Some(logs.not_before), ..Actions::default() };
                    }
                    // The endpoint asked to be left alone longer than the verdict may wait.
                    logs.final_read = FinalRead::Done { missed: true };
                    return Actions {
                        cancel_logs,
                        stop: Some(Stop { ended, log_read_missed: true }),
                        ..Actions::default()
                    };
                }
                if now >= hard_stop {
                    logs.final_read = FinalRead::Done { missed: true };
                    return Actions {
                        cancel_logs,
                        stop: Some(Stop { ended, log_read_missed: true }),
                        ..Actions::default()
                    };
                }
                logs.final_read = FinalRead::Reading;
                logs.in_flight = Some(now);
                Actions { read_logs: Some(until), cancel_logs, ..Actions::default() }
            }
        }
    }

    /// The final read may hold up the verdict only briefly: four times the slowest recent
    /// read, at least the first poll interval, at most one request timeout.
    fn final_budget(&self) -> Duration {
        let latency = self.logs.as_ref().map_or(Duration::ZERO, |l| l.latency);
        latency.saturating_mul(4).max(self.settings.first_interval).min(self.settings.request_timeout)
    }

    pub fn status_answered(&mut self, now: Duration, seen: Seen) {
        self.status_in_flight = false;
        self.unreadable_in_a_row = 0;
        match seen {
            Seen::Terminal => self.phase = Phase::Ended,
            Seen::NotYet => self.next_status_at = now + self.schedule.next_delay(),
            Seen::Found => {
                self.schedule.reset();
                self.next_status_at = now;
                // The build's first status read is owed, also at the deadline.
                self.last_read_made = false;
            }
            Seen::Pending { changed } | Seen::Running { changed } => {
                if changed {
                    self.schedule.reset();
                }
                let delay = self.schedule.next_delay();
                self.next_status_at = now + delay;
                if let (Seen::Running { .. }, Some(logs)) = (seen, self.logs.as_mut()) {
                    logs.due |= logs.cadence.due(now, delay);
                }
            }
        }
    }

    pub fn status_failed(&mut self, now: Duration, failed: Failed) -> Retry {
        self.status_in_flight = false;
        if failed.unreadable {
            self.unreadable_in_a_row += 1;
            if self.unreadable_in_a_row >= UNREADABLE_LIMIT {
                return Retry::GiveUp;
            }
        } else {
            self.unreadable_in_a_row = 0;
        }
        let scheduled = self.schedule.next_delay();
        let delay = scheduled.max(failed.retry_after.unwrap_or_default());
        self.next_status_at = now.saturating_add(delay);
        if failed.retry_after.is_some_and(|asked| now.saturating_add(asked) > self.settings.deadline) {
            self.waits_past_deadline = true;
        }
        Retry::After { delay, asked: delay > scheduled }
    }

    pub fn logs_read(&mut self, now: Duration, read: LogsRead) {
        let Some(logs) = self.logs.as_mut() else { return };
        if let Some(started) = logs.in_flight.take() {
            logs.latency = now.saturating_sub(started).max(logs.latency / 2);
        }
        if let Some(wait) = read.retry_after {
            logs.not_before = now.saturating_add(wait);
        }
        match logs.final_read {
            FinalRead::Reading => logs.final_read = FinalRead::Done { missed: read.failed },
            _ if !read.failed => logs.cadence.read(now, read.new_entries, read.usual_window),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
