//! Prime Intellect's image build status API; the `CONTAINER_IMAGE` artifact decides the outcome.

use serde::Deserialize;
use tokio::time::Instant;

use super::{BuildState, Found, Provider, Snapshot, lenient, parse_json, refusal, seconds_between, time_left};
use crate::config::Target;
use crate::http::{FetchError, Http};
use reqwest::Url;

pub struct Prime {
    http: Http,
    base: Url,
    key_source: &'static str,
}

/// The API mixes camelCase and snake_case names: both are read, as separate fields so that an
/// answer carrying both spellings is still readable (camelCase wins).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuildDto {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    started_at: Option<String>,
    #[serde(default, rename = "started_at", deserialize_with = "lenient")]
    started_at_snake: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    completed_at: Option<String>,
    #[serde(default, rename = "completed_at", deserialize_with = "lenient")]
    completed_at_snake: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    error_message: Option<String>,
    #[serde(default, rename = "error_message", deserialize_with = "lenient")]
    error_message_snake: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    artifacts: Option<Vec<ArtifactDto>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactDto {
    #[serde(default, deserialize_with = "lenient")]
    artifact_type: Option<String>,
    #[serde(default, rename = "artifact_type", deserialize_with = "lenient")]
    artifact_type_snake: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    full_image_path: Option<String>,
    #[serde(default, rename = "full_image_path", deserialize_with = "lenient")]
    full_image_path_snake: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    error_message: Option<String>,
    #[serde(default, rename = "error_message", deserialize_with = "lenient")]
    error_message_snake: Option<String>,
}

impl ArtifactDto {
    /// The OpenAPI's default for a missing `artifactType` is `CONTAINER_IMAGE`.
    fn kind(&self) -> &str {
        self.artifact_type.as_deref().or(self.artifact_type_snake.as_deref()).unwrap_or("CONTAINER_IMAGE")
    }

    fn image_path(&self) -> Option<String> {
        self.full_image_path.clone().or_else(|| self.full_image_path_snake.clone())
    }

    fn error(&self) -> Option<String> {
        self.error_message.clone().or_else(|| self.error_message_snake.clone())
    }
}

/// `{detail}` (FastAPI) or `{errors: [{param, details}]}` (the documented 422 body).
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, deserialize_with = "lenient")]
    detail: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient")]
    errors: Option<Vec<ErrorDetail>>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default, deserialize_with = "lenient")]
    param: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    details: Option<String>,
}

impl Prime {
    pub fn new(http: Http, base: Url, key_source: &'static str) -> Self {
        Prime { http, base, key_source }
    }

    fn url(&self, id: &str) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("validated http(s) base URL")
            .pop_if_empty()
            .extend(["api", "v1", "images", "build", id]);
        url
    }
}

fn state_of(status: &str) -> BuildState {
    match status {
        "PENDING" | "UPLOADING" => BuildState::Pending,
        "BUILDING" => BuildState::Running,
        "COMPLETED" => BuildState::Succeeded,
        "FAILED" => BuildState::Failed,
        "CANCELLED" => BuildState::Cancelled,
        _ => BuildState::Unknown,
    }
}

fn error_detail(body: &[u8]) -> String {
    let Ok(body) = serde_json::from_slice::<ErrorBody>(body) else { return String::new() };
    let mut parts: Vec<String> = body
        .errors
        .unwrap_or_default()
        .into_iter()
        .map(|e| format!("{}: {}", e.param.unwrap_or_else(|| "?".into()), e.details.unwrap_or_default()))
        .collect();
    match body.detail {
        Some(serde_json::Value::String(s)) => parts.push(s),
        Some(other) => parts.push(other.to_string()),
        None => {}
    }
    parts.join("; ")
}

fn snapshot_of(requested_id: &str, build: BuildDto) -> Result<Snapshot, FetchError> {
    let provider_status = build
        .status
        .ok_or_else(|| FetchError::Unreadable { reason: "the build status answer has no readable `status`".into() })?;
    let artifacts = build.artifacts.unwrap_or_default();
    let container = artifacts.iter().find(|a| a.kind() == "CONTAINER_IMAGE");
    // Container and VM sandbox artifacts can differ: the container image decides, when there is
    // one; `provider-status` stays the build's own status string.
    let state = state_of(container.and_then(|a| a.status.as_deref()).unwrap_or(&provider_status));
    let failing = artifacts.iter().find(|a| a.status.as_deref() == Some("FAILED") && a.error().is_some());
    let (started, completed) =
        (build.started_at.or(build.started_at_snake), build.completed_at.or(build.completed_at_snake));
    Ok(Snapshot {
        id: build.id.unwrap_or_else(|| requested_id.to_string()),
        state,
        provider_status,
        image_uri: container.and_then(ArtifactDto::image_path).filter(|_| state == BuildState::Succeeded),
        duration_secs: seconds_between(started.as_deref(), completed.as_deref()).filter(|_| state.is_terminal()),
        logs_url: None,
        error_message: container
            .and_then(ArtifactDto::error)
            .or_else(|| failing.and_then(ArtifactDto::error))
            .or(build.error_message)
            .or(build.error_message_snake),
        parts: part_statuses(&artifacts),
    })
}

