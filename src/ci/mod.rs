//! What the gate prints into the CI log: one [`Dialect`] per format for the exact bytes, and the
//! [`Console`] that keeps groups balanced and untrusted text fenced, closing both on drop.

pub mod github;
pub mod gitlab;
pub mod plain;

use std::io::Write;
use std::time::Duration;

use crate::config::Format;

/// The exact bytes of one CI format. Every method appends whole lines to `out`.
pub trait Dialect {
    /// A line of the gate's own (status changes, results, headings).
    fn line(&self, out: &mut String, text: &str);
    fn status(&self, out: &mut String, elapsed: &str, text: &str);
    fn warning(&self, out: &mut String, text: &str);
    fn error(&self, out: &mut String, title: &str, text: &str);
    fn mask(&self, _out: &mut String, _secret: &str) {}
    /// Opens collapsible group number `id` (unique within the run) titled `title`.
    fn group_start(&self, out: &mut String, id: usize, title: &str);
    fn group_end(&self, out: &mut String, id: usize, title: &str);
    /// Brackets untrusted text so the CI does not read commands in it.
    fn untrusted_start(&self, _out: &mut String) {}
    fn untrusted_end(&self, _out: &mut String) {}
    /// One line of untrusted build log, defused.
    fn log_line(&self, out: &mut String, line: &str);
    /// Whether the gate's own lines must be printed outside groups (GitHub groups cannot nest,
    /// and a collapsed GitLab section would hide them).
    fn closes_groups_for_gate_lines(&self) -> bool {
        true
    }
}

/// Randomness and time a dialect needs, fixed in tests.
#[derive(Clone, Debug)]
pub struct Session {
    /// The `::stop-commands::` token: 128 random bits.
    pub token: String,
    pub color: bool,
    pub unix_time: fn() -> u64,
}

impl Session {
    pub fn new(color: bool) -> Self {
        Session { token: random_hex(16), color, unix_time: unix_now }
    }

    /// `text` in the SGR colour `code`, when colour is on.
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `bytes` random bytes as lowercase hex, from the operating system's generator.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random number generator is unavailable");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn dialect(format: Format, session: Session) -> Box<dyn Dialect + Send> {
    match format {
        Format::Github => Box::new(github::Github::new(session)),
        Format::Gitlab => Box::new(gitlab::Gitlab::new(session)),
        Format::Plain => Box::new(plain::Plain::new(session)),
    }
}

/// `12.3s` under a minute, `4m05s` from there.
pub fn format_elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 { format!("{:.1}s", d.as_secs_f64()) } else { format!("{}m{:02}s", secs / 60, secs % 60) }
}

/// Removes every CR: the GitHub runner splits lines on a bare CR (so text after it could be
/// read as a command), and in GitLab's log view it overwrites what came before.
pub fn without_cr(line: &str) -> std::borrow::Cow<'_, str> {
    if line.contains('\r') { line.replace('\r', "").into() } else { line.into() }
}

/// The CI log. Owns the writer and the state of groups; dropping it closes whatever is open.
pub struct Console {
    out: Box<dyn Write + Send>,
    dialect: Box<dyn Dialect + Send>,
    open_group: Option<(usize, String)>,
    untrusted: bool,
    groups_opened: usize,
    buf: String,
}

impl Console {
    pub fn new(dialect: Box<dyn Dialect + Send>, out: Box<dyn Write + Send>) -> Self {
        Console { out, dialect, open_group: None, untrusted: false, groups_opened: 0, buf: String::new() }
    }

    pub fn line(&mut self, text: &str) {
        self.gate(|d, out| d.line(out, text));
    }

    pub fn status(&mut self, elapsed: Duration, text: &str) {
        self.gate(|d, out| d.status(out, &format_elapsed(elapsed), text));
    }

    pub fn warning(&mut self, text: &str) {
        self.gate(|d, out| d.warning(out, text));
    }

