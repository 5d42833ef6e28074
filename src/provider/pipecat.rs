//! Pipecat Cloud's builds API: get a build, list builds by context hash, and read the log tail.

use reqwest::Url;
use serde_json::Value;

use super::json::{array, integer, plausible_duration, read_answer, seconds_between, text};
use super::{BuildState, Found, History, Image, Like, Provider, Snapshot, Target, Timing, is_uuid};
use crate::clock::Reading;
use crate::http::{Deadline, FetchError, Http};
use crate::logs::LogWindow;

/// Builds per page when listing by context hash: the API's maximum.
const PAGE_SIZE: usize = 100;
/// Pages read at most in one search (10 000 builds), so a list that never ends cannot hold the gate.
const MAX_PAGES: usize = 100;
/// Recent successful builds listed for the history: enough to find 20 of the same Dockerfile
/// among builds of a few.
const HISTORY_LISTED: usize = 50;

pub struct Pipecat {
    http: Http,
    base: Url,
}

impl Pipecat {
    pub fn new(http: Http, base: Url) -> Self {
        Pipecat { http, base }
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        url(&self.base, segments, query)
    }

    fn list_url(&self, hash: &str, region: Option<&str>, offset: usize) -> Url {
        list_url(&self.base, hash, region, offset)
    }

    async fn get(&self, url: Url, deadline: Deadline, what: &str) -> Result<(Value, usize), FetchError> {
        let (value, bytes, _) = self.get_with_clock(url, deadline, what).await?;
        Ok((value, bytes))
    }

    async fn get_with_clock(
        &self,
        url: Url,
        deadline: Deadline,
        what: &str,
    ) -> Result<(Value, usize, Option<Reading>), FetchError> {
        let answer = self.http.get(url, deadline).await?;
        Ok((read_answer(&answer, what, error_detail)?, answer.body.len(), answer.clock))
    }
}

