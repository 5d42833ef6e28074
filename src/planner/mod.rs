//! The polling policy as a pure planner: what has been observed goes in (status answers, log
//! reads and what they told of the build's phases, the likely end from earlier builds, failures,
//! `Retry-After`), the next actions come out. No I/O and no clock of its own: every time is
//! passed in, as time since the gate started, and every wait derives from the three intervals
//! of the configuration.
//!
//! Guided by the log (when it is streamed): a line waits at most the longest interval to be read.
//! Once the log tells the build's phases, lines flowing prove the build runs, so the status is
//! read rarely while they flow and at once when they stop; the last long phase reads the log at
//! half the longest interval; the final lines read the status at once, then at half the first
//! interval, backing off. Where the log tells no phases, the status keeps the plain backoff and
//! the likely end from earlier builds makes the log read more often around it. Without a log,
//! the plain backoff.

mod cadence;
mod schedule;

use std::time::Duration;

pub use cadence::Cadence;
pub use schedule::{Schedule, base_delays, jitter, jitter_within};

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
    /// How far the log says the build has come.
    pub stage: Stage,
}

/// How far the build log says the build has come (`CodeBuild`'s phase lines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The log has shown no phase line.
    #[default]
    Unknown,
    /// An early phase.
    Early,
    /// The last long phase (`POST_BUILD`, the image push): the end comes within a few reads.
    Late,
    /// The final lines (`POST_BUILD` complete, `UPLOAD_ARTIFACTS`, `FINALIZING`, a phase that
    /// failed): the end is seconds away.
    Final,
}

/// When the build will likely end, from earlier builds' durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Eta {
    /// The likely end, as time since the gate started.
    pub end: Duration,
    /// How far around it the end may fall (the spread of earlier durations).
    pub spread: Duration,
}

impl Eta {
    /// The stretch watched at the first interval, when the spread is narrow enough for watching
    /// it to pay (at most twice the longest interval each side).
    fn watched(self, settings: &Settings) -> Option<(Duration, Duration)> {
        let half = self.spread.max(settings.first_interval);
        (half <= settings.max_interval.saturating_mul(2))
            .then(|| (self.end.saturating_sub(half), self.end.saturating_add(half)))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FinalRead {
    NotYet,
    Reading,
    Done { missed: bool },
}

struct Logs {
    cadence: Cadence,
    /// When the next read is due; `None` until the build runs.
    next_at: Option<Duration>,
    /// Reads made, for the jitter of their gaps.
    reads: u64,
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

// Independent facts of the wait (a read in flight, the last read made, ...), not one state.
#[allow(clippy::struct_excessive_bools)]
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
    /// How far the log says the build has come.
    stage: Stage,
    /// The next status read was put off because lines flow: it comes sooner when they stop
    /// proving anything (no successful read for twice the longest interval).
    put_off_by_lines: bool,
    /// The short schedule of status reads once the log shows the final lines.
    final_polls: Option<Schedule>,
    eta: Option<Eta>,
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
            stage: Stage::Unknown,
            put_off_by_lines: false,
            final_polls: None,
            eta: None,
            logs: settings.log_interval.map(|interval| Logs {
                cadence: Cadence::new(settings.first_interval, settings.max_interval, interval),
                next_at: None,
                reads: 0,
                in_flight: None,
                not_before: Duration::ZERO,
                latency: Duration::ZERO,
                final_read: FinalRead::NotYet,
            }),
            settings,
        }
    }

    /// The overall deadline, as time since the gate started.
    pub fn deadline(&self) -> Duration {
        self.settings.deadline
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
            let due = self.status_due();
            if now >= due {
                self.status_in_flight = true;
                actions.read_status = Some(self.until(now));
            } else {
                wake = wake.min(due);
            }
        }
        let until = self.until(now);
        if let Some(logs) = self.logs.as_mut()
            && let Some(due) = logs.next_at
            && logs.in_flight.is_none()
        {
            let at = due.max(logs.not_before);
            if now >= at {
                logs.next_at = None;
                logs.in_flight = Some(now);
                actions.read_logs = Some(until);
            } else {
                wake = wake.min(at);
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
            Seen::Pending { changed } => {
                if changed {
                    self.schedule.reset();
                }
                self.next_status_at = now + self.schedule.next_delay();
            }
            Seen::Running { changed } => {
                if changed {
                    self.schedule.reset();
                }
                self.next_status_at = now + self.running_delay(now);
                if let Some(logs) = self.logs.as_mut()
                    && logs.in_flight.is_none()
                    && logs.next_at.is_none()
                    && logs.reads == 0
                {
                    // The first answer that finds the build running reads its log at once.
                    logs.next_at = Some(now);
                }
            }
        }
    }

