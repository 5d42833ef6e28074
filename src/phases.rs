//! What the build log tells of the build's phases: `CodeBuild`'s phase lines and timestamps, a
//! bounded record of the phases seen, and their durations as plain text and as Markdown.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// At most this many phases are kept; further ones are only counted.
pub const MAX_PHASES: usize = 64;
/// Phase names are cut to this many characters.
const NAME_MAX: usize = 40;
/// Words Mermaid's gantt lexer could read as a keyword at the start of a task's name (lower case).
const MERMAID_KEYWORDS: &str = "gantt dateformat inclusiveenddates topaxis axisformat tickinterval includes excludes \
                                todaymarker weekday weekend title acctitle accdescr section click call";

/// `Entering phase: BUILD` (the API docs) and `Entering phase BUILD` (`CodeBuild`) start a phase.
pub(crate) fn phase_of(line: &str) -> Option<&str> {
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

/// What one log line says of a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseEvent {
    /// `Entering phase X` or `Entering phase: X`.
    Entered(String),
    /// `Phase complete: X State: S`: succeeded when S is `SUCCEEDED`.
    Completed { phase: String, succeeded: bool },
}

/// The phase event `line` tells of, if any.
pub fn event_of(line: &str) -> Option<PhaseEvent> {
    if let Some(phase) = phase_of(line) {
        return Some(PhaseEvent::Entered(phase.to_string()));
    }
    let at = line.find("Phase complete:")?;
    let rest = line[at + "Phase complete:".len()..].trim_start();
    let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    let (phase, rest) = rest.split_at(len);
    let state = rest.split_once("State:")?.1.split_whitespace().next().unwrap_or("");
    (len > 0).then(|| PhaseEvent::Completed { phase: phase.to_string(), succeeded: state == "SUCCEEDED" })
}

/// The time in `CodeBuild`'s `[Container] YYYY/MM/DD HH:MM:SS[.fraction]` prefix (UTC).
pub fn timestamp_of(line: &str) -> Option<SystemTime> {
    let b = line.strip_prefix("[Container] ")?.as_bytes();
    let mut shape = b.get(..19)?.iter().zip(b"0000/00/00 00:00:00");
    shape.all(|(c, s)| if *s == b'0' { c.is_ascii_digit() } else { c == s }).then_some(())?;
    let num = |at: usize, len: usize| b[at..at + len].iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'));
    let (year, month, day, hour, minute, second) =
        (num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2));
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let days = usize::try_from(month).ok().and_then(|m| month_days.get(m.wrapping_sub(1))).copied().unwrap_or(0);
    ((1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60).then_some(())?;
    let mut rest = &b[19..];
    let mut nanos = 0;
    if let Some((b'.', fraction)) = rest.split_first() {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        (1..=9).contains(&digits).then_some(())?;
        let padded = fraction[..digits].iter().chain(std::iter::repeat(&b'0')).take(9);
        nanos = padded.fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        rest = &fraction[digits..];
    }
    rest.first().is_none_or(u8::is_ascii_whitespace).then_some(())?;
    let secs = days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let whole = Duration::from_secs(secs.unsigned_abs());
    let at = if secs >= 0 { UNIX_EPOCH.checked_add(whole) } else { UNIX_EPOCH.checked_sub(whole) }?;
    at.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((i64::from(month) + 9) % 12) + 2) / 5 + i64::from(day) - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// When a line was seen: its own timestamp, if it has one, and the time since the gate started.
#[derive(Clone, Copy, Debug)]
struct Mark {
    at: Option<SystemTime>,
    seen: Duration,
}

/// From one mark to a later one: by the lines' timestamps when both have one, else by `seen_at`.
fn between(from: Mark, to: Mark) -> Option<Duration> {
    let by_lines = from.at.zip(to.at).and_then(|(a, b)| b.duration_since(a).ok());
    by_lines.or_else(|| to.seen.checked_sub(from.seen))
}

#[derive(Debug)]
struct Phase {
    name: String,
    /// None when the log told of its end only.
    start: Option<Mark>,
    end: Option<Mark>,
    succeeded: Option<bool>,
}

/// The phases the log told of, in order: at most [`MAX_PHASES`] kept, the rest counted.
#[derive(Debug, Default)]
pub struct Phases {
    kept: Vec<Phase>,
    /// Phases beyond [`MAX_PHASES`].
    more: usize,
    /// The phase entered last and not completed, and where it is kept (if it is).
    current: Option<(String, Option<usize>)>,
    end_near: bool,
    /// The last lines: seconds before the end (see [`Phases::stage`]).
    last_lines: bool,
}

