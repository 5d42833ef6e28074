//! Prime Intellect's image build status API. The `CONTAINER_IMAGE` artifact decides the outcome
//! when the build has one; builds of VM images (the current Prime CLI's) have only `VM_SANDBOX`
//! artifacts, and there the build's own status decides.

use std::collections::HashMap;

use reqwest::Url;
use serde_json::Value;

use super::json::{array, read_answer, seconds_between, text};
use super::{BuildState, Found, Image, Part, Provider, Snapshot, Target};
use crate::http::{Deadline, FetchError, Http, Refusal};
use crate::logs::LogWindow;

const CONTAINER: &str = "CONTAINER_IMAGE";
const VM: &str = "VM_SANDBOX";

pub struct Prime {
    http: Http,
    base: Url,
}

impl Prime {
    pub fn new(http: Http, base: Url) -> Self {
        Prime { http, base }
    }

    fn url(&self, id: &str) -> Url {
        url(&self.base, id)
    }
}

/// The build status URL; the id is percent-encoded as one path segment.
fn url(base: &Url, id: &str) -> Url {
    let mut url = base.clone();
    url.path_segments_mut()
        .expect("validated http(s) base URL")
        .pop_if_empty()
        .extend(["api", "v1", "images", "build", id]);
    url
}

/// The URLs the gate would request, for the dry run.
pub fn planned_urls(base: &Url, target: &Target) -> Vec<String> {
    match target {
        Target::BuildId(id) => vec![url(base, id).to_string()],
        Target::ContextHash { .. } => Vec::new(),
    }
}

/// `{detail}` (`FastAPI`) or `{errors: [{param, details}]}` (the documented 422 body).
fn error_detail(body: &Value) -> String {
    let mut parts: Vec<String> = array(body, "errors")
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                text(e, &["param"]).unwrap_or_else(|| "?".into()),
                text(e, &["details"]).unwrap_or_default()
            )
        })
        .collect();
    match body.get("detail") {
        Some(Value::String(s)) => parts.push(s.clone()),
        Some(Value::Null) | None => {}
        Some(other) => parts.push(other.to_string()),
    }
    parts.join("; ")
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

fn phase_of(status: &str) -> Option<&'static str> {
    match status {
        "PENDING" => Some("queued"),
        "UPLOADING" => Some("uploading the build context"),
        "BUILDING" => Some("building"),
        _ => None,
    }
}

/// The API mixes camelCase and `snake_case` names: both are read (camelCase first).
struct Artifact<'a>(&'a Value);

impl Artifact<'_> {
    /// The `OpenAPI` document's default for a missing `artifactType` is `CONTAINER_IMAGE`.
    fn kind(&self) -> String {
        text(self.0, &["artifactType", "artifact_type"]).unwrap_or_else(|| CONTAINER.into())
    }

    fn status(&self) -> Option<String> {
        text(self.0, &["status"])
    }

    fn image_path(&self) -> Option<String> {
        text(self.0, &["fullImagePath", "full_image_path"]).filter(|p| !p.trim().is_empty())
    }

    fn error(&self) -> Option<String> {
        text(self.0, &["errorMessage", "error_message"])
    }
}

fn snapshot_of(requested_id: &str, build: &Value) -> Result<Snapshot, FetchError> {
    let provider_status = text(build, &["status"])
        .ok_or_else(|| FetchError::Unreadable { reason: "the build status answer has no readable `status`".into() })?;
    let artifacts: Vec<Artifact> = array(build, "artifacts").iter().map(Artifact).collect();
    let container = artifacts.iter().find(|a| a.kind() == CONTAINER);
    // The container image decides when there is one; `provider-status` stays the build's own.
    let deciding = container.and_then(Artifact::status).unwrap_or_else(|| provider_status.clone());
    let state = state_of(&deciding);
    let failing = artifacts.iter().find(|a| a.status().as_deref() == Some("FAILED") && a.error().is_some());
    let started = text(build, &["startedAt", "started_at"]);
    let completed = text(build, &["completedAt", "completed_at"]);
    Ok(Snapshot {
        id: text(build, &["id"]).unwrap_or_else(|| requested_id.to_string()),
        state,
        phase: phase_of(&provider_status),
        provider_status,
        image: image_of(build, &artifacts, container),
        duration_secs: seconds_between(started.as_deref(), completed.as_deref()).filter(|_| state.is_terminal()),
        logs_url: None,
        error_message: container
            .and_then(Artifact::error)
            .or_else(|| failing.and_then(Artifact::error))
            .or_else(|| text(build, &["errorMessage", "error_message"])),
        parts: parts_of(&artifacts),
        timing: super::Timing::default(),
    })
}

