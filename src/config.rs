//! Configuration: the process environment (empty values dropped) → envy → a validated [`Config`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

/// The environment the gate runs in, with empty values already dropped: GitHub passes every
/// declared action input, set or not, and unset ones arrive empty.
#[derive(Clone, Debug, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).filter(|(_, v)| !v.trim().is_empty()).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn is_true(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// The `BUILDGATE_*` variables as strings, exactly as envy reads them; [`validate`] gives them meaning.
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    Pipecat,
    Prime,
}

impl ProviderKind {
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Pipecat => "pipecat",
            ProviderKind::Prime => "prime",
        }
    }

    pub fn key_fallback(self) -> &'static str {
        match self {
            ProviderKind::Pipecat => "PIPECAT_API_KEY",
            ProviderKind::Prime => "PRIME_API_KEY",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            ProviderKind::Pipecat => "https://api.pipecat.daily.co/v1",
            ProviderKind::Prime => "https://api.primeintellect.ai",
        }
    }
}

/// Which build to wait on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    BuildId(String),
    /// Pipecat only: the newest build with this context hash, waiting for it to appear.
    ContextHash {
        hash: String,
        region: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Github,
    Gitlab,
    Plain,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Github => "github",
            Format::Gitlab => "gitlab",
            Format::Plain => "plain",
        }
    }
}

/// The bearer token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "*** ({} characters)", self.0.chars().count())
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Streamed build log lines stop here unless `BUILDGATE_MAX_LOG_LINES` says otherwise:
/// about 2.5 MB of typical build log, well under GitLab's default 4 MiB job-log limit.
pub const DEFAULT_MAX_LOG_LINES: usize = 25_000;

#[derive(Clone, Debug)]
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
    /// The longest time between two reads of the build log.
    pub log_interval: Duration,
    pub max_log_lines: usize,
    pub format: Format,
    pub output_file: Option<PathBuf>,
    pub summary_file: Option<PathBuf>,
    pub dry_run: bool,
    pub log_level: String,
    pub no_color: bool,
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

/// Reads and validates the configuration.
pub fn load(env: &Env) -> Result<Config, ConfigErrors> {
    let raw: RawConfig = envy::prefixed("BUILDGATE_")
        .from_iter(env.0.iter().map(|(k, v)| (k.clone(), v.clone())))
        .map_err(|e| ConfigErrors(vec![error("BUILDGATE_*", e.to_string())]))?;
    validate(raw, env)
}

fn error(variable: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable: variable.to_string(), message: message.into() }
}

/// Collects errors while each field is checked, then yields all of them or the value.
#[derive(Default)]
struct Checker(Vec<ConfigError>);

impl Checker {
    fn check<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    fn fail(&mut self, variable: &str, message: impl Into<String>) {
        self.0.push(error(variable, message));
    }
}