    pub fn error(&mut self, title: &str, text: &str) {
        self.gate(|d, out| d.error(out, title, text));
    }

    pub fn mask(&mut self, secret: &str) {
        self.gate(|d, out| d.mask(out, secret));
    }

    /// Build log lines, inside the group titled `title` (opened, or switched to, as needed).
    pub fn log_lines<'a>(&mut self, title: &str, lines: impl IntoIterator<Item = &'a str>) {
        let mut lines = lines.into_iter().peekable();
        if lines.peek().is_none() {
            return;
        }
        if self.open_group.as_ref().is_none_or(|(_, open)| open != title) {
            self.close_group();
            self.groups_opened += 1;
            let id = self.groups_opened;
            self.dialect.group_start(&mut self.buf, id, title);
            self.open_group = Some((id, title.to_string()));
        }
        self.start_untrusted();
        for line in lines {
            self.dialect.log_line(&mut self.buf, line);
        }
        self.flush();
    }

    /// Untrusted lines outside any group, under a heading of the gate's own.
    pub fn log_excerpt<'a>(&mut self, heading: &str, lines: impl IntoIterator<Item = &'a str>) {
        self.line(heading);
        self.start_untrusted();
        for line in lines {
            self.dialect.log_line(&mut self.buf, line);
        }
        self.end_untrusted();
        self.flush();
    }

    pub fn close_group(&mut self) {
        self.end_untrusted();
        if let Some((id, title)) = self.open_group.take() {
            self.dialect.group_end(&mut self.buf, id, &title);
        }
        self.flush();
    }

    fn gate(&mut self, print: impl FnOnce(&dyn Dialect, &mut String)) {
        if self.dialect.closes_groups_for_gate_lines() {
            self.close_group();
        } else {
            self.end_untrusted();
        }
        print(self.dialect.as_ref(), &mut self.buf);
        self.flush();
    }

    fn start_untrusted(&mut self) {
        if !self.untrusted {
            self.dialect.untrusted_start(&mut self.buf);
            self.untrusted = true;
        }
    }

    fn end_untrusted(&mut self) {
        if self.untrusted {
            self.dialect.untrusted_end(&mut self.buf);
            self.untrusted = false;
        }
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            // A closed stdout must not stop the gate from writing its outputs and exit code.
            let _ = self.out.write_all(self.buf.as_bytes()).and_then(|()| self.out.flush());
            self.buf.clear();
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.close_group();
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A shared script of console events for each dialect's golden test.
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    pub fn session() -> Session {
        Session { token: "0123456789abcdef0123456789abcdef".into(), color: false, unix_time: || 1_771_588_800 }
    }

    pub use fake_api::ci::HOSTILE_LOG_LINES as HOSTILE;

    /// Runs the standard script and renders the bytes with ESC and CR made visible.
    pub fn render(dialect: Box<dyn Dialect + Send>) -> String {
        let captured = Captured::default();
        {
            let mut console = Console::new(dialect, Box::new(captured.clone()));
            console.mask("secret-key-123");
            console.line("Waiting on build 123e4567-e89b-12d3-a456-426614174000 (pipecat)");
            console.status(Duration::from_millis(100), "pending");
            console.log_lines("Build log", ["[Container] 2026/03/04 10:00:00 Running on CodeBuild"]);
            console.log_lines("Build log · INSTALL", ["[Container] 2026/03/04 10:00:00 Entering phase: INSTALL"]);
            console.status(Duration::from_secs(75), "building");
            console.log_lines("Build log · INSTALL", HOSTILE.iter().copied());
            console.warning("logs: 100% done, 50%: not\nreally");
            console.error("Build failed: a, b", "Docker build failed: COPY failed\nline two 100%");
            console.log_excerpt("Last 2 log lines:", ["ERROR: pip install failed", "::error::fake"]);
            console.log_lines("Build log · BUILD", ["still open when dropped"]);
        }
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap().replace('\x1b', "␛").replace('\r', "␍")
    }
}