impl Phases {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one log line, seen `seen_at` after the gate started; returns its event, if any.
    pub fn observe(&mut self, line: &str, seen_at: Duration) -> Option<PhaseEvent> {
        let event = event_of(line)?;
        let mark = Mark { at: timestamp_of(line), seen: seen_at };
        let (name, succeeded) = match &event {
            PhaseEvent::Entered(name) => (clean_name(name), None),
            PhaseEvent::Completed { phase, succeeded } => (clean_name(phase), Some(*succeeded)),
        };
        if let Some(ok) = succeeded {
            self.end_near |= name == "POST_BUILD" || !ok;
            self.last_lines |= !ok || matches!(name.as_str(), "UPLOAD_ARTIFACTS" | "FINALIZING");
            if let Some((_, index)) = self.current.take_if(|(current, _)| *current == name) {
                if let Some(i) = index {
                    (self.kept[i].end, self.kept[i].succeeded) = (Some(mark), succeeded);
                }
            // A completion seen twice, or one of a phase not seen entering.
            } else if !self.kept.last().is_some_and(|p| p.name == name && p.end.is_some()) {
                self.keep(Phase { name, start: None, end: Some(mark), succeeded });
            }
            return Some(event);
        }
        self.end_near |= matches!(name.as_str(), "POST_BUILD" | "UPLOAD_ARTIFACTS" | "FINALIZING" | "COMPLETED");
        self.last_lines |= matches!(name.as_str(), "FINALIZING" | "COMPLETED");
        // The same line again (a window shown twice) enters nothing new.
        let same = |p: &Phase| p.name == name && p.end.is_none() && p.start.is_some_and(|s| s.at == mark.at);
        if mark.at.is_none() || !self.kept.last().is_some_and(same) {
            let index = self.keep(Phase { name: name.clone(), start: Some(mark), end: None, succeeded });
            self.current = Some((name, index));
        }
        Some(event)
    }

    fn keep(&mut self, phase: Phase) -> Option<usize> {
        let room = self.kept.len() < MAX_PHASES;
        self.more += usize::from(!room);
        room.then(|| self.kept.push(phase)).map(|()| self.kept.len() - 1)
    }

    /// The phase most recently entered and not completed.
    pub fn current(&self) -> Option<&str> {
        self.current.as_ref().map(|(name, _)| name.as_str())
    }

