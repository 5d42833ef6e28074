//! Build log streaming: each answer of the logs endpoint placed against what was printed
//! ([`place`]), windows sized in lines and bytes, failures told once per kind, and the lines
//! printed once each, in phase groups, up to a cap.

mod place;
mod sizing;

use std::collections::VecDeque;

pub use place::{Fingerprinter, MAX_LIMIT, Marker, Placement, Read, Tail};
pub use sizing::{BASE_LIMIT, Sizing};

use crate::ci::Console;
use crate::http::FetchError;
use crate::text::{MAX_LINE_BYTES, cut};

/// Lines repeated outside any group when a build fails.
pub const FAILURE_TAIL_LINES: usize = 30;

/// One answer of the logs endpoint: its entries (an entry may hold several lines) and the size
/// of the answer's body, which sizes the next windows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogWindow {
    pub entries: Vec<String>,
    pub bytes: usize,
}

/// What to print of a window: its entries from `from` on, after `marker` if any.
#[derive(Debug)]
pub struct Placed {
    pub entries: Vec<String>,
    pub from: usize,
    pub marker: Option<Marker>,
    /// The window was one in hand, not the answer just read.
    pub held: bool,
}

/// What to do after an answer.
#[derive(Debug)]
pub enum Step {
    /// Read again at once, with [`Reader::limit`]: the window did not tell where it belongs.
    ReadAgain,
    /// Print this. `failure`: a re-read failed, so the window in hand was placed as it was.
    Print { placed: Placed, failure: Option<FetchError> },
    /// Nothing could be read.
    Failed(FetchError),
}

/// The most re-reads after one read: enough to grow to the largest window and then to search
/// (halving) for the largest one under the body cap.
pub const MAX_REREADS: usize = 16;

/// Placing answers: the printed tail, window sizes, and a window held while a larger one is read.
pub struct Reader {
    tail: Tail,
    sizing: Sizing,
    limit: usize,
    held: Option<(LogWindow, Read)>,
    /// While a window is held: the smallest limit whose answer was over the body cap. The
    /// re-reads then search between the two, so that one entry too large to read (or a few)
    /// costs only the lines no readable window holds.
    over: Option<usize>,
    /// Re-reads since the last placed (or failed) read.
    rereads: usize,
    /// A re-read failed while a window was in hand: it waits for the next read (most failures
    /// pass), and is placed as it is if that one fails too, or at the end.
    held_failed: bool,
}

impl Reader {
    pub fn new(tail: Tail) -> Self {
        let sizing = Sizing::default();
        Reader { limit: sizing.base(&tail), tail, sizing, held: None, over: None, rereads: 0, held_failed: false }
    }

    /// The `limit` for the next request.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many entries a usual read holds now, sized in bytes from the lines seen.
    pub fn usual_window(&self) -> usize {
        self.sizing.base(&self.tail)
    }

    pub fn answer(&mut self, answer: Result<LogWindow, FetchError>) -> Step {
        let asked = self.limit;
        match answer {
            Ok(window) => {
                if std::mem::take(&mut self.held_failed)
                    && let Some((held, held_read)) = self.held.take()
                    && !place::contains(
                        &self.tail.fingerprints(&window.entries),
                        &self.tail.fingerprints(&held.entries),
                    )
                {
                    // The log changed past the window in hand (it started over, say): that one
                    // is placed as it is, and the next read finds what follows.
                    (self.over, self.rereads) = (None, 0);
                    return self.place(held, Read { can_grow: false, ..held_read }, None, true);
                }
                let mut read = self.sizing.read(&self.tail, asked, &window.entries, window.bytes);
                if let Some(over) = self.over {
                    // What is too large is known: larger, but below that.
                    read.can_grow = window.entries.len() == asked && asked + 1 < over;
                }
                read.can_grow &= self.rereads < MAX_REREADS;
                self.place(window, read, None, false)
            }
            Err(e) => {
                if matches!(e, FetchError::TooLarge) {
                    self.sizing.too_large(asked);
                    // A larger window over the cap: one between it and the window in hand.
                    if let Some(have) = self.held.as_ref().map(|(w, _)| w.entries.len())
                        && asked > have + 1
                        && self.rereads < MAX_REREADS
                    {
                        self.over = Some(asked);
                        self.rereads += 1;
                        self.limit = have + (asked - have) / 2;
                        return Step::ReadAgain;
                    }
                }
                if self.held.is_some() && !self.held_failed && !matches!(e, FetchError::TooLarge) {
                    // The next read asks for the same larger window again.
                    self.held_failed = true;
                    return Step::Failed(e);
                }
                (self.over, self.rereads, self.held_failed) = (None, 0, false);
                self.limit = self.sizing.base(&self.tail);
                match self.held.take() {
                    // Never drop what is in hand: placed as it is, the gap marked.
                    Some((window, read)) => self.place(window, Read { can_grow: false, ..read }, Some(e), true),
                    None => Step::Failed(e),
                }
            }
        }
    }

