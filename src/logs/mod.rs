//! Build log streaming: each answer of the logs endpoint placed against what was printed
//! ([`place`]), windows sized in lines and bytes, failures told once per kind, and the lines
//! printed once each, in phase groups, up to a cap.

mod place;
mod reader;
mod sizing;

use std::collections::VecDeque;
use std::time::Duration;

// The placement is public for the alignment benchmark; the rest is the crate's own.
pub use place::{Fingerprinter, MAX_LIMIT, Marker, Placement, Read, Tail};
pub(crate) use reader::{Placed, Reader, Step};
pub(crate) use sizing::BASE_LIMIT;

use crate::ci::Console;
use crate::http::FetchError;
use crate::phases::{PhaseEvent, Phases};
use crate::text::{MAX_LINE_BYTES, cut};

/// Lines repeated outside any group when a build fails.
pub(crate) const FAILURE_TAIL_LINES: usize = 30;

/// One answer of the logs endpoint: its entries (an entry may hold several lines) and the size
/// of the answer's body, which sizes the next windows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogWindow {
    pub entries: Vec<String>,
    pub bytes: usize,
}

/// Kinds of logs failure, each told once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailureKind {
    Transient,
    Unreadable,
    TooLarge,
    Refused,
}

impl FailureKind {
    fn of(e: &FetchError) -> Self {
        match e {
            FetchError::Transient { .. } => FailureKind::Transient,
            FetchError::Unreadable { .. } => FailureKind::Unreadable,
            FetchError::TooLarge => FailureKind::TooLarge,
            FetchError::Refused { .. } => FailureKind::Refused,
        }
    }
}

/// The most lines to stream, and what set it (named when the cap is reached).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineCap {
    pub lines: usize,
    pub set_by: &'static str,
}

/// Streams one build's log into the console across reads.
pub(crate) struct LogStream {
    reader: Reader,
    group: String,
    printed: usize,
    cap: LineCap,
    cap_reported: bool,
    warned: Vec<FailureKind>,
    failing: bool,
    recent: VecDeque<String>,
    phases: Phases,
    /// When the answer being shown was read (time since the gate started).
    now: Duration,
}

/// Words the status line that opens a phase: the phase's name in, the line's text out.
pub(crate) type PhaseLine<'a> = &'a dyn Fn(&str) -> String;

/// What one answer left to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AfterAnswer {
    /// Read again at once (a larger window).
    ReadAgain,
    /// Done: this many entries were new. `failed`: the read failed and `retry_after` says when
    /// the endpoint asked to be read again.
    Done { new_entries: usize, failed: bool, retry_after: Option<std::time::Duration> },
}

impl LogStream {
    pub fn new(cap: LineCap) -> Self {
        LogStream {
            reader: Reader::new(Tail::default()),
            group: "Build log".into(),
            printed: 0,
            cap,
            cap_reported: false,
            warned: Vec::new(),
            failing: false,
            recent: VecDeque::new(),
            phases: Phases::new(),
            now: Duration::ZERO,
        }
    }

    /// The build's phases as the log told them.
    pub fn phases(&self) -> &Phases {
        &self.phases
    }

    /// How many lines were printed.
    pub fn printed(&self) -> usize {
        self.printed
    }

    /// The phases, for the report at the end.
    pub fn take_phases(&mut self) -> Phases {
        std::mem::take(&mut self.phases)
    }

    pub fn limit(&self) -> usize {
        self.reader.limit()
    }

    /// How many entries a usual read holds now: long lines make it fewer than the API's default.
    pub fn usual_window(&self) -> usize {
        self.reader.usual_window()
    }

    /// The last lines of the log, for the failure report.
    pub fn recent(&self) -> Vec<String> {
        self.recent.iter().cloned().collect()
    }

    /// Takes one answer of the logs endpoint and prints what it places.
    pub fn answer(
        &mut self,
        answer: Result<LogWindow, FetchError>,
        now: Duration,
        console: &mut Console,
        output: (Option<&str>, PhaseLine),
    ) -> AfterAnswer {
        self.now = now;
        let (logs_url, phase_line) = output;
        match self.reader.answer(answer) {
            Step::ReadAgain => AfterAnswer::ReadAgain,
            Step::Failed(e) => {
                self.failed(console, &e);
                AfterAnswer::Done { new_entries: 0, failed: true, retry_after: retry_after_of(&e) }
            }
            Step::Print { placed, failure } => self.show(&placed, failure.as_ref(), console, (logs_url, phase_line)),
        }
    }

