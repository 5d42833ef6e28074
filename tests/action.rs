//! The GitHub Action's metadata (`action.yml`) against the gate's own sources: every input reaches
//! the binary as the `BUILDGATE_*` variable the configuration reads, every variable the
//! configuration reads has an input, no input carries a default of its own (the binary's defaults,
//! which each description states, are the only ones), and every output the gate writes is declared.
//!
//! The facts about the gate are read from the source text (`src/config/`, `src/**/*.rs`), so a
//! variable or output added there without touching `action.yml` fails here. The checks are pure
//! functions of the parsed YAML; the tests at the bottom break a copy of `action.yml` in the ways
//! that matter and assert each break is reported, so the checks cannot silently pass everything.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Config fields that deliberately have no input, with the reason.
const NO_INPUT: &[(&str, &str)] = &[("output_file", "GitHub sets GITHUB_OUTPUT for the container")];

fn read(relative: &str) -> String {
    let path = Path::new(ROOT).join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn load_action() -> Yaml {
    parse_action(&read("action.yml"))
}

fn parse_action(text: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("action.yml is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "action.yml must hold exactly one YAML document");
    docs.remove(0)
}

/// Every `.rs` file under `dir`, as (path relative to the crate root, text).
fn rust_sources(dir: &Path) -> Vec<(String, String)> {
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

/// What the gate's sources say, as far as the action metadata is concerned.
#[derive(Debug)]
struct Gate {
    /// Field names of `RawConfig`: envy reads each from `BUILDGATE_<NAME>`.
    fields: Vec<String>,
    /// Output names the gate writes (`values.push(("name"` / `outputs.set("name"`).
    outputs: BTreeSet<String>,
    /// `BUILDGATE_TIMEOUT` → `30m`, from the `duration_var(..)` calls.
    duration_defaults: BTreeMap<String, String>,
    max_log_lines_default: String,
    log_level_default: String,
    default_urls: Vec<String>,
}

/// String literals in `text`, in order (no escapes needed for what is read here).
fn literals(text: &str) -> Vec<&str> {
    text.split('"').skip(1).step_by(2).collect()
}

/// The text between the first `start` and the next line that is exactly `end` (after trimming).
fn block<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
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
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

fn read_gate(config_rs: &str, sources: &[(String, String)]) -> Result<Gate, String> {
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
fn raw_config_fields(config_rs: &str) -> Result<Vec<String>, String> {
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
fn written_outputs(sources: &[(String, String)]) -> BTreeSet<String> {
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
fn duration_defaults(config_rs: &str, sources: &[(String, String)]) -> Result<BTreeMap<String, String>, String> {
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
fn config_sources() -> String {
    read("src/config/values.rs") + &read("src/config/mod.rs")
}

fn gate() -> Gate {
    read_gate(&config_sources(), &rust_sources(&Path::new(ROOT).join("src"))).unwrap_or_else(|e| panic!("{e}"))
}

fn env_name(input: &str) -> String {
    format!("BUILDGATE_{}", input.to_ascii_uppercase().replace('-', "_"))
}

fn field_name(input: &str) -> String {
    input.replace('-', "_")
}

fn input_name(field: &str) -> String {
    field.replace('_', "-")
}

/// `(key, value)` pairs of a mapping, keys as strings; problems for anything else.
fn mapping<'a>(yaml: &'a Yaml, what: &str, problems: &mut Vec<String>) -> Vec<(String, &'a Yaml)> {
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

/// Everything wrong with `action` for this `gate`; empty when the metadata is right.
fn check(action: &Yaml, gate: &Gate) -> Vec<String> {
    let mut problems = Vec::new();
    check_metadata(action, &mut problems);
    let inputs = mapping(&action["inputs"], "inputs", &mut problems);
    let env: BTreeMap<String, &Yaml> = mapping(&action["runs"]["env"], "runs.env", &mut problems).into_iter().collect();
    let input_names: BTreeSet<&str> = inputs.iter().map(|(name, _)| name.as_str()).collect();
    check_inputs(&inputs, &env, gate, &mut problems);
    check_env_from_inputs(&env, &input_names, &mut problems);
    check_every_field_has_an_input(gate, &input_names, &mut problems);
    check_stated_defaults(&inputs, &input_names, gate, &mut problems);
    check_outputs(action, gate, &mut problems);
    problems
}

/// The action's name, description, branding and how it runs.
fn check_metadata(action: &Yaml, problems: &mut Vec<String>) {
    if action["name"].as_str() != Some("buildgate") {
        problems.push(format!("name must be `buildgate`, is {:?}", action["name"]));
    }
    if action["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
        problems.push("description is missing".into());
    }
    if action["branding"]["icon"].as_str().is_none() || action["branding"]["color"].as_str().is_none() {
        problems.push("branding needs an icon and a color".into());
    }
    if action["runs"]["using"].as_str() != Some("docker") {
        problems.push(format!("runs.using must be `docker`, is {:?}", action["runs"]["using"]));
    }
    if action["runs"]["image"].as_str() != Some("Dockerfile") {
        problems.push(format!(
            "runs.image must be `Dockerfile` (the release rewrites it to the pushed digest), is {:?}",
            action["runs"]["image"]
        ));
    }
}

/// Each input: passed on as its variable, read by the gate, without a default of its own,
/// optional, and described with the binary's default.
fn check_inputs(inputs: &[(String, &Yaml)], env: &BTreeMap<String, &Yaml>, gate: &Gate, problems: &mut Vec<String>) {
    for (name, input) in inputs {
        let variable = env_name(name);
        let expected = format!("${{{{ inputs.{name} }}}}");
        match env.get(&variable).map(|v| v.as_str()) {
            None => problems.push(format!("input `{name}` is not passed on: runs.env has no {variable}")),
            Some(Some(value)) if value.trim() == expected => {}
            Some(value) => problems.push(format!("runs.env.{variable} must be `{expected}`, is {value:?}")),
        }
        if !gate.fields.contains(&field_name(name)) {
            problems.push(format!("input `{name}` sets {variable}, which src/config/mod.rs (RawConfig) does not read"));
        }
        if !matches!(input["default"], Yaml::BadValue) {
            problems.push(format!(
                "input `{name}` has a default; leave it out, the binary's default is the only one (an unset input arrives empty)"
            ));
        }
        match &input["required"] {
            Yaml::Boolean(false) => {}
            other => problems.push(format!("input `{name}` must say `required: false`, says {other:?}")),
        }
        match input["description"].as_str() {
            Some(d) if d.contains("Default:") => {}
            _ => problems.push(format!("input `{name}` needs a description that states the binary's default")),
        }
    }
}

/// Every variable in `runs.env` comes from a declared input.
fn check_env_from_inputs(env: &BTreeMap<String, &Yaml>, input_names: &BTreeSet<&str>, problems: &mut Vec<String>) {
    for (variable, value) in env {
        let named_input = value
            .as_str()
            .and_then(|v| v.trim().strip_prefix("${{ inputs."))
            .and_then(|v| v.strip_suffix(" }}"))
            .map(str::trim);
        match named_input {
            Some(input) if input_names.contains(input) => {}
            _ => problems.push(format!("runs.env.{variable} does not come from a declared input: {value:?}")),
        }
    }
}

/// Every variable the configuration reads has an input, but the exempt ones, which have none.
fn check_every_field_has_an_input(gate: &Gate, input_names: &BTreeSet<&str>, problems: &mut Vec<String>) {
    for field in &gate.fields {
        let exempt = NO_INPUT.iter().any(|(f, _)| f == field);
        let name = input_name(field);
        if !exempt && !input_names.contains(name.as_str()) {
            problems.push(format!(
                "src/config/mod.rs reads BUILDGATE_{} but action.yml has no input `{name}`",
                field.to_ascii_uppercase()
            ));
        }
        if exempt && input_names.contains(name.as_str()) {
            problems.push(format!("input `{name}` exists although the test exempts `{field}`; drop one of them"));
        }
    }
}

/// Each input's description states the binary's default for it.
fn check_stated_defaults(
    inputs: &[(String, &Yaml)],
    input_names: &BTreeSet<&str>,
    gate: &Gate,
    problems: &mut Vec<String>,
) {
    let description = |name: &str| -> String {
        inputs.iter().find(|(n, _)| n == name).and_then(|(_, i)| i["description"].as_str()).unwrap_or("").to_string()
    };
    for (variable, default) in &gate.duration_defaults {
        let name = input_name(&variable.trim_start_matches("BUILDGATE_").to_ascii_lowercase());
        if input_names.contains(name.as_str()) && !description(&name).contains(&format!("`{default}`")) {
            problems.push(format!("input `{name}`: the description must state the default `{default}`"));
        }
    }
    let stated = [
        ("max-log-lines", vec![gate.max_log_lines_default.clone()]),
        ("log-level", vec![gate.log_level_default.clone()]),
        ("api-url", gate.default_urls.clone()),
    ];
    for (name, defaults) in stated {
        for default in defaults {
            if input_names.contains(name) && !description(name).contains(&format!("`{default}`")) {
                problems.push(format!("input `{name}`: the description must state the default `{default}`"));
            }
        }
    }
}

/// The outputs declared are exactly those the gate writes, each described.
fn check_outputs(action: &Yaml, gate: &Gate, problems: &mut Vec<String>) {
    let outputs = mapping(&action["outputs"], "outputs", problems);
    let declared: BTreeSet<&str> = outputs.iter().map(|(name, _)| name.as_str()).collect();
    for name in &gate.outputs {
        if !declared.contains(name.as_str()) {
            problems.push(format!("the gate writes output `{name}` but action.yml does not declare it"));
        }
    }
    for (name, output) in &outputs {
        if !gate.outputs.contains(name) {
            problems.push(format!("action.yml declares output `{name}`, which the gate never writes"));
        }
        if output["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
            problems.push(format!("output `{name}` needs a description"));
        }
    }
}

#[test]
fn action_yml_matches_the_gate() {
    let problems = check(&load_action(), &gate());
    assert!(problems.is_empty(), "action.yml is out of step with the gate:\n  {}", problems.join("\n  "));
}

#[test]
fn the_gate_facts_are_read_from_the_sources() {
    let gate = gate();
    for field in ["build_id", "context_hash", "provider", "api_key", "dry_run", "output_file", "max_log_lines"] {
        assert!(gate.fields.iter().any(|f| f == field), "RawConfig field {field} not found in {:?}", gate.fields);
    }
    for output in
        ["build-id", "status", "provider-status", "image-uri", "duration", "logs-url", "error-message", "waited"]
    {
        assert!(gate.outputs.contains(output), "output {output} not found in {:?}", gate.outputs);
    }
    assert_eq!(gate.duration_defaults.get("BUILDGATE_TIMEOUT").map(String::as_str), Some("30m"), "{gate:?}");
    assert_eq!(gate.duration_defaults.len(), 5, "{gate:?}");
    assert!(gate.max_log_lines_default.parse::<usize>().is_ok(), "{gate:?}");
    assert!(gate.default_urls.iter().all(|u| u.starts_with("https://")), "{gate:?}");
}

#[test]
fn a_new_config_field_or_output_is_noticed() {
    let config_rs = config_sources();
    let grown = config_rs.replacen("struct RawConfig {\n", "struct RawConfig {\n    colour: Option<String>,\n", 1);
    let mut sources = rust_sources(&Path::new(ROOT).join("src"));
    sources.push(("src/extra.rs".to_string(), "fn f() { values.push((\"digest\", x)); }".to_string()));
    let mut gate = read_gate(&grown, &sources).unwrap();
    gate.outputs.extend(self::gate().outputs);
    let problems = check(&load_action(), &gate);
    assert!(problems.iter().any(|p| p.contains("BUILDGATE_COLOUR") && p.contains("no input `colour`")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("output `digest`")), "{problems:?}");

    let renamed = config_rs.replacen("struct RawConfig {\n", "struct RawConfig {\n    #[serde(rename = \"x\")]\n", 1);
    assert!(read_gate(&renamed, &sources).is_err());
}

/// Applies `edit` to a fresh copy of the real action.yml and returns what `check` reports.
fn problems_after(edit: impl FnOnce(&mut yaml_rust2::yaml::Hash)) -> Vec<String> {
    let mut action = load_action();
    let Yaml::Hash(top) = &mut action else { panic!("action.yml is not a mapping") };
    edit(top);
    check(&action, &gate())
}

fn section<'a>(top: &'a mut yaml_rust2::yaml::Hash, path: &[&str]) -> &'a mut yaml_rust2::yaml::Hash {
    let mut node = top;
    for key in path {
        node = match node.get_mut(&Yaml::String(key.to_string())) {
            Some(Yaml::Hash(h)) => h,
            other => panic!("{key}: not a mapping: {other:?}"),
        };
    }
    node
}

fn key(s: &str) -> Yaml {
    Yaml::String(s.to_string())
}

#[test]
fn deleting_an_input_fails() {
    let problems = problems_after(|top| {
        section(top, &["inputs"]).remove(&key("context-hash"));
    });
    assert!(problems.iter().any(|p| p.contains("no input `context-hash`")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("BUILDGATE_CONTEXT_HASH does not come from a declared input")));
}

#[test]
fn an_input_without_its_env_mapping_fails() {
    let problems = problems_after(|top| {
        section(top, &["runs", "env"]).remove(&key("BUILDGATE_MAX_LOG_LINES"));
    });
    assert!(problems.iter().any(|p| p.contains("`max-log-lines` is not passed on")), "{problems:?}");
}

#[test]
fn a_wrong_env_mapping_fails() {
    let problems = problems_after(|top| {
        section(top, &["runs", "env"]).insert(key("BUILDGATE_REGION"), key("${{ inputs.provider }}"));
    });
    assert!(problems.iter().any(|p| p.contains("runs.env.BUILDGATE_REGION must be")), "{problems:?}");
}

#[test]
fn an_input_the_config_does_not_read_fails() {
    let problems = problems_after(|top| {
        let mut input = yaml_rust2::yaml::Hash::new();
        input.insert(key("description"), key("Colour. Default: none."));
        input.insert(key("required"), Yaml::Boolean(false));
        section(top, &["inputs"]).insert(key("colour"), Yaml::Hash(input));
        section(top, &["runs", "env"]).insert(key("BUILDGATE_COLOUR"), key("${{ inputs.colour }}"));
    });
    assert!(problems.iter().any(|p| p.contains("`colour` sets BUILDGATE_COLOUR")), "{problems:?}");
}

#[test]
fn an_input_default_fails() {
    let problems = problems_after(|top| {
        let Some(Yaml::Hash(timeout)) = section(top, &["inputs"]).get_mut(&key("timeout")) else { panic!() };
        timeout.insert(key("default"), key("30m"));
    });
    assert!(problems.iter().any(|p| p.contains("input `timeout` has a default")), "{problems:?}");
}

#[test]
fn a_description_without_the_binary_default_fails() {
    let problems = problems_after(|top| {
        let Some(Yaml::Hash(poll)) = section(top, &["inputs"]).get_mut(&key("poll-interval")) else { panic!() };
        poll.insert(key("description"), key("First wait between polls. Default: `5s`."));
    });
    assert!(problems.iter().any(|p| p.contains("`poll-interval`: the description must state the default `2s`")));
}

#[test]
fn a_missing_output_fails() {
    let problems = problems_after(|top| {
        section(top, &["outputs"]).remove(&key("image-uri"));
    });
    assert!(problems.iter().any(|p| p.contains("writes output `image-uri`")), "{problems:?}");
}

#[test]
fn a_prebuilt_image_or_another_runtime_fails() {
    let problems = problems_after(|top| {
        let runs = section(top, &["runs"]);
        runs.insert(key("image"), key("docker://ghcr.io/buildgate/buildgate:1"));
        runs.insert(key("using"), key("node24"));
    });
    assert!(problems.iter().any(|p| p.starts_with("runs.image must be `Dockerfile`")), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("runs.using must be `docker`")), "{problems:?}");
}

/// The GitLab CI template (`templates/buildgate.gitlab-ci.yml`): the hidden `.buildgate` job runs
/// the gate in the gitlab format and keeps the dotenv file the gate writes by default.
#[test]
fn the_gitlab_template_runs_the_gate_and_keeps_its_dotenv_file() {
    let text = read("templates/buildgate.gitlab-ci.yml");
    let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("the GitLab template is not YAML: {e}"));
    let template = &docs[0];
    let job = &template[".buildgate"];

    let ci_rs = read("src/ci/mod.rs");
    let default_file = ci_rs
        .split("Format::Gitlab => Some((PathBuf::from(\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("src/ci/mod.rs: no default output file for the gitlab format");
    assert_eq!(job["artifacts"]["reports"]["dotenv"].as_str(), Some(default_file));
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"), "outputs must survive a failed build");

    assert_eq!(job["image"]["name"].as_str(), Some("${BUILDGATE_IMAGE}"));
    assert_eq!(job["image"]["entrypoint"], Yaml::Array(vec![key("")]));
    assert_eq!(job["script"], Yaml::Array(vec![key("buildgate")]));
    assert_eq!(job["variables"]["BUILDGATE_FORMAT"].as_str(), Some("gitlab"));
    let image = template["variables"]["BUILDGATE_IMAGE"].as_str().unwrap_or("");
    assert!(image.starts_with("ghcr.io/") && image.ends_with(":1"), "BUILDGATE_IMAGE default: {image:?}");

    let gate = gate();
    for (name, _) in mapping(&job["variables"], ".buildgate.variables", &mut Vec::new()) {
        let field = name.strip_prefix("BUILDGATE_").map(str::to_ascii_lowercase).unwrap_or_default();
        assert!(gate.fields.contains(&field), "the template sets {name}, which src/config/mod.rs does not read");
    }
}
