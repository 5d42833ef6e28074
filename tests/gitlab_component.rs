//! The GitLab CI/CD component (`templates/buildgate.yml`) against the gate's own sources: its two
//! YAML documents (the `spec:inputs` header, then the job) declare a type for every input; each
//! input but the job-shape ones (`job_name`, `stage`, `image`) sets the one `BUILDGATE_*` variable
//! named after it, which the configuration reads and the README documents; every `$[[ inputs.X ]]`
//! refers to a declared input and every declared input is used; the dotenv report and
//! `BUILDGATE_OUTPUT_FILE` are the same interpolation; no input is named like a secret. The
//! README's GitLab snippets are checked as written against the files they include, and the
//! hidden-job template kept for `extends: .buildgate` against the gate.
//!
//! The facts about the gate come from `gate_facts`, shared with the action's checks
//! (`tests/action.rs`). The checks are pure functions of the parsed YAML; the tests in the middle
//! break a copy of the component in the ways that matter and assert each break is reported.

mod gate_facts;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};

use gate_facts::{
    Gate, ROOT, config_sources, documented_variables, field_of, gate, gitlab_default_output_file, key, mapping,
    own_names, read, read_gate, rust_sources,
};

const COMPONENT: &str = "templates/buildgate.yml";
const LEGACY: &str = "templates/buildgate.gitlab-ci.yml";

/// Inputs that shape the job rather than set one of the gate's settings.
const JOB_SHAPE: &[&str] = &["job_name", "stage", "image"];

/// Config fields that deliberately have no input, with the reason.
const NO_INPUT: &[(&str, &str)] = &[
    ("api_key", "a secret: input values are part of the pipeline configuration; a masked CI/CD variable holds it"),
    ("format", "the job sets `gitlab`: the dotenv report needs that format"),
];

/// What `spec:inputs:type` accepts.
const INPUT_TYPES: &[&str] = &["string", "number", "boolean", "array"];

/// Parts of a name that make an input look like it carries a secret.
const SECRET_WORDS: &[&str] = &["key", "token", "secret", "password", "credential"];

/// Top-level keys of a pipeline configuration that are not jobs.
const GLOBAL_KEYWORDS: &[&str] = &["include", "stages", "variables", "default", "workflow", "spec"];

/// What the component is checked against.
struct Facts {
    gate: Gate,
    /// `OWN_NAMES` of `src/config/vars.rs`: names the project sets and the gate knows.
    own_names: BTreeSet<String>,
    /// The variables of the README's configuration table.
    documented: BTreeSet<String>,
    /// The gate's outputs file in the gitlab format.
    default_output_file: String,
}

fn facts() -> Facts {
    Facts {
        gate: gate(),
        own_names: own_names(&read("src/config/vars.rs")).unwrap_or_else(|e| panic!("{e}")),
        documented: documented_variables(&read("README.md")),
        default_output_file: gitlab_default_output_file(),
    }
}

/// A component file: the header document, then the configuration document.
#[derive(Clone)]
struct Component {
    header: Yaml,
    body: Yaml,
}

fn parse_component(text: &str, what: &str) -> Result<Component, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("{what} is not YAML: {e}"))?;
    match <[Yaml; 2]>::try_from(docs) {
        Ok([header, body]) => Ok(Component { header, body }),
        Err(docs) => {
            Err(format!("{what} holds {} YAML documents; a component holds two: `spec:`, `---`, the job", docs.len()))
        }
    }
}

fn load_component() -> Component {
    parse_component(&read(COMPONENT), COMPONENT).unwrap_or_else(|e| panic!("{e}"))
}

fn env_name(input: &str) -> String {
    format!("BUILDGATE_{}", input.to_ascii_uppercase())
}

fn interpolation(input: &str) -> String {
    format!("$[[ inputs.{input} ]]")
}

