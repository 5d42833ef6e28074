//! What the gate's own sources say about its interface, read from their text: the variables the
//! configuration reads (`RawConfig`), the outputs it writes, the defaults a description must state,
//! the `BUILDGATE_*` names the project sets for itself, and the variables the README documents.
//! Shared by the checks of the GitHub Action (`tests/action.rs`) and of the GitLab CI/CD component
//! (`tests/gitlab_component.rs`), so both compare against the same facts and a variable added to
//! the gate without its input fails both.
// Each test crate uses its own part of these facts.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use yaml_rust2::Yaml;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub fn read(relative: &str) -> String {
    let path = Path::new(ROOT).join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, as (path relative to the crate root, text).
pub fn rust_sources(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path: PathBuf = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(ROOT).unwrap_or(&path).display().to_string();
                files.push((name, fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// What the gate's sources say, as far as the CI metadata is concerned.
#[derive(Debug)]
pub struct Gate {
    /// Field names of `RawConfig`: envy reads each from `BUILDGATE_<NAME>`.
    pub fields: Vec<String>,
    /// Output names the gate writes (`values.push(("name"` / `outputs.set("name"`).
    pub outputs: BTreeSet<String>,
    /// `BUILDGATE_TIMEOUT` → `30m`, from the `duration_var(..)` calls.
    pub duration_defaults: BTreeMap<String, String>,
    pub max_log_lines_default: String,
    pub log_level_default: String,
    pub default_urls: Vec<String>,
}

impl Gate {
    /// Each `(RawConfig field, default)` a description of its input must state; a field with two
    /// defaults (the API URL, one per provider) comes twice.
    pub fn stated_defaults(&self) -> Vec<(String, String)> {
        let mut stated: Vec<(String, String)> =
            self.duration_defaults.iter().map(|(variable, default)| (field_of(variable), default.clone())).collect();
        stated.push(("max_log_lines".into(), self.max_log_lines_default.clone()));
        stated.push(("log_level".into(), self.log_level_default.clone()));
        stated.extend(self.default_urls.iter().map(|url| ("api_url".to_string(), url.clone())));
        stated
    }
}

/// `BUILDGATE_POLL_INTERVAL` → `poll_interval`; empty for a name without the prefix.
pub fn field_of(variable: &str) -> String {
    variable.strip_prefix("BUILDGATE_").map(str::to_ascii_lowercase).unwrap_or_default()
}

/// String literals in `text`, in order (no escapes needed for what is read here).
pub fn literals(text: &str) -> Vec<&str> {
    text.split('"').skip(1).step_by(2).collect()
}

/// The text between the first `start` and the next line that is exactly `end` (after trimming).
pub fn block<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let rest = &text[from..];
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim() == end {
            return Some(&rest[..offset]);
        }
        offset += line.len();
    }
    None
}

/// Only the non-test part of a source file: the `#[cfg(test)]` module comes last by convention.
pub fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

pub fn read_gate(config_rs: &str, sources: &[(String, String)]) -> Result<Gate, String> {
    let config_rs = without_tests(config_rs);
    let fields = raw_config_fields(config_rs)?;
    let outputs = written_outputs(sources);
    let duration_defaults = duration_defaults(config_rs, sources)?;
    let max_log_lines_default = config_rs
        .lines()
        .find_map(|l| l.trim().strip_prefix("pub const DEFAULT_MAX_LOG_LINES: usize = "))
        .map(|v| v.trim_end_matches(';').replace('_', ""))
        .ok_or("src/config/mod.rs: no `pub const DEFAULT_MAX_LOG_LINES: usize = ..;`")?;
    let log_level_default = block(config_rs, "fn log_level(", "}")
        .and_then(|b| b.split("unwrap_or(\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .ok_or("src/config/values.rs: fn log_level has no `unwrap_or(\"..\")` default")?
        .to_string();
    let provider_rs =
        sources.iter().find(|(name, _)| name.ends_with("provider/mod.rs")).map_or("", |(_, t)| without_tests(t));
    let default_urls = block(provider_rs, "fn default_url(", "}")
        .map(|b| literals(b).into_iter().map(String::from).collect::<Vec<_>>())
        .filter(|urls| !urls.is_empty())
        .ok_or("src/provider/mod.rs: fn default_url has no URLs")?;

    Ok(Gate { fields, outputs, duration_defaults, max_log_lines_default, log_level_default, default_urls })
}

/// The field names of `RawConfig` in `config_rs` (its non-test part).
pub fn raw_config_fields(config_rs: &str) -> Result<Vec<String>, String> {
    if !config_rs.contains("envy::prefixed(\"BUILDGATE_\")") {
        return Err("src/config/mod.rs no longer reads RawConfig with envy::prefixed(\"BUILDGATE_\")".into());
    }
    let body =
        block(config_rs, "struct RawConfig {", "}").ok_or("src/config/mod.rs: no `struct RawConfig { .. }` found")?;
    let mut fields = Vec::new();
    for line in body.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if line.starts_with("#[") {
            return Err(format!(
                "RawConfig has an attribute on a field ({line}); the env-name mapping here assumes none"
            ));
        }
        match line.strip_suffix(',').and_then(|l| l.split_once(':')) {
            Some((name, ty)) if ty.trim() == "Option<String>" => {
                fields.push(name.trim().trim_start_matches("pub ").trim().to_string());
            }
            _ => return Err(format!("RawConfig: cannot read the field line {line:?}")),
        }
    }
    if fields.is_empty() {
        return Err("RawConfig has no fields".into());
    }
    Ok(fields)
}

/// The output names the non-test sources write.
pub fn written_outputs(sources: &[(String, String)]) -> BTreeSet<String> {
    let mut outputs = BTreeSet::new();
    for (_, text) in sources {
        let text = without_tests(text);
        for marker in ["values.push((\"", "outputs.set(\""] {
            for (i, _) in text.match_indices(marker) {
                let rest = &text[i + marker.len()..];
                if let Some(end) = rest.find('"') {
                    outputs.insert(rest[..end].to_string());
                }
            }
        }
    }
    outputs
}

/// The durations `check_durations` names, each with its default from the variables' table.
pub fn duration_defaults(config_rs: &str, sources: &[(String, String)]) -> Result<BTreeMap<String, String>, String> {
    let vars_rs = sources.iter().find(|(name, _)| name.ends_with("config/vars.rs")).map_or("", |(_, t)| t.as_str());
    let mut duration_defaults = BTreeMap::new();
    if let Some(list) = block(config_rs, "fn check_durations(", "];") {
        for (i, _) in list.match_indices("(\"BUILDGATE_") {
            let variable = literals(&list[i..]).first().copied().unwrap_or_default();
            let row = format!("name: \"{variable}\"");
            let default = vars_rs.split(&row).nth(1).and_then(|rest| rest.split("default: \"").nth(1));
            let default = default.and_then(|rest| rest.split('"').next());
            let default = default.ok_or(format!("src/config/vars.rs: no default for {variable}"))?;
            duration_defaults.insert(variable.to_string(), default.to_string());
        }
    }
    Ok(duration_defaults)
}

/// The configuration's sources: its value parsers and the module (`RawConfig`, `validate`),
/// whose tests come last.
pub fn config_sources() -> String {
    read("src/config/values.rs") + &read("src/config/mod.rs")
}

pub fn gate() -> Gate {
    read_gate(&config_sources(), &rust_sources(&Path::new(ROOT).join("src"))).unwrap_or_else(|e| panic!("{e}"))
}

/// The `BUILDGATE_*` names the project sets for its own use (`OWN_NAMES` in `src/config/vars.rs`):
/// the gate reads none of them as a setting and warns about none of them as a typo.
pub fn own_names(vars_rs: &str) -> Result<BTreeSet<String>, String> {
    let list = block(without_tests(vars_rs), "pub const OWN_NAMES: &[&str] = &[", "];")
        .ok_or("src/config/vars.rs: no `pub const OWN_NAMES: &[&str] = &[ .. ];`")?;
    Ok(literals(list).into_iter().map(String::from).collect())
}

/// The variables the README's configuration table documents: each row that starts with one in backticks.
pub fn documented_variables(readme: &str) -> BTreeSet<String> {
    readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `BUILDGATE_"))
        .filter_map(|rest| rest.split('`').next())
        .map(|name| format!("BUILDGATE_{name}"))
        .collect()
}

/// The outputs file the gate writes in the gitlab format when `BUILDGATE_OUTPUT_FILE` is unset.
pub fn gitlab_default_output_file() -> String {
    read("src/ci/mod.rs")
        .split("Format::Gitlab => Some((PathBuf::from(\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("src/ci/mod.rs: no default output file for the gitlab format")
        .to_string()
}

/// `(key, value)` pairs of a mapping, keys as strings; problems for anything else.
pub fn mapping<'a>(yaml: &'a Yaml, what: &str, problems: &mut Vec<String>) -> Vec<(String, &'a Yaml)> {
    match yaml {
        Yaml::Hash(hash) => hash
            .iter()
            .filter_map(|(k, v)| {
                let Some(key) = k.as_str() else {
                    problems.push(format!("{what}: a key is not a string: {k:?}"));
                    return None;
                };
                Some((key.to_string(), v))
            })
            .collect(),
        Yaml::BadValue => {
            problems.push(format!("{what} is missing"));
            Vec::new()
        }
        other => {
            problems.push(format!("{what} is not a mapping: {other:?}"));
            Vec::new()
        }
    }
}

pub fn key(s: &str) -> Yaml {
    Yaml::String(s.to_string())
}