    #[cfg(test)]
    /// The final stretch: `POST_BUILD` entered or completed, `UPLOAD_ARTIFACTS`, `FINALIZING` or
    /// `COMPLETED` entered, or a phase completed without success.
    pub fn end_near(&self) -> bool {
        self.end_near
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Per phase kept: its name, how long it took (to its completion, else to the next one's
    /// start; None when unknown), and whether it succeeded (None without a completion line).
    pub fn durations(&self) -> Vec<(String, Option<Duration>, Option<bool>)> {
        let took = |i: usize, phase: &Phase| {
            let end = phase.end.or_else(|| self.kept.get(i + 1).and_then(|next| next.start));
            phase.start.zip(end).and_then(|(start, end)| between(start, end))
        };
        self.kept.iter().enumerate().map(|(i, p)| (p.name.clone(), took(i, p), p.succeeded)).collect()
    }

    /// The phases as aligned plain text (GitLab, plain logs); nothing when none was seen.
    pub fn table_lines(&self) -> Vec<String> {
        let rows: Vec<_> = self.durations().into_iter().map(|(name, d, ok)| (name, shown(d), result(ok))).collect();
        let name_width = rows.iter().map(|(name, ..)| name.len()).max().unwrap_or(0);
        let took_width = rows.iter().map(|(_, took, _)| took.chars().count()).max().unwrap_or(0);
        let mut lines: Vec<String> = (!rows.is_empty()).then(|| "Build phases:".into()).into_iter().collect();
        for (name, took, result) in &rows {
            lines.push(format!("  {name:<name_width$}  {took:>took_width$}  {result}").trim_end().to_string());
        }
        if self.more > 0 {
            lines.push(format!("  {} more phases are not listed", self.more));
        }
        lines
    }

    /// The phases for GitHub's step summary: a Mermaid gantt chart of the phases whose time is
    /// known, in milliseconds since the first one started, and a table; empty when none was seen.
    pub fn markdown(&self) -> String {
        if self.kept.is_empty() {
            return String::new();
        }
        let durations = self.durations();
        let origin = self.kept.iter().find_map(|p| p.start);
        let task = |i: usize| {
            let (phase, (_, took, ok)) = (&self.kept[i], &durations[i]);
            let start = between(origin?, phase.start?)?;
            let end = start.checked_add((*took)?)?.as_millis();
            let tag = ok.map_or("", |ok| if ok { "done, " } else { "crit, " });
            Some(format!("    {}{} :{tag}p{i}, {}, {end}\n", task_prefix(&phase.name), phase.name, start.as_millis()))
        };
        let tasks: String = (0..self.kept.len()).filter_map(task).collect();
        let chart = "```mermaid\ngantt\n    dateFormat x\n    axisFormat %M:%S\n    todayMarker off\n";
        let mut md = if tasks.is_empty() { String::new() } else { format!("{chart}{tasks}```\n\n") };
        md.push_str("| Phase | Duration | Result |\n|---|---|---|\n");
        for (name, took, succeeded) in durations {
            let _ = writeln!(md, "| `{name}` | {} | {} |", shown(took), result(succeeded));
        }
        if self.more > 0 {
            let _ = writeln!(md, "\n{} more phases are not listed.", self.more);
        }
        md
    }
}

/// Only `[A-Za-z0-9_]`, at most [`NAME_MAX`] of them: nothing that can break a chart or a table.
fn clean_name(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(NAME_MAX).collect()
}

/// What keeps a gantt task's name from reading as one of Mermaid's keywords.
fn task_prefix(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if MERMAID_KEYWORDS.split_whitespace().any(|k| lower.starts_with(k)) { "phase " } else { "" }
}

/// A duration as the tables show it: whole seconds from one second on.
fn shown(took: Option<Duration>) -> String {
    let rounded = |d: Duration| Duration::from_secs(d.as_secs() + u64::from(d.subsec_millis() >= 500));
    took.map_or_else(|| "—".into(), |d| crate::duration::format(if d.as_secs() > 0 { rounded(d) } else { d }))
}

fn result(succeeded: Option<bool>) -> &'static str {
    succeeded.map_or("", |ok| if ok { "succeeded" } else { "failed" })
}

impl Phases {
    /// How far the build has come, for the planner. Late: `POST_BUILD` (the image push) or
    /// `UPLOAD_ARTIFACTS` under way. The last lines, seconds before the end: `UPLOAD_ARTIFACTS` or
    /// `FINALIZING` complete, `FINALIZING` or `COMPLETED` entered, or a phase that failed.
    pub fn stage(&self) -> crate::planner::Stage {
        use crate::planner::Stage;
        if self.last_lines {
            Stage::Final
        } else if self.end_near {
            Stage::Late
        } else if self.is_empty() && self.current().is_none() {
            Stage::Unknown
        } else {
            Stage::Early
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: [&str; 6] = [
        "[Container] 2026/03/04 10:00:00.123456 Entering phase INSTALL",
        "[Container] 2026/03/04 10:00:05.000001 Phase complete: INSTALL State: SUCCEEDED",
        "[Container] 2026/03/04 10:00:05.100000 Phase context status code:  Message:",
        "[Container] 2026/03/04 10:00:05.200000 Entering phase: BUILD",
        "[Container] 2026/03/04 10:03:00 Phase complete: BUILD State: FAILED",
        "[Container] 2026/03/04 10:03:01 Entering phase POST_BUILD",
    ];

    fn observed<'a>(lines: impl IntoIterator<Item = (&'a str, u64)>) -> Phases {
        let mut phases = Phases::new();
        lines.into_iter().for_each(|(line, seen)| _ = phases.observe(line, Duration::from_secs(seen)));
        phases
    }

    #[test]
    fn both_line_forms_and_every_state() {
        let done = |phase: &str, succeeded| Some(PhaseEvent::Completed { phase: phase.into(), succeeded });
        let entered = [SAMPLE[0], SAMPLE[3]].map(event_of);
        assert_eq!(entered, [Some(PhaseEvent::Entered("INSTALL".into())), Some(PhaseEvent::Entered("BUILD".into()))]);
        assert_eq!(event_of(SAMPLE[1]), done("INSTALL", true));
        for state in ["FAILED", "FAULT", "TIMED_OUT", "STOPPED", "SUCCEEDEDX", ""] {
            assert_eq!(event_of(&format!("Phase complete: BUILD State: {state}")), done("BUILD", false), "{state}");
        }
        for not in ["Entering phaseX", "Entering phase: ", SAMPLE[2], "Phase complete: X", "Phase complete: State: X"] {
            assert_eq!(event_of(not), None, "{not}");
        }
    }

