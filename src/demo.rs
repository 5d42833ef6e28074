//! The demo in the binary: `BUILDGATE_DEMO=success|failed` serves a scripted Pipecat build on
//! loopback, in this process, and runs the real gate against it in whatever format the
//! environment selects: what a real job prints, with no account and no network.

use std::time::Duration;

use fake_api::demo::{DEMO_BUILD_ID, demo_scenario, failed_demo_scenario};
use fake_api::{DEFAULT_API_KEY, FakeApi};

use crate::env::Env;

/// How the scripted build ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demo {
    Success,
    Failed,
}

/// `BUILDGATE_DEMO`: `success` (or a true boolean, as the action's `demo: true` passes), `failed`,
/// or off (unset, or a false boolean).
pub fn parse(value: Option<&str>) -> Result<Option<Demo>, String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    match value.to_ascii_lowercase().as_str() {
        "success" | "true" | "1" | "yes" => Ok(Some(Demo::Success)),
        "failed" => Ok(Some(Demo::Failed)),
        "false" | "0" | "no" => Ok(None),
        _ => Err(format!("{value:?} is not a demo; use success or failed (or true/false)")),
    }
}

/// The scripted build's server, kept for as long as the gate runs.
pub struct DemoServer {
    api: FakeApi,
}

impl DemoServer {
    pub fn start(demo: Demo) -> DemoServer {
        // One scripted unit is a tenth of a second: the build runs about 5 s.
        let scale = Duration::from_secs(1);
        let scenario = match demo {
            Demo::Success => demo_scenario(scale),
            Demo::Failed => failed_demo_scenario(scale),
        };
        DemoServer { api: FakeApi::start(scenario) }
    }

    /// What the gate is told, beside the user's own environment: the demo build, its server and
    /// key, and intervals for a 5 s build where the user set none. The provider is Pipecat.
    pub fn environment(&self, env: &Env) -> Env {
        let url = self.api.pipecat_url();
        let fixed = [
            ("BUILDGATE_PROVIDER", "pipecat"),
            ("BUILDGATE_BUILD_ID", DEMO_BUILD_ID),
            ("BUILDGATE_CONTEXT_HASH", ""),
            ("BUILDGATE_REGION", ""),
            ("BUILDGATE_DOCKERFILE", ""),
            ("BUILDGATE_API_URL", url.as_str()),
            ("BUILDGATE_API_KEY", DEFAULT_API_KEY),
        ];
        let paced =
            [("BUILDGATE_POLL_INTERVAL", "500ms"), ("BUILDGATE_POLL_MAX_INTERVAL", "1s"), ("BUILDGATE_TIMEOUT", "2m")];
        let unset: Vec<(&str, &str)> = paced.into_iter().filter(|(name, _)| env.get(name).is_none()).collect();
        env.with(&fixed).with(&unset)
    }

    pub fn url(&self) -> String {
        self.api.pipecat_url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_values() {
        assert_eq!(parse(None), Ok(None));
        assert_eq!(parse(Some(" ")), Ok(None));
        assert_eq!(parse(Some("success")), Ok(Some(Demo::Success)));
        assert_eq!(parse(Some("TRUE")), Ok(Some(Demo::Success)), "the action's `demo: true`");
        assert_eq!(parse(Some("failed")), Ok(Some(Demo::Failed)));
        assert_eq!(parse(Some("false")), Ok(None));
        assert!(parse(Some("fail")).unwrap_err().contains("success or failed"));
    }

    #[test]
    fn the_demo_replaces_the_build_and_the_key_but_keeps_the_rest() {
        let server = DemoServer::start(Demo::Success);
        let user = Env::from_pairs([
            ("BUILDGATE_API_KEY", "the-users-real-key"),
            ("BUILDGATE_CONTEXT_HASH", "abc"),
            ("GITHUB_ACTIONS", "true"),
            ("BUILDGATE_POLL_INTERVAL", "2s"),
        ]);
        let env = server.environment(&user);
        assert_eq!(env.get("BUILDGATE_API_KEY"), Some(DEFAULT_API_KEY), "never the user's key");
        assert_eq!(env.get("BUILDGATE_BUILD_ID"), Some(DEMO_BUILD_ID));
        assert_eq!(env.get("BUILDGATE_CONTEXT_HASH"), None, "empty counts as unset");
        assert_eq!(env.get("GITHUB_ACTIONS"), Some("true"), "the format follows the environment");
        assert_eq!(env.get("BUILDGATE_POLL_INTERVAL"), Some("2s"), "the user's intervals stay");
        assert_eq!(env.get("BUILDGATE_POLL_MAX_INTERVAL"), Some("1s"));
        assert!(env.get("BUILDGATE_API_URL").is_some_and(|u| u.starts_with("http://127.0.0.1:")));
    }
}
