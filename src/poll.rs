//! The wait loop: find the build, poll it on an exponential schedule with jitter under one
//! deadline, retry what is transient, print status changes and read logs on some of the same ticks.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::time::{Instant, sleep, sleep_until};

use crate::ci::Console;
use crate::config::{Config, Target, format_duration};
use crate::error::Failure;
use crate::http::FetchError;
use crate::logs::LogStream;
use crate::outputs::Outputs;
use crate::provider::{BuildState, Provider, Snapshot};

/// Answers that cannot be read are retried this many times before the gate gives up.
const UNREADABLE_LIMIT: u32 = 3;

/// The delays between polls: exponential (factor 2) from the first interval up to the cap,
/// each shortened by up to 20% of jitter drawn from `seed`, so many gates do not poll in step.
pub struct Schedule {
    first: Duration,
    cap: Duration,
    seed: u64,
    step: u64,
    base: ExponentialBackoff,
}

impl Schedule {
    pub fn new(first: Duration, cap: Duration, seed: u64) -> Self {
        Schedule { first, cap, seed, step: 0, base: exponential(first, cap) }
    }

    pub fn next_delay(&mut self) -> Duration {
        self.step += 1;
        let base = whole_ms(self.base.next().unwrap_or(self.cap)).min(self.cap);
        jitter(base, self.seed, self.step)
    }

    /// Back to the first interval: called when the build changes, as more change is likely.
    pub fn reset(&mut self) {
        self.base = exponential(self.first, self.cap);
    }
}

/// backon computes in f32; whole milliseconds keep the schedule exact (40ms, not 39.99ms).
fn whole_ms(d: Duration) -> Duration {
    Duration::from_millis((d.as_secs_f64() * 1000.0).round() as u64)
}

fn exponential(first: Duration, cap: Duration) -> ExponentialBackoff {
    ExponentialBuilder::default().with_min_delay(first).with_max_delay(cap).with_factor(2.0).without_max_times().build()
}

/// The delays before jitter, for the dry run's plan.
pub fn base_delays(first: Duration, cap: Duration, n: usize) -> Vec<Duration> {
    exponential(first, cap).take(n).map(|d| whole_ms(d).min(cap)).collect()
}

/// `base` shortened by a fraction in [0, 20%) that depends only on `seed` and `step`.
pub fn jitter(base: Duration, seed: u64, step: u64) -> Duration {
    // splitmix64: a well-mixed 64-bit value from (seed, step).
    let mut z = seed.wrapping_add(step.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let fraction = (z >> 11) as f64 / (1u64 << 53) as f64;
    base.mul_f64(1.0 - 0.2 * fraction)
}

/// What is known of the build so far, kept outside the wait so a signal can still report it.
#[derive(Default)]
pub struct Progress {
    pub build_id: Option<String>,
    pub last: Option<Snapshot>,
    pub logs: Option<LogStream>,
}

/// Everything the wait works with.
pub struct Wait<'a, P> {
    pub provider: &'a P,
    pub config: &'a Config,
    pub console: &'a mut Console,
    pub outputs: &'a mut Outputs,
    pub progress: &'a mut Progress,
    pub started: Instant,
    pub seed: u64,
}