/// `base` with path segments (each percent-encoded as one segment) and a query.
fn url(base: &Url, segments: &[&str], query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    url.path_segments_mut().expect("validated http(s) base URL").pop_if_empty().extend(segments);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

/// Recent successful builds, for how long builds like this one take.
fn history_url(base: &Url, like: &Like) -> Url {
    let limit = HISTORY_LISTED.to_string();
    let mut query = vec![("status", "success")];
    if let Some(region) = like.region.as_deref() {
        query.push(("region", region));
    }
    query.push(("limit", &limit));
    url(base, &["builds"], &query)
}

fn list_url(base: &Url, hash: &str, region: Option<&str>, offset: usize) -> Url {
    let (limit, offset) = (PAGE_SIZE.to_string(), offset.to_string());
    let mut query = vec![("contextHash", hash)];
    if let Some(region) = region {
        query.push(("region", region));
    }
    query.extend([("limit", limit.as_str()), ("offset", offset.as_str())]);
    url(base, &["builds"], &query)
}

/// The URLs the gate would request, for the dry run.
pub fn planned_urls(base: &Url, target: &Target) -> Vec<String> {
    match target {
        Target::BuildId(id) => vec![
            url(base, &["builds", id], &[]).to_string(),
            url(base, &["builds", id, "logs"], &[("limit", "500")]).to_string(),
            history_url(base, &Like { region: Some("{region}".into()), dockerfile_path: None })
                .to_string()
                .replace("%7Bregion%7D", "{region}"),
        ],
        Target::ContextHash { hash, region, .. } => vec![
            list_url(base, hash, region.as_deref(), 0).to_string(),
            url(base, &["builds", "{id}"], &[]).to_string().replace("%7Bid%7D", "{id}"),
        ],
    }
}

/// `{error, code}`, as the API words a refusal.
fn error_detail(body: &Value) -> String {
    match (text(body, &["error"]), text(body, &["code"])) {
        (Some(e), Some(c)) => format!("{e} ({c})"),
        (Some(e), None) => e,
        (None, Some(c)) => c,
        (None, None) => String::new(),
    }
}

/// Pipecat's status strings; anything else is still in progress.
fn state_of(status: &str) -> BuildState {
    match status {
        "pending" => BuildState::Pending,
        "building" => BuildState::Running,
        "success" => BuildState::Succeeded,
        "failed" => BuildState::Failed,
        "timeout" => BuildState::TimedOut,
        _ => BuildState::Unknown,
    }
}

fn snapshot_of(requested_id: &str, build: &Value) -> Result<Snapshot, FetchError> {
    let provider_status = text(build, &["status"])
        .ok_or_else(|| FetchError::Unreadable { reason: "the build answer has no readable `build.status`".into() })?;
    let state = state_of(&provider_status);
    let duration_secs = integer(build, &["buildDurationSeconds"])
        .and_then(plausible_duration)
        .or_else(|| seconds_between(text(build, &["startedAt"]).as_deref(), text(build, &["completedAt"]).as_deref()));
    let image = text(build, &["imageUri"])
        .filter(|uri| !uri.trim().is_empty())
        .map(|uri| Image { uri, source: "imageUri" })
        .ok_or("the build answer has no `imageUri` (a non-empty string)");
    Ok(Snapshot {
        id: text(build, &["id"]).unwrap_or_else(|| requested_id.to_string()),
        state,
        provider_status,
        phase: None,
        image,
        duration_secs: duration_secs.filter(|_| state.is_terminal()),
        logs_url: text(build, &["logsUrl"]),
        error_message: text(build, &["errorMessage"]),
        parts: Vec::new(),
        timing: Timing {
            started_at_ms: text(build, &["startedAt"]).as_deref().and_then(super::parse_rfc3339),
            clock: None,
            like: Some(Like { region: text(build, &["region"]), dockerfile_path: text(build, &["dockerfilePath"]) }),
        },
    })
}

/// A log entry as Pipecat's own CLI reads it: a string, or an object with a `message`; any
/// other entry is shown as its JSON, so that one odd entry never fails the window.
fn entry_text(entry: &Value) -> String {
    match entry {
        Value::String(line) => line.clone(),
        Value::Object(_) => match entry.get("message") {
            Some(Value::String(message)) => message.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// A listed build's duration: from its timestamps, to the millisecond, when both are there and
/// in order (a plausible length); else its whole `buildDurationSeconds`.
fn listed_duration(build: &Value) -> Option<std::time::Duration> {
    let at = |name| text(build, &[name]).as_deref().and_then(super::parse_rfc3339);
    let from_stamps = at("startedAt")
        .zip(at("completedAt"))
        .and_then(|(start, end)| u64::try_from(end.checked_sub(start)?).ok())
        .filter(|ms| plausible_duration(i64::try_from(ms / 1000).unwrap_or(i64::MAX)).is_some());
    from_stamps.map(std::time::Duration::from_millis).or_else(|| {
        integer(build, &["buildDurationSeconds"]).and_then(plausible_duration).map(std::time::Duration::from_secs)
    })
}

/// `(createdAt, updatedAt)` in ms for picking the newest build; unreadable counts as oldest.
fn age_key(build: &Value) -> (i64, i64) {
    let at = |name| text(build, &[name]).as_deref().and_then(super::parse_rfc3339).unwrap_or(i64::MIN);
    (at("createdAt"), at("updatedAt"))
}

impl Provider for Pipecat {
    async fn snapshot(&self, id: &str, deadline: Deadline) -> Result<Snapshot, FetchError> {
        let url = self.url(&["builds", id], &[]);
        let (answer, _, clock) = self.get_with_clock(url, deadline, &format!("build {id}")).await?;
        let build = answer
            .get("build")
            .filter(|b| b.is_object())
            .ok_or_else(|| FetchError::Unreadable { reason: "the build answer has no `build` object".into() })?;
        let mut snapshot = snapshot_of(id, build)?;
        snapshot.timing.clock = clock;
        Ok(snapshot)
    }

    async fn history(&self, like: &Like, deadline: Deadline) -> Option<Result<History, FetchError>> {
        let read = async {
            let (page, _) = self.get(history_url(&self.base, like), deadline, "recent successful builds").await?;
            let listed: Vec<(std::time::Duration, Option<String>)> = array(&page, "builds")
                .iter()
                .filter(|b| text(b, &["status"]).is_none_or(|s| s == "success"))
                .filter_map(|b| Some((listed_duration(b)?, text(b, &["dockerfilePath"]))))
                .collect();
            Ok(History::pick(&listed, like.dockerfile_path.as_deref()))
        };
        Some(read.await)
    }

    async fn log_window(&self, id: &str, limit: usize, deadline: Deadline) -> Option<Result<LogWindow, FetchError>> {
        let url = self.url(&["builds", id, "logs"], &[("limit", &limit.to_string())]);
        let read = async {
            let (answer, bytes) = self.get(url, deadline, &format!("the logs of build {id}")).await?;
            let logs = answer
                .get("logs")
                .and_then(Value::as_array)
                .ok_or_else(|| FetchError::Unreadable { reason: "the logs answer has no `logs` array".into() })?;
            Ok(LogWindow { entries: logs.iter().map(entry_text).collect(), bytes })
        };
        Some(read.await)
    }

    async fn find_by_context_hash(
        &self,
        hash: &str,
        filters: (Option<&str>, Option<&str>),
        deadline: Deadline,
    ) -> Result<Option<Found>, FetchError> {
        let (region, dockerfile) = filters;
        let mut matched = 0;
        let (mut seen, mut best): (usize, Option<Value>) = (0, None);
        for _ in 0..MAX_PAGES {
            let what = format!("the builds with context hash {hash}");
            let (page, _) = self.get(self.list_url(hash, region, seen), deadline, &what).await?;
            let builds = array(&page, "builds");
            seen += builds.len();
            // The API filters by hash and region; the Dockerfile is filtered here.
            let of_dockerfile =
                |b: &&Value| dockerfile.is_none_or(|d| text(b, &["dockerfilePath"]).as_deref() == Some(d));
            // Only the newest so far is kept, however many pages there are.
            for build in builds.iter().filter(of_dockerfile) {
                matched += 1;
                let newer = best.as_ref().is_none_or(|b| age_key(build) > age_key(b));
                if text(build, &["id"]).is_some() && newer {
                    best = Some(build.clone());
                }
            }
            let total =
                page.get("total").and_then(Value::as_u64).map_or(seen, |t| usize::try_from(t).unwrap_or(usize::MAX));
            if builds.is_empty() || seen >= total {
                break;
            }
        }
        let Some(build) = best else { return Ok(None) };
        let id = text(&build, &["id"]).unwrap_or_default();
        if !is_uuid(&id) {
            return Err(FetchError::Unreadable {
                reason: format!("the newest listed build has an id that is not a UUID: {id:?}"),
            });
        }
        let created_at = text(&build, &["createdAt"]).unwrap_or_else(|| "unknown".into());
        Ok(Some(Found { id, created_at, matched }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(value: &Value) -> Result<Snapshot, FetchError> {
        snapshot_of("req-id", value)
    }

    #[test]
    fn a_successful_build_is_normalised() {
        let s = build(&json!({
            "id": "b1", "status": "success", "imageUri": "img:1", "logsUrl": "https://logs",
            "buildDurationSeconds": 120, "startedAt": "2026-02-20T12:00:00Z", "somethingNew": {"x": 1}
        }))
        .unwrap();
        assert_eq!(s.state, BuildState::Succeeded);
        assert_eq!(s.image, Ok(Image { uri: "img:1".into(), source: "imageUri" }));
        assert_eq!((s.duration_secs, s.logs_url.as_deref()), (Some(120), Some("https://logs")));
    }

    #[test]
    fn wrong_types_and_absurd_values_are_dropped_not_fatal() {
        let s = build(&json!({
            "status": "failed", "buildDurationSeconds": -3, "imageUri": 42, "errorMessage": "boom",
            "startedAt": "2026-02-20T12:00:00Z", "completedAt": "2026-02-20T12:00:30Z"
        }))
        .unwrap();
        assert_eq!((s.id.as_str(), s.state, s.duration_secs), ("req-id", BuildState::Failed, Some(30)));
        assert!(s.image.is_err());
        assert!(matches!(build(&json!({"status": 7})), Err(FetchError::Unreadable { .. })));
        assert!(
            build(&json!({"status": "success", "imageUri": "  "})).unwrap().image.unwrap_err().contains("imageUri")
        );
    }

    #[test]
    fn unknown_statuses_are_still_in_progress() {
        let s = build(&json!({"status": "queued"})).unwrap();
        assert_eq!(s.state, BuildState::Unknown);
        assert!(!s.state.is_terminal());
    }

    #[test]
    fn odd_log_entries_are_shown_not_fatal() {
        assert_eq!(entry_text(&json!("a")), "a");
        assert_eq!(entry_text(&json!({"message": "b", "timestamp": "t"})), "b");
        assert_eq!(entry_text(&json!({"message": 5})), "5");
        assert_eq!(entry_text(&json!([1])), "[1]");
    }

    #[test]
    fn listed_durations_come_from_timestamps_to_the_millisecond() {
        let ms = std::time::Duration::from_millis;
        let both = json!({"startedAt": "2026-02-20T12:00:00.250Z", "completedAt": "2026-02-20T12:03:05.750Z",
                          "buildDurationSeconds": 185});
        assert_eq!(listed_duration(&both), Some(ms(185_500)));
        assert_eq!(listed_duration(&json!({"buildDurationSeconds": 90})), Some(ms(90_000)));
        let backwards = json!({"startedAt": "2026-02-20T12:00:00Z", "completedAt": "2026-02-20T11:00:00Z",
                               "buildDurationSeconds": 30});
        assert_eq!(listed_duration(&backwards), Some(ms(30_000)), "timestamps out of order: the seconds");
        assert_eq!(listed_duration(&json!({"buildDurationSeconds": -1})), None);
    }

    #[test]
    fn the_newest_build_wins_ties_broken_by_update() {
        let builds = [
            json!({"id": "old", "createdAt": "2026-02-20T12:00:00Z"}),
            json!({"id": "tie-early", "createdAt": "2026-02-21T12:00:00Z", "updatedAt": "2026-02-21T12:00:00Z"}),
            json!({"id": "tie-late", "createdAt": "2026-02-21T13:00:00+01:00", "updatedAt": "2026-02-21T12:05:00Z"}),
        ];
        let best = builds.iter().max_by_key(|b| age_key(b)).unwrap();
        assert_eq!(best["id"], "tie-late");
    }
}