    #[test]
    fn timestamps_are_utc_and_strict() {
        let at = |secs: u64, nanos| Some(UNIX_EPOCH + Duration::new(secs, nanos));
        for (line, expected) in [
            ("2026/03/04 10:00:00", at(1_772_618_400, 0)),
            ("2026/03/04 10:00:00.123456 x", at(1_772_618_400, 123_456_000)),
            ("2026/03/04 10:00:00.000000001 x", at(1_772_618_400, 1)),
            ("2024/02/29 23:59:59 x", at(1_709_251_199, 0)),
            ("2024/03/01 00:00:00 x", at(1_709_251_200, 0)),
            ("2000/02/29 12:00:00 x", at(951_825_600, 0)),
            ("1969/12/31 23:59:59.25", Some(UNIX_EPOCH - Duration::from_millis(750))),
        ] {
            assert_eq!(timestamp_of(&format!("[Container] {line}")), expected, "{line}");
        }
        let bad = "2026-03-04 10:00:00|2026/3/04 10:00:00 x|2026/13/01 00:00:00|2026/00/01 00:00:00|2023/02/29 00:00:00|\
                   1900/02/29 00:00:00|2026/04/31 00:00:00|2026/03/00 00:00:00|2026/03/04 24:00:00|2026/03/04 10:60:00|\
                   2026/03/04 10:00:60|2026/03/04 10:00:00.|2026/03/04 10:00:00.1234567890|2026/03/04 10:00:00Z|\
                   2026/03/04 10:00:00.5Z|+026/03/04 10:00:00|２０２６/03/04 10:00:00|";
        for bad in bad.split('|').map(|b| format!("[Container] {b}")).chain(["2026/03/04 10:00:00".into()]) {
            assert_eq!(timestamp_of(&bad), None, "{bad}");
        }
        let line = "[Container] 2026/03/04 10:00:00.123456789 x"; // No cut of it, with any byte after, panics.
        for (end, tail) in (0..=line.len()).flat_map(|end| ["", "é", "9", ".", " ", "\0"].map(|tail| (end, tail))) {
            let _ = timestamp_of(&format!("{}{tail}", &line[..end]));
        }
    }

    #[test]
    fn durations_from_timestamps_else_from_when_lines_were_seen() {
        let from_lines = observed(SAMPLE.map(|line| (line, 0))).durations();
        let (install, build) = (Some(Duration::from_micros(4_876_545)), Some(Duration::from_millis(174_800)));
        let rows = [("INSTALL", install, Some(true)), ("BUILD", build, Some(false)), ("POST_BUILD", None, None)];
        assert_eq!(from_lines, rows.map(|(name, took, ok)| (name.to_string(), took, ok)));
        let seen = observed([
            ("[Container] 2026/03/04 10:00:00 Entering phase INSTALL", 1),
            ("Entering phase: BUILD", 4),
            ("[Container] 2026/03/04 10:00:30 Phase complete: BUILD State: SUCCEEDED", 10),
            ("[Container] 2026/03/04 10:00:31 Entering phase POST_BUILD", 11),
            ("[Container] 2026/03/04 10:00:20 Phase complete: POST_BUILD State: SUCCEEDED", 15),
        ]);
        // INSTALL ends where BUILD starts; a missing timestamp, or one that runs back, falls back to seen_at.
        let secs: Vec<_> = seen.durations().into_iter().map(|(_, d, _)| d.map(|d| d.as_secs())).collect();
        assert_eq!(secs, [Some(3), Some(6), Some(4)]);
    }

    #[test]
    fn each_rule_says_the_end_is_near() {
        for (lines, near) in [
            ("Entering phase BUILD|Phase complete: BUILD State: SUCCEEDED", false),
            ("Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED", false),
            ("Entering phase POST_BUILD", true),
            ("Phase complete: POST_BUILD State: SUCCEEDED", true),
            ("Entering phase UPLOAD_ARTIFACTS", true),
            ("Entering phase FINALIZING", true),
            ("Entering phase: COMPLETED", true),
            ("Phase complete: BUILD State: TIMED_OUT", true),
        ] {
            assert_eq!(observed(lines.split('|').map(|line| (line, 0))).end_near(), near, "{lines}");
        }
    }