impl<P: Provider> Wait<'_, P> {
    fn deadline(&self) -> Instant {
        self.started + self.config.timeout
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits until the build ends, returning its last snapshot.
    pub async fn run(mut self) -> Result<Snapshot, Failure> {
        let id = match &self.config.target {
            Target::BuildId(id) => id.clone(),
            Target::ContextHash { hash, region } => self.find(hash, region.as_deref()).await?,
        };
        self.progress.build_id = Some(id.clone());
        self.outputs.set("build-id", &id).map_err(|e| output_error(self.outputs, e))?;
        if self.config.logs {
            self.progress.logs = Some(LogStream::new(self.config.max_log_lines, self.config.log_interval));
        }
        self.poll(&id).await
    }

    /// Sleeps for `delay`, or until the deadline if that comes first; says whether it came.
    async fn pause(&self, delay: Duration) -> bool {
        let wake = Instant::now().checked_add(delay).unwrap_or(self.deadline());
        if wake >= self.deadline() {
            sleep_until(self.deadline()).await;
            true
        } else {
            sleep(delay).await;
            false
        }
    }

    /// Each request ends by the deadline, except the last read made at it.
    fn request_until(&self, at_deadline: bool) -> Instant {
        let by_timeout = Instant::now() + self.config.request_timeout;
        if at_deadline { by_timeout } else { by_timeout.min(self.deadline()) }
    }

    async fn find(&mut self, hash: &str, region: Option<&str>) -> Result<String, Failure> {
        let mut schedule = Schedule::new(self.config.poll_interval, self.config.poll_max_interval, self.seed);
        let in_region = region.map(|r| format!(" in region {r}")).unwrap_or_default();
        self.console.line(&format!("Looking for the newest build with context hash {hash}{in_region}"));
        let mut retry = Retry::default();
        let mut at_deadline = Instant::now() >= self.deadline();
        loop {
            // The last search, at the deadline, gets one request timeout of its own.
            let deadline = if at_deadline { self.request_until(true) } else { self.deadline() };
            let found = self.provider.find_by_context_hash(hash, region, self.config.request_timeout, deadline).await;
            let delay = match found {
                Ok(Some(found)) => {
                    self.console.line(&format!(
                        "Picked build {} (created {}): the newest of {} with context hash {hash}{in_region}",
                        found.id, found.created_at, found.matched
                    ));
                    return Ok(found.id);
                }
                Ok(None) => {
                    retry.recovered(self.console);
                    schedule.next_delay()
                }
                Err(e) => retry.handle(e, &mut schedule, self.console)?,
            };
            if at_deadline {
                return Err(Failure::Deadline(format!(
                    "no build with context hash {hash}{in_region} appeared before the deadline \
                     (BUILDGATE_TIMEOUT={}){}",
                    format_duration(self.config.timeout),
                    retry.last_error_note()
                )));
            }
            at_deadline = self.pause(delay).await;
        }
    }

    async fn poll(&mut self, id: &str) -> Result<Snapshot, Failure> {
        let mut schedule = Schedule::new(self.config.poll_interval, self.config.poll_max_interval, self.seed);
        let mut retry = Retry::default();
        let mut warned_unknown: Vec<String> = Vec::new();
        let mut at_deadline = Instant::now() >= self.deadline();
        loop {
            let until = self.request_until(at_deadline);
            let delay = match self.provider.snapshot(id, until).await {
                Ok(snapshot) => {
                    retry.recovered(self.console);
                    let changed = self.report_changes(&snapshot);
                    if snapshot.state == BuildState::Unknown && !warned_unknown.contains(&snapshot.provider_status) {
                        warned_unknown.push(snapshot.provider_status.clone());
                        self.console.warning(&format!(
                            "unknown build status {:?}: treated as still in progress",
                            snapshot.provider_status
                        ));
                    }
                    // Known before the logs read, so a signal during it still reports this status.
                    self.progress.last = Some(snapshot.clone());
                    if changed {
                        schedule.reset();
                    }
                    let delay = schedule.next_delay();
                    if snapshot.state != BuildState::Pending {
                        // The end and the deadline get a last read; at the deadline it shares the
                        // status read's budget.
                        let last = snapshot.state.is_terminal() || at_deadline;
                        let logs_until = if at_deadline { until } else { self.request_until(false) };
                        self.read_logs(id, &snapshot, logs_until, last, delay).await;
                    }
                    if snapshot.state.is_terminal() {
                        return Ok(snapshot);
                    }
                    delay
                }
                Err(e) => retry.handle(e, &mut schedule, self.console)?,
            };
            if at_deadline {
                let status = self.progress.last.as_ref().map_or("not yet seen", |s| s.provider_status.as_str());
                return Err(Failure::Deadline(format!(
                    "the deadline (BUILDGATE_TIMEOUT={}) passed while build {id} was still {status}; \
                     it may still finish on the server{}",
                    format_duration(self.config.timeout),
                    retry.last_error_note()
                )));
            }
            at_deadline = self.pause(delay).await;
        }
    }

    /// Reads the log when this is the `last` read or the log's cadence says so.
    async fn read_logs(&mut self, id: &str, snapshot: &Snapshot, until: Instant, last: bool, next_poll_in: Duration) {
        let now = self.elapsed();
        if let Some(logs) = self.progress.logs.as_mut()
            && (last || logs.due(now, next_poll_in))
        {
            logs.read(self.provider, id, now, until, self.console, snapshot.logs_url.as_deref()).await;
        }
    }

    /// Prints a status line for the build and for each part whose status changed.
    fn report_changes(&mut self, snapshot: &Snapshot) -> bool {
        let previous = self.progress.last.as_ref();
        let mut changed = false;
        if previous.is_none_or(|p| p.provider_status != snapshot.provider_status) {
            self.console.status(self.elapsed(), &format!("status: {}", snapshot.provider_status));
            changed = true;
        }
        for (part, status) in &snapshot.parts {
            let before = previous.and_then(|p| p.parts.iter().find(|(name, _)| name == part)).map(|(_, s)| s);
            if before != Some(status) {
                self.console.status(self.elapsed(), &format!("{part}: {status}"));
                changed = true;
            }
        }
        changed
    }
}

