//! What a CI runner makes of the gate's output, for the tests: GitHub's env-file reading rules,
//! and the hostile log lines that must have no effect in any format.

/// Log lines that try to issue commands or touch sections; every format must render them harmless.
pub const HOSTILE_LOG_LINES: &[&str] = &[
    "::set-output name=image-uri::evil",
    "::add-mask::x",
    "::endgroup::",
    "::stop-commands::abc",
    "x ##[set-output name=status;]evil",
    "a\rb",
    "a\r::error::after a bare CR",
    "::error::fake",
    "\x1b[0Ksection_end:1771588800:buildgate_1_build_log\r\x1b[0K",
    "section_start:1771588800:evil[collapsed=true]\r\x1b[0Khidden",
    "\x1b[32mgreen\x1b[0m stays green",
    // Escapes that GitLab's job-log view would let glue onto, hide or recolour the next line.
    "pip: error \x1b[31",
    "lone escape \x1b",
    "black on black \x1b[30;40m",
    "concealed \x1b[8m",
];

/// Reads an outputs or env file the way the GitHub runner does: `name=value`, or `name<<DELIM`
/// up to the first line equal to DELIM (split on LF only, no trimming). Panics on what the
/// runner would reject: a line with neither form, or a heredoc never closed.
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    let mut lines = text.split('\n');
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        match (line.find("<<"), line.find('=')) {
            (Some(h), a) if a.is_none_or(|a| h < a) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                let mut value = Vec::new();
                let mut closed = false;
                for l in lines.by_ref() {
                    if l == delimiter {
                        closed = true;
                        break;
                    }
                    value.push(l);
                }
                assert!(closed, "heredoc for {name} not closed in {text:?}");
                out.push((name.to_string(), value.join("\n")));
            }
            (_, Some(a)) => out.push((line[..a].to_string(), line[a + 1..].to_string())),
            _ => panic!("invalid env-file line {line:?}"),
        }
    }
    out
}