    #[test]
    fn current_phase_and_lines_shown_twice() {
        let mut phases = Phases::new();
        assert!(phases.is_empty() && phases.markdown().is_empty() && phases.table_lines().is_empty());
        let twice = [SAMPLE[0], SAMPLE[0]].map(|line| phases.observe(line, Duration::ZERO));
        assert_eq!(twice, [Some(PhaseEvent::Entered("INSTALL".into())), Some(PhaseEvent::Entered("INSTALL".into()))]);
        assert_eq!((phases.observe(SAMPLE[2], Duration::ZERO), phases.current()), (None, Some("INSTALL")));
        let _ = [SAMPLE[1], SAMPLE[1], "Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED"]
            .map(|l| phases.observe(l, Duration::ZERO));
        let names: Vec<_> = phases.durations().into_iter().map(|(name, _, ok)| (name, ok)).collect();
        let expected = [("INSTALL".to_string(), Some(true)), ("DOWNLOAD_SOURCE".to_string(), Some(true))];
        assert_eq!((phases.current(), names.as_slice()), (None, expected.as_slice()));
    }

    #[test]
    fn at_most_64_phases_are_kept() {
        let long = format!("Entering phase {}", "N".repeat(100_000));
        let lines: Vec<_> = (0..1000).map(|i| format!("Entering phase P{i}")).collect();
        let first = [(long.as_str(), 0), ("Entering phase topAxis", 1)];
        let mut phases = observed(first.into_iter().chain(lines.iter().map(|line| (line.as_str(), 2))));
        assert_eq!((phases.kept.len(), phases.more, phases.current()), (MAX_PHASES, 1002 - MAX_PHASES, Some("P999")));
        assert_eq!(phases.durations()[0].0, "N".repeat(40));
        let table = phases.table_lines();
        assert_eq!((table.len(), table[MAX_PHASES + 1].as_str()), (66, "  938 more phases are not listed"));
        let md = phases.markdown();
        let (label, more) = ("    phase topAxis :p1, 1000, 2000\n", "\n938 more phases are not listed.\n");
        assert!(md.len() < 16 * 1024 && md.contains(label) && md.ends_with(more), "{md}");
        phases.observe("Phase complete: P999 State: FAILED", Duration::ZERO);
        assert!(phases.end_near() && phases.current().is_none() && phases.kept[63].end.is_none());
    }

    #[test]
    fn golden_table_and_markdown() {
        let phases = observed(SAMPLE.map(|line| (line, 0)));
        let table = "Build phases:\n  INSTALL        5s  succeeded\n  BUILD       2m55s  failed\n  POST_BUILD      —";
        assert_eq!(phases.table_lines().join("\n"), table);
        let expected = "```mermaid
gantt
    dateFormat x
    axisFormat %M:%S
    todayMarker off
    INSTALL :done, p0, 0, 4876
    BUILD :crit, p1, 5076, 179876
```

| Phase | Duration | Result |
|---|---|---|
| `INSTALL` | 5s | succeeded |
| `BUILD` | 2m55s | failed |
| `POST_BUILD` | — |  |
";
        assert_eq!(phases.markdown(), expected);
    }

    #[test]
    fn the_stage_follows_the_phases_to_the_last_lines() {
        use crate::planner::Stage;
        let stage = |lines: &[&str]| observed(lines.iter().map(|line| (*line, 0))).stage();
        assert_eq!(stage(&["Running on CodeBuild On-demand"]), Stage::Unknown);
        assert_eq!(stage(&["Entering phase BUILD"]), Stage::Early);
        assert_eq!(stage(&["Entering phase BUILD", "Entering phase POST_BUILD"]), Stage::Late);
        let push_done = ["Entering phase POST_BUILD", "Phase complete: POST_BUILD State: SUCCEEDED"];
        assert_eq!(stage(&push_done), Stage::Late, "the artifacts are still to upload");
        assert_eq!(stage(&["Entering phase: UPLOAD_ARTIFACTS"]), Stage::Late);
        assert_eq!(stage(&["Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED"]), Stage::Final);
        assert_eq!(stage(&["Entering phase FINALIZING"]), Stage::Final);
        assert_eq!(stage(&["Entering phase BUILD", "Phase complete: BUILD State: FAILED"]), Stage::Final);
    }
}