fn output_error(outputs: &Outputs, e: std::io::Error) -> Failure {
    let path = outputs.path().map(|p| p.display().to_string()).unwrap_or_default();
    Failure::Output(format!("cannot write the outputs file {path} (BUILDGATE_OUTPUT_FILE, or the CI's own): {e}"))
}

/// The retry policy for failed requests, shared by the search and the status polls.
#[derive(Default)]
struct Retry {
    failures_in_a_row: u32,
    unreadable_in_a_row: u32,
    last_error: Option<String>,
}

impl Retry {
    /// The delay before the next try, or the failure that ends the gate.
    fn handle(&mut self, e: FetchError, schedule: &mut Schedule, console: &mut Console) -> Result<Duration, Failure> {
        let (reason, retry_after) = match e {
            FetchError::Refused { message } => return Err(Failure::Api(message)),
            FetchError::Unreadable { reason } => {
                self.unreadable_in_a_row += 1;
                if self.unreadable_in_a_row >= UNREADABLE_LIMIT {
                    return Err(Failure::Api(format!("{reason} ({UNREADABLE_LIMIT} times in a row)")));
                }
                (reason, None)
            }
            FetchError::Transient { reason, retry_after } => {
                self.unreadable_in_a_row = 0;
                (reason, retry_after)
            }
        };
        self.failures_in_a_row += 1;
        let scheduled = schedule.next_delay();
        let delay = scheduled.max(retry_after.unwrap_or_default());
        let wait = format_duration(round_ms(delay));
        // One warning per streak of failures; later ones only when the API asks for a longer wait.
        if self.failures_in_a_row == 1 {
            console.warning(&format!("{reason}; retrying in {wait}"));
        } else if delay > scheduled {
            console.line(&format!("{reason}; waiting {wait} as the API asks (Retry-After)"));
        } else {
            tracing::info!("{reason}; retrying in {delay:?}");
        }
        self.last_error = Some(reason);
        Ok(delay)
    }

    fn recovered(&mut self, console: &mut Console) {
        if self.failures_in_a_row > 1 {
            console.line(&format!("The API answered again after {} failed requests", self.failures_in_a_row));
        }
        self.failures_in_a_row = 0;
        self.unreadable_in_a_row = 0;
        self.last_error = None;
    }

    fn last_error_note(&self) -> String {
        self.last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default()
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_schedule_doubles_up_to_the_cap_before_jitter() {
        assert_eq!(base_delays(S(2), S(10), 6), [S(2), S(4), S(8), S(10), S(10), S(10)]);
        assert_eq!(base_delays(Duration::from_millis(5), Duration::from_millis(5), 3), [Duration::from_millis(5); 3]);
    }

    #[test]
    fn jitter_shortens_by_less_than_a_fifth_and_is_repeatable() {
        let mut seen = std::collections::HashSet::new();
        for step in 0..1000 {
            let d = jitter(S(10), 42, step);
            assert!(d <= S(10) && d > Duration::from_millis(8000), "{d:?}");
            assert_eq!(d, jitter(S(10), 42, step));
            seen.insert(d);
        }
        assert!(seen.len() > 900, "jitter varies from step to step");
        assert_ne!(jitter(S(10), 1, 1), jitter(S(10), 2, 1), "and from seed to seed");
    }

    #[test]
    fn the_schedule_never_exceeds_the_cap_and_resets() {
        let mut schedule = Schedule::new(S(1), S(4), 7);
        let delays: Vec<Duration> = (0..20).map(|_| schedule.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= S(4)));
        assert!(delays[19] > Duration::from_millis(3200));
        schedule.reset();
        assert!(schedule.next_delay() <= S(1));
    }
}
