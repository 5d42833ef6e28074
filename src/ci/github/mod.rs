//! Everything GitHub Actions means: workflow commands (groups, annotations, the mask), log
//! text fenced by `::stop-commands::` so it cannot issue commands, the heredoc outputs file and
//! the Markdown step summary.

mod summary;

use std::fmt::Write as _;

pub use summary::{Summary, summary_markdown};

use super::{Dialect, Session, defuse_legacy_commands, gate_text, random_hex};

pub struct Github {
    session: Session,
}

impl Github {
    pub fn new(session: Session) -> Self {
        Github { session }
    }
}

/// Escapes a command's data as the runner unescapes it.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a command property's value: data escaping plus `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `name<<DELIM`, the value, `DELIM`, with LF line ends and a fresh delimiter not found in the value.
pub fn output_entry(name: &str, value: &str) -> String {
    output_entry_with(name, value, || format!("ghadelimiter_{}", random_hex(16)))
}

/// [`output_entry`] with the delimiters drawn from `fresh`, tried until one fits.
pub fn output_entry_with(name: &str, value: &str, mut fresh: impl FnMut() -> String) -> String {
    let value = value.replace("\r\n", "\n").replace('\r', "\n");
    let delimiter = loop {
        let candidate = fresh();
        if !value.contains(&candidate) && !name.contains(&candidate) {
            break candidate;
        }
    };
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

impl Dialect for Github {
    fn phase_table_in_log(&self) -> bool {
        false
    }

    fn line(&self, out: &mut String, text: &str) {
        out.push_str(&gate_text(text));
        out.push('\n');
    }

    fn status(&self, out: &mut String, elapsed: &str, text: &str) {
        let line = format!("{} {}", self.session.paint("36", &format!("[{elapsed}]")), gate_text(text));
        out.push_str(&line);
        out.push('\n');
    }

    fn warning(&self, out: &mut String, text: &str) {
        let _ = writeln!(out, "::warning::{}", escape_data(text));
    }

    fn error(&self, out: &mut String, title: &str, text: &str) {
        let _ = writeln!(out, "::error title={}::{}", escape_property(title), escape_data(text));
    }

    fn mask(&self, out: &mut String, secret: &str) {
        let _ = writeln!(out, "::add-mask::{secret}");
    }

    fn group_start(&self, out: &mut String, _id: usize, title: &str) {
        let _ = writeln!(out, "::group::{}", escape_data(title));
    }

    fn group_end(&self, out: &mut String, _id: usize, _title: &str) {
        out.push_str("::endgroup::\n");
    }

    fn untrusted_start(&self, out: &mut String) {
        let _ = writeln!(out, "::stop-commands::{}", self.session.token);
    }

    fn untrusted_end(&self, out: &mut String) {
        let _ = writeln!(out, "::{}::", self.session.token);
    }

    fn log_line(&self, out: &mut String, line: &str) {
        out.push_str(&defuse_legacy_commands(line));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::testing::{render, session};

    #[test]
    fn golden_bytes() {
        insta::assert_snapshot!(render(Box::new(Github::new(session()))));
    }

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a: b, c%"), "a%3A b%2C c%25");
        assert_eq!(defuse_legacy_commands("x ##[set-output name=a;]b\r"), "x ##\u{200B}[set-output name=a;]b");
        assert_eq!(gate_text("Build failed: x\n::set-output name=a::b"), "Build failed: x ::set-output name=a::b");
        assert_eq!(gate_text(" ::error::x"), "\u{200B} ::error::x");
    }

    #[test]
    fn every_hostile_line_is_fenced_and_single() {
        let text = render(Box::new(Github::new(session())));
        let mut stopped = false;
        for line in text.lines() {
            if line == "::stop-commands::0123456789abcdef0123456789abcdef" {
                stopped = true;
            } else if line == "::0123456789abcdef0123456789abcdef::" {
                stopped = false;
            } else if !stopped {
                // Outside the fence only the gate's own commands and lines appear.
                assert!(!line.contains("evil") && !line.contains("::add-mask::x") && !line.contains("fake"), "{line}");
            }
            assert!(!line.contains("##["), "{line}");
        }
        assert!(!text.contains('\r'));
    }
}
