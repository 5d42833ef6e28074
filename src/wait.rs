//! The I/O loop under the planner: it carries out the planner's actions (status reads, log
//! reads, each request bounded by one [`Deadline`]), lets a status read and a log read run at
//! the same time so neither holds up the other, and prints what it sees.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::ci::Console;
use crate::duration;
use crate::error::Failure;
use crate::http::{Deadline, FetchError};
use crate::logs::{AfterAnswer, LogStream, LogWindow};
use crate::outcome::{Known, Recorder};
use crate::planner::{self, Failed, LogsRead, Planner, Retry, Stage, Stop};
use crate::progress::Progress;
use crate::provider::{BuildState, Found, History, Like, Part, Provider, Snapshot, Target};

/// Parts are listed one line each up to this many; beyond, one line counts them by status.
const LISTED_PARTS: usize = 20;

type Pending<'a, T> = Option<Reading<'a, T>>;
type Reading<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;
type HistoryAnswer = Option<Result<History, FetchError>>;

enum StatusAnswer {
    Snapshot(Result<Box<Snapshot>, FetchError>),
    Search(Result<Option<Found>, FetchError>),
}

/// What the loop works with.
pub struct Wait<'a, P> {
    pub provider: &'a P,
    pub target: &'a Target,
    pub planner: Planner,
    pub console: &'a mut Console,
    pub recorder: &'a mut Recorder,
    pub known: &'a mut Known,
    pub logs: Option<LogStream>,
    pub started: Instant,
    pub request_timeout: Duration,
    pub progress: Progress,
}

impl<'a, P: Provider> Wait<'a, P> {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn deadline(&self, until: Duration) -> Deadline {
        Deadline { end: self.started + until, per_request: self.request_timeout }
    }

    /// Waits until the build ends (its last snapshot) or the wait stops.
    pub async fn run(mut self) -> Result<Snapshot, Failure> {
        match self.target {
            Target::BuildId(id) => self.known.build_id = Some(id.clone()),
            search @ Target::ContextHash { .. } => self
                .console
                .line(&format!("Looking for the newest build with {}", search.search_words().unwrap_or_default())),
        }
        if let Some(id) = self.known.build_id.clone() {
            self.recorder.build_found(&id)?;
        }
        let (mut status, mut logs): (Pending<'a, StatusAnswer>, Pending<'a, _>) = (None, None);
        let mut history: Pending<'a, HistoryAnswer> = None;
        let mut logs_deadline = self.deadline(Duration::ZERO);
        let mut retry = RetryReport::default();
        let mut shown = Shown::default();
        loop {
            let actions = self.planner.next(self.now());
            if let Some(stop) = actions.stop {
                return self.stopped(stop, retry, &shown);
            }
            if let Some(like) = shown.history_wanted.take() {
                history = Some(self.read_history(like));
            }
            if actions.cancel_logs {
                logs = None;
            }
            if let Some(until) = actions.read_status {
                status = Some(self.read_status(self.deadline(until)));
            }
            if let Some(until) = actions.read_logs {
                logs_deadline = self.deadline(until);
                logs = self.read_logs(logs_deadline);
            }
            let wake = actions.wake_at.map(|at| self.started + at);
            tokio::select! {
                answer = next(&mut status) => {
                    status = None;
                    self.on_status(answer, &mut retry, &mut shown)?;
                    self.show_live();
                }
                answer = next(&mut logs) => {
                    logs = None;
                    if self.on_logs(answer) {
                        logs = self.read_logs(logs_deadline);
                    }
                    self.show_live();
                }
                answer = next(&mut history) => {
                    history = None;
                    self.on_history(answer);
                }
                () = sleep_until_or_never(wake) => {}
            }
        }
    }

