//! The outcome: what the wait's result and what is known of the build mean, in one place —
//! the `status` output, the exit code, every output's value, the summary's facts and the lines
//! that say how it ended.

mod hints;
mod record;

use std::time::Duration;

pub use hints::{failure_hint, key_hint, refusal_message};
pub use record::Recorder;

use crate::ci::Console;
use crate::ci::github::Summary;
use crate::duration;
use crate::error::{Failure, Signal};
use crate::provider::{BuildState, Image, ProviderKind, Snapshot, Target};

/// The contract's exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success,
    BuildFailed,
    Config,
    Api,
    Deadline,
    Interrupted(Signal),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::BuildFailed => 1,
            Exit::Config => 2,
            Exit::Api => 3,
            Exit::Deadline => 124,
            Exit::Interrupted(Signal::Interrupt) => 130,
            Exit::Interrupted(Signal::Terminate) => 143,
            Exit::Interrupted(Signal::Hangup) => 129,
        }
    }
}

/// What the gate reports with: the configuration's facts that words need.
pub struct Context<'a> {
    pub provider: ProviderKind,
    pub target: &'a Target,
    pub timeout: Duration,
    /// Which variable holds the key, for a refused token.
    pub key_hint: String,
}

/// How the wait ended, with what is known of the build.
pub struct Outcome {
    end: End,
    build_id: Option<String>,
    last: Option<Snapshot>,
    log_tail: Vec<String>,
    phases: Option<crate::phases::Phases>,
    waited_secs: u64,
}

enum End {
    Succeeded(Image),
    /// The build succeeded, but the answer names no image: what is missing.
    NoImage(&'static str),
    /// The build ended unsuccessfully.
    Unsuccessful(BuildState),
    Stopped(Failure),
}

/// What is known of the build when the wait ends.
#[derive(Debug, Default)]
pub struct Known {
    pub build_id: Option<String>,
    /// The last status read.
    pub last: Option<Snapshot>,
    /// The last build log lines.
    pub log_tail: Vec<String>,
    /// The build's phases as its log told them.
    pub phases: Option<crate::phases::Phases>,
}

impl Outcome {
    pub fn new(result: Result<Snapshot, Failure>, known: Known, waited: Duration) -> Self {
        let Known { build_id, last: last_seen, log_tail, phases } = known;
        let (end, last) = match result {
            Ok(snapshot) => {
                let end = match (&snapshot.state, &snapshot.image) {
                    (BuildState::Succeeded, Ok(image)) => End::Succeeded(image.clone()),
                    (BuildState::Succeeded, Err(missing)) => End::NoImage(missing),
                    (state, _) => End::Unsuccessful(*state),
                };
                (end, Some(snapshot))
            }
            Err(failure) => (End::Stopped(failure), last_seen),
        };
        Outcome { end, build_id, last, log_tail, phases, waited_secs: waited.as_secs() }
    }

    pub fn exit(&self) -> Exit {
        match &self.end {
            End::Succeeded(_) => Exit::Success,
            End::NoImage(_) | End::Stopped(Failure::Refused(_) | Failure::Unreadable(_)) => Exit::Api,
            End::Unsuccessful(_) => Exit::BuildFailed,
            End::Stopped(Failure::Output(_)) => Exit::Config,
            End::Stopped(Failure::Deadline { .. }) => Exit::Deadline,
            End::Stopped(Failure::Interrupted(signal)) => Exit::Interrupted(*signal),
        }
    }

    /// The contract's `status` output.
    pub fn status(&self) -> &'static str {
        match &self.end {
            End::Succeeded(_) | End::NoImage(_) => "success",
            End::Unsuccessful(BuildState::TimedOut) => "timeout",
            End::Unsuccessful(BuildState::Cancelled) => "cancelled",
            End::Unsuccessful(_) => "failed",
            End::Stopped(_) => "waiting",
        }
    }

    fn image(&self) -> Option<&Image> {
        match &self.end {
            End::Succeeded(image) => Some(image),
            _ => None,
        }
    }

    /// Why it did not succeed, in one message; `None` on success.
    pub fn error_message(&self, ctx: &Context) -> Option<String> {
        match &self.end {
            End::Succeeded(_) => None,
            End::NoImage(missing) => Some(format!("the build succeeded, but {missing}: no image-uri can be given")),
            End::Unsuccessful(_) => Some(
                self.last.as_ref().and_then(|s| s.error_message.clone()).unwrap_or_else(|| "the build failed".into()),
            ),
            End::Stopped(failure) => Some(self.failure_message(failure, ctx)),
        }
    }