/// The input a value is exactly the interpolation of, if it is one and nothing more.
fn exact_input(value: &Yaml) -> Option<&str> {
    let inner = value.as_str()?.trim().strip_prefix("$[[")?.strip_suffix("]]")?.trim();
    inner.strip_prefix("inputs.").filter(|name| !name.is_empty() && !name.contains([' ', '|', '$', ']']))
}

/// Every string of a YAML tree, mapping keys included.
fn strings<'a>(yaml: &'a Yaml, out: &mut Vec<&'a str>) {
    match yaml {
        Yaml::String(s) => out.push(s),
        Yaml::Array(items) => items.iter().for_each(|item| strings(item, out)),
        Yaml::Hash(hash) => hash.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out);
        }),
        _ => {}
    }
}

/// The inputs the `$[[ .. ]]` blocks of `yaml` name (functions such as `| expand_vars` aside), and
/// a problem for each block that is not an input or is left open.
fn interpolated_inputs(yaml: &Yaml, problems: &mut Vec<String>) -> BTreeSet<String> {
    let mut all = Vec::new();
    strings(yaml, &mut all);
    let mut used = BTreeSet::new();
    for text in all {
        for (start, _) in text.match_indices("$[[") {
            let rest = &text[start + 3..];
            let Some(end) = rest.find("]]") else {
                problems.push(format!("an interpolation is not closed: {text:?}"));
                continue;
            };
            let expression = rest[..end].split('|').next().unwrap_or_default().trim();
            match expression.strip_prefix("inputs.") {
                Some(name) if !name.is_empty() && !name.contains(' ') => {
                    used.insert(name.to_string());
                }
                _ => problems.push(format!("`$[[ {expression} ]]` is not an input: {text:?}")),
            }
        }
    }
    used
}

/// Everything wrong with `component` for these `facts`; empty when the component is right.
fn check(component: &Component, facts: &Facts) -> Vec<String> {
    let mut problems = Vec::new();
    let inputs = check_header(&component.header, &mut problems);
    let declared: BTreeSet<String> = inputs.keys().cloned().collect();
    let used = interpolated_inputs(&component.body, &mut problems);
    for name in used.difference(&declared) {
        problems.push(format!("the job uses `$[[ inputs.{name} ]]`, which spec:inputs does not declare"));
    }
    for name in declared.difference(&used) {
        problems.push(format!("input `{name}` is declared but the job never uses it"));
    }
    let Some(job) = check_job_key(&component.body, &mut problems) else { return problems };
    check_job_shape(job, &mut problems);
    check_variables(job, &inputs, facts, &mut problems);
    check_every_field_has_an_input(&facts.gate, &declared, &mut problems);
    check_dotenv(job, &inputs, facts, &mut problems);
    check_defaults(&inputs, facts, &mut problems);
    problems
}

/// The header is `spec: inputs:`; each input has a known type, a default of that type (so every
/// input is optional) and a description, and none is named like a secret.
fn check_header<'a>(header: &'a Yaml, problems: &mut Vec<String>) -> BTreeMap<String, &'a Yaml> {
    let top = mapping(header, "the header", problems);
    if top.iter().map(|(k, _)| k.as_str()).ne(["spec"]) {
        problems.push(format!(
            "the header must hold only `spec:`, holds {:?}",
            top.iter().map(|(k, _)| k).collect::<Vec<_>>()
        ));
    }
    let inputs: BTreeMap<String, &Yaml> =
        mapping(&header["spec"]["inputs"], "spec:inputs", problems).into_iter().collect();
    for (name, input) in &inputs {
        let kind = input["type"].as_str().unwrap_or_default();
        if !INPUT_TYPES.contains(&kind) {
            problems.push(format!("input `{name}` needs a `type` of {INPUT_TYPES:?}, has {:?}", input["type"]));
        }
        let default_fits = match &input["default"] {
            Yaml::String(_) => kind == "string",
            Yaml::Integer(_) | Yaml::Real(_) => kind == "number",
            Yaml::Boolean(_) => kind == "boolean",
            Yaml::Array(_) => kind == "array",
            _ => false,
        };
        if !default_fits {
            problems.push(format!("input `{name}` needs a default of its type `{kind}`, has {:?}", input["default"]));
        }
        if input["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
            problems.push(format!("input `{name}` needs a description"));
        }
        let lower = name.to_ascii_lowercase();
        if let Some(word) = SECRET_WORDS.iter().find(|w| lower.contains(*w)) {
            problems.push(format!(
                "input `{name}` is named like a secret ({word}); input values are visible in the pipeline configuration"
            ));
        }
    }
    inputs
}

