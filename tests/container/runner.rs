//! The GitHub runner's side of `tests/container.rs`: the `docker run` it makes for a Docker
//! container action step, as actions/runner builds it (`ContainerActionHandler.RunAsync`,
//! `DockerCommandManager.DockerRun`):
//!
//! - every input goes into the environment as `INPUT_<NAME>`, and every `runs.env` entry of
//!   `action.yml`, its `${{ inputs.* }}` evaluated (an input the step does not set is its
//!   `default:`, else empty);
//! - the runner's own variables, with host paths translated to the container's: `HOME`,
//!   `GITHUB_WORKSPACE`, the file-command files `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, ...
//!   (created empty before the step, under the mounted `/github/file_commands`);
//! - `docker run --name … --label … --workdir /github/workspace --rm`, each variable as a bare
//!   `-e NAME` whose value the docker client takes from its own environment (so values, the key
//!   among them, never appear on a command line), then `-e GITHUB_ACTIONS=true -e CI=true`, and
//!   the mounts `/github/home`, `/github/workflow`, `/github/file_commands`,
//!   `/github/workspace`; the image's own entrypoint, no arguments.
//!
//! Two differences, both deliberate: `--network host` instead of the job's network (the fake API
//! listens on the host's loopback), and no `/var/run/docker.sock` mount (the gate never talks to
//! Docker, and the engine's socket may be elsewhere).

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

use crate::docker::{self, LABEL};

/// One step's runner directories on the host, and the names of its file-command files.
pub struct Step {
    dir: tempfile::TempDir,
    /// The per-step suffix of the file-command files (the runner uses a GUID).
    suffix: String,
}

const FILE_COMMANDS: &str = "/github/file_commands";

impl Step {
    pub fn new() -> Step {
        let dir = tempfile::tempdir().unwrap();
        let suffix = docker::unique("step");
        let step = Step { dir, suffix };
        for sub in ["workspace", "file_commands", "home", "workflow"] {
            std::fs::create_dir(step.host(sub)).unwrap();
        }
        for prefix in ["set_output_", "step_summary_", "set_env_", "add_path_", "save_state_"] {
            std::fs::write(step.file_command(prefix), "").unwrap();
        }
        std::fs::write(step.host("workflow").join("event.json"), "{}\n").unwrap();
        step
    }

    fn host(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn file_command_name(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.suffix)
    }

    fn file_command(&self, prefix: &str) -> PathBuf {
        self.host("file_commands").join(self.file_command_name(prefix))
    }

    /// `$GITHUB_OUTPUT` as the gate left it.
    pub fn outputs(&self) -> String {
        std::fs::read_to_string(self.file_command("set_output_")).unwrap()
    }

    /// `$GITHUB_STEP_SUMMARY` as the gate left it.
    pub fn summary(&self) -> String {
        std::fs::read_to_string(self.file_command("step_summary_")).unwrap()
    }