    /// At the end: a window still in hand (its re-reads failed or were cut off) is placed and shown.
    pub fn end(&mut self, console: &mut Console, output: (Option<&str>, PhaseLine)) {
        if let Some(Step::Print { placed, failure }) = self.reader.flush() {
            self.show(&placed, failure.as_ref(), console, output);
        }
    }

    fn show(
        &mut self,
        placed: &Placed,
        failure: Option<&FetchError>,
        console: &mut Console,
        output: (Option<&str>, PhaseLine),
    ) -> AfterAnswer {
        let (logs_url, phase_line) = output;
        if placed.held {
            tracing::debug!(entries = placed.entries.len(), "the window in hand is placed as it is");
        }
        match failure {
            Some(e) => self.failed(console, e),
            None => self.recovered(console),
        }
        if let Some(marker) = placed.marker {
            console.warning(&marker_text(marker, self.printed == 0, logs_url));
        }
        let new_entries = placed.entries.len() - placed.from;
        self.print(console, &placed.entries[placed.from..], logs_url, phase_line);
        // A re-read refused with `Retry-After` holds off the next read as any refusal does.
        let retry_after = failure.and_then(retry_after_of);
        AfterAnswer::Done { new_entries, failed: failure.is_some(), retry_after }
    }

    fn failed(&mut self, console: &mut Console, e: &FetchError) {
        let kind = FailureKind::of(e);
        if !self.warned.contains(&kind) {
            self.warned.push(kind);
            self.failing = true;
            console.warning(&format!("cannot read the build logs ({}); still waiting on the build status", e.reason()));
        }
    }

    fn recovered(&mut self, console: &mut Console) {
        if self.failing {
            self.failing = false;
            console.line("The build logs can be read again");
        }
    }

    fn print(&mut self, console: &mut Console, entries: &[String], logs_url: Option<&str>, phase_line: PhaseLine) {
        let mut batch: Vec<&str> = Vec::new();
        for entry in entries {
            for line in entry.split('\n') {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if self.recent.len() == FAILURE_TAIL_LINES {
                    self.recent.pop_front();
                }
                self.recent.push_back(cut(line, MAX_LINE_BYTES).into_owned());
                if self.printed >= self.cap.lines {
                    continue;
                }
                if let Some(PhaseEvent::Entered(phase)) = self.phases.observe(line, self.now) {
                    console.log_lines(&self.group, batch.drain(..));
                    console.status(self.now, &phase_line(&phase));
                    self.group = format!("Build log · {phase}");
                }
                batch.push(line);
                self.printed += 1;
            }
        }
        console.log_lines(&self.group, batch.drain(..));
        if self.printed >= self.cap.lines && !self.cap_reported && self.cap.lines < usize::MAX {
            self.cap_reported = true;
            console.warning(&format!(
                "streamed {} build log lines, the cap set by {}: the rest is not shown{}",
                self.cap.lines,
                self.cap.set_by,
                where_to(logs_url)
            ));
        }
    }
}

/// How long a failed read asked to be left alone (`Retry-After`).
fn retry_after_of(e: &FetchError) -> Option<std::time::Duration> {
    match e {
        FetchError::Transient { retry_after, .. } => *retry_after,
        _ => None,
    }
}

/// The final read did not complete: the last lines may not have been shown.
pub(crate) fn final_read_missed(console: &mut Console, logs_url: Option<&str>) {
    console.warning(&format!(
        "the last build log lines may not have been shown here: the final read of the log did not complete{}",
        where_to(logs_url)
    ));
}

fn where_to(logs_url: Option<&str>) -> String {
    logs_url.map(|u| format!("; the full log is at {u}")).unwrap_or_default()
}

/// The one line that stands where lines may be missing or shown twice.
fn marker_text(marker: Marker, nothing_printed: bool, logs_url: Option<&str>) -> String {
    let what = match marker {
        Marker::Missing if nothing_printed => {
            "earlier build log lines may not have been shown here: the log is longer than the largest window \
             the endpoint gives"
                .to_string()
        }
        Marker::Missing => format!(
            "some build log lines may not have been shown here (or are shown twice): more than the largest \
             window ({MAX_LIMIT} lines or the byte budget) arrived between two reads, or the endpoint's answer \
             did not tell where the new lines start"
        ),
        Marker::StartedOver => {
            "the build log started over (the build may have been retried): its lines follow from the start".to_string()
        }
        Marker::LastLineChanged => {
            "the last build log line shown was still being written: it follows again in full".to_string()
        }
    };
    format!("{what}{}", where_to(logs_url))
}

#[cfg(test)]
mod tests;