/// The configuration document is one job, named by the `job_name` input, and nothing global.
fn check_job_key<'a>(body: &'a Yaml, problems: &mut Vec<String>) -> Option<&'a Yaml> {
    let top = mapping(body, "the job document", problems);
    let expected = interpolation("job_name");
    match top.as_slice() {
        [(name, job)] if *name == expected => Some(*job),
        _ => {
            let keys: Vec<&String> = top.iter().map(|(k, _)| k).collect();
            problems.push(format!("the job document must hold exactly one job, `{expected}`, holds {keys:?}"));
            None
        }
    }
}

/// The stage comes from its input, and the job runs the gate.
fn check_job_shape(job: &Yaml, problems: &mut Vec<String>) {
    if exact_input(&job["stage"]) != Some("stage") {
        problems.push(format!("the job's stage must be `{}`, is {:?}", interpolation("stage"), job["stage"]));
    }
    check_runs_the_gate(job, problems);
}

/// The image is `BUILDGATE_IMAGE`, run through a shell, and the script is the gate.
fn check_runs_the_gate(job: &Yaml, problems: &mut Vec<String>) {
    if job["image"]["name"].as_str() != Some("${BUILDGATE_IMAGE}") {
        problems.push(format!("image:name must be `${{BUILDGATE_IMAGE}}`, is {:?}", job["image"]["name"]));
    }
    if job["image"]["entrypoint"] != Yaml::Array(vec![key("")]) {
        problems
            .push("image:entrypoint must be [\"\"]: the image's entrypoint is the gate, GitLab needs a shell".into());
    }
    if job["script"] != Yaml::Array(vec![key("buildgate")]) {
        problems.push(format!("script must be [buildgate], is {:?}", job["script"]));
    }
}

/// Each variable the job sets is `BUILDGATE_FORMAT: gitlab` or `BUILDGATE_<INPUT>` from that very
/// input; a gate input's variable is read by the configuration and documented in the README, the
/// image's is one of the gate's own names; every input but the job's name and stage has one.
fn check_variables(job: &Yaml, inputs: &BTreeMap<String, &Yaml>, facts: &Facts, problems: &mut Vec<String>) {
    let variables: BTreeMap<String, &Yaml> =
        mapping(&job["variables"], "the job's variables", problems).into_iter().collect();
    for (variable, value) in &variables {
        if variable == "BUILDGATE_FORMAT" {
            if value.as_str() != Some("gitlab") {
                problems.push(format!("BUILDGATE_FORMAT must be `gitlab` (the dotenv report needs it), is {value:?}"));
            }
            continue;
        }
        match exact_input(value) {
            Some(input) if env_name(input) == *variable => {}
            _ => problems
                .push(format!("{variable} must be exactly `{}`, is {value:?}", interpolation(&field_of(variable)))),
        }
        let field = field_of(variable);
        if !facts.gate.fields.contains(&field) && !facts.own_names.contains(variable) {
            problems.push(format!(
                "the job sets {variable}, which the gate neither reads nor knows as one of its own names"
            ));
        }
        if facts.gate.fields.contains(&field) && !facts.documented.contains(variable) {
            problems.push(format!("the job sets {variable}, which the README's configuration table does not document"));
        }
    }
    for name in inputs.keys().filter(|n| !["job_name", "stage"].contains(&n.as_str())) {
        let variable = env_name(name);
        if !variables.contains_key(&variable) {
            problems.push(format!("input `{name}` is not passed on: the job's variables have no {variable}"));
        }
        let gate_setting = facts.gate.fields.contains(name);
        if !JOB_SHAPE.contains(&name.as_str()) && !gate_setting {
            problems.push(format!("input `{name}` sets {variable}, which src/config/mod.rs (RawConfig) does not read"));
        }
        if JOB_SHAPE.contains(&name.as_str()) && !facts.own_names.contains(&variable) {
            problems
                .push(format!("input `{name}` sets {variable}, which is not among the gate's own names (OWN_NAMES)"));
        }
    }
}

