//! The CI log. Every text passes one gate on its way out: the key redacted in all its forms,
//! escapes made inert, then the dialect's bytes; groups stay balanced and untrusted text fenced,
//! both closed on drop; the bytes go to a [`Pipe`] so a blocked stdout cannot hold the gate.

use std::io::Write;
use std::time::Duration;

use super::Dialect;
use crate::duration::format_elapsed;
use crate::pipe::Pipe;
use crate::text::{Redactor, inert_log_line, inert_text};

pub struct Console {
    out: Pipe,
    dialect: Box<dyn Dialect + Send>,
    redactor: Redactor,
    open_group: Option<(usize, String)>,
    untrusted: bool,
    groups_opened: usize,
    buf: String,
    live: Option<super::live::Live>,
}

impl Console {
    pub fn new(dialect: Box<dyn Dialect + Send>, out: Box<dyn Write + Send>, redactor: Redactor) -> Self {
        Console {
            out: Pipe::spawn(out),
            dialect,
            redactor,
            open_group: None,
            untrusted: false,
            groups_opened: 0,
            buf: String::new(),
            live: None,
        }
    }

    /// A person is watching at a terminal: `live` redraws a status line under the log (its
    /// writer must be this console's output).
    pub fn with_live(mut self, live: super::live::Live) -> Self {
        self.live = Some(live);
        self
    }

    /// The live status line's text, where there is one (redacted and inert like any text).
    pub fn live(&mut self, text: &str) {
        if self.live.is_some() {
            let text = self.clean(text);
            if let Some(live) = &self.live {
                live.set(text);
            }
        }
    }

    /// The live line goes, before the result.
    pub fn finish_live(&mut self) {
        if let Some(live) = self.live.take() {
            self.out.drain(Duration::from_millis(200));
            live.finish();
        }
    }

    /// Text of any origin, ready for a dialect.
    fn clean(&self, text: &str) -> String {
        inert_text(&self.redactor.redact(text)).into_owned()
    }

    pub fn line(&mut self, text: &str) {
        let text = self.clean(text);
        self.gate(|d, out| d.line(out, &text));
    }

    pub fn status(&mut self, elapsed: Duration, text: &str) {
        let text = self.clean(text);
        self.gate(|d, out| d.status(out, &format_elapsed(elapsed), &text));
    }

    pub fn warning(&mut self, text: &str) {
        let text = self.clean(text);
        self.gate(|d, out| d.warning(out, &text));
    }

    pub fn error(&mut self, title: &str, text: &str) {
        let (title, text) = (self.clean(title), self.clean(text));
        self.gate(|d, out| d.error(out, &title, &text));
    }

    /// The build's phases as a table of lines, where the dialect shows it in the log.
    pub fn phase_table(&mut self, lines: &[String]) {
        if self.dialect.phase_table_in_log() {
            for line in lines {
                self.line(line);
            }
        }
    }

    /// The one place the key is printed: GitHub's own mask command, which the runner consumes.
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
            let title = self.clean(title);
            self.dialect.group_start(&mut self.buf, id, &title);
            self.open_group = Some((id, title));
        }
        self.start_untrusted();
        for line in lines {
            self.push_log_line(line);
        }
        self.flush();
    }

    /// Untrusted lines outside any group, under a heading of the gate's own.
    pub fn log_excerpt<'a>(&mut self, heading: &str, lines: impl IntoIterator<Item = &'a str>) {
        self.line(heading);
        self.start_untrusted();
        for line in lines {
            self.push_log_line(line);
        }
        self.end_untrusted();
        self.flush();
    }

    fn push_log_line(&mut self, line: &str) {
        let line = inert_log_line(&self.redactor.redact(line)).into_owned();
        self.dialect.log_line(&mut self.buf, &line);
    }

    pub fn close_group(&mut self) {
        self.end_untrusted();
        if let Some((id, title)) = self.open_group.take() {
            self.dialect.group_end(&mut self.buf, id, &title);
        }
        self.flush();
    }

    /// Waits (at most `within`) until everything printed has been written.
    pub fn drain(&mut self, within: Duration) -> bool {
        self.close_group();
        self.finish_live();
        self.out.drain(within)
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
            self.out.send(std::mem::take(&mut self.buf).into_bytes());
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.close_group();
    }
}
