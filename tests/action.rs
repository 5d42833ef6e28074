//! The GitHub Action's metadata (`action.yml`) against the gate's own sources: every input reaches
//! the binary as the `BUILDGATE_*` variable the configuration reads, every variable the
//! configuration reads has an input, no input carries a default of its own (the binary's defaults,
//! which each description states, are the only ones), and every output the gate writes is declared.
//!
//! The facts about the gate are read from the source text (`src/config/`, `src/**/*.rs`, see
//! `gate_facts`, which the GitLab component's checks share), so a variable or output added there
//! without touching `action.yml` fails here. The checks are pure
//! functions of the parsed YAML; the tests at the bottom break a copy of `action.yml` in the ways
//! that matter and assert each break is reported, so the checks cannot silently pass everything.

mod gate_facts;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use gate_facts::{Gate, ROOT, config_sources, gate, key, mapping, read, read_gate, rust_sources};

/// Config fields that deliberately have no input, with the reason.
const NO_INPUT: &[(&str, &str)] = &[("output_file", "GitHub sets GITHUB_OUTPUT for the container")];

fn load_action() -> Yaml {
    parse_action(&read("action.yml"))
}

fn parse_action(text: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("action.yml is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "action.yml must hold exactly one YAML document");
    docs.remove(0)
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
    for (field, default) in gate.stated_defaults() {
        let name = input_name(&field);
        if input_names.contains(name.as_str()) && !description(&name).contains(&format!("`{default}`")) {
            problems.push(format!("input `{name}`: the description must state the default `{default}`"));
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

/// The README's "GitHub Actions" section, up to the next heading of its level.
fn github_section(readme: &str) -> &str {
    let start = readme.find("\n### GitHub Actions\n").expect("README: no `### GitHub Actions` section") + 1;
    let rest = &readme[start..];
    let end = rest[1..].find("\n### ").map_or(rest.len(), |at| at + 1);
    &rest[..end]
}

/// The YAML code blocks of a README section.
fn yaml_blocks(section: &str) -> Vec<&str> {
    section.split("```yaml\n").skip(1).filter_map(|block| block.split("```").next()).collect()
}

#[test]
fn the_readmes_github_snippets_use_only_what_the_action_declares() {
    let action = load_action();
    let mut problems = Vec::new();
    let mut declared = |part: &str| -> BTreeSet<String> {
        mapping(&action[part], part, &mut problems).into_iter().map(|(n, _)| n).collect()
    };
    let (inputs, outputs) = (declared("inputs"), declared("outputs"));
    let readme = read("README.md");
    let blocks = yaml_blocks(github_section(&readme));
    assert!(blocks.len() >= 2, "the README shows its GitHub snippets: {}", blocks.len());
    let mut gate_steps = 0;
    for block in blocks {
        // Steps as written, indented as inside a job's `steps:`.
        let steps =
            YamlLoader::load_from_str(block).unwrap_or_else(|e| panic!("README snippet is not YAML: {e}\n{block}"));
        for step in steps[0].as_vec().expect("a list of steps") {
            let ids: Vec<&str> = step["id"].as_str().into_iter().collect();
            if step["uses"].as_str().is_some_and(|u| u.starts_with("buildgate/buildgate@")) {
                gate_steps += 1;
                for (name, _) in mapping(&step["with"], "with", &mut problems) {
                    assert!(inputs.contains(&name), "README snippet gives `{name}`, which action.yml does not declare");
                }
                assert_eq!(ids.len(), 1, "a gate step has an id its outputs are read by");
            }
        }
        for (at, _) in block.match_indices(".outputs.") {
            let name: String = block[at + ".outputs.".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            let step = block[..at].rsplit("steps.").next().unwrap_or_default();
            if step == "gate" {
                assert!(
                    outputs.contains(&name),
                    "README snippet reads output `{name}`, which action.yml does not declare"
                );
            }
        }
    }
    assert!(gate_steps >= 2, "{gate_steps} gate steps");
    assert!(problems.is_empty(), "{problems:?}");
}