/// Every variable the configuration reads has an input, but the exempt ones, which have none.
fn check_every_field_has_an_input(gate: &Gate, declared: &BTreeSet<String>, problems: &mut Vec<String>) {
    for field in &gate.fields {
        let exempt = NO_INPUT.iter().find(|(f, _)| f == field);
        match (exempt, declared.contains(field)) {
            (None, false) => problems.push(format!(
                "src/config/mod.rs reads BUILDGATE_{} but the component has no input `{field}`",
                field.to_ascii_uppercase()
            )),
            (Some((_, reason)), true) => problems.push(format!("input `{field}` must not exist: {reason}")),
            _ => {}
        }
    }
}

/// The dotenv report reads the file the gate writes: both the `output_file` interpolation, kept
/// also when the build failed.
fn check_dotenv(job: &Yaml, inputs: &BTreeMap<String, &Yaml>, facts: &Facts, problems: &mut Vec<String>) {
    let dotenv = &job["artifacts"]["reports"]["dotenv"];
    let variable = &job["variables"]["BUILDGATE_OUTPUT_FILE"];
    if exact_input(dotenv) != Some("output_file") || dotenv != variable {
        problems.push(format!(
            "artifacts:reports:dotenv and BUILDGATE_OUTPUT_FILE must both be `{}`, are {dotenv:?} and {variable:?}",
            interpolation("output_file")
        ));
    }
    if job["artifacts"]["when"].as_str() != Some("always") {
        problems.push("artifacts:when must be `always`: the outputs must survive a failed build".into());
    }
    let default = inputs.get("output_file").and_then(|i| i["default"].as_str());
    if default != Some(facts.default_output_file.as_str()) {
        problems.push(format!(
            "input `output_file` must default to `{}`, the gate's own, is {default:?}",
            facts.default_output_file
        ));
    }
}

/// A gate input has no default of its own (empty: the gate's default is the only one) and its
/// description states the gate's default.
fn check_defaults(inputs: &BTreeMap<String, &Yaml>, facts: &Facts, problems: &mut Vec<String>) {
    for (name, input) in inputs.iter().filter(|(n, _)| !JOB_SHAPE.contains(&n.as_str()) && *n != "output_file") {
        if input["default"].as_str() != Some("") {
            problems.push(format!(
                "input `{name}` has the default {:?}; make it '' (the gate treats empty as unset, its default is the only one)",
                input["default"]
            ));
        }
    }
    for (field, default) in facts.gate.stated_defaults() {
        let description = inputs.get(&field).and_then(|i| i["description"].as_str());
        if description.is_some_and(|d| !d.contains(&format!("`{default}`"))) {
            problems.push(format!("input `{field}`: the description must state the default `{default}`"));
        }
    }
}

#[test]
fn the_component_matches_the_gate() {
    let problems = check(&load_component(), &facts());
    assert!(problems.is_empty(), "{COMPONENT} is out of step with the gate:\n  {}", problems.join("\n  "));
}

#[test]
fn the_component_says_where_the_key_goes_instead() {
    let text = read(COMPONENT);
    let header_comments = &text[..text.find("\nspec:").expect("a `spec:` header")];
    for name in ["masked", "BUILDGATE_API_KEY", "PIPECAT_API_KEY", "PRIME_API_KEY"] {
        assert!(header_comments.contains(name), "the comments above `spec:` must name {name}");
    }
    let job = &load_component().body[interpolation("job_name").as_str()];
    for variable in ["BUILDGATE_API_KEY", "PIPECAT_API_KEY", "PRIME_API_KEY"] {
        assert!(matches!(job["variables"][variable], Yaml::BadValue), "the job must not set {variable}");
    }
}