    fn read_status(&self, deadline: Deadline) -> Pin<Box<dyn Future<Output = StatusAnswer> + 'a>> {
        let provider = self.provider;
        match (self.known.build_id.clone(), self.target) {
            (Some(id), _) => {
                Box::pin(async move { StatusAnswer::Snapshot(provider.snapshot(&id, deadline).await.map(Box::new)) })
            }
            (None, Target::ContextHash { hash, region, dockerfile }) => Box::pin(async move {
                let filters = (region.as_deref(), dockerfile.as_deref());
                StatusAnswer::Search(provider.find_by_context_hash(hash, filters, deadline).await)
            }),
            (None, Target::BuildId(id)) => {
                Box::pin(async move { StatusAnswer::Snapshot(provider.snapshot(id, deadline).await.map(Box::new)) })
            }
        }
    }

    /// One list request for earlier builds like this one, for the likely end.
    fn read_history(&self, like: Like) -> Reading<'a, HistoryAnswer> {
        let (provider, deadline) = (self.provider, self.deadline(self.planner.deadline()));
        Box::pin(async move { provider.history(&like, deadline).await })
    }

    fn on_history(&mut self, answer: HistoryAnswer) {
        match answer {
            Some(Ok(history)) => {
                if let Some(median) = history.median() {
                    let like = if history.same_dockerfile { "of the same Dockerfile" } else { "in this region" };
                    self.console.line(&format!(
                        "Recent builds {like}: median {} of the last {}",
                        duration::format(Duration::from_secs(median.as_secs())),
                        history.durations.len()
                    ));
                }
                if let Some(eta) = self.progress.history(history) {
                    self.planner.eta(self.now(), eta);
                }
            }
            // The history only guides the polling: without it the gate polls as without a log.
            Some(Err(e)) => tracing::info!("recent builds could not be listed: {}", e.reason()),
            None => {}
        }
    }

    fn read_logs(&self, deadline: Deadline) -> Pending<'a, Option<Result<LogWindow, FetchError>>> {
        let (provider, id, limit) = (self.provider, self.known.build_id.clone()?, self.logs.as_ref()?.limit());
        Some(Box::pin(async move { provider.log_window(&id, limit, deadline).await }))
    }

    fn on_status(&mut self, answer: StatusAnswer, retry: &mut RetryReport, shown: &mut Shown) -> Result<(), Failure> {
        let now = self.now();
        match answer {
            StatusAnswer::Snapshot(Ok(snapshot)) => {
                retry.recovered(self.console);
                if let Some(eta) = self.progress.observe(&snapshot) {
                    self.planner.eta(now, eta);
                }
                if !shown.history_asked && !snapshot.state.is_terminal() {
                    shown.history_asked = true;
                    shown.history_wanted.clone_from(&snapshot.timing.like);
                }
                let changed = self.report_changes(&snapshot, shown);
                let observed = match snapshot.state {
                    BuildState::Pending => planner::Seen::Pending { changed },
                    state if state.is_terminal() => planner::Seen::Terminal,
                    _ => planner::Seen::Running { changed },
                };
                // Known before the logs are read, so a signal meanwhile still reports this status.
                self.known.last = Some(*snapshot);
                self.planner.status_answered(now, observed);
            }
            StatusAnswer::Search(Ok(Some(found))) => {
                retry.recovered(self.console);
                self.console.line(&format!(
                    "Picked build {} (created {}): the newest of {} with this context hash",
                    found.id, found.created_at, found.matched
                ));
                self.recorder.build_found(&found.id)?;
                self.known.build_id = Some(found.id);
                self.planner.status_answered(now, planner::Seen::Found);
            }
            StatusAnswer::Search(Ok(None)) => {
                retry.recovered(self.console);
                self.planner.status_answered(now, planner::Seen::NotYet);
            }
            StatusAnswer::Snapshot(Err(e)) | StatusAnswer::Search(Err(e)) => self.on_failure(now, &e, retry)?,
        }
        Ok(())
    }

    fn on_failure(&mut self, now: Duration, e: &FetchError, retry: &mut RetryReport) -> Result<(), Failure> {
        let (retry_after, unreadable) = match e {
            FetchError::Refused(refusal) => return Err(Failure::Refused(refusal.clone())),
            FetchError::Transient { retry_after, .. } => (*retry_after, false),
            FetchError::Unreadable { .. } | FetchError::TooLarge => (None, true),
        };
        match self.planner.status_failed(now, Failed { retry_after, unreadable }) {
            Retry::GiveUp => {
                Err(Failure::Unreadable(format!("{} ({} times in a row)", e.reason(), planner::UNREADABLE_LIMIT)))
            }
            Retry::After { delay, asked } => {
                retry.failed(self.console, e.reason(), delay, asked);
                Ok(())
            }
        }
    }

    /// Takes a log answer; says whether to read again at once.
    fn on_logs(&mut self, answer: Option<Result<LogWindow, FetchError>>) -> bool {
        let now = self.now();
        let url = self.known.last.as_ref().and_then(|s| s.logs_url.clone());
        let status = self.known.last.as_ref().map_or_else(|| "building".to_string(), |s| s.provider_status.clone());
        let progress = &self.progress;
        let phase_line = |phase: &str| progress.status_text(now, &status, Some(phase));
        let (Some(answer), Some(stream)) = (answer, self.logs.as_mut()) else {
            let usual_window = self.logs.as_ref().map_or(crate::logs::BASE_LIMIT, LogStream::usual_window);
            let read =
                LogsRead { new_entries: 0, failed: false, retry_after: None, usual_window, stage: Stage::Unknown };
            self.planner.logs_read(now, read);
            return false;
        };
        match stream.answer(answer, now, self.console, (url.as_deref(), &phase_line)) {
            AfterAnswer::ReadAgain => true,
            AfterAnswer::Done { new_entries, failed, retry_after } => {
                let (usual_window, stage) = (stream.usual_window(), stream.phases().stage());
                self.planner.logs_read(now, LogsRead { new_entries, failed, retry_after, usual_window, stage });
                false
            }
        }
    }

    fn stopped(&mut self, stop: Stop, retry: RetryReport, shown: &Shown) -> Result<Snapshot, Failure> {
        if let Some(stream) = self.logs.as_mut() {
            let url = self.known.last.as_ref().and_then(|s| s.logs_url.clone());
            let (now, progress) = (self.started.elapsed(), &self.progress);
            let status = self.known.last.as_ref().map_or_else(|| "building".to_string(), |s| s.provider_status.clone());
            stream.end(self.console, (url.as_deref(), &|phase: &str| progress.status_text(now, &status, Some(phase))));
            if stop.log_read_missed {
                crate::logs::final_read_missed(self.console, url.as_deref());
            }
        }
        // The build's end is told after its last log lines.
        if let (Some(last), true) = (&self.known.last, stop.ended) {
            let mut text = format!("status: {}", last.provider_status);
            if let Some(ended) = self.progress.ended_text(last.duration_secs) {
                text = format!("{text} · {ended}");
            }
            if shown.status.as_deref() != Some(last.provider_status.as_str()) {
                self.console.status(self.now(), &text);
            }
        }
        self.known.log_tail = self.logs.as_ref().map(LogStream::recent).unwrap_or_default();
        self.known.phases = self.logs.as_mut().map(LogStream::take_phases);
        match (&self.known.last, stop.ended) {
            (Some(last), true) => Ok(last.clone()),
            _ => Err(Failure::Deadline { last_error: retry.last_error }),
        }
    }

    /// The live line at a terminal (nothing elsewhere): where the build stands now.
    fn show_live(&mut self) {
        let Some(last) = self.known.last.as_ref() else {
            self.console.live("waiting for the build");
            return;
        };
        let phase = last.phase.map(str::to_string).or_else(|| self.log_phase());
        let lines = self.logs.as_ref().map(LogStream::printed);
        let text = self.progress.live_text(self.now(), &last.provider_status, phase.as_deref(), lines);
        self.console.live(&text);
    }

    /// The phase the build log is in, when it tells.
    fn log_phase(&self) -> Option<String> {
        self.logs.as_ref()?.phases().current().map(str::to_string)
    }

    /// Prints a status line for the build and for its parts that changed; says whether any did.
    fn report_changes(&mut self, snapshot: &Snapshot, seen: &mut Shown) -> bool {
        let elapsed = self.now();
        let mut changed = false;
        // A terminal status is told when the wait stops, after the last log lines.
        if seen.status.as_deref() != Some(snapshot.provider_status.as_str()) && !snapshot.state.is_terminal() {
            let phase = snapshot.phase.map(str::to_string).or_else(|| self.log_phase());
            let text = self.progress.status_text(elapsed, &snapshot.provider_status, phase.as_deref());
            self.console.status(elapsed, &text);
            seen.status = Some(snapshot.provider_status.clone());
            changed = true;
        }
        if snapshot.state == BuildState::Unknown && seen.unknown.insert(snapshot.provider_status.clone()) {
            self.console
                .warning(&format!("unknown build status {:?}: treated as still in progress", snapshot.provider_status));
        }
        changed | seen.parts_changed(&snapshot.parts, |line| self.console.status(elapsed, line))
    }
}