/// The container artifact's path; without a container artifact, the first completed VM
/// sandbox's path, else `imageName:imageTag`.
fn image_of(build: &Value, artifacts: &[Artifact], container: Option<&Artifact>) -> Result<Image, &'static str> {
    if let Some(container) = container {
        return container
            .image_path()
            .map(|uri| Image { uri, source: "the CONTAINER_IMAGE artifact's fullImagePath" })
            .ok_or("the CONTAINER_IMAGE artifact has no `fullImagePath`");
    }
    let mut vm = artifacts.iter().filter(|a| a.kind() == VM && a.status().as_deref() == Some("COMPLETED"));
    if let Some(uri) = vm.find_map(Artifact::image_path) {
        return Ok(Image { uri, source: "the completed VM_SANDBOX artifact's fullImagePath" });
    }
    match (text(build, &["imageName", "image_name"]), text(build, &["imageTag", "image_tag"])) {
        (Some(name), Some(tag)) if !name.trim().is_empty() && !tag.trim().is_empty() => {
            Ok(Image { uri: format!("{name}:{tag}"), source: "the build's imageName:imageTag" })
        }
        _ => Err("the build has no CONTAINER_IMAGE artifact, no completed VM_SANDBOX artifact with a \
                  `fullImagePath`, and no `imageName` and `imageTag`"),
    }
}

/// One part per artifact; a kind that repeats gets its position, so each part keeps a name of
/// its own from poll to poll. Linear in the number of artifacts.
fn parts_of(artifacts: &[Artifact]) -> Vec<Part> {
    let mut per_kind: HashMap<String, usize> = HashMap::new();
    for a in artifacts {
        *per_kind.entry(a.kind()).or_default() += 1;
    }
    artifacts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let kind = a.kind();
            let name =
                if per_kind[&kind] > 1 { format!("artifact {kind} #{}", i + 1) } else { format!("artifact {kind}") };
            Part { name, status: a.status().unwrap_or_else(|| "unknown".into()), image: a.image_path(), kind }
        })
        .collect()
}

impl Provider for Prime {
    async fn snapshot(&self, id: &str, deadline: Deadline) -> Result<Snapshot, FetchError> {
        let answer = self.http.get(self.url(id), deadline).await?;
        snapshot_of(id, &read_answer(&answer, &format!("build {id}"), error_detail)?)
    }

    async fn log_window(&self, _: &str, _: usize, _: Deadline) -> Option<Result<LogWindow, FetchError>> {
        None
    }

    async fn find_by_context_hash(
        &self,
        _: &str,
        _: (Option<&str>, Option<&str>),
        _: Deadline,
    ) -> Result<Option<Found>, FetchError> {
        Err(FetchError::Refused(Refusal::Unsupported("Prime Intellect builds cannot be found by context hash")))
    }

    /// Prime's API lists no builds: its builds are polled on the plain backoff.
    async fn history(&self, _: &super::Like, _: Deadline) -> Option<Result<super::History, FetchError>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(value: &Value) -> Snapshot {
        snapshot_of("b1", value).unwrap()
    }