#[test]
fn the_facts_name_the_image_selector_and_every_documented_setting() {
    let facts = facts();
    assert!(facts.own_names.contains("BUILDGATE_IMAGE"), "{:?}", facts.own_names);
    assert_eq!(facts.default_output_file, "buildgate.env");
    for field in facts.gate.fields.iter().filter(|f| *f != "api_key") {
        let variable = format!("BUILDGATE_{}", field.to_ascii_uppercase());
        assert!(facts.documented.contains(&variable), "README documents no {variable}: {:?}", facts.documented);
    }
}

/// Applies `edit` to a fresh copy of the real component and returns what `check` reports.
fn problems_after(edit: impl FnOnce(&mut Hash, &mut Hash)) -> Vec<String> {
    let Component { mut header, mut body } = load_component();
    let (Yaml::Hash(header_map), Yaml::Hash(body_map)) = (&mut header, &mut body) else { panic!("not mappings") };
    edit(header_map, body_map);
    check(&Component { header, body }, &facts())
}

fn section<'a>(top: &'a mut Hash, path: &[&str]) -> &'a mut Hash {
    let mut node = top;
    for name in path {
        node = match node.get_mut(&key(name)) {
            Some(Yaml::Hash(h)) => h,
            other => panic!("{name}: not a mapping: {other:?}"),
        };
    }
    node
}

fn inputs(header: &mut Hash) -> &mut Hash {
    section(header, &["spec", "inputs"])
}

fn job(body: &mut Hash) -> &mut Hash {
    section(body, &[interpolation("job_name").as_str()])
}

fn string_input(description: &str) -> Yaml {
    let mut input = Hash::new();
    input.insert(key("type"), key("string"));
    input.insert(key("default"), key(""));
    input.insert(key("description"), key(description));
    Yaml::Hash(input)
}

#[test]
fn an_undeclared_input_fails() {
    let problems = problems_after(|header, _| {
        inputs(header).remove(&key("timeout"));
    });
    assert!(
        problems.iter().any(|p| p.contains("`$[[ inputs.timeout ]]`, which spec:inputs does not declare")),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.contains("has no input `timeout`")), "{problems:?}");
}

#[test]
fn an_unused_input_fails() {
    let problems = problems_after(|_, body| {
        section(job(body), &["variables"]).remove(&key("BUILDGATE_REGION"));
    });
    assert!(
        problems.iter().any(|p| p.contains("input `region` is declared but the job never uses it")),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.contains("input `region` is not passed on")), "{problems:?}");
}

#[test]
fn an_input_without_a_type_or_default_fails() {
    let problems = problems_after(|header, _| {
        let Some(Yaml::Hash(timeout)) = inputs(header).get_mut(&key("timeout")) else { panic!() };
        timeout.remove(&key("type"));
        timeout.remove(&key("default"));
    });
    assert!(problems.iter().any(|p| p.contains("input `timeout` needs a `type`")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("input `timeout` needs a default")), "{problems:?}");
}

#[test]
fn a_dotenv_path_apart_from_the_output_file_fails() {
    let problems = problems_after(|_, body| {
        section(job(body), &["artifacts", "reports"]).insert(key("dotenv"), key("buildgate.env"));
    });
    assert!(
        problems.iter().any(|p| p.starts_with("artifacts:reports:dotenv and BUILDGATE_OUTPUT_FILE")),
        "{problems:?}"
    );
}

#[test]
fn a_wrong_mapping_or_an_unknown_variable_fails() {
    let problems = problems_after(|header, body| {
        inputs(header).insert(key("colour"), string_input("Colour. Default: none."));
        let variables = section(job(body), &["variables"]);
        variables.insert(key("BUILDGATE_REGION"), key("$[[ inputs.provider ]]"));
        variables.insert(key("BUILDGATE_COLOUR"), key("$[[ inputs.colour ]]"));
    });
    assert!(problems.iter().any(|p| p.starts_with("BUILDGATE_REGION must be exactly")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("sets BUILDGATE_COLOUR, which the gate neither reads")), "{problems:?}");
    assert!(
        problems.iter().any(|p| p.contains("`colour` sets BUILDGATE_COLOUR, which src/config/mod.rs")),
        "{problems:?}"
    );
}

