//! Pipecat Cloud's builds API: get a build, list builds by context hash, and read the log tail.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::{
    BuildState, Found, Provider, Snapshot, lenient, parse_json, plausible_duration, refusal, seconds_between, time_left,
};
use crate::config::Target;
use crate::http::{Answer, FetchError, Http};
use reqwest::Url;

/// Builds per page when listing by context hash: the API's maximum.
const PAGE_SIZE: usize = 100;
/// Pages read at most in one search (10 000 builds), so a list that never ends cannot hold the gate.
const MAX_PAGES: usize = 100;

pub struct Pipecat {
    http: Http,
    base: Url,
    key_source: &'static str,
}

#[derive(Deserialize)]
struct GetBuildResponse {
    build: Option<BuildDto>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuildDto {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    image_uri: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    logs_url: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    error_message: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    build_duration_seconds: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    started_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    completed_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct ListBuildsResponse {
    #[serde(default)]
    builds: Vec<BuildDto>,
    #[serde(default, deserialize_with = "lenient")]
    total: Option<usize>,
}

#[derive(Deserialize)]
struct LogsResponse {
    #[serde(default)]
    logs: Vec<LogEntry>,
}

/// Pipecat's own CLI accepts both plain strings and `{message, timestamp}` objects.
#[derive(Deserialize)]
#[serde(untagged)]
enum LogEntry {
    Line(String),
    Object {
        #[serde(default)]
        message: Option<String>,
    },
    Other(serde_json::Value),
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, deserialize_with = "lenient")]
    error: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    code: Option<String>,
}

