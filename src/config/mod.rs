//! Configuration: the process environment (empty values dropped) → envy → a validated
//! [`Config`], which then builds the gate's collaborators.

mod values;
mod vars;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use values::{
    api_key, api_url, duration_var, log_level, logs, max_log_lines, optional_boolean, outputs, provider, target,
};
pub use vars::{VARS, Var, help_page, key_variable};

use crate::ci::{Format, OutputsFile};
use crate::duration;
use crate::env::Env;
use crate::http::{ApiKey, Route};
use crate::logs::{LineCap, LogStream};
use crate::planner::Settings;
use crate::provider::{ProviderKind, Target};

/// Streamed build log lines stop here unless `BUILDGATE_MAX_LOG_LINES` says otherwise:
/// about 2.5 MB of typical build log, well under GitLab's default 4 MiB job-log limit.
pub const DEFAULT_MAX_LOG_LINES: usize = 25_000;

/// The `BUILDGATE_*` variables as strings, exactly as envy reads them; `validate` gives them meaning.
#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    provider: Option<String>,
    build_id: Option<String>,
    context_hash: Option<String>,
    region: Option<String>,
    dockerfile: Option<String>,
    api_key: Option<String>,
    api_url: Option<String>,
    timeout: Option<String>,
    poll_interval: Option<String>,
    poll_max_interval: Option<String>,
    request_timeout: Option<String>,
    logs: Option<String>,
    log_interval: Option<String>,
    max_log_lines: Option<String>,
    format: Option<String>,
    output_file: Option<String>,
    dry_run: Option<String>,
    demo: Option<String>,
    log_level: Option<String>,
}

// Each bool is its own switch, set by its own variable: grouping them would only hide that.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug)]
pub struct Config {
    pub provider: ProviderKind,
    pub target: Target,
    pub api_key: ApiKey,
    /// Which variable the key came from, for messages about a refused token.
    pub api_key_source: &'static str,
    pub api_url: Url,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub poll_max_interval: Duration,
    pub request_timeout: Duration,
    pub logs: bool,
    pub log_interval: Duration,
    pub max_log_lines: usize,
    pub format: Format,
    /// Opened (or found creatable) before any request.
    pub outputs: Option<OutputsFile>,
    pub summary_file: Option<PathBuf>,
    pub dry_run: bool,
    pub no_color: bool,
    /// `NO_PROXY=*` (or `no_proxy`): no proxy at all.
    pub no_proxy: bool,
    /// Things worth saying that are not errors (a `BUILDGATE_*` name the gate does not know).
    pub warnings: Vec<String>,
}

impl Config {
    /// The planner's settings.
    pub fn settings(&self, seed: u64) -> Settings {
        Settings {
            first_interval: self.poll_interval,
            max_interval: self.poll_max_interval,
            deadline: self.timeout,
            request_timeout: self.request_timeout,
            log_interval: self.logs.then_some(self.log_interval),
            seed,
        }
    }

    /// How the HTTP client reaches the API.
    pub fn route(&self) -> Route {
        Route { plain_http: self.api_url.scheme() == "http", no_proxy: self.no_proxy }
    }

    /// The build log's stream, when logs are read.
    pub fn log_stream(&self) -> Option<LogStream> {
        self.logs.then(|| LogStream::new(LineCap { lines: self.max_log_lines, set_by: "BUILDGATE_MAX_LOG_LINES" }))
    }
}

/// One thing wrong with one variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Every problem found, so a user fixes them all in one go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

fn error(variable: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable: variable.to_string(), message: message.into() }
}

/// Collects errors while each field is checked.
#[derive(Default)]
struct Checker(Vec<ConfigError>);

impl Checker {
    fn check<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }
}

/// Reads and validates the configuration.
pub fn load(env: &Env) -> Result<Config, ConfigErrors> {
    let mut c = Checker::default();
    for name in env.not_utf8() {
        if name.starts_with("BUILDGATE_") || ["PIPECAT_API_KEY", "PRIME_API_KEY", "GITHUB_OUTPUT"].contains(&name) {
            c.0.push(error(name, "the value is not valid UTF-8; set it to UTF-8 text"));
        }
    }
    let raw: RawConfig = envy::prefixed("BUILDGATE_")
        .from_iter(env.pairs())
        .map_err(|e| ConfigErrors(vec![error("BUILDGATE_*", e.to_string())]))?;
    let config = validate(raw, env, &mut c);
    match config {
        Some(config) if c.0.is_empty() => Ok(config),
        _ => Err(ConfigErrors(c.0)),
    }
}