#[test]
fn a_secret_input_fails() {
    let problems = problems_after(|header, body| {
        inputs(header).insert(key("api_key"), string_input("The key. Default: unset."));
        section(job(body), &["variables"]).insert(key("BUILDGATE_API_KEY"), key("$[[ inputs.api_key ]]"));
    });
    assert!(problems.iter().any(|p| p.contains("input `api_key` is named like a secret")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("input `api_key` must not exist: a secret")), "{problems:?}");
}

#[test]
fn a_default_of_its_own_or_a_wrong_stated_default_fails() {
    let problems = problems_after(|header, _| {
        let Some(Yaml::Hash(poll)) = inputs(header).get_mut(&key("poll_interval")) else { panic!() };
        poll.insert(key("default"), key("5s"));
        poll.insert(key("description"), key("First wait between polls. Default: `5s`."));
    });
    assert!(problems.iter().any(|p| p.contains("input `poll_interval` has the default")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("`poll_interval`: the description must state the default `2s`")));
}

#[test]
fn a_second_job_or_a_fixed_job_name_fails() {
    let problems = problems_after(|_, body| {
        let job = body.remove(&key(&interpolation("job_name"))).unwrap();
        body.insert(key("buildgate"), job);
    });
    assert!(problems.iter().any(|p| p.contains("must hold exactly one job")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("input `job_name` is declared but the job never uses it")));
}

#[test]
fn a_new_config_field_is_noticed() {
    let grown =
        config_sources().replacen("struct RawConfig {\n", "struct RawConfig {\n    colour: Option<String>,\n", 1);
    let gate = read_gate(&grown, &rust_sources(&Path::new(ROOT).join("src"))).unwrap();
    let problems = check(&load_component(), &Facts { gate, ..facts() });
    assert!(
        problems.iter().any(|p| p.contains("BUILDGATE_COLOUR but the component has no input `colour`")),
        "{problems:?}"
    );
}

#[test]
fn a_one_document_file_is_not_a_component() {
    let legacy = parse_component(&read(LEGACY), LEGACY);
    assert!(legacy.is_err_and(|e| e.contains("holds 1 YAML documents")));
}

