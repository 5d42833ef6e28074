//! Everything GitLab CI means: collapsible `section_start`/`section_end` markers, log text
//! that can neither open nor close a section, and the dotenv report of the outputs.

use std::fmt::Write as _;

use super::{Dialect, Session, without_cr};
use crate::text::{cut, one_line};

/// GitLab rejects a whole dotenv report over 5 KiB: long values are cut to keep well under it.
const DOTENV_VALUE_MAX: usize = 500;

/// `BUILDGATE_NAME=value` on one line: GitLab's dotenv allows no multi-line values, and trims.
pub fn dotenv_line(name: &str, value: &str) -> String {
    format!("{}={}\n", dotenv_key(name), cut(&one_line(value), DOTENV_VALUE_MAX))
}

/// `build-id` → `BUILDGATE_BUILD_ID`.
pub fn dotenv_key(name: &str) -> String {
    let key: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("BUILDGATE_{key}")
}

pub struct Gitlab {
    session: Session,
}

impl Gitlab {
    pub fn new(session: Session) -> Self {
        Gitlab { session }
    }
}

/// GitLab finds `section_(start|end):<ts>:<name>[opts]\r\e[0K` anywhere in a line, with or
/// without a leading ESC. Removing CR already breaks the required suffix; a zero-width space
/// inside the keyword breaks the marker itself as well.
pub fn defuse(line: &str) -> String {
    without_cr(line).replace("section_start:", "section\u{200B}_start:").replace("section_end:", "section\u{200B}_end:")
}

/// A section name GitLab accepts (`[A-Za-z0-9_.-]`) and that stays unique after its own
/// normalisation (lowercase, every other character a dash): the group number leads.
pub fn section_name(id: usize, title: &str) -> String {
    let slug: String = title
        .chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_ascii_lowercase())
            } else if c == ' ' {
                Some('_')
            } else {
                None
            }
        })
        .collect();
    let slug: String = slug.split('_').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("_");
    format!("buildgate_{id}_{slug}")
}

impl Dialect for Gitlab {
    fn line(&self, out: &mut String, text: &str) {
        out.push_str(&defuse(text));
        out.push('\n');
    }

    fn status(&self, out: &mut String, elapsed: &str, text: &str) {
        let _ = writeln!(out, "{} {}", self.session.paint("36", &format!("[{elapsed}]")), defuse(text));
    }

    fn warning(&self, out: &mut String, text: &str) {
        let _ = writeln!(out, "{} {}", self.session.paint("33", "warning:"), defuse(text));
    }

    fn error(&self, out: &mut String, title: &str, text: &str) {
        let _ = writeln!(out, "{} {}", self.session.paint("31;1", &format!("error: {}:", defuse(title))), defuse(text));
    }

    fn group_start(&self, out: &mut String, id: usize, title: &str) {
        let ts = (self.session.unix_time)();
        let _ = writeln!(
            out,
            "\x1b[0Ksection_start:{ts}:{}[collapsed=true]\r\x1b[0K{}",
            section_name(id, title),
            defuse(title)
        );
    }

    fn group_end(&self, out: &mut String, id: usize, title: &str) {
        let ts = (self.session.unix_time)();
        let _ = writeln!(out, "\x1b[0Ksection_end:{ts}:{}\r\x1b[0K", section_name(id, title));
    }

    fn log_line(&self, out: &mut String, line: &str) {
        out.push_str(&defuse(line));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::testing::{render, session};

    #[test]
    fn golden_bytes() {
        insta::assert_snapshot!(render(Box::new(Gitlab::new(session()))));
    }

    #[test]
    fn log_text_cannot_touch_sections() {
        let text = render(Box::new(Gitlab::new(session())));
        let markers: Vec<&str> =
            text.lines().filter(|l| l.contains("section_start:") || l.contains("section_end:")).collect();
        // Only the gate's own markers, balanced: 4 groups opened and closed.
        assert_eq!(markers.len(), 8, "{markers:#?}");
        assert!(markers.iter().all(|m| m.starts_with("␛[0Ksection_") && m.contains(":buildgate_")));
        assert!(text.contains("␛[32mgreen␛[0m stays green"), "colours are kept");
    }

    #[test]
    fn section_names_are_valid_and_unique() {
        assert_eq!(section_name(3, "Build log · BUILD"), "buildgate_3_build_log_build");
        assert!(section_name(1, "ü/ä:;").chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
    }
}
