//! What the gate asks of a build API: a normalised build snapshot, log windows where the API
//! has them, and the shared reading of bodies, timestamps and refusals.

pub mod pipecat;
pub mod prime;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use tokio::time::Instant;

use crate::http::{Answer, FetchError, excerpt};

/// Where a build stands, whatever the API calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildState {
    /// Accepted, not started: no logs yet.
    Pending,
    Running,
    /// A status string the gate does not know: treated as still in progress.
    Unknown,
    Succeeded,
    Failed,
    /// Timed out on the provider's side.
    TimedOut,
    Cancelled,
}

impl BuildState {
    pub fn is_terminal(self) -> bool {
        matches!(self, BuildState::Succeeded | BuildState::Failed | BuildState::TimedOut | BuildState::Cancelled)
    }

    /// The contract's `status` output for a build that ended.
    pub fn output_status(self) -> &'static str {
        match self {
            BuildState::Succeeded => "success",
            BuildState::Failed => "failed",
            BuildState::TimedOut => "timeout",
            BuildState::Cancelled => "cancelled",
            BuildState::Pending | BuildState::Running | BuildState::Unknown => "waiting",
        }
    }
}

/// One reading of a build, normalised across providers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub id: String,
    pub state: BuildState,
    /// The status string exactly as the API reported it.
    pub provider_status: String,
    pub image_uri: Option<String>,
    pub duration_secs: Option<u64>,
    pub logs_url: Option<String>,
    pub error_message: Option<String>,
    /// Statuses of the build's parts (Prime artifacts), printed as status lines when they change.
    pub parts: Vec<(String, String)>,
}

/// A build found by its context hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub created_at: String,
    pub matched: usize,
}

/// A build API. Every request ends by `until` at the latest.
// Used only inside this crate, on a current-thread runtime: the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Provider {
    /// The URLs the gate would request, for the dry run.
    fn planned_urls(&self, target: &crate::config::Target) -> Vec<String>;

    async fn snapshot(&self, id: &str, until: Instant) -> Result<Snapshot, FetchError>;

    /// The latest `limit` log entries (a sliding tail; an entry may hold several lines);
    /// `None` when the API has no logs.
    async fn log_window(&self, id: &str, limit: usize, until: Instant) -> Option<Result<Vec<String>, FetchError>>;

    /// The newest build with this context hash, if one exists yet. Each page's request ends
    /// `page_timeout` after it starts, and by `deadline` at the latest.
    async fn find_by_context_hash(
        &self,
        hash: &str,
        region: Option<&str>,
        page_timeout: Duration,
        deadline: Instant,
    ) -> Result<Option<Found>, FetchError>;
}

/// Time left until `until`, never zero, so a request always has a bound of its own.
pub fn time_left(until: Instant) -> Duration {
    until.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
}

/// Reads a 2xx JSON body, or says why it cannot be read.
pub fn parse_json<T: DeserializeOwned>(answer: &Answer, what: &str) -> Result<T, FetchError> {
    serde_json::from_slice(&answer.body).map_err(|e| FetchError::Unreadable {
        reason: format!("the {what} answer is not the JSON expected ({e}){}", excerpt(&answer.body)),
    })
}

/// An optional field that keeps the rest of the answer readable when it has the wrong type.
pub fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// What to check when the API refuses, per status.
pub fn refusal(status: u16, detail: &str, key_source: &str, what: &str) -> FetchError {
    let hint = match status {
        401 => format!(
            "the token was refused: check {key_source} (in a pull request from a fork, repository secrets are \
             not passed, so the key may be empty or wrong)"
        ),
        403 => format!("the token is valid but may not read {what}: check the token's organization and scopes"),
        404 => format!(
            "{what} does not exist: check BUILDGATE_BUILD_ID, BUILDGATE_API_URL and the organization of the token"
        ),
        400 | 422 => format!("the API rejected the request for {what}"),
        _ => format!("unexpected answer for {what}"),
    };
    let detail = if detail.is_empty() { String::new() } else { format!(" — {detail}") };
    FetchError::Refused { message: format!("HTTP {status}: {hint}{detail}") }
}

/// Whole seconds between two RFC 3339 timestamps, when both can be read and are in order.
pub fn seconds_between(started: Option<&str>, completed: Option<&str>) -> Option<u64> {
    let (start, end) = (parse_rfc3339(started?)?, parse_rfc3339(completed?)?);
    (end >= start).then(|| ((end - start) / 1000) as u64)
}

/// A plausible build duration: negative or absurd (over 30 days) values are ignored.
pub fn plausible_duration(secs: i64) -> Option<u64> {
    (0..=30 * 24 * 3600).contains(&secs).then_some(secs as u64)
}

/// Milliseconds since the Unix epoch of an RFC 3339 date-time (`T`, `t` or space; `Z` or an offset).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day, hour, minute, second) =
        (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0i64;
    if let Some((b'.', frac)) = rest.split_first() {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, d) in frac[..digits.min(3)].iter().enumerate() {
            millis += i64::from(d - b'0') * 10i64.pow(2 - i as u32);
        }
        rest = &frac[digits..];
    }
    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = i64::from(h1 - b'0') * 600
                + i64::from(h2 - b'0') * 60
                + i64::from(m1 - b'0') * 10
                + i64::from(m2 - b'0');
            if *sign == b'+' { value } else { -value }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(secs * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms_agree() {
        let base = parse_rfc3339("2026-02-20T12:00:00.000Z").unwrap();
        assert_eq!(base, 1_771_588_800_000);
        for same in [
            "2026-02-20T12:00:00Z",
            "2026-02-20t12:00:00z",
            "2026-02-20 12:00:00Z",
            "2026-02-20T13:30:00+01:30",
            "2026-02-20T07:00:00.000000-05:00",
        ] {
            assert_eq!(parse_rfc3339(same), Some(base), "{same}");
        }
        assert_eq!(parse_rfc3339("2026-02-20T12:00:01.5Z"), Some(base + 1500));
        for bad in
            ["", "2026-02-20", "2026-13-01T00:00:00Z", "2026-02-20T12:00:00", "2026-02-20T12:00:00+0100", "yesterday"]
        {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_come_from_timestamps_when_sane() {
        assert_eq!(seconds_between(Some("2026-02-20T12:00:00Z"), Some("2026-02-20T12:02:00.900Z")), Some(120));
        assert_eq!(seconds_between(Some("2026-02-20T12:02:00Z"), Some("2026-02-20T12:00:00Z")), None);
        assert_eq!(seconds_between(None, Some("2026-02-20T12:00:00Z")), None);
        assert_eq!(plausible_duration(120), Some(120));
        assert_eq!(plausible_duration(-5), None);
        assert_eq!(plausible_duration(i64::MAX), None);
    }

    #[test]
    fn refusals_say_what_to_check() {
        let FetchError::Refused { message } = refusal(401, "Unauthorized (UNAUTHORIZED)", "PIPECAT_API_KEY", "build x")
        else {
            panic!()
        };
        assert!(message.contains("PIPECAT_API_KEY") && message.contains("fork") && message.contains("UNAUTHORIZED"));
    }
}