    fn failure_message(&self, failure: &Failure, ctx: &Context) -> String {
        match failure {
            Failure::Output(message) | Failure::Unreadable(message) => message.clone(),
            Failure::Refused(refusal) => refusal_message(refusal, &ctx.key_hint),
            Failure::Interrupted(signal) => format!("interrupted by {}", signal.name()),
            Failure::Deadline { last_error } => {
                let timeout = duration::format(ctx.timeout);
                let note = last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default();
                match (&self.build_id, ctx.target) {
                    (None, search @ Target::ContextHash { .. }) => format!(
                        "no build with {} appeared before the deadline (BUILDGATE_TIMEOUT={timeout}){note}",
                        search.search_words().unwrap_or_default()
                    ),
                    (id, _) => format!(
                        "the deadline (BUILDGATE_TIMEOUT={timeout}) passed while build {} was still {}; it may still \
                         finish on the server{note}",
                        id.as_deref().unwrap_or("?"),
                        self.last.as_ref().map_or("not yet seen", |s| s.provider_status.as_str())
                    ),
                }
            }
        }
    }

    /// Every output, in the order written.
    pub fn outputs(&self, ctx: &Context) -> Vec<(&'static str, String)> {
        let mut values = Vec::new();
        if let Some(id) = &self.build_id {
            values.push(("build-id", id.clone()));
        }
        values.push(("status", self.status().to_string()));
        let last = self.last.as_ref();
        if let Some(s) = last {
            values.push(("provider-status", s.provider_status.clone()));
        }
        if let Some(image) = self.image() {
            values.push(("image-uri", image.uri.clone()));
        }
        if let Some(d) = last.and_then(|s| s.duration_secs) {
            values.push(("duration", d.to_string()));
        }
        if let Some(url) = last.and_then(|s| s.logs_url.clone()) {
            values.push(("logs-url", url));
        }
        if let Some(e) = self.error_message(ctx) {
            values.push(("error-message", crate::text::one_line(&e)));
        }
        values.push(("waited", self.waited_secs.to_string()));
        values
    }

    /// The step summary's facts.
    pub fn summary<'a>(&'a self, ctx: &Context, error: Option<&'a str>) -> Summary<'a> {
        let last = self.last.as_ref();
        Summary {
            provider: ctx.provider.name(),
            build_id: self.build_id.as_deref(),
            status: self.status(),
            provider_status: last.map(|s| s.provider_status.as_str()),
            duration_secs: last.and_then(|s| s.duration_secs),
            image: self.image().map(|i| (i.uri.as_str(), i.source)),
            logs_url: last.and_then(|s| s.logs_url.as_deref()),
            waited_secs: self.waited_secs,
            error_message: error,
            parts: last.map_or_else(Vec::new, |s| {
                s.parts.iter().map(|p| (p.name.as_str(), p.status.as_str(), p.image.as_deref())).collect()
            }),
            log_tail: if matches!(self.end, End::Unsuccessful(_)) { &self.log_tail } else { &[] },
            phases: self.phases.as_ref(),
        }
    }

    /// Says in the CI log how it ended.
    pub fn report(&self, console: &mut Console, ctx: &Context) {
        console.close_group();
        console.finish_live();
        if let Some(phases) = self.phases.as_ref().filter(|p| !p.is_empty()) {
            console.phase_table(&phases.table_lines());
        }
        let id = self.build_id.as_deref().unwrap_or("?");
        match &self.end {
            End::Succeeded(image) => {
                let took =
                    self.last.as_ref().and_then(|s| s.duration_secs).map(|d| format!(" in {d}s")).unwrap_or_default();
                console.line(&format!("Build {id} succeeded{took}: {}", image.uri));
            }
            End::Unsuccessful(state) => self.report_unsuccessful(console, ctx, *state),
            End::Stopped(Failure::Interrupted(signal)) => {
                let stood = self.last.as_ref().map_or("not yet seen", |s| s.provider_status.as_str());
                let build = self.build_id.as_ref().map(|i| format!(" build {i} was {stood};")).unwrap_or_default();
                console
                    .line(&format!("Interrupted by {}:{build} the build itself goes on on the server", signal.name()));
            }
            End::NoImage(_) | End::Stopped(_) => {
                console.error("buildgate", &self.error_message(ctx).unwrap_or_default());
            }
        }
    }

    fn report_unsuccessful(&self, console: &mut Console, ctx: &Context, state: BuildState) {
        let verb = match state {
            BuildState::TimedOut => "timed out on the provider's side",
            BuildState::Cancelled => "was cancelled",
            _ => "failed",
        };
        let reason = self.error_message(ctx).unwrap_or_default();
        console.error("Build failed", &reason);
        if !self.log_tail.is_empty() {
            let heading = format!("Last {} build log lines:", self.log_tail.len());
            console.log_excerpt(&heading, self.log_tail.iter().map(String::as_str));
            if let Some(hint) = failure_hint(&self.log_tail) {
                console.line(&format!("Hint: {hint}"));
            }
        }
        let status = self.last.as_ref().map_or("?", |s| s.provider_status.as_str());
        console.line(&format!("Build {} {verb} ({status}): {reason}", self.build_id.as_deref().unwrap_or("?")));
    }
}

#[cfg(test)]
mod tests;