/// What was printed of the build so far, to print only changes.
#[derive(Default)]
struct Shown {
    status: Option<String>,
    /// The list of earlier builds was asked for (once), and what it must match.
    history_asked: bool,
    history_wanted: Option<Like>,
    parts: HashMap<String, String>,
    counts: String,
    unknown: HashSet<String>,
}

impl Shown {
    fn parts_changed(&mut self, parts: &[Part], mut print: impl FnMut(&str)) -> bool {
        if parts.len() > LISTED_PARTS {
            let mut counts: Vec<(String, usize)> = Vec::new();
            let mut index: HashMap<&str, usize> = HashMap::new();
            for part in parts {
                let at = *index.entry(part.status.as_str()).or_insert_with(|| {
                    counts.push((part.status.clone(), 0));
                    counts.len() - 1
                });
                counts[at].1 += 1;
            }
            let line = counts.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ");
            let line = format!("{} artifacts: {line}", parts.len());
            let changed = line != self.counts;
            if changed {
                print(&line);
                self.counts = line;
            }
            return changed;
        }
        let mut changed = false;
        for part in parts {
            if self.parts.get(&part.name) != Some(&part.status) {
                print(&format!("{}: {}", part.name, part.status));
                self.parts.insert(part.name.clone(), part.status.clone());
                changed = true;
            }
        }
        changed
    }
}

/// How failed status reads are told: one warning per streak, a line when the API asks for a
/// longer wait, and when it answers again after several.
#[derive(Default)]
struct RetryReport {
    in_a_row: u32,
    last_error: Option<String>,
}

impl RetryReport {
    fn failed(&mut self, console: &mut Console, reason: String, delay: Duration, asked: bool) {
        self.in_a_row += 1;
        let wait = duration::format(Duration::from_millis(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)));
        if self.in_a_row == 1 {
            console.warning(&format!("{reason}; retrying in {wait}"));
        } else if asked {
            console.line(&format!("{reason}; waiting {wait} as the API asks (Retry-After)"));
        } else {
            tracing::info!("{reason}; retrying in {delay:?}");
        }
        self.last_error = Some(reason);
    }

    fn recovered(&mut self, console: &mut Console) {
        if self.in_a_row > 1 {
            console.line(&format!("The API answered again after {} failed requests", self.in_a_row));
        }
        self.in_a_row = 0;
        self.last_error = None;
    }
}

/// The output of the future in flight, or never when there is none.
async fn next<T>(pending: &mut Pending<'_, T>) -> T {
    match pending.as_mut() {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_or_never(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}
