//! The outputs file: checked before any request (a regular file, or one that can be created;
//! never a FIFO or device, and opening it never blocks), then appended one entry at a time in
//! the format's own form, each output once.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::Format;
use crate::text::{Redactor, inert_text};

#[derive(Debug)]
pub struct OutputsFile {
    format: Format,
    path: PathBuf,
    /// The variable that named the path, for messages.
    variable: &'static str,
    /// `None` in a dry run, which only checks.
    file: Option<File>,
    written: Vec<String>,
}

impl OutputsFile {
    /// Checks `path` (named by `variable`) and, unless `dry_run`, opens it for appending; the
    /// error says why not.
    pub fn open(format: Format, path: PathBuf, variable: &'static str, dry_run: bool) -> Result<Self, String> {
        let shown = path.display().to_string();
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => return Err(format!("{shown} is a directory, not a file")),
            Ok(meta) if !meta.is_file() => {
                return Err(format!("{shown} is not a regular file (a FIFO, socket or device); give a file path"));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // A dangling symbolic link: the file is created where it points.
                let created = created_at(&path);
                let parent = created.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                if !std::fs::metadata(parent).is_ok_and(|m| m.is_dir()) {
                    return Err(format!("cannot create {shown}: the directory {} does not exist", parent.display()));
                }
                if dry_run {
                    return probe(parent).map(|()| OutputsFile {
                        format,
                        path,
                        variable,
                        file: None,
                        written: Vec::new(),
                    });
                }
            }
            Err(e) => return Err(format!("cannot read {shown}: {e}")),
        }
        let file = OpenOptions::new().create(!dry_run).append(true).open(&path);
        let file = file.map_err(|e| format!("cannot append to {shown}: {e}"))?;
        Ok(OutputsFile { format, path, variable, file: (!dry_run).then_some(file), written: Vec::new() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// Appends one output, once per name; the value redacted and stripped of control sequences.
    pub fn set(&mut self, name: &str, value: &str, redactor: &Redactor) -> io::Result<()> {
        if self.written.iter().any(|n| n == name) {
            return Ok(());
        }
        self.written.push(name.to_string());
        let value = inert_text(&redactor.redact(value)).into_owned();
        let entry = self.format.output_entry(name, &value);
        match self.file.as_mut() {
            Some(file) => file.write_all(entry.as_bytes()),
            None => Ok(()),
        }
    }
}

/// Appends `bytes` to the file at `path`, checked as an outputs file is (never a FIFO).
pub fn append(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut file = OutputsFile::open(Format::Plain, path.to_path_buf(), "", false)?.file.expect("opened");
    file.write_all(bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Where opening `path` with `create` makes the file: the end of its chain of symbolic links.
fn created_at(path: &Path) -> PathBuf {
    let mut at = path.to_path_buf();
    // The kernel's own bound on a chain of links.
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&at) else { break };
        at = at.parent().unwrap_or(Path::new(".")).join(target);
    }
    at
}

/// Whether a file can be created in `dir`: one is, and removed again.
fn probe(dir: &Path) -> Result<(), String> {
    let probe = dir.join(format!(".buildgate-probe-{}", super::random_hex(8)));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!("cannot create a file in {}: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::github::{output_entry, output_entry_with};
    use crate::ci::gitlab::dotenv_line;
    use crate::ci::plain::output_line;
    use crate::text::{cut, one_line};
    use fake_api::ci::parse_env_file;

    #[test]
    fn golden_bytes_of_each_outputs_form() {
        let values = [("build-id", "b1"), ("status", "failed"), ("error-message", "COPY failed:\r\nno file  ")];
        let mut n = 0;
        // The first delimiter occurs in the value: the writer must draw another.
        let mut fresh = || {
            n += 1;
            format!("ghadelimiter_{n}")
        };
        let mut github = output_entry_with("image-uri", "x ghadelimiter_1 y", &mut fresh);
        for (name, value) in values {
            github.push_str(&output_entry_with(name, value, &mut fresh));
        }
        let dotenv: String = values.iter().map(|(n, v)| dotenv_line(n, v)).collect();
        let plain: String = values.iter().map(|(n, v)| output_line(n, v)).collect();
        insta::assert_snapshot!("github_outputs", github);
        insta::assert_snapshot!("gitlab_dotenv", dotenv);
        insta::assert_snapshot!("plain_outputs", plain);
    }

    #[test]
    fn heredoc_entries_round_trip_any_value() {
        for value in ["", "plain", "two\nlines", "crlf\r\nend", "ghadelimiter_ fake", "a<<b", "trailing\n"] {
            let text = output_entry("name", value);
            assert!(!text.contains('\r'));
            let parsed = parse_env_file(&text);
            assert_eq!(parsed, vec![("name".to_string(), value.replace("\r\n", "\n"))], "{value:?}");
        }
        assert_ne!(output_entry("a", "v"), output_entry("a", "v"), "fresh delimiter each time");
    }

    #[test]
    fn dotenv_lines_are_single_valid_lines() {
        assert_eq!(dotenv_line("image-uri", "reg/img:1"), "BUILDGATE_IMAGE_URI=reg/img:1\n");
        assert_eq!(dotenv_line("error-message", "  a\r\nb\n\n c "), "BUILDGATE_ERROR_MESSAGE=a b c\n");
        let long = dotenv_line("error-message", &"é".repeat(1000));
        assert!(long.len() < 500 + 40 && long.ends_with("…\n"));
    }

    #[test]
    fn property_any_value_round_trips_through_the_runners_rules() {
        // Values built from the pieces that break naive writers.
        let pieces = ["a", "\n", "\r\n", "\r", "<<", "=", "ghadelimiter_", "EOF", " ", "\u{e9}", "%0A", "::x::", ""];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % n as u64).expect("below n, which is a usize")
        };
        for _ in 0..3000 {
            let value: String = (0..next(12)).map(|_| pieces[next(pieces.len())]).collect();
            let name = ["build-id", "error-message", "x"][next(3)];
            let file = format!("{}{}", output_entry("before", "1"), output_entry(name, &value));
            let parsed = parse_env_file(&file);
            let expected = value.replace("\r\n", "\n").replace('\r', "\n");
            assert_eq!(parsed, vec![("before".into(), "1".into()), (name.into(), expected)], "{value:?}");
            let line = dotenv_line(name, &value);
            assert_eq!(line.matches('\n').count(), 1, "{value:?}");
            assert!(!line.contains('\r'));
            let (key, rest) = line.trim_end_matches('\n').split_once('=').unwrap();
            assert!(key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'));
            assert_eq!(rest, cut(&one_line(&value), 500), "{value:?}");
        }
    }

    #[test]
    fn each_output_is_written_once_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, "earlier=1\n").unwrap();
        let mut outputs = OutputsFile::open(Format::Github, path.clone(), "X", false).unwrap();
        let redactor = Redactor::new("sk-1");
        outputs.set("build-id", "b1", &redactor).unwrap();
        outputs.set("build-id", "b2", &redactor).unwrap();
        outputs.set("error-message", "bad key sk\\u002d1", &redactor).unwrap();
        let parsed = parse_env_file(&std::fs::read_to_string(&path).unwrap());
        let names: Vec<&str> = parsed.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["earlier", "build-id", "error-message"]);
        assert_eq!((parsed[1].1.as_str(), parsed[2].1.as_str()), ("b1", "bad key ***"));
    }

    #[test]
    fn only_regular_files_or_creatable_paths_pass() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("missing/out"), &dangling).unwrap();
        for (path, why) in [
            (dangling, "does not exist"),
            (fifo, "not a regular file"),
            (PathBuf::from("/dev/null"), "not a regular file"),
            (dir.path().to_path_buf(), "is a directory"),
            (dir.path().join("missing/out"), "does not exist"),
        ] {
            let err = OutputsFile::open(Format::Gitlab, path.clone(), "X", true).unwrap_err();
            assert!(err.contains(why), "{path:?}: {err}");
        }
        let fresh = dir.path().join("new.env");
        OutputsFile::open(Format::Gitlab, fresh.clone(), "X", true).unwrap();
        assert!(!fresh.exists(), "a dry run creates nothing");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "the probe is gone");
        OutputsFile::open(Format::Gitlab, fresh.clone(), "X", false).unwrap();
        assert!(fresh.exists());
    }
}