fn validate(raw: RawConfig, env: &Env) -> Result<Config, ConfigErrors> {
    let mut c = Checker::default();

    let provider = match raw.provider.as_deref().map(str::trim) {
        None => ProviderKind::Pipecat,
        Some(p) if p.eq_ignore_ascii_case("pipecat") => ProviderKind::Pipecat,
        Some(p) if p.eq_ignore_ascii_case("prime") => ProviderKind::Prime,
        Some(p) => {
            c.fail("BUILDGATE_PROVIDER", format!("{p:?} is not a provider; use `pipecat` or `prime`"));
            ProviderKind::Pipecat
        }
    };

    let target = c.check(target(provider, raw.build_id, raw.context_hash, raw.region));

    let (api_key, api_key_source) = match (raw.api_key, env.get(provider.key_fallback())) {
        (Some(key), _) => (Some(key), "BUILDGATE_API_KEY"),
        (None, Some(key)) => (Some(key.to_string()), provider.key_fallback()),
        (None, None) => {
            c.fail(
                "BUILDGATE_API_KEY",
                format!(
                    "no API key: set BUILDGATE_API_KEY or {} (in a pull request from a fork, \
                     repository secrets are not passed and the key arrives empty)",
                    provider.key_fallback()
                ),
            );
            (None, "BUILDGATE_API_KEY")
        }
    };
    let api_key = api_key.and_then(|key| c.check(api_key_value(api_key_source, key)));

    let api_url = c.check(api_url(raw.api_url.as_deref().unwrap_or(provider.default_url())));

    let timeout = c.check(duration_var("BUILDGATE_TIMEOUT", raw.timeout, "30m"));
    let poll_interval = c.check(duration_var("BUILDGATE_POLL_INTERVAL", raw.poll_interval, "2s"));
    let poll_max_interval = c.check(duration_var("BUILDGATE_POLL_MAX_INTERVAL", raw.poll_max_interval, "10s"));
    let request_timeout = c.check(duration_var("BUILDGATE_REQUEST_TIMEOUT", raw.request_timeout, "30s"));
    let log_interval = c.check(duration_var("BUILDGATE_LOG_INTERVAL", raw.log_interval, "60s"));
    if let (Some(min), Some(max)) = (poll_interval, poll_max_interval)
        && max < min
    {
        c.fail(
            "BUILDGATE_POLL_MAX_INTERVAL",
            format!(
                "{} is shorter than BUILDGATE_POLL_INTERVAL ({}); the cap must be at least the first interval",
                format_duration(max),
                format_duration(min)
            ),
        );
    }

    let logs = match raw.logs {
        None => provider == ProviderKind::Pipecat,
        Some(v) => c.check(boolean("BUILDGATE_LOGS", &v)).unwrap_or(false),
    };
    if logs && provider == ProviderKind::Prime {
        c.fail("BUILDGATE_LOGS", "Prime Intellect has no build logs endpoint; leave it unset or set it to false");
    }

    let max_log_lines = match raw.max_log_lines {
        None => Some(DEFAULT_MAX_LOG_LINES),
        Some(v) => c.check(v.trim().parse::<usize>().map_err(|_| {
            error("BUILDGATE_MAX_LOG_LINES", format!("{v:?} is not a whole number of lines (0 or more)"))
        })),
    };

    let format = c.check(format(raw.format.as_deref(), env));
    let dry_run = match raw.dry_run {
        None => false,
        Some(v) => c.check(boolean("BUILDGATE_DRY_RUN", &v)).unwrap_or(false),
    };
    let log_level = c.check(log_level(raw.log_level.as_deref()));

    let output_file = match (raw.output_file, format) {
        (Some(path), _) => Some(PathBuf::from(path)),
        (None, Some(Format::Github)) => env.get("GITHUB_OUTPUT").map(PathBuf::from),
        (None, Some(Format::Gitlab)) => Some(PathBuf::from("buildgate.env")),
        (None, _) => None,
    };
    let summary_file = match format {
        Some(Format::Github) => env.get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
        _ => None,
    };

    match (
        target,
        api_key,
        api_url,
        timeout,
        poll_interval,
        poll_max_interval,
        request_timeout,
        log_interval,
        max_log_lines,
        format,
        log_level,
    ) {
        (
            Some(target),
            Some(api_key),
            Some(api_url),
            Some(timeout),
            Some(poll_interval),
            Some(poll_max_interval),
            Some(request_timeout),
            Some(log_interval),
            Some(max_log_lines),
            Some(format),
            Some(log_level),
        ) if c.0.is_empty() => Ok(Config {
            provider,
            target,
            api_key,
            api_key_source,
            api_url,
            timeout,
            poll_interval,
            poll_max_interval,
            request_timeout,
            logs,
            log_interval,
            max_log_lines,
            format,
            output_file,
            summary_file,
            dry_run,
            log_level,
            no_color: env.get("NO_COLOR").is_some(),
        }),
        _ => Err(ConfigErrors(c.0)),
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
        (Some(id), None) => {
            let id = id.trim().to_string();
            if region.is_some() {
                return Err(error(
                    "BUILDGATE_REGION",
                    "only filters a BUILDGATE_CONTEXT_HASH search; unset it when waiting by build id",
                ));
            }
            if provider == ProviderKind::Pipecat && !is_uuid(&id) {
                return Err(error(
                    "BUILDGATE_BUILD_ID",
                    format!(
                        "{id:?} is not a Pipecat build id; expected a UUID like 123e4567-e89b-12d3-a456-426614174000"
                    ),
                ));
            }
            if id.chars().any(char::is_control) {
                return Err(error("BUILDGATE_BUILD_ID", format!("{id:?} contains control characters")));
            }
            Ok(Target::BuildId(id))
        }
        (None, Some(hash)) => {
            if provider == ProviderKind::Prime {
                return Err(error(
                    "BUILDGATE_CONTEXT_HASH",
                    "is for pipecat only; Prime Intellect builds are waited on by BUILDGATE_BUILD_ID",
                ));
            }
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

/// A UUID in its canonical 8-4-4-4-12 hexadecimal form, any case.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn api_key_value(variable: &'static str, key: String) -> Result<ApiKey, ConfigError> {
    let key = key.trim();
    // The value is never echoed: only what is wrong with it.
    if key.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(error(
            variable,
            "contains spaces, control or non-ASCII characters, which an HTTP bearer token cannot carry",
        ));
    }
    Ok(ApiKey::new(key))
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

fn duration_var(variable: &str, value: Option<String>, default: &str) -> Result<Duration, ConfigError> {
    let text = value.as_deref().unwrap_or(default);
    let d = parse_duration(text).map_err(|why| {
        error(
            variable,
            format!("{text:?} is not a duration ({why}); use 500ms, 90s, 30m, 1h30m or a bare number of seconds"),
        )
    })?;
    if d.is_zero() {
        return Err(error(variable, format!("{text:?} is zero; it must be longer than that")));
    }
    Ok(d)
}

/// `500ms`, `90s`, `30m`, `1h30m` (units ms, s, m, h, summed), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty".into());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().map(Duration::from_secs).map_err(|_| "too large".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a number at {rest:?}"));
        }
        let number: u64 = rest[..digits].parse().map_err(|_| "too large".to_string())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let millis_per_unit: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "" => return Err(format!("{number} has no unit")),
            unit => return Err(format!("unknown unit {unit:?}")),
        };
        rest = &rest[unit_len..];
        let part = number.checked_mul(millis_per_unit).ok_or("too large")?;
        total = total.checked_add(Duration::from_millis(part)).ok_or("too large")?;
    }
    Ok(total)
}