impl Pipecat {
    pub fn new(http: Http, base: Url, key_source: &'static str) -> Self {
        Pipecat { http, base, key_source }
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("validated http(s) base URL").pop_if_empty().extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    fn list_url(&self, hash: &str, region: Option<&str>, offset: usize) -> Url {
        let (limit, offset) = (PAGE_SIZE.to_string(), offset.to_string());
        let mut query = vec![("contextHash", hash)];
        if let Some(region) = region {
            query.push(("region", region));
        }
        query.extend([("limit", limit.as_str()), ("offset", offset.as_str())]);
        self.url(&["builds"], &query)
    }

    async fn get(&self, url: Url, until: Instant, what: &str) -> Result<Answer, FetchError> {
        let answer = self.http.get(url, time_left(until)).await?;
        if (200..300).contains(&answer.status) {
            return Ok(answer);
        }
        let detail = serde_json::from_slice::<ErrorBody>(&answer.body)
            .ok()
            .map(|b| match (b.error, b.code) {
                (Some(e), Some(c)) => format!("{e} ({c})"),
                (Some(e), None) => e,
                (None, Some(c)) => c,
                (None, None) => String::new(),
            })
            .unwrap_or_default();
        Err(refusal(answer.status, &detail, self.key_source, what))
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

fn snapshot_of(requested_id: &str, build: BuildDto) -> Result<Snapshot, FetchError> {
    let provider_status = build
        .status
        .ok_or_else(|| FetchError::Unreadable { reason: "the build answer has no readable `build.status`".into() })?;
    let state = state_of(&provider_status);
    let duration_secs = build
        .build_duration_seconds
        .and_then(plausible_duration)
        .or_else(|| seconds_between(build.started_at.as_deref(), build.completed_at.as_deref()));
    Ok(Snapshot {
        id: build.id.unwrap_or_else(|| requested_id.to_string()),
        state,
        provider_status,
        image_uri: build.image_uri.filter(|_| state == BuildState::Succeeded),
        duration_secs: duration_secs.filter(|_| state.is_terminal()),
        logs_url: build.logs_url,
        error_message: build.error_message,
        parts: Vec::new(),
    })
}

/// Whether `build` is newer than `best` by `createdAt`, ties by `updatedAt` (RFC 3339; an
/// unreadable time counts as oldest; a build without an id never wins).
fn newer(build: &BuildDto, best: Option<&BuildDto>) -> bool {
    let key = |b: &BuildDto| {
        let at = |t: &Option<String>| t.as_deref().and_then(super::parse_rfc3339).unwrap_or(i64::MIN);
        (at(&b.created_at), at(&b.updated_at))
    };
    build.id.is_some() && best.is_none_or(|best| key(build) > key(best))
}

impl Provider for Pipecat {
    fn planned_urls(&self, target: &Target) -> Vec<String> {
        match target {
            Target::BuildId(id) => vec![
                self.url(&["builds", id], &[]).to_string(),
                self.url(&["builds", id, "logs"], &[("limit", "500")]).to_string(),
            ],
            Target::ContextHash { hash, region } => vec![
                self.list_url(hash, region.as_deref(), 0).to_string(),
                self.url(&["builds", "{id}"], &[]).to_string().replace("%7Bid%7D", "{id}"),
            ],
        }
    }

    async fn snapshot(&self, id: &str, until: Instant) -> Result<Snapshot, FetchError> {
        let answer = self.get(self.url(&["builds", id], &[]), until, &format!("build {id}")).await?;
        let response: GetBuildResponse = parse_json(&answer, "build")?;
        let build = response
            .build
            .ok_or_else(|| FetchError::Unreadable { reason: "the build answer has no `build` object".into() })?;
        snapshot_of(id, build)
    }

    async fn log_window(&self, id: &str, limit: usize, until: Instant) -> Option<Result<Vec<String>, FetchError>> {
        let limit_text = limit.to_string();
        let url = self.url(&["builds", id, "logs"], &[("limit", &limit_text)]);
        let read = async {
            let answer = self.get(url, until, &format!("the logs of build {id}")).await?;
            let response: LogsResponse = parse_json(&answer, "logs")?;
            Ok(response
                .logs
                .into_iter()
                .map(|entry| match entry {
                    LogEntry::Line(line) => line,
                    LogEntry::Object { message } => message.unwrap_or_default(),
                    LogEntry::Other(value) => value.to_string(),
                })
                .collect())
        };
        Some(read.await)
    }

    async fn find_by_context_hash(
        &self,
        hash: &str,
        region: Option<&str>,
        page_timeout: Duration,
        deadline: Instant,
    ) -> Result<Option<Found>, FetchError> {
        let (mut seen, mut best): (usize, Option<BuildDto>) = (0, None);
        for _ in 0..MAX_PAGES {
            let url = self.list_url(hash, region, seen);
            let until = (Instant::now() + page_timeout).min(deadline);
            let answer = self.get(url, until, &format!("the builds with context hash {hash}")).await?;
            let page: ListBuildsResponse = parse_json(&answer, "list builds")?;
            let got = page.builds.len();
            seen += got;
            // Only the newest so far is kept, however many pages there are.
            for build in page.builds {
                if newer(&build, best.as_ref()) {
                    best = Some(build);
                }
            }
            if got == 0 || seen >= page.total.unwrap_or(seen) {
                break;
            }
        }
        let Some(build) = best else { return Ok(None) };
        let id = build.id.unwrap_or_default();
        if !crate::config::is_uuid(&id) {
            return Err(FetchError::Unreadable {
                reason: format!("the newest listed build has an id that is not a UUID: {id:?}"),
            });
        }
        Ok(Some(Found { id, created_at: build.created_at.unwrap_or_else(|| "unknown".into()), matched: seen }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(json: serde_json::Value) -> Result<Snapshot, FetchError> {
        snapshot_of("req-id", serde_json::from_value(json).unwrap())
    }

    #[test]
    fn a_successful_build_is_normalised() {
        let s = build(serde_json::json!({
            "id": "b1", "status": "success", "imageUri": "img:1", "logsUrl": "https://logs",
            "buildDurationSeconds": 120, "startedAt": "2026-02-20T12:00:00Z", "somethingNew": {"x": 1}
        }))
        .unwrap();
        assert_eq!(s.state, BuildState::Succeeded);
        assert_eq!(
            (s.image_uri.as_deref(), s.duration_secs, s.logs_url.as_deref()),
            (Some("img:1"), Some(120), Some("https://logs"))
        );
    }

    #[test]
    fn wrong_types_and_absurd_values_are_dropped_not_fatal() {
        let s = build(serde_json::json!({
            "status": "failed", "buildDurationSeconds": -3, "imageUri": 42, "errorMessage": "boom",
            "startedAt": "2026-02-20T12:00:00Z", "completedAt": "2026-02-20T12:00:30Z"
        }))
        .unwrap();
        assert_eq!(
            (s.id.as_str(), s.state, s.duration_secs, s.image_uri),
            ("req-id", BuildState::Failed, Some(30), None)
        );
        assert!(matches!(build(serde_json::json!({"status": 7})), Err(FetchError::Unreadable { .. })));
    }

    #[test]
    fn unknown_statuses_are_still_in_progress() {
        let s = build(serde_json::json!({"status": "queued"})).unwrap();
        assert_eq!(s.state, BuildState::Unknown);
        assert!(!s.state.is_terminal());
    }

    #[test]
    fn the_newest_build_wins_ties_broken_by_update() {
        let builds: Vec<BuildDto> = serde_json::from_value(serde_json::json!([
            {"id": "old", "createdAt": "2026-02-20T12:00:00Z"},
            {"id": "tie-early", "createdAt": "2026-02-21T12:00:00Z", "updatedAt": "2026-02-21T12:00:00Z"},
            {"id": "tie-late", "createdAt": "2026-02-21T13:00:00+01:00", "updatedAt": "2026-02-21T12:05:00Z"},
            {"createdAt": "2030-01-01T00:00:00Z"}
        ]))
        .unwrap();
        let best = builds.iter().fold(None, |best, b| if newer(b, best) { Some(b) } else { best });
        assert_eq!(best.and_then(|b| b.id.as_deref()), Some("tie-late"));
    }
}