/// `artifact KIND: STATUS` per artifact; a kind that repeats gets its position, so each part
/// keeps a name of its own from poll to poll.
fn part_statuses(artifacts: &[ArtifactDto]) -> Vec<(String, String)> {
    artifacts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let repeated = artifacts.iter().filter(|b| b.kind() == a.kind()).count() > 1;
            let name =
                if repeated { format!("artifact {} #{}", a.kind(), i + 1) } else { format!("artifact {}", a.kind()) };
            (name, a.status.clone().unwrap_or_else(|| "unknown".into()))
        })
        .collect()
}

impl Provider for Prime {
    fn planned_urls(&self, target: &Target) -> Vec<String> {
        match target {
            Target::BuildId(id) => vec![self.url(id).to_string()],
            Target::ContextHash { .. } => Vec::new(),
        }
    }

    async fn snapshot(&self, id: &str, until: Instant) -> Result<Snapshot, FetchError> {
        let answer = self.http.get(self.url(id), time_left(until)).await?;
        if !(200..300).contains(&answer.status) {
            let what = format!("build {id}");
            return Err(refusal(answer.status, &error_detail(&answer.body), self.key_source, &what));
        }
        snapshot_of(id, parse_json(&answer, "build status")?)
    }

    async fn log_window(&self, _id: &str, _limit: usize, _until: Instant) -> Option<Result<Vec<String>, FetchError>> {
        None
    }

    async fn find_by_context_hash(
        &self,
        _: &str,
        _: Option<&str>,
        _: std::time::Duration,
        _: Instant,
    ) -> Result<Option<Found>, FetchError> {
        Err(FetchError::Refused { message: "Prime Intellect builds cannot be found by context hash".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(json: serde_json::Value) -> Snapshot {
        snapshot_of("b1", serde_json::from_value(json).unwrap()).unwrap()
    }

    #[test]
    fn the_container_artifact_decides_and_names_the_image() {
        let s = snapshot(serde_json::json!({
            "id": "b1", "status": "FAILED", "startedAt": "2026-02-20T12:00:00Z", "completed_at": "2026-02-20T12:01:05Z",
            "artifacts": [
                {"artifactType": "VM_SANDBOX", "status": "FAILED", "errorMessage": "vm broke"},
                {"artifact_type": "CONTAINER_IMAGE", "status": "COMPLETED", "full_image_path": "reg/img:1"}
            ]
        }));
        assert_eq!(
            (s.state, s.image_uri.as_deref(), s.duration_secs),
            (BuildState::Succeeded, Some("reg/img:1"), Some(65))
        );
        assert_eq!(s.parts[0], ("artifact VM_SANDBOX".to_string(), "FAILED".to_string()));
        let twins = snapshot(serde_json::json!({"status": "BUILDING", "artifacts": [
            {"artifactType": "VM_SANDBOX", "status": "BUILDING"}, {"artifactType": "VM_SANDBOX", "status": "PENDING"}
        ]}));
        assert_eq!(twins.parts[0].0, "artifact VM_SANDBOX #1");
        assert_eq!(twins.parts[1].0, "artifact VM_SANDBOX #2");
    }

    #[test]
    fn failure_message_comes_from_the_failing_artifact_else_the_build() {
        let s = snapshot(serde_json::json!({
            "status": "FAILED", "errorMessage": "group failed",
            "artifacts": [{"artifactType": "CONTAINER_IMAGE", "status": "FAILED", "errorMessage": "pip install failed", "fullImagePath": null}]
        }));
        assert_eq!((s.state, s.error_message.as_deref()), (BuildState::Failed, Some("pip install failed")));
        let s = snapshot(serde_json::json!({"status": "FAILED", "error_message": "group failed", "artifacts": null}));
        assert_eq!(s.error_message.as_deref(), Some("group failed"));
        let both = snapshot(
            serde_json::json!({"status": "FAILED", "errorMessage": "group failed", "error_message": "x",
            "startedAt": "2026-02-20T12:00:00Z", "started_at": "2026-02-20T12:00:00Z", "completed_at": "2026-02-20T12:00:09Z",
            "artifacts": [{"status": "FAILED"}]}),
        );
        assert_eq!(
            (both.duration_secs, both.parts[0].0.as_str()),
            (Some(9), "artifact CONTAINER_IMAGE"),
            "an untyped artifact is the container"
        );
        assert_eq!(s.error_message.as_deref(), Some("group failed"));
        assert_eq!(snapshot(serde_json::json!({"status": "WEIRD"})).state, BuildState::Unknown);
        assert_eq!(snapshot(serde_json::json!({"status": "UPLOADING"})).state, BuildState::Pending);
    }

    #[test]
    fn validation_errors_list_each_parameter() {
        let body = br#"{"errors":[{"param":"build_id","details":"bad format"},{"param":"x","details":"y"}]}"#;
        assert_eq!(error_detail(body), "build_id: bad format; x: y");
        assert_eq!(error_detail(br#"{"detail":"Not authenticated"}"#), "Not authenticated");
    }
}