    /// The step's environment: inputs, the action's `runs.env`, then the runner's variables.
    fn environment(&self, with: &[(&str, &str)]) -> Vec<(String, String)> {
        let action = load_action();
        let inputs = action_inputs(&action, with);
        let mut env: Vec<(String, String)> = inputs
            .iter()
            .map(|(name, value)| (format!("INPUT_{}", name.replace(' ', "_").to_uppercase()), value.clone()))
            .collect();
        env.extend(runs_env(&action, &inputs));
        let file = |prefix: &str| format!("{FILE_COMMANDS}/{}", self.file_command_name(prefix));
        env.extend(
            [
                ("HOME", "/github/home".to_string()),
                ("GITHUB_WORKSPACE", "/github/workspace".to_string()),
                ("GITHUB_EVENT_PATH", "/github/workflow/event.json".to_string()),
                ("GITHUB_OUTPUT", file("set_output_")),
                ("GITHUB_STEP_SUMMARY", file("step_summary_")),
                ("GITHUB_ENV", file("set_env_")),
                ("GITHUB_PATH", file("add_path_")),
                ("GITHUB_STATE", file("save_state_")),
                ("GITHUB_EVENT_NAME", "push".to_string()),
                ("GITHUB_REPOSITORY", "buildgate/container-test".to_string()),
                ("GITHUB_RUN_ID", "1".to_string()),
                ("GITHUB_ACTION", "gate".to_string()),
                ("RUNNER_OS", "Linux".to_string()),
                ("RUNNER_TEMP", "/home/runner/work/_temp".to_string()),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        env
    }

    /// `docker run` of `image` as the container `name`, for a step `with:` these inputs.
    pub fn docker_run(&self, image: &str, name: &str, with: &[(&str, &str)]) -> Command {
        let mut cmd = docker::docker();
        cmd.args(["run", "--name", name, "--label", LABEL, "--workdir", "/github/workspace", "--rm"]);
        for (key, value) in self.environment(with) {
            cmd.arg("-e").arg(&key).env(&key, value);
        }
        cmd.args(["-e", "GITHUB_ACTIONS=true", "-e", "CI=true", "--network", "host"]);
        for (sub, at) in [
            ("home", "/github/home"),
            ("workflow", "/github/workflow"),
            ("file_commands", FILE_COMMANDS),
            ("workspace", "/github/workspace"),
        ] {
            cmd.arg("-v").arg(format!("{}:{at}", self.host(sub).display()));
        }
        cmd.arg(image);
        cmd
    }
}

fn load_action() -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("action.yml is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "action.yml holds one document");
    docs.remove(0)
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every declared input with its value for this step: as given, else its default, else empty.
/// A `with:` key the action does not declare is a mistake in the test.
fn action_inputs(action: &Yaml, with: &[(&str, &str)]) -> Vec<(String, String)> {
    let declared = action["inputs"].as_hash().expect("action.yml: `inputs` is a mapping");
    for (key, _) in with {
        assert!(
            declared.keys().any(|k| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(key))),
            "action.yml declares no input {key:?}"
        );
    }
    declared
        .iter()
        .map(|(name, spec)| {
            let name = name.as_str().expect("action.yml: an input name is a string").to_string();
            let given = with.iter().find(|(k, _)| k.eq_ignore_ascii_case(&name)).map(|(_, v)| (*v).to_string());
            let value = given.or_else(|| scalar(&spec["default"])).unwrap_or_default();
            (name, value)
        })
        .collect()
}

/// `runs.env`, each value's `${{ inputs.<name> }}` expressions evaluated.
fn runs_env(action: &Yaml, inputs: &[(String, String)]) -> Vec<(String, String)> {
    let env = action["runs"]["env"].as_hash().expect("action.yml: `runs.env` is a mapping");
    env.iter()
        .map(|(name, value)| {
            let name = name.as_str().expect("action.yml: a runs.env name is a string").to_string();
            let template = scalar(value).unwrap_or_else(|| panic!("action.yml: runs.env {name} is not a scalar"));
            let value = evaluate(&template, inputs).unwrap_or_else(|e| panic!("action.yml: runs.env {name}: {e}"));
            (name, value)
        })
        .collect()
}

/// `template` with each `${{ inputs.<name> }}` replaced by that input's value (input names are
/// case-insensitive, as the runner's). Any other expression is refused: this stand-in for the
/// runner evaluates nothing else, and a test must not pass on an expression it got wrong.
fn evaluate(template: &str, inputs: &[(String, String)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after.find("}}").ok_or_else(|| format!("unclosed expression in {template:?}"))?;
        let expression = after[..end].trim();
        let input = expression
            .strip_prefix("inputs.")
            .ok_or_else(|| format!("only `inputs.<name>` is understood here, not {expression:?}"))?;
        let value = inputs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(input))
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("{expression:?} names no declared input"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}
