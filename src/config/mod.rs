//! Configuration: the process environment (empty values dropped) → envy → a validated
//! [`Config`], which then builds the gate's collaborators.

mod vars;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

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
    let target = c.check(target(provider, raw.build_id, raw.context_hash, raw.region));
    let key = c.check(api_key(provider, raw.api_key, env));
    let api_url = c.check(api_url(raw.api_url.as_deref().unwrap_or(provider.default_url())));
    let logs = c.check(logs(provider, raw.logs.as_deref()));
    let max_log_lines = c.check(max_log_lines(raw.max_log_lines.as_deref()));
    let format = c.check(Format::from_config(raw.format.as_deref(), env).map_err(|m| error("BUILDGATE_FORMAT", m)));
    let dry_run = c.check(optional_boolean("BUILDGATE_DRY_RUN", raw.dry_run.as_deref()));
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

fn provider(value: Option<&str>) -> Result<ProviderKind, ConfigError> {
    match value.map(str::trim) {
        None => Ok(ProviderKind::Pipecat),
        Some(p) if p.eq_ignore_ascii_case("pipecat") => Ok(ProviderKind::Pipecat),
        Some(p) if p.eq_ignore_ascii_case("prime") => Ok(ProviderKind::Prime),
        Some(p) => Err(error("BUILDGATE_PROVIDER", format!("{p:?} is not a provider; use `pipecat` or `prime`"))),
    }
}

fn target(
    provider: ProviderKind,
    build_id: Option<String>,
    context_hash: Option<String>,
    region: Option<String>,
) -> Result<Target, ConfigError> {
    match (build_id, context_hash) {
        (Some(_), Some(_)) => Err(error(
            "BUILDGATE_BUILD_ID",
            "both BUILDGATE_BUILD_ID and BUILDGATE_CONTEXT_HASH are set; set exactly one",
        )),
        (None, None) => Err(error(
            "BUILDGATE_BUILD_ID",
            "no build to wait on: set BUILDGATE_BUILD_ID (or, for pipecat, BUILDGATE_CONTEXT_HASH)",
        )),
        (Some(_), None) if region.is_some() => Err(error(
            "BUILDGATE_REGION",
            "only filters a BUILDGATE_CONTEXT_HASH search; unset it when waiting by build id",
        )),
        (Some(id), None) => {
            let id = id.trim().to_string();
            provider.check_id(&id).map_err(|m| error("BUILDGATE_BUILD_ID", m))?;
            Ok(Target::BuildId(id))
        }
        (None, Some(_)) if provider == ProviderKind::Prime => Err(error(
            "BUILDGATE_CONTEXT_HASH",
            "is for pipecat only; Prime Intellect builds are waited on by BUILDGATE_BUILD_ID",
        )),
        (None, Some(hash)) => {
            let hash = hash.trim().to_string();
            if hash.chars().any(|ch| ch.is_control() || ch.is_whitespace()) {
                return Err(error(
                    "BUILDGATE_CONTEXT_HASH",
                    format!("{hash:?} contains whitespace or control characters"),
                ));
            }
            Ok(Target::ContextHash { hash, region: region.map(|r| r.trim().to_string()) })
        }
    }
}

/// The key and the variable it came from; the value is never echoed, only what is wrong with it.
fn api_key(provider: ProviderKind, own: Option<String>, env: &Env) -> Result<(ApiKey, &'static str), ConfigError> {
    let (key, source) = match (own, env.get(key_variable(provider))) {
        (Some(key), _) => (key, "BUILDGATE_API_KEY"),
        (None, Some(key)) => (key.to_string(), key_variable(provider)),
        (None, None) => {
            return Err(error(
                "BUILDGATE_API_KEY",
                format!(
                    "no API key: set BUILDGATE_API_KEY or {} (in a pull request from a fork, repository secrets \
                     are not passed and the key arrives empty)",
                    key_variable(provider)
                ),
            ));
        }
    };
    let key = key.trim();
    if key.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(error(
            source,
            "contains spaces, control or non-ASCII characters, which an HTTP bearer token cannot carry",
        ));
    }
    Ok((ApiKey::new(key), source))
}

fn api_url(value: &str) -> Result<Url, ConfigError> {
    const VAR: &str = "BUILDGATE_API_URL";
    let url = Url::parse(value.trim()).map_err(|e| error(VAR, format!("{value:?} is not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: the value holds credentials.
        return Err(error(VAR, "must not carry credentials (user:password@); the token goes in BUILDGATE_API_KEY"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(error(VAR, format!("{value:?} must be a plain base URL, without query or fragment")));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(error(
            VAR,
            format!(
                "{value:?} uses http:// for a host that is not loopback; use https:// so the token never travels in clear"
            ),
        )),
        other => {
            Err(error(VAR, format!("{value:?} has scheme {other:?}; use https:// (or http:// for a loopback host)")))
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn duration_var(variable: &str, value: Option<&str>) -> Result<Duration, ConfigError> {
    let text = value.unwrap_or(vars::default_of(variable));
    duration::parse(text)
        .map_err(|why| error(variable, format!("{text:?} is not a duration: {why}; {}", duration::ACCEPTED)))
}

fn logs(provider: ProviderKind, value: Option<&str>) -> Result<bool, ConfigError> {
    match value {
        None => Ok(provider == ProviderKind::Pipecat),
        Some(v) => match boolean("BUILDGATE_LOGS", v)? {
            true if provider == ProviderKind::Prime => Err(error(
                "BUILDGATE_LOGS",
                "Prime Intellect has no build logs endpoint; leave it unset or set it to false",
            )),
            on => Ok(on),
        },
    }
}

fn max_log_lines(value: Option<&str>) -> Result<usize, ConfigError> {
    value.map_or(Ok(DEFAULT_MAX_LOG_LINES), |v| {
        v.trim().parse::<usize>().map_err(|_| {
            error("BUILDGATE_MAX_LOG_LINES", format!("{v:?} is not a whole number of lines; use 0 or more, like 25000"))
        })
    })
}

fn optional_boolean(variable: &str, value: Option<&str>) -> Result<bool, ConfigError> {
    value.map_or(Ok(false), |v| boolean(variable, v))
}

/// `true/false/1/0/yes/no`, any case.
fn boolean(variable: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(error(variable, format!("{value:?} is not a boolean; use true/false, 1/0 or yes/no"))),
    }
}

fn log_level(value: Option<&str>) -> Result<(), ConfigError> {
    let level = value.unwrap_or("warn").trim().to_ascii_lowercase();
    match level.as_str() {
        "error" | "warn" | "info" | "debug" | "trace" => Ok(()),
        _ => Err(error(
            "BUILDGATE_LOG_LEVEL",
            format!("{level:?} is not a level; use error, warn, info, debug or trace"),
        )),
    }
}

/// The outputs file, checked before any request: a regular file, or one that can be created.
fn outputs(format: Format, own: Option<String>, env: &Env, dry_run: bool) -> Result<Option<OutputsFile>, ConfigError> {
    let (path, variable) = match own {
        Some(path) => (PathBuf::from(path), "BUILDGATE_OUTPUT_FILE"),
        None => match format.outputs_default(env) {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    OutputsFile::open(format, path, variable, dry_run).map(Some).map_err(|why| error(variable, why))
}

#[cfg(test)]
mod tests;
