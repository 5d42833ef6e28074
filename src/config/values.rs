//! Each variable's value on its own: parsed, checked, and refused with a message that names the
//! variable and says what is accepted. `validate` in the module above puts them together.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use super::{ConfigError, DEFAULT_MAX_LOG_LINES, error, key_variable};
use crate::ci::{Format, OutputsFile};
use crate::duration;
use crate::env::Env;
use crate::http::ApiKey;
use crate::provider::{ProviderKind, Target};

pub(super) fn provider(value: Option<&str>) -> Result<ProviderKind, ConfigError> {
    match value.map(str::trim) {
        None => Ok(ProviderKind::Pipecat),
        Some(p) if p.eq_ignore_ascii_case("pipecat") => Ok(ProviderKind::Pipecat),
        Some(p) if p.eq_ignore_ascii_case("prime") => Ok(ProviderKind::Prime),
        Some(p) => Err(error("BUILDGATE_PROVIDER", format!("{p:?} is not a provider; use `pipecat` or `prime`"))),
    }
}

pub(super) fn target(
    provider: ProviderKind,
    build_id: Option<String>,
    context_hash: Option<String>,
    filters: (Option<String>, Option<String>),
) -> Result<Target, ConfigError> {
    let (region, dockerfile) = filters;
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
        (Some(_), None) if dockerfile.is_some() => Err(error(
            "BUILDGATE_DOCKERFILE",
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
            let dockerfile = dockerfile.map(|d| d.trim().to_string());
            if let Some(path) = dockerfile.as_deref().filter(|p| p.chars().any(char::is_control)) {
                return Err(error("BUILDGATE_DOCKERFILE", format!("{path:?} contains control characters")));
            }
            Ok(Target::ContextHash { hash, region: region.map(|r| r.trim().to_string()), dockerfile })
        }
    }
}

/// The key and the variable it came from; the value is never echoed, only what is wrong with it.
pub(super) fn api_key(
    provider: ProviderKind,
    own: Option<String>,
    env: &Env,
) -> Result<(ApiKey, &'static str), ConfigError> {
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

pub(super) fn api_url(value: &str) -> Result<Url, ConfigError> {
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

pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub(super) fn duration_var(variable: &str, value: Option<&str>) -> Result<Duration, ConfigError> {
    let text = value.unwrap_or(super::vars::default_of(variable));
    duration::parse(text)
        .map_err(|why| error(variable, format!("{text:?} is not a duration: {why}; {}", duration::ACCEPTED)))
}

pub(super) fn logs(provider: ProviderKind, value: Option<&str>) -> Result<bool, ConfigError> {
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

pub(super) fn max_log_lines(value: Option<&str>) -> Result<usize, ConfigError> {
    value.map_or(Ok(DEFAULT_MAX_LOG_LINES), |v| {
        v.trim().parse::<usize>().map_err(|_| {
            error("BUILDGATE_MAX_LOG_LINES", format!("{v:?} is not a whole number of lines; use 0 or more, like 25000"))
        })
    })
}

pub(super) fn optional_boolean(variable: &str, value: Option<&str>) -> Result<bool, ConfigError> {
    value.map_or(Ok(false), |v| boolean(variable, v))
}

/// `true/false/1/0/yes/no`, any case.
pub(super) fn boolean(variable: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(error(variable, format!("{value:?} is not a boolean; use true/false, 1/0 or yes/no"))),
    }
}

pub(super) fn log_level(value: Option<&str>) -> Result<(), ConfigError> {
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
pub(super) fn outputs(
    format: Format,
    own: Option<String>,
    env: &Env,
    dry_run: bool,
) -> Result<Option<OutputsFile>, ConfigError> {
    let (path, variable) = match own {
        Some(path) => (PathBuf::from(path), "BUILDGATE_OUTPUT_FILE"),
        None => match format.outputs_default(env) {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    OutputsFile::open(format, path, variable, dry_run).map(Some).map_err(|why| error(variable, why))
}
