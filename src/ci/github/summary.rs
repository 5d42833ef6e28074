//! GitHub's Markdown step summary: the build's facts as a table, the image and where it came
//! from, the artifacts, the build's phases, and on failure the last log lines; every field cut,
//! so the whole stays far below GitHub's 1 MiB limit whatever the API or the log returns.

use std::fmt::Write as _;

use crate::text::{Redactor, cut, inert_text, one_line};

/// Cuts per field: together (with at most [`MAX_PARTS`] rows) well under 200 KiB; the phases add
/// at most [`crate::phases::MAX_PHASES`] short rows (their names cut to 40 characters).
const FIELD_MAX: usize = 2 * 1024;
const URL_MAX: usize = 8 * 1024;
const TAIL_MAX: usize = 64 * 1024;
const MAX_PARTS: usize = 50;
const PART_FIELD_MAX: usize = 256;
const PART_IMAGE_MAX: usize = 1024;

/// The facts of the step summary.
pub struct Summary<'a> {
    pub provider: &'a str,
    pub build_id: Option<&'a str>,
    pub status: &'a str,
    pub provider_status: Option<&'a str>,
    pub duration_secs: Option<u64>,
    /// The image, and which field of the answer it came from.
    pub image: Option<(&'a str, &'a str)>,
    pub logs_url: Option<&'a str>,
    pub waited_secs: u64,
    pub error_message: Option<&'a str>,
    /// `(name, status, image)` of the build's parts (Prime artifacts).
    pub parts: Vec<(&'a str, &'a str, Option<&'a str>)>,
    /// The last build log lines, shown when the build failed.
    pub log_tail: &'a [String],
    /// The build's phases as its log told them.
    pub phases: Option<&'a crate::phases::Phases>,
}

