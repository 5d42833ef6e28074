//! Build log streaming: aligning each new log window (a sliding tail of the log) with what was
//! already printed, so every line is printed once and in order, in phase groups, up to a cap.

use std::collections::VecDeque;

use tokio::time::Instant;

use crate::ci::Console;
use crate::http::FetchError;
use crate::provider::Provider;

/// The API's default and maximum `limit`.
pub const BASE_LIMIT: usize = 500;
pub const MAX_LIMIT: usize = 10_000;
/// Lines repeated outside any group when a build fails.
pub const FAILURE_TAIL_LINES: usize = 30;

/// A fast 64-bit hash of a line; equal hashes are always confirmed by comparing the text.
pub fn line_hash(line: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = line.len() as u64;
    let mut chunks = line.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(c.try_into().expect("8 bytes"))).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    h
}

/// The last entries printed (at most [`MAX_LIMIT`]: about two windows with the one being read).
#[derive(Default)]
pub struct Tail {
    entries: VecDeque<(u64, String)>,
    /// Entries consumed since the start of the log.
    seen: usize,
}

/// Where a new window meets what was printed.
#[derive(Debug, PartialEq, Eq)]
pub enum Alignment {
    /// `window[from..]` is new.
    NewFrom(usize),
    /// The window is full and does not overlap the printed tail: lines may be missing before it.
    Gap,
}

impl Tail {
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Aligns a window fetched with `limit`. A window shorter than `limit` is the whole log, so
    /// its new part starts at the count seen; a full one is aligned on the longest suffix of the
    /// printed tail that is a prefix of the window (repeated lines are real: sequences, not sets).
    pub fn align(&self, window: &[String], limit: usize) -> Alignment {
        if window.len() < limit {
            return Alignment::NewFrom(self.seen.min(window.len()));
        }
        match self.overlap(window) {
            0 => Alignment::Gap,
            k => Alignment::NewFrom(k),
        }
    }

    /// The longest k with `tail[len-k..] == window[..k]`, in time linear in the window: the
    /// prefix function of the window's line hashes, run over the last `window.len()` printed lines.
    pub fn overlap(&self, window: &[String]) -> usize {
        let m = window.len();
        if m == 0 || self.entries.is_empty() {
            return 0;
        }
        let pattern: Vec<u64> = window.iter().map(|l| line_hash(l)).collect();
        let mut border = vec![0usize; m];
        let mut k = 0;
        for i in 1..m {
            while k > 0 && pattern[i] != pattern[k] {
                k = border[k - 1];
            }
            if pattern[i] == pattern[k] {
                k += 1;
            }
            border[i] = k;
        }
        let start = self.entries.len().saturating_sub(m);
        let mut q = 0;
        for (hash, _) in self.entries.range(start..) {
            if q == m {
                q = border[q - 1];
            }
            while q > 0 && *hash != pattern[q] {
                q = border[q - 1];
            }
            if *hash == pattern[q] {
                q += 1;
            }
        }
        // Confirm the text behind the hashes; on a collision fall back to the next border.
        while q > 0 {
            let from = self.entries.len() - q;
            if self.entries.range(from..).zip(&window[..q]).all(|((_, printed), line)| printed == line) {
                return q;
            }
            q = border[q - 1];
        }
        0
    }

    pub fn push(&mut self, entry: &str) {
        if self.entries.len() == MAX_LIMIT {
            self.entries.pop_front();
        }
        self.entries.push_back((line_hash(entry), entry.to_string()));
        self.seen += 1;
    }
}

/// `Entering phase: BUILD` (the API docs) and `Entering phase BUILD` (CodeBuild) start a phase.
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

/// Streams one build's log into the console across polls.
pub struct LogStream {
    tail: Tail,
    limit: usize,
    group: String,
    printed: usize,
    max_lines: usize,
    cap_reported: bool,
    failing_reported: bool,
    recent: VecDeque<String>,
    /// Requests made to the logs endpoint, for the benchmarks' accounting.
    pub requests: usize,
}

impl LogStream {
    pub fn new(max_lines: usize) -> Self {
        LogStream {
            tail: Tail::default(),
            limit: BASE_LIMIT,
            group: "Build log".into(),
            printed: 0,
            max_lines,
            cap_reported: false,
            failing_reported: false,
            recent: VecDeque::new(),
            requests: 0,
        }
    }

    /// The last lines of the log, for the failure report.
    pub fn recent(&self) -> Vec<String> {
        self.recent.iter().cloned().collect()
    }