    /// The wait before the next status read of a running build. With its log streamed and
    /// telling the build's phases: half the first interval once the
    /// log shows the final lines, backing off; four times the log interval while lines flow (a log
    /// that stops calls for a read at once, and a read that fails or hangs proves nothing past
    /// twice the longest interval); else twice the backoff, so that an end the log gives
    /// no sign of is seen within twice the longest interval. Without a log or phase lines: the
    /// backoff (earlier builds then only make the log read more often around the likely end).
    fn running_delay(&mut self, now: Duration) -> Duration {
        let base = self.schedule.next_delay();
        self.put_off_by_lines = false;
        let Some(logs) = self.logs.as_ref() else { return base };
        if let Some(near) = self.final_polls.as_mut() {
            return near.next_delay();
        }
        if self.stage == Stage::Unknown {
            // The log tells no phases: never slower than the backoff alone.
            return base;
        }
        let proven =
            logs.cadence.proof_until(self.settings.max_interval.saturating_mul(2)).is_some_and(|until| now < until);
        if proven {
            self.put_off_by_lines = true;
            self.settings.log_interval.unwrap_or(base).saturating_mul(4).max(base.saturating_mul(2))
        } else {
            base.saturating_mul(2)
        }
    }

    /// When the next status read is due: put off while lines flow, but no longer than their proof.
    fn status_due(&self) -> Duration {
        let proof =
            self.logs.as_ref().and_then(|l| l.cadence.proof_until(self.settings.max_interval.saturating_mul(2)));
        match proof {
            Some(until) if self.put_off_by_lines => self.next_status_at.min(until),
            _ => self.next_status_at,
        }
    }

    /// Whether `now` falls where earlier builds say this one likely ends.
    fn around_eta(&self, now: Duration) -> bool {
        self.eta.and_then(|eta| eta.watched(&self.settings)).is_some_and(|(from, to)| now >= from && now <= to)
    }

    /// The likely end of the build, from earlier builds: where the log tells no phases, it is
    /// read at half the longest interval around it.
    pub fn eta(&mut self, now: Duration, eta: Eta) {
        self.eta = Some(eta);
        if let (Some((from, _)), Some(logs)) = (eta.watched(&self.settings), self.logs.as_mut())
            && let Some(next) = logs.next_at.as_mut()
            && self.stage == Stage::Unknown
        {
            *next = (*next).min(from.max(now));
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
        let first = self.settings.first_interval;
        if self.logs.is_none() {
            return;
        }
        if read.stage == Stage::Final && self.final_polls.is_none() {
            // The final lines: the status at once, then at half the first interval, backing off.
            self.final_polls = Some(Schedule::new(first / 2, self.settings.max_interval, self.settings.seed));
            self.next_status_at = self.next_status_at.min(now);
        }
        self.stage = self.stage.max(read.stage);
        // Earlier builds guide the log reads only where the log tells no phases: with phase lines
        // the final phase says more, sooner.
        let near = self.stage > Stage::Early || (self.stage == Stage::Unknown && self.around_eta(now));
        // The last long phase: half the longest interval; the last lines: the first interval.
        let near_gap = if self.stage == Stage::Final { first } else { self.settings.max_interval / 2 };
        let seed = self.settings.seed;
        let Some(logs) = self.logs.as_mut() else { return };
        if let Some(started) = logs.in_flight.take() {
            logs.latency = now.saturating_sub(started).max(logs.latency / 2);
        }
        if let Some(wait) = read.retry_after {
            logs.not_before = now.saturating_add(wait);
        }
        if logs.final_read == FinalRead::Reading {
            logs.final_read = FinalRead::Done { missed: read.failed };
            return;
        }
        let was_flowing = logs.cadence.flowing();
        if !read.failed {
            logs.cadence.read(now, read.new_entries, read.usual_window);
        }
        logs.reads += 1;
        // Log reads are jittered by up to 5% (status polls: 20%, and the first log read follows a
        // jittered poll): a line's wait stays near its bound, and each read counts.
        let mut gap = jitter_within(logs.cadence.gap(near.then_some(near_gap)), 0.05, seed ^ 0x5eed, logs.reads);
        if let Some((from, _)) = self.eta.and_then(|eta| eta.watched(&self.settings))
            && now < from
            && self.stage == Stage::Unknown
        {
            gap = gap.min(from.saturating_sub(now));
        }
        logs.next_at = Some(now + gap);
        if !read.failed && read.new_entries == 0 && (was_flowing || near) {
            // The log went quiet: the build may have ended.
            self.next_status_at = self.next_status_at.min(now);
        }
    }

    /// How far the log says the build has come.
    pub fn stage(&self) -> Stage {
        self.stage
    }
}

#[cfg(test)]
mod tests;