pub fn summary_markdown(s: &Summary, redactor: &Redactor) -> String {
    // Cut roughly first (with room for a key across the cut), so a huge field costs nothing.
    let clean = |v: &str, max: usize| cut(&inert_text(&redactor.redact(&cut(v, max + 4096))), max).into_owned();
    let cell = |v: &str, max: usize| clean(&one_line(&cut(v, max + 4096)), max).replace('|', "\\|");
    let code = |v: &str, max: usize| format!("`{}`", cell(v, max).replace('`', "'"));
    let mut md = format!("### buildgate: {} build {}\n\n| | |\n|---|---|\n", s.provider, s.status);
    let mut row = |k: &str, v: String| {
        let _ = writeln!(md, "| {k} | {v} |");
    };
    if let Some(id) = s.build_id {
        row("Build", code(id, FIELD_MAX));
    }
    row(
        "Status",
        match s.provider_status {
            Some(p) => format!("{} ({})", s.status, code(p, FIELD_MAX)),
            None => s.status.to_string(),
        },
    );
    if let Some(d) = s.duration_secs {
        row("Duration", format!("{d} s"));
    }
    if let Some((uri, source)) = s.image {
        row("Image", format!("{} (from {})", code(uri, URL_MAX), cell(source, FIELD_MAX)));
    }
    if let Some(url) = s.logs_url {
        row("Logs", format!("[build logs]({})", cell(url, URL_MAX).replace(['(', ')'], "")));
    }
    row("Waited", format!("{} s", s.waited_secs));
    if let Some(e) = s.error_message {
        row("Error", cell(e, FIELD_MAX));
    }
    if !s.parts.is_empty() {
        md.push_str("\n| Artifact | Status | Image |\n|---|---|---|\n");
        for (name, status, image) in s.parts.iter().take(MAX_PARTS) {
            let image = image.map(|i| code(i, PART_IMAGE_MAX)).unwrap_or_default();
            let _ = writeln!(md, "| {} | {} | {image} |", cell(name, PART_FIELD_MAX), cell(status, PART_FIELD_MAX));
        }
        if s.parts.len() > MAX_PARTS {
            let _ = writeln!(md, "\n{} more artifacts are not listed.", s.parts.len() - MAX_PARTS);
        }
    }
    if let Some(phases) = s.phases.filter(|p| !p.is_empty()) {
        let _ = write!(md, "\n#### Build phases\n\n{}", redactor.redact(&phases.markdown()));
    }
    if !s.log_tail.is_empty() {
        let tail = clean(&s.log_tail.join("\n"), TAIL_MAX);
        let fence = "`".repeat(longest_backtick_run(&tail).max(2) + 1);
        let _ = writeln!(
            md,
            "\n<details open><summary>Last {} log lines</summary>\n\n{fence}text\n{tail}\n{fence}\n\n</details>",
            s.log_tail.len()
        );
    }
    md.push('\n');
    md
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::phases::Phases;

    fn failed<'a>(tail: &'a [String], error: &'a str, image: Option<(&'a str, &'a str)>) -> Summary<'a> {
        Summary {
            provider: "pipecat",
            build_id: Some("b1"),
            status: "failed",
            provider_status: Some("failed"),
            duration_secs: Some(42),
            image,
            logs_url: Some("https://console.example/logs"),
            waited_secs: 45,
            error_message: Some(error),
            parts: Vec::new(),
            log_tail: tail,
            phases: None,
        }
    }

    #[test]
    fn golden_bytes() {
        let tail = ["Step 3/6 : COPY missing.txt .".to_string(), "ERROR: ``` not found".to_string()];
        let mut phases = Phases::new();
        for line in [
            "[Container] 2026/03/04 10:00:00.5 Entering phase INSTALL",
            "[Container] 2026/03/04 10:00:05.5 Phase complete: INSTALL State: SUCCEEDED",
            "[Container] 2026/03/04 10:00:06 Entering phase: BUILD",
            "[Container] 2026/03/04 10:00:48 Phase complete: BUILD State: FAILED",
        ] {
            phases.observe(line, Duration::ZERO);
        }
        let mut with_phases = failed(&tail, "COPY failed: no file", None);
        with_phases.phases = Some(&phases);
        insta::assert_snapshot!(summary_markdown(&with_phases, &Redactor::default()));
        let mut vm = failed(&[], "", Some(("reg/vm:1", "the completed VM_SANDBOX artifact's fullImagePath")));
        (vm.provider, vm.status, vm.provider_status, vm.error_message, vm.logs_url) =
            ("prime", "success", Some("COMPLETED"), None, None);
        vm.parts =
            vec![("artifact VM_SANDBOX #1", "COMPLETED", Some("reg/vm:1")), ("artifact VM_SANDBOX #2", "FAILED", None)];
        insta::assert_snapshot!("vm_image", summary_markdown(&vm, &Redactor::default()));
    }

    #[test]
    fn the_summary_stays_small_whatever_the_api_returns() {
        let tail: Vec<String> = (0..10_000).map(|i| format!("line {i} ``` {}", "x".repeat(100))).collect();
        let huge = "u".repeat(3 * 1024 * 1024);
        let mut s = failed(&tail, &huge, Some((&huge, "imageUri")));
        s.build_id = Some(&huge);
        s.logs_url = Some(&huge);
        s.provider_status = Some(&huge);
        s.parts = (0..40_000).map(|_| (huge.as_str(), huge.as_str(), Some(huge.as_str()))).collect();
        let mut phases = Phases::new();
        let long = "p".repeat(4096);
        for i in 0..1000 {
            phases.observe(&format!("Entering phase {long}{i}"), Duration::from_secs(i));
            phases.observe(&format!("Phase complete: {long}{i} State: FAILED"), Duration::from_secs(i + 1));
        }
        s.phases = Some(&phases);
        let md = summary_markdown(&s, &Redactor::default());
        assert!(md.len() < 1024 * 1024 / 2, "{} bytes", md.len());
        assert!(md.contains("#### Build phases") && md.contains("936 more phases are not listed."));
        assert!(md.contains("````text\n"));
        assert!(md.contains("39950 more artifacts"));
    }

    #[test]
    fn cells_are_one_line_and_redacted() {
        let md = summary_markdown(&failed(&[], "a | b\nc sk\\u002dkey \x1b[31m!", None), &Redactor::new("sk-key"));
        assert!(md.contains("| Error | a \\| b c *** ! |"), "{md}");
    }
}