    /// Reads the newest window and prints what is new. Failures only warn (once): the build's
    /// status alone decides the outcome.
    pub async fn read<P: Provider>(
        &mut self,
        provider: &P,
        id: &str,
        until: Instant,
        console: &mut Console,
        logs_url: Option<&str>,
    ) {
        loop {
            self.requests += 1;
            let window = match provider.log_window(id, self.limit, until).await {
                None => return,
                Some(Ok(window)) => window,
                Some(Err(e)) => return self.report_failure(console, &e),
            };
            match self.tail.align(&window, self.limit) {
                Alignment::NewFrom(from) => {
                    let new = window.len() - from;
                    self.print(console, &window[from..], logs_url);
                    // Keep a larger window while bursts continue; shrink back once they calm down.
                    if self.limit > BASE_LIMIT && new < self.limit / 4 {
                        self.limit = (self.limit / 4).max(BASE_LIMIT);
                    }
                    return;
                }
                Alignment::Gap if self.limit < MAX_LIMIT => self.limit = (self.limit * 4).min(MAX_LIMIT),
                Alignment::Gap => {
                    let whereto = logs_url.map(|u| format!("; the full log is at {u}")).unwrap_or_default();
                    let what = if self.tail.seen() == 0 { "earlier" } else { "some" };
                    console.warning(&format!(
                        "{what} build log lines were not shown: more than {MAX_LIMIT} lines arrived between two reads{whereto}"
                    ));
                    self.print(console, &window, logs_url);
                    return;
                }
            }
        }
    }

    fn report_failure(&mut self, console: &mut Console, e: &FetchError) {
        if !self.failing_reported {
            self.failing_reported = true;
            let reason = match e {
                FetchError::Transient { reason, .. } | FetchError::Unreadable { reason } => reason,
                FetchError::Refused { message } => message,
            };
            console.warning(&format!("cannot read the build logs ({reason}); still waiting on the build status"));
        }
    }

    fn print(&mut self, console: &mut Console, entries: &[String], logs_url: Option<&str>) {
        let mut batch: Vec<&str> = Vec::new();
        for entry in entries {
            self.tail.push(entry);
            for line in entry.split('\n') {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if self.recent.len() == FAILURE_TAIL_LINES {
                    self.recent.pop_front();
                }
                self.recent.push_back(line.to_string());
                if self.printed >= self.max_lines {
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
        if self.printed >= self.max_lines && !self.cap_reported && self.max_lines < usize::MAX {
            self.cap_reported = true;
            let whereto = logs_url.map(|u| format!("; the full log is at {u}")).unwrap_or_default();
            console.warning(&format!(
                "streamed {} build log lines, the cap set by BUILDGATE_MAX_LOG_LINES: the rest is not shown{whereto}",
                self.max_lines
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_of(lines: &[&str]) -> Tail {
        let mut t = Tail::default();
        lines.iter().for_each(|l| t.push(l));
        t
    }

    fn window(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn overlap_is_the_longest_suffix_prefix() {
        let t = tail_of(&["a", "b", "c", "d"]);
        assert_eq!(t.overlap(&window(&["c", "d", "e"])), 2);
        assert_eq!(t.overlap(&window(&["a", "b", "c", "d"])), 4);
        assert_eq!(t.overlap(&window(&["x", "y"])), 0);
        assert_eq!(t.overlap(&window(&["d", "d"])), 1);
        let repeats = tail_of(&["", ".", ".", ""]);
        assert_eq!(repeats.overlap(&window(&[".", "", "x"])), 2);
        assert_eq!(repeats.overlap(&window(&["x", ""])), 0);
        assert_eq!(repeats.overlap(&window(&["", "x"])), 1);
        assert_eq!(repeats.overlap(&window(&[".", ".", "", "x"])), 3);
    }

    #[test]
    fn short_windows_are_the_whole_log() {
        let t = tail_of(&["x", "x"]);
        // With limit 10 a 3-line window is the whole log: the third "x" is new, though it repeats.
        assert_eq!(t.align(&window(&["x", "x", "x"]), 10), Alignment::NewFrom(2));
        assert_eq!(t.align(&window(&["x"]), 10), Alignment::NewFrom(1), "a shrinking log prints nothing");
        assert_eq!(t.align(&window(&["p", "q"]), 2), Alignment::Gap);
        assert_eq!(
            Tail::default().align(&window(&["a", "b"]), 2),
            Alignment::Gap,
            "a full first window may hide lines"
        );
    }

    #[test]
    fn phases_in_both_spellings() {
        assert_eq!(phase_of("[Container] 2026/03/04 10:00:00 Entering phase: INSTALL"), Some("INSTALL"));
        assert_eq!(phase_of("[Container] 2026/03/04 10:00:00.1 Entering phase BUILD"), Some("BUILD"));
        assert_eq!(phase_of("Entering phase POST_BUILD now"), Some("POST_BUILD"));
        assert_eq!(phase_of("Entering phase: "), None);
        assert_eq!(phase_of("Phase complete: BUILD State: SUCCEEDED"), None);
    }

    #[test]
    fn identical_texts_align_and_near_misses_do_not() {
        let t = tail_of(&["same", "same"]);
        assert_eq!(t.overlap(&window(&["same", "same", "same"])), 2);
        assert_eq!(t.overlap(&window(&["Same"])), 0);
    }
}