    /// The window still in hand at the end, placed as it is.
    pub fn flush(&mut self) -> Option<Step> {
        let (window, read) = self.held.take()?;
        (self.over, self.rereads, self.held_failed) = (None, 0, false);
        Some(self.place(window, Read { can_grow: false, ..read }, None, true))
    }

    fn place(&mut self, window: LogWindow, read: Read, failure: Option<FetchError>, held: bool) -> Step {
        let marks = self.tail.fingerprints(&window.entries);
        match self.tail.place(&window.entries, &marks, read) {
            Placement::Grow => {
                self.limit = match self.over {
                    Some(over) => read.asked + (over - read.asked) / 2,
                    None => self.sizing.grown(&self.tail, read.asked, &window.entries, window.bytes),
                };
                self.rereads += 1;
                self.held = Some((window, read));
                Step::ReadAgain
            }
            Placement::From { from, marker, whole } => {
                (self.held, self.over, self.rereads) = (None, None, 0);
                // Shorter than asked, placed by its content, and starting after the first entry
                // printed: not the whole log, so the endpoint caps its answers.
                if window.entries.len() < read.asked && !whole && marker.is_none() && from < self.tail.len() {
                    self.sizing.capped_at(window.entries.len());
                }
                self.tail.commit(&window.entries, &marks, from, marker);
                let new = window.entries.len() - from;
                self.sizing.observe(&window.entries[from..]);
                self.limit = self.sizing.next(&self.tail, read.asked, new);
                Step::Print { placed: Placed { entries: window.entries, from, marker, held }, failure }
            }
        }
    }
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
pub struct LineCap {
    pub lines: usize,
    pub set_by: &'static str,
}

/// Streams one build's log into the console across reads.
pub struct LogStream {
    reader: Reader,
    group: String,
    printed: usize,
    cap: LineCap,
    cap_reported: bool,
    warned: Vec<FailureKind>,
    failing: bool,
    recent: VecDeque<String>,
}

/// What one answer left to do.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterAnswer {
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
        }
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
        console: &mut Console,
        logs_url: Option<&str>,
    ) -> AfterAnswer {
        match self.reader.answer(answer) {
            Step::ReadAgain => AfterAnswer::ReadAgain,
            Step::Failed(e) => {
                self.failed(console, &e);
                AfterAnswer::Done { new_entries: 0, failed: true, retry_after: retry_after_of(&e) }
            }
            Step::Print { placed, failure } => self.show(&placed, failure.as_ref(), console, logs_url),
        }
    }

    /// At the end: a window still in hand (its re-read failed) is placed and shown.
    pub fn end(&mut self, console: &mut Console, logs_url: Option<&str>) {
        if let Some(Step::Print { placed, failure }) = self.reader.flush() {
            self.show(&placed, failure.as_ref(), console, logs_url);
        }
    }

    fn show(
        &mut self,
        placed: &Placed,
        failure: Option<&FetchError>,
        console: &mut Console,
        logs_url: Option<&str>,
    ) -> AfterAnswer {
        match failure {
            Some(e) => self.failed(console, e),
            None => self.recovered(console),
        }
        if let Some(marker) = placed.marker {
            console.warning(&marker_text(marker, self.printed == 0, logs_url));
        }
        let new_entries = placed.entries.len() - placed.from;
        self.print(console, &placed.entries[placed.from..], logs_url);
        // A re-read refused with `Retry-After` holds off the next read as any refusal does.
        let retry_after = failure.and_then(retry_after_of);
        AfterAnswer::Done { new_entries, failed: failure.is_some(), retry_after }
    }

    /// The final read did not complete: the last lines may not have been shown.
    pub fn end_unread(&mut self, console: &mut Console, logs_url: Option<&str>) {
        console.warning(&format!(
            "the last build log lines may not have been shown here: the final read of the log did not complete{}",
            where_to(logs_url)
        ));
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

    fn print(&mut self, console: &mut Console, entries: &[String], logs_url: Option<&str>) {
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
                if let Some(phase) = phase_of(line) {
                    console.log_lines(&self.group, batch.drain(..));
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

/// `Entering phase: BUILD` (the API docs) and `Entering phase BUILD` (`CodeBuild`) start a phase.
pub fn phase_of(line: &str) -> Option<&str> {
    let at = line.find("Entering phase")?;
    let rest = &line[at + "Entering phase".len()..];
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    if !rest.starts_with(' ') {
        return None;
    }
    let rest = rest.trim_start();
    let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    (len > 0).then(|| &rest[..len])
}

#[cfg(test)]
mod tests;
