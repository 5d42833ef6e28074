//! Plain text for a terminal or any other CI: no commands, a readable prefix per log line.

use std::fmt::Write as _;

use super::{Dialect, Session, defuse_legacy_commands, gate_text};
use crate::text::one_line;

/// `name=value` on one line, as printed after the result (or written to the outputs file).
pub fn output_line(name: &str, value: &str) -> String {
    format!("{name}={}\n", one_line(value))
}

pub struct Plain {
    session: Session,
}

impl Plain {
    pub fn new(session: Session) -> Self {
        Plain { session }
    }
}

// Plain output may still end up in some CI's log (a GitHub job with `BUILDGATE_FORMAT=plain`):
// the gate's own lines get GitHub's defusing too, which costs a plain terminal nothing.
impl Dialect for Plain {
    fn line(&self, out: &mut String, text: &str) {
        out.push_str(&gate_text(text));
        out.push('\n');
    }

    fn status(&self, out: &mut String, elapsed: &str, text: &str) {
        let _ = writeln!(out, "{} {}", self.session.paint("36", &format!("[{elapsed}]")), gate_text(text));
    }

    fn warning(&self, out: &mut String, text: &str) {
        let _ = writeln!(out, "{} {}", self.session.paint("33", "warning:"), gate_text(text));
    }

    fn error(&self, out: &mut String, title: &str, text: &str) {
        let _ =
            writeln!(out, "{} {}", self.session.paint("31", &format!("error: {}:", gate_text(title))), gate_text(text));
    }

    fn group_start(&self, out: &mut String, _id: usize, title: &str) {
        let _ = writeln!(out, "{}", self.session.paint("1", &format!("--- {title}")));
    }

    fn group_end(&self, _out: &mut String, _id: usize, _title: &str) {}

    fn log_line(&self, out: &mut String, line: &str) {
        out.push_str("  | ");
        out.push_str(&defuse_legacy_commands(line));
        out.push('\n');
    }

    fn closes_groups_for_gate_lines(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::testing::{render, session};

    #[test]
    fn golden_bytes() {
        insta::assert_snapshot!(render(Box::new(Plain::new(session()))));
    }

    #[test]
    fn colour_only_when_asked() {
        let mut out = String::new();
        Plain::new(crate::ci::Session { color: true, ..session() }).warning(&mut out, "w");
        assert_eq!(out, "\x1b[33mwarning:\x1b[0m w\n");
    }
}