/// The shortest exact spelling of a duration in the units `parse_duration` accepts.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return if ms >= 1000 { format!("{:.1}s", d.as_secs_f64()) } else { format!("{ms}ms") };
    }
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    out
}

/// `true/false/1/0/yes/no`, any case.
fn boolean(variable: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(error(variable, format!("{value:?} is not a boolean; use true/false, 1/0 or yes/no"))),
    }
}

/// `BUILDGATE_FORMAT`, with `auto` (or unset) detected from `GITHUB_ACTIONS` / `GITLAB_CI`.
pub(crate) fn format(value: Option<&str>, env: &Env) -> Result<Format, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("auto") if env.is_true("GITHUB_ACTIONS") => Ok(Format::Github),
        None | Some("auto") if env.is_true("GITLAB_CI") => Ok(Format::Gitlab),
        None | Some("auto") | Some("plain") => Ok(Format::Plain),
        Some("github") => Ok(Format::Github),
        Some("gitlab") => Ok(Format::Gitlab),
        Some(other) => {
            Err(error("BUILDGATE_FORMAT", format!("{other:?} is not a format; use auto, github, gitlab or plain")))
        }
    }
}

fn log_level(value: Option<&str>) -> Result<String, ConfigError> {
    let level = value.unwrap_or("warn").trim().to_ascii_lowercase();
    match level.as_str() {
        "error" | "warn" | "info" | "debug" | "trace" => Ok(level),
        _ => Err(error(
            "BUILDGATE_LOG_LEVEL",
            format!("{level:?} is not a level; use error, warn, info, debug or trace"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "123e4567-e89b-12d3-a456-426614174000";

    fn load_pairs(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        load(&Env::from_pairs(pairs.iter().copied()))
    }

    fn errors(pairs: &[(&str, &str)]) -> Vec<String> {
        load_pairs(pairs).unwrap_err().0.into_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn defaults_apply_when_only_id_and_key_are_set() {
        let c = load_pairs(&[("BUILDGATE_BUILD_ID", ID), ("PIPECAT_API_KEY", "k")]).unwrap();
        assert_eq!(c.provider, ProviderKind::Pipecat);
        assert_eq!(c.api_url.as_str(), "https://api.pipecat.daily.co/v1");
        assert_eq!(c.timeout, Duration::from_secs(1800));
        assert_eq!(c.poll_interval, Duration::from_secs(2));
        assert_eq!(c.poll_max_interval, Duration::from_secs(10));
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert!(c.logs);
        assert_eq!(c.format, Format::Plain);
        assert_eq!(c.api_key_source, "PIPECAT_API_KEY");
        assert_eq!(c.output_file, None);
        assert!(!c.dry_run);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = load_pairs(&[
            ("BUILDGATE_BUILD_ID", ID),
            ("BUILDGATE_CONTEXT_HASH", ""),
            ("BUILDGATE_API_KEY", ""),
            ("PIPECAT_API_KEY", "k"),
            ("BUILDGATE_TIMEOUT", ""),
            ("BUILDGATE_FORMAT", " "),
        ])
        .unwrap();
        assert_eq!(c.timeout, Duration::from_secs(1800));
        assert_eq!(c.api_key.expose(), "k");
    }

    #[test]
    fn durations_parse_in_every_documented_form() {
        for (text, ms) in [
            ("500ms", 500),
            ("90s", 90_000),
            ("30m", 1_800_000),
            ("1h30m", 5_400_000),
            ("45", 45_000),
            ("1h1m1s1ms", 3_661_001),
        ] {
            assert_eq!(parse_duration(text), Ok(Duration::from_millis(ms)), "{text}");
        }
        for bad in ["", "abc", "10x", "1.5s", "m", "-1s", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_millis(5_400_000)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn every_error_names_its_variable_and_the_bad_value() {
        let errs = errors(&[
            ("BUILDGATE_BUILD_ID", "not-a-uuid"),
            ("BUILDGATE_API_KEY", "k"),
            ("BUILDGATE_TIMEOUT", "soon"),
            ("BUILDGATE_LOGS", "maybe"),
            ("BUILDGATE_FORMAT", "jenkins"),
            ("BUILDGATE_PROVIDER", "aws"),
            ("BUILDGATE_LOG_LEVEL", "loud"),
            ("BUILDGATE_DRY_RUN", "perhaps"),
        ]);
        for (var, value) in [
            ("BUILDGATE_TIMEOUT", "soon"),
            ("BUILDGATE_LOGS", "maybe"),
            ("BUILDGATE_FORMAT", "jenkins"),
            ("BUILDGATE_PROVIDER", "aws"),
            ("BUILDGATE_LOG_LEVEL", "loud"),
            ("BUILDGATE_DRY_RUN", "perhaps"),
            ("BUILDGATE_BUILD_ID", "not-a-uuid"),
        ] {
            assert!(errs.iter().any(|e| e.starts_with(var) && e.contains(value)), "{var} missing in {errs:?}");
        }
    }

    #[test]
    fn exactly_one_target_is_required() {
        assert!(errors(&[("PIPECAT_API_KEY", "k")])[0].starts_with("BUILDGATE_BUILD_ID: no build"));
        let both = errors(&[("PIPECAT_API_KEY", "k"), ("BUILDGATE_BUILD_ID", ID), ("BUILDGATE_CONTEXT_HASH", "abc")]);
        assert!(both[0].contains("set exactly one"));
        let c = load_pairs(&[("PIPECAT_API_KEY", "k"), ("BUILDGATE_CONTEXT_HASH", "abc"), ("BUILDGATE_REGION", "eu")])
            .unwrap();
        assert_eq!(c.target, Target::ContextHash { hash: "abc".into(), region: Some("eu".into()) });
    }

    #[test]
    fn http_is_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.2",
            "http://localhost:1",
            "http://[::1]:9/v1",
            "https://example.com/v1",
        ] {
            assert!(api_url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://example.com", "http://10.0.0.1", "ftp://127.0.0.1", "https://example.com/v1?x=1", "nope"] {
            assert!(api_url(bad).unwrap_err().message.contains(bad.trim_end_matches('/')), "{bad}");
        }
        let with_credentials = api_url("https://user:hunter2@example.com").unwrap_err().message;
        assert!(with_credentials.contains("credentials") && !with_credentials.contains("hunter2"));
    }

    #[test]
    fn the_key_falls_back_per_provider_and_is_never_shown() {
        let c = load_pairs(&[
            ("BUILDGATE_PROVIDER", "prime"),
            ("BUILDGATE_BUILD_ID", "b1"),
            ("PRIME_API_KEY", "secret-key"),
        ])
        .unwrap();
        assert_eq!(c.api_key_source, "PRIME_API_KEY");
        assert_eq!(c.api_url.as_str(), "https://api.primeintellect.ai/");
        assert!(!c.logs);
        let debug = format!("{c:?}");
        assert!(!debug.contains("secret-key") && debug.contains("*** (10 characters)"), "{debug}");
        let missing =
            errors(&[("BUILDGATE_PROVIDER", "prime"), ("BUILDGATE_BUILD_ID", "b1"), ("PIPECAT_API_KEY", "k")]);
        assert!(missing[0].contains("PRIME_API_KEY") && missing[0].contains("fork"), "{missing:?}");
        let bad = errors(&[("BUILDGATE_BUILD_ID", ID), ("BUILDGATE_API_KEY", "two words")]);
        assert!(bad[0].starts_with("BUILDGATE_API_KEY") && !bad[0].contains("two words"));
    }

    #[test]
    fn prime_refuses_logs_and_context_hash() {
        let errs = errors(&[
            ("BUILDGATE_PROVIDER", "prime"),
            ("BUILDGATE_CONTEXT_HASH", "abc"),
            ("BUILDGATE_LOGS", "true"),
            ("PRIME_API_KEY", "k"),
        ]);
        assert!(errs.iter().any(|e| e.starts_with("BUILDGATE_LOGS")));
        assert!(errs.iter().any(|e| e.starts_with("BUILDGATE_CONTEXT_HASH")));
    }

    #[test]
    fn format_is_detected_and_picks_the_outputs_file() {
        let base = [("BUILDGATE_BUILD_ID", ID), ("PIPECAT_API_KEY", "k")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            load_pairs(&pairs).unwrap()
        };
        let gh =
            with(&[("GITHUB_ACTIONS", "true"), ("GITHUB_OUTPUT", "/tmp/out"), ("GITHUB_STEP_SUMMARY", "/tmp/sum")]);
        assert_eq!((gh.format, gh.output_file.as_deref()), (Format::Github, Some(std::path::Path::new("/tmp/out"))));
        assert_eq!(gh.summary_file.as_deref(), Some(std::path::Path::new("/tmp/sum")));
        let gl = with(&[("GITLAB_CI", "true")]);
        assert_eq!(
            (gl.format, gl.output_file.as_deref()),
            (Format::Gitlab, Some(std::path::Path::new("buildgate.env")))
        );
        let forced = with(&[("GITHUB_ACTIONS", "true"), ("BUILDGATE_FORMAT", "plain")]);
        assert_eq!(forced.format, Format::Plain);
    }

    #[test]
    fn booleans_accept_every_documented_spelling() {
        for (v, expected) in [("TRUE", true), ("1", true), ("Yes", true), ("false", false), ("0", false), ("NO", false)]
        {
            assert_eq!(boolean("X", v), Ok(expected), "{v}");
        }
    }

    #[test]
    fn max_interval_must_not_be_below_the_first() {
        let errs = errors(&[
            ("BUILDGATE_BUILD_ID", ID),
            ("PIPECAT_API_KEY", "k"),
            ("BUILDGATE_POLL_INTERVAL", "5s"),
            ("BUILDGATE_POLL_MAX_INTERVAL", "1s"),
        ]);
        assert!(errs[0].starts_with("BUILDGATE_POLL_MAX_INTERVAL"), "{errs:?}");
    }
}