/// The hidden-job template kept for pipelines that `extends: .buildgate`: it runs the gate in the
/// gitlab format, writes its outputs to the file its dotenv report keeps, and sets no variable the
/// gate does not know.
#[test]
fn the_legacy_template_runs_the_gate_and_keeps_its_dotenv_file() {
    let docs = YamlLoader::load_from_str(&read(LEGACY)).unwrap_or_else(|e| panic!("{LEGACY} is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "{LEGACY}: one document, no `spec:` header (it takes no inputs)");
    let template = &docs[0];
    let job = &template[".buildgate"];
    let facts = facts();

    let dotenv = &job["artifacts"]["reports"]["dotenv"];
    assert_eq!(dotenv.as_str(), Some(facts.default_output_file.as_str()));
    assert_eq!(&job["variables"]["BUILDGATE_OUTPUT_FILE"], dotenv, "the gate must write the file the report keeps");
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"), "outputs must survive a failed build");
    let mut problems = Vec::new();
    check_runs_the_gate(job, &mut problems);
    assert_eq!(job["variables"]["BUILDGATE_FORMAT"].as_str(), Some("gitlab"));

    let image = template["variables"]["BUILDGATE_IMAGE"].as_str().unwrap_or("");
    assert!(image.starts_with("ghcr.io/") && image.ends_with(":1"), "BUILDGATE_IMAGE default: {image:?}");
    for (name, _) in mapping(&template["variables"], "variables", &mut problems) {
        assert!(facts.own_names.contains(&name), "the template sets {name}, which is not among the gate's own names");
    }
    for (name, _) in mapping(&job["variables"], ".buildgate.variables", &mut problems) {
        assert!(
            facts.gate.fields.contains(&field_of(&name)),
            "the template sets {name}, which src/config/mod.rs does not read"
        );
    }
    assert!(problems.is_empty(), "{problems:?}");
}

/// The README's "GitLab CI" section, up to the next `## ` heading.
fn gitlab_section(readme: &str) -> &str {
    let start = readme.find("\n### GitLab CI\n").expect("README: no `### GitLab CI` section") + 1;
    let rest = &readme[start..];
    rest.find("\n## ").map_or(rest, |end| &rest[..end])
}

/// The bodies of the fenced `yaml` code blocks in `text`, in order.
fn yaml_blocks(text: &str) -> Vec<&str> {
    text.split("```yaml\n").skip(1).filter_map(|block| block.split("\n```").next()).collect()
}

/// The repository file an `include:` entry names: a raw GitHub URL of this repository, or a
/// component `<host>/<group>/buildgate/<name>@<version>`, which is `templates/<name>.yml`.
fn included_file(entry: &Yaml) -> Result<String, String> {
    if let Some(url) = entry["remote"].as_str() {
        let parts: Vec<&str> =
            url.strip_prefix("https://raw.githubusercontent.com/").unwrap_or("").splitn(4, '/').collect();
        return match parts.as_slice() {
            [_owner, "buildgate", _tag, path] => Ok((*path).to_string()),
            _ => Err(format!("remote {url:?} is not a raw.githubusercontent.com URL of <owner>/buildgate")),
        };
    }
    if let Some(component) = entry["component"].as_str() {
        let path = component.split_once('@').filter(|(_, version)| !version.is_empty()).map(|(path, _)| path);
        let mut segments = path.unwrap_or("").rsplit('/');
        return match (segments.next(), segments.next()) {
            (Some(name), Some("buildgate")) if !name.is_empty() => Ok(format!("templates/{name}.yml")),
            _ => Err(format!("component {component:?} is not <host>/<group>/buildgate/<name>@<version>")),
        };
    }
    Err(format!("an include of neither `remote:` nor `component:`: {entry:?}"))
}

/// What one include brings into a snippet's pipeline: the jobs it creates, and its problems.
fn check_include(entry: &Yaml, problems: &mut Vec<String>) -> Vec<String> {
    let file = match included_file(entry) {
        Ok(file) if Path::new(ROOT).join(&file).is_file() => file,
        Ok(file) => {
            problems.push(format!("the include names {file}, which the repository does not have"));
            return Vec::new();
        }
        Err(problem) => {
            problems.push(problem);
            return Vec::new();
        }
    };
    let given = mapping(&entry["inputs"], "inputs", &mut Vec::new());
    let Ok(component) = parse_component(&read(&file), &file) else {
        if !given.is_empty() {
            problems.push(format!("{file} takes no inputs, the snippet gives {}", given.len()));
        }
        return mapping(&YamlLoader::load_from_str(&read(&file)).unwrap()[0], &file, problems)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
    };
    let declared = &component.header["spec"]["inputs"];
    for (name, value) in &given {
        let kind = declared[name.as_str()]["type"].as_str();
        match (kind, value) {
            (None, _) => problems.push(format!("the snippet gives input `{name}`, which {file} does not declare")),
            (Some("string"), Yaml::String(_))
            | (Some("boolean"), Yaml::Boolean(_))
            | (Some("array"), Yaml::Array(_))
            | (Some("number"), Yaml::Integer(_) | Yaml::Real(_)) => {}
            (Some(kind), value) => {
                problems.push(format!("input `{name}` is a {kind}; the snippet gives {value:?} (quote it)"));
            }
        }
    }
    let job_name = given.iter().find(|(n, _)| n == "job_name").and_then(|(_, v)| v.as_str());
    vec![job_name.or(declared["job_name"]["default"].as_str()).unwrap_or_default().to_string()]
}

/// Everything wrong with one README snippet: what it includes exists and takes what it gives,
/// and every job it `extends` or `needs` is defined in it or by its includes.
fn check_snippet(snippet: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let docs = match YamlLoader::load_from_str(snippet) {
        Ok(docs) if docs.len() == 1 => docs,
        other => return vec![format!("not one YAML document: {other:?}")],
    };
    let pipeline = &docs[0];
    let includes = match &pipeline["include"] {
        Yaml::Array(entries) => entries.clone(),
        Yaml::BadValue => Vec::new(),
        single => vec![single.clone()],
    };
    let mut jobs = BTreeSet::new();
    for entry in &includes {
        jobs.extend(check_include(entry, &mut problems));
    }
    let own = mapping(pipeline, "the snippet", &mut problems);
    jobs.extend(own.iter().map(|(name, _)| name.clone()).filter(|n| !GLOBAL_KEYWORDS.contains(&n.as_str())));
    for (name, job) in own.iter().filter(|(n, _)| !GLOBAL_KEYWORDS.contains(&n.as_str())) {
        let mut referred = Vec::new();
        strings(&job["extends"], &mut referred);
        if let Yaml::Array(needs) = &job["needs"] {
            referred.extend(needs.iter().filter_map(|need| need.as_str().or(need["job"].as_str())));
        }
        for other in referred.into_iter().filter(|other| !jobs.contains(*other)) {
            problems
                .push(format!("job `{name}` refers to `{other}`, which neither the snippet nor its includes define"));
        }
    }
    problems
}

#[test]
fn the_readme_gitlab_snippets_work_as_written() {
    let readme = read("README.md");
    let section = gitlab_section(&readme);
    let snippets = yaml_blocks(section);
    assert!(snippets.len() >= 2, "the GitLab section shows `include: remote` and `include: component`");
    let first = YamlLoader::load_from_str(snippets[0]).unwrap();
    let first_include = &first[0]["include"][0];
    assert!(first_include["remote"].as_str().is_some_and(|u| u.ends_with(COMPONENT)), "first: the component, remotely");
    assert!(!matches!(first_include["inputs"], Yaml::BadValue), "first: `include: remote` with `inputs:`");
    assert!(snippets.iter().any(|s| s.contains("- component: ")), "a snippet shows `include: component`");
    for snippet in &snippets {
        let problems = check_snippet(snippet);
        assert!(problems.is_empty(), "README snippet:\n{snippet}\n  {}", problems.join("\n  "));
    }
    for needed in ["GitLab 17.0", "docs.gitlab.com", "BUILDGATE_IMAGE", "masked", LEGACY] {
        assert!(section.contains(needed), "the GitLab section must mention {needed}");
    }
}

#[test]
fn a_broken_snippet_fails() {
    let snippet = "include:\n  - remote: https://raw.githubusercontent.com/o/buildgate/v1/templates/buildgate.yml\n    \
                   inputs:\n      job_name: gate\n      dry_run: true\n      api_key: x\n\
                   deploy:\n  needs: [wait-for-image]\n  script: [deploy]\n";
    let problems = check_snippet(snippet);
    assert!(problems.iter().any(|p| p.contains("input `dry_run` is a string")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("`api_key`, which templates/buildgate.yml does not declare")));
    assert!(problems.iter().any(|p| p.contains("refers to `wait-for-image`")), "{problems:?}");
    let missing = check_snippet("include:\n  - component: gitlab.com/g/buildgate/nothing@v1.2.3\n");
    assert!(missing.iter().any(|p| p.contains("templates/nothing.yml, which the repository does not have")));
    let legacy = "include:\n  - remote: https://raw.githubusercontent.com/o/buildgate/v1/templates/buildgate.gitlab-ci.yml\n\
                  gate:\n  extends: .buildgate\n";
    assert_eq!(check_snippet(legacy), Vec::<String>::new());
}