    #[test]
    fn the_container_artifact_decides_and_names_the_image() {
        let s = snapshot(&json!({
            "id": "b1", "status": "FAILED", "startedAt": "2026-02-20T12:00:00Z", "completed_at": "2026-02-20T12:01:05Z",
            "artifacts": [
                {"artifactType": "VM_SANDBOX", "status": "FAILED", "errorMessage": "vm broke"},
                {"artifact_type": "CONTAINER_IMAGE", "status": "COMPLETED", "full_image_path": "reg/img:1"}
            ]
        }));
        assert_eq!((s.state, s.duration_secs), (BuildState::Succeeded, Some(65)));
        assert_eq!(s.image.unwrap().uri, "reg/img:1");
        assert_eq!((s.parts[0].name.as_str(), s.parts[0].status.as_str()), ("artifact VM_SANDBOX", "FAILED"));
        let twins = snapshot(&json!({"status": "BUILDING", "artifacts": [
            {"artifactType": "VM_SANDBOX", "status": "BUILDING"}, {"artifactType": "VM_SANDBOX", "status": "PENDING"}
        ]}));
        assert_eq!(twins.parts[0].name, "artifact VM_SANDBOX #1");
        assert_eq!(twins.parts[1].name, "artifact VM_SANDBOX #2");
    }

    #[test]
    fn vm_image_builds_name_their_image_by_the_rule() {
        let vm = |status: &str, path: Option<&str>| json!({"artifactType": "VM_SANDBOX", "status": status, "fullImagePath": path});
        let base = |artifacts: Value| json!({"status": "COMPLETED", "imageName": "team/img", "imageTag": "v2", "artifacts": artifacts});
        let s = snapshot(&base(json!([
            vm("FAILED", Some("reg/failed")),
            vm("COMPLETED", Some("reg/vm:1")),
            vm("COMPLETED", Some("reg/vm:2"))
        ])));
        assert_eq!((s.state, s.image.unwrap().uri.as_str()), (BuildState::Succeeded, "reg/vm:1"));
        let s = snapshot(&base(json!([vm("COMPLETED", None)])));
        assert_eq!(
            s.image.clone().unwrap(),
            Image { uri: "team/img:v2".into(), source: "the build's imageName:imageTag" }
        );
        let s = snapshot(&base(json!([])));
        assert_eq!(s.image.unwrap().uri, "team/img:v2");
        let none = snapshot(&json!({"status": "COMPLETED", "artifacts": [vm("COMPLETED", None)]}));
        assert!(none.image.unwrap_err().contains("imageName"));
        let building = snapshot(&json!({"status": "UPLOADING"}));
        assert_eq!((building.state, building.phase), (BuildState::Pending, Some("uploading the build context")));
        let container_without_path = snapshot(&json!({"status": "COMPLETED", "imageName": "a", "imageTag": "b",
            "artifacts": [{"artifactType": "CONTAINER_IMAGE", "status": "COMPLETED"}]}));
        assert!(container_without_path.image.unwrap_err().contains("CONTAINER_IMAGE"));
    }

    #[test]
    fn failure_message_comes_from_the_failing_artifact_else_the_build() {
        let s = snapshot(&json!({
            "status": "FAILED", "errorMessage": "group failed",
            "artifacts": [{"artifactType": "CONTAINER_IMAGE", "status": "FAILED", "errorMessage": "pip install failed", "fullImagePath": null}]
        }));
        assert_eq!((s.state, s.error_message.as_deref()), (BuildState::Failed, Some("pip install failed")));
        let s = snapshot(&json!({"status": "FAILED", "error_message": "group failed", "artifacts": null}));
        assert_eq!(s.error_message.as_deref(), Some("group failed"));
        let untyped = snapshot(&json!({"status": "FAILED", "artifacts": [{"status": "FAILED"}]}));
        assert_eq!(untyped.parts[0].name, "artifact CONTAINER_IMAGE", "an untyped artifact is the container");
        assert_eq!(snapshot(&json!({"status": "WEIRD"})).state, BuildState::Unknown);
    }

    #[test]
    fn validation_errors_list_each_parameter() {
        let body = json!({"errors":[{"param":"build_id","details":"bad format"},{"param":"x","details":"y"}]});
        assert_eq!(error_detail(&body), "build_id: bad format; x: y");
        assert_eq!(error_detail(&json!({"detail":"Not authenticated"})), "Not authenticated");
    }
}