fn validate(raw: RawConfig, env: &Env, c: &mut Checker) -> Option<Config> {
    let provider = c.check(provider(raw.provider.as_deref())).unwrap_or(ProviderKind::Pipecat);
    let durations = c.check_durations(&raw);
    let target = c.check(target(provider, raw.build_id, raw.context_hash, (raw.region, raw.dockerfile)));
    let key = c.check(api_key(provider, raw.api_key, env));
    let api_url = c.check(api_url(raw.api_url.as_deref().unwrap_or(provider.default_url())));
    let logs = c.check(logs(provider, raw.logs.as_deref()));
    let max_log_lines = c.check(max_log_lines(raw.max_log_lines.as_deref()));
    let format = c.check(Format::from_config(raw.format.as_deref(), env).map_err(|m| error("BUILDGATE_FORMAT", m)));
    let dry_run = c.check(optional_boolean("BUILDGATE_DRY_RUN", raw.dry_run.as_deref()));
    c.check(crate::demo::parse(raw.demo.as_deref()).map_err(|m| error("BUILDGATE_DEMO", m)));
    c.check(log_level(raw.log_level.as_deref()));
    let format = format?;
    let outputs = c.check(outputs(format, raw.output_file, env, dry_run.unwrap_or(false)));
    let (api_key, api_key_source) = key?;
    let [timeout, poll_interval, poll_max_interval, request_timeout, log_interval] = durations?;
    Some(Config {
        provider,
        target: target?,
        api_key,
        api_key_source,
        api_url: api_url?,
        timeout,
        poll_interval,
        poll_max_interval,
        request_timeout,
        logs: logs?,
        log_interval,
        max_log_lines: max_log_lines?,
        format,
        outputs: outputs?,
        summary_file: format.summary_path(env),
        dry_run: dry_run?,
        no_color: env.get("NO_COLOR").is_some(),
        // reqwest reads `*` as every domain but no IP address: the gate turns proxies off itself.
        no_proxy: ["NO_PROXY", "no_proxy"]
            .iter()
            .find_map(|n| env.get(n))
            .is_some_and(|v| v.split(',').any(|part| part.trim() == "*")),
        warnings: env.names().filter_map(vars::unknown_name_warning).collect(),
    })
}

impl Checker {
    /// The five durations, each checked on its own, then the cap against the first interval.
    fn check_durations(&mut self, raw: &RawConfig) -> Option<[Duration; 5]> {
        let named = [
            ("BUILDGATE_TIMEOUT", &raw.timeout),
            ("BUILDGATE_POLL_INTERVAL", &raw.poll_interval),
            ("BUILDGATE_POLL_MAX_INTERVAL", &raw.poll_max_interval),
            ("BUILDGATE_REQUEST_TIMEOUT", &raw.request_timeout),
            ("BUILDGATE_LOG_INTERVAL", &raw.log_interval),
        ];
        let parsed = named.map(|(name, value)| self.check(duration_var(name, value.as_deref())));
        if let (Some(first), Some(cap)) = (parsed[1], parsed[2])
            && cap < first
        {
            // Blamed on the variable the user set: the cap only when it was set too.
            self.0.push(match raw.poll_max_interval {
                Some(_) => error(
                    "BUILDGATE_POLL_MAX_INTERVAL",
                    format!(
                        "{} is shorter than BUILDGATE_POLL_INTERVAL ({}); the cap must be at least the first interval",
                        duration::format(cap),
                        duration::format(first)
                    ),
                ),
                None => error(
                    "BUILDGATE_POLL_INTERVAL",
                    format!(
                        "{} is longer than the backoff cap BUILDGATE_POLL_MAX_INTERVAL ({}, its default); use at most \
                         {} or set BUILDGATE_POLL_MAX_INTERVAL to at least {}",
                        duration::format(first),
                        duration::format(cap),
                        duration::format(cap),
                        duration::format(first)
                    ),
                ),
            });
        }
        let [timeout, poll_interval, poll_max_interval, request_timeout, log_interval] = parsed;
        Some([timeout?, poll_interval?, poll_max_interval?, request_timeout?, log_interval?])
    }
}

#[cfg(test)]
mod tests;
