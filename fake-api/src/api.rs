//! The two APIs' routes: classifying a request and computing its normal (unfaulted) answer.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use crate::http::{Request, Response};
use crate::scenario::{
    ClockSkew, FieldOverride, LogEntry, LogText, PipecatBuild, PrimeArtifact, PrimeBuild, Route, Scenario,
};
use crate::time;

/// Gap between a build's creation and its start when `started_at` is not given.
const DEFAULT_START_DELAY: Duration = Duration::from_secs(2);
/// Prime builds' default run time when `completed_at` is not given.
const PRIME_DEFAULT_DURATION: Duration = Duration::from_secs(120);

/// What a request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    GetBuild(String),
    ListBuilds,
    Logs(String),
    Prime(String),
    Unknown,
}

impl Target {
    /// Classifies a raw (not decoded) path.
    pub fn of_path(path: &str) -> Target {
        let path = path.strip_prefix('/').unwrap_or(path);
        let segments: Vec<String> = path.split('/').map(|s| crate::http::percent_decode(s, false)).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        match segments.as_slice() {
            ["v1", "builds"] => Target::ListBuilds,
            ["v1", "builds", id] => Target::GetBuild((*id).to_string()),
            ["v1", "builds", id, "logs"] => Target::Logs((*id).to_string()),
            ["api", "v1", "images", "build", id] if !id.is_empty() => Target::Prime((*id).to_string()),
            _ => Target::Unknown,
        }
    }

    pub fn route(&self) -> Option<Route> {
        match self {
            Target::GetBuild(_) => Some(Route::GetBuild),
            Target::ListBuilds => Some(Route::ListBuilds),
            Target::Logs(_) => Some(Route::Logs),
            Target::Prime(_) => Some(Route::PrimeBuild),
            Target::Unknown => None,
        }
    }
}

/// When one build's clock started: on the monotonic clock, and by the local wall clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Started {
    pub at: Instant,
    pub wall: SystemTime,
}

/// When each build's clock started, parallel to the scenario's build lists.
#[derive(Clone, Debug)]
pub(crate) struct Clocks {
    pub pipecat: Vec<Option<Started>>,
    pub prime: Vec<Option<Started>>,
    /// When each build was last named, for [`Scenario::restart_idle`].
    last: (Vec<Option<Instant>>, Vec<Option<Instant>>),
}

impl Clocks {
    pub fn new(scenario: &Scenario) -> Clocks {
        let (pipecat, prime) = (scenario.pipecat_builds.len(), scenario.prime_builds.len());
        Clocks {
            pipecat: vec![None; pipecat],
            prime: vec![None; prime],
            last: (vec![None; pipecat], vec![None; prime]),
        }
    }

    /// Starts the clock of the (already appeared) build `target` names, if not yet started.
    pub fn touch(&mut self, scenario: &Scenario, target: &Target, since_start: Duration, now: Started) {
        let (slot, last, script_end) = match target {
            Target::GetBuild(id) | Target::Logs(id) => match pipecat_index(scenario, id, since_start) {
                Some(i) => (&mut self.pipecat[i], &mut self.last.0[i], script_end(&scenario.pipecat_builds[i].steps)),
                None => return,
            },
            Target::Prime(id) => match prime_index(scenario, id, since_start) {
                Some(i) => (&mut self.prime[i], &mut self.last.1[i], script_end(&scenario.prime_builds[i].steps)),
                None => return,
            },
            Target::ListBuilds | Target::Unknown => return,
        };
        let ended = slot.is_some_and(|s| now.at.saturating_duration_since(s.at) > script_end);
        let idle = scenario
            .restart_idle
            .is_some_and(|idle| last.is_some_and(|at| now.at.saturating_duration_since(at) >= idle));
        if ended && idle {
            *slot = None;
        }
        slot.get_or_insert(now);
        *last = Some(now.at);
    }
}

/// When a build's script has played out: its last step.
fn script_end(steps: &[(Duration, String)]) -> Duration {
    steps.iter().map(|(at, _)| *at).max().unwrap_or_default()
}

fn pipecat_index(scenario: &Scenario, id: &str, since_start: Duration) -> Option<usize> {
    scenario.pipecat_builds.iter().position(|b| b.id == id && b.appear_at <= since_start)
}

fn prime_index(scenario: &Scenario, id: &str, since_start: Duration) -> Option<usize> {
    scenario.prime_builds.iter().position(|b| b.id == id && b.appear_at <= since_start)
}

/// The server's state as seen by one answer.
pub(crate) struct View<'a> {
    pub scenario: &'a Scenario,
    pub clocks: &'a Clocks,
    pub start: Instant,
    /// The server's start by the local wall clock.
    pub start_wall: SystemTime,
    pub now: Instant,
}

/// The wall-clock frame a build's timestamps are written in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wall {
    /// When the build's clock started by the local clock (see [`PipecatBuild::timestamps_on_clock`]).
    pub origin: SystemTime,
    pub skew: ClockSkew,
}

impl Wall {
    /// Now, unskewed: the frame of answers that do not depend on it.
    #[cfg(test)]
    pub fn local() -> Wall {
        Wall { origin: SystemTime::now(), skew: ClockSkew::NONE }
    }

    /// The instant `offset` after the origin, as the server's clock reads it.
    fn at(&self, offset: Duration) -> SystemTime {
        self.skew.apply(self.origin.checked_add(offset).unwrap_or(self.origin))
    }

    /// [`Wall::at`] written RFC 3339 with milliseconds.
    fn stamp(&self, offset: Duration) -> String {
        time::rfc3339_millis(self.at(offset))
    }

    /// A fixed timestamp string as this server writes it (moved by the skew).
    fn fixed(&self, text: &str) -> String {
        time::shift(text, self.skew)
    }
}

impl View<'_> {
    fn since_start(&self) -> Duration {
        self.now.saturating_duration_since(self.start)
    }

    /// Time on a clock, or `None` if it has not started.
    fn on_clock(&self, started: Option<Started>) -> Option<Duration> {
        started.map(|started| self.now.saturating_duration_since(started.at))
    }

    /// The frame of Pipecat build `index`'s timestamps: its clock's start, or before that the
    /// server's start plus its `appear_at`.
    fn pipecat_wall(&self, index: usize) -> Wall {
        let build = &self.scenario.pipecat_builds[index];
        let origin = self.clocks.pipecat[index].map_or_else(
            || self.start_wall.checked_add(build.appear_at).unwrap_or(self.start_wall),
            |started| started.wall,
        );
        Wall { origin, skew: self.scenario.clock_skew }
    }

    /// The normal answer to `req`.
    pub fn answer(&self, req: &Request) -> Response {
        let target = Target::of_path(&req.path);
        let prime_style = matches!(target, Target::Prime(_)) || req.path.starts_with("/api/");
        if req.method != "GET" {
            let mut response = pipecat_error(405, "Method not allowed", "METHOD_NOT_ALLOWED");
            response.headers.push(("Allow".to_string(), "GET".to_string()));
            return response;
        }
        if !authorized(req, &self.scenario.api_key) {
            return if prime_style {
                Response::json(401, &json!({ "detail": "Not authenticated" }))
            } else {
                pipecat_error(401, "Unauthorized: invalid or missing API key", "UNAUTHORIZED")
            };
        }
        match target {
            Target::GetBuild(id) => self.get_build(&id),
            Target::ListBuilds => self.list_builds(req),
            Target::Logs(id) => self.logs(&id, req),
            Target::Prime(id) => self.prime(&id),
            Target::Unknown if prime_style => Response::json(404, &json!({ "detail": "Not Found" })),
            Target::Unknown => pipecat_error(404, "Not found", "NOT_FOUND"),
        }
    }

    /// The appeared Pipecat build `id`, its clock and its timestamps' frame, or the error answer.
    fn find_pipecat(&self, id: &str) -> Result<(&PipecatBuild, Option<Duration>, Wall), Response> {
        if !is_uuid(id) {
            return Err(pipecat_error(400, "Invalid build ID format", "INVALID_BUILD_ID"));
        }
        let index = pipecat_index(self.scenario, id, self.since_start())
            .ok_or_else(|| pipecat_error(404, "Build not found", "NOT_FOUND"))?;
        Ok((&self.scenario.pipecat_builds[index], self.on_clock(self.clocks.pipecat[index]), self.pipecat_wall(index)))
    }

    fn get_build(&self, id: &str) -> Response {
        match self.find_pipecat(id) {
            Ok((build, clock, wall)) => Response::json(200, &json!({ "build": pipecat_json(build, clock, &wall) })),
            Err(response) => response,
        }
    }

    fn list_builds(&self, req: &Request) -> Response {
        let limit = match int_param(req, "limit", 20, 1, 100) {
            Ok(limit) => limit,
            Err(()) => {
                return pipecat_error(400, "limit must be between 1 and 100", "INVALID_PARAMETER");
            }
        };
        let offset = match int_param(req, "offset", 0, 0, u64::MAX) {
            Ok(offset) => offset,
            Err(()) => {
                return pipecat_error(400, "offset must be a non-negative integer", "INVALID_PARAMETER");
            }
        };
        let filter = |name: &str| req.param(name).filter(|v| !v.is_empty());
        let (status, region, hash) = (filter("status"), filter("region"), filter("contextHash"));
        let since_start = self.since_start();
        let mut matching: Vec<(&PipecatBuild, Option<Duration>, Wall, String)> = self
            .scenario
            .pipecat_builds
            .iter()
            .enumerate()
            .zip(&self.clocks.pipecat)
            .filter(|((_, build), _)| build.appear_at <= since_start)
            .map(|((index, build), clock)| {
                let (clock, wall) = (self.on_clock(*clock), self.pipecat_wall(index));
                (build, clock, wall, pipecat_times(build, clock, &wall).created)
            })
            .filter(|(build, clock, _, _)| {
                status.as_deref().is_none_or(|s| pipecat_status(build, *clock) == s)
                    && region.as_deref().is_none_or(|r| build.region == r)
                    && hash.as_deref().is_none_or(|h| build.context_hash == h)
            })
            .collect();
        // Newest first by `createdAt` as served (the fixed string, or the one on the clock).
        matching.sort_by(|a, b| b.3.cmp(&a.3));
        let total = matching.len();
        let builds: Vec<Value> = matching
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(build, clock, wall, _)| pipecat_json(build, clock, &wall))
            .collect();
        Response::json(200, &json!({ "builds": builds, "total": total, "limit": limit, "offset": offset }))
    }

    fn logs(&self, id: &str, req: &Request) -> Response {
        let (build, clock, wall) = match self.find_pipecat(id) {
            Ok(found) => found,
            Err(response) => return response,
        };
        let limit = if build.logs_ignore_limit {
            usize::MAX
        } else {
            match int_param(req, "limit", 500, 1, 10_000) {
                Ok(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
                Err(()) => {
                    return pipecat_error(400, "limit must be between 1 and 10000", "INVALID_PARAMETER");
                }
            }
        };
        let limit = build.logs_cap.map_or(limit, |cap| limit.min(cap));
        let now = clock.unwrap_or(Duration::ZERO);
        let restarted = build.log_restarts.iter().filter(|at| **at <= now).max().copied().unwrap_or(Duration::ZERO);
        let mut visible: Vec<&LogEntry> =
            build.logs.iter().filter(|entry| restarted <= entry.at && entry.at <= now).collect();
        visible.sort_by_key(|entry| entry.at);
        let tail = &visible[visible.len().saturating_sub(limit)..];
        // Assembled as bytes: a raw entry need not be valid JSON, nor even UTF-8.
        let mut body = b"{\"logs\":[".to_vec();
        // Where the entries' own times count from: the clock's start, or `createdAt`.
        let base =
            if build.on_clock { wall.origin } else { time::to_system_time(&build.created_at).unwrap_or(wall.origin) };
        let entry_time = |at: Duration| Wall { origin: base, skew: wall.skew }.at(at);
        let mut container;
        for (i, entry) in tail.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            let line = match &entry.text {
                LogText::Raw(raw) => {
                    body.extend_from_slice(raw);
                    continue;
                }
                LogText::Line(line) => line.as_str(),
                LogText::Growing(steps) => {
                    steps.iter().rfind(|(at, _)| *at <= now).map_or("", |(_, text)| text.as_str())
                }
                LogText::Container(text) => {
                    container = format!("[Container] {} {text}", time::codebuild_stamp(entry_time(entry.at)));
                    container.as_str()
                }
            };
            let value = if build.log_objects {
                let timestamp = if build.on_clock {
                    time::rfc3339_millis(entry_time(entry.at))
                } else {
                    wall.fixed(
                        &time::add(&build.created_at, entry.at, true).unwrap_or_else(|| build.created_at.clone()),
                    )
                };
                json!({ "message": line, "timestamp": timestamp })
            } else {
                json!(line)
            };
            body.extend_from_slice(value.to_string().as_bytes());
        }
        body.extend_from_slice(b"]}");
        Response::json_bytes(200, body)
    }

    fn prime(&self, id: &str) -> Response {
        match prime_index(self.scenario, id, self.since_start()) {
            Some(index) => Response::json(
                200,
                &prime_json(
                    &self.scenario.prime_builds[index],
                    self.on_clock(self.clocks.prime[index]),
                    self.scenario.clock_skew,
                ),
            ),
            None => Response::json(404, &json!({ "detail": "Build not found" })),
        }
    }
}

/// Whether the request carries `Authorization: Bearer <key>` (scheme case-insensitive).
fn authorized(req: &Request, key: &str) -> bool {
    req.header("authorization")
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && token.trim() == key)
}

/// A Pipecat-style `{"error", "code"}` answer.
pub(crate) fn pipecat_error(status: u16, message: &str, code: &str) -> Response {
    Response::json(status, &json!({ "error": message, "code": code }))
}

/// An integer query parameter within `min..=max`, `default` when absent.
fn int_param(req: &Request, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ()> {
    match req.param(name) {
        None => Ok(default),
        Some(value) => match value.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(()),
        },
    }
}

/// 8-4-4-4-12 hexadecimal digits.
pub(crate) fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The step of a timeline shown at `clock`: the latest step reached, `None` before the first
/// one; a clock not yet started (`None`) shows the first step.
fn step_at(steps: &[(Duration, String)], clock: Option<Duration>) -> Option<&(Duration, String)> {
    match clock {
        Some(t) => steps.iter().filter(|(at, _)| *at <= t).max_by_key(|(at, _)| *at),
        None => steps.iter().min_by_key(|(at, _)| *at),
    }
}

/// The status of a timeline at `clock` ([`step_at`]), `default` before the first step.
fn status_at<'a>(steps: &'a [(Duration, String)], clock: Option<Duration>, default: &'a str) -> &'a str {
    step_at(steps, clock).map_or(default, |(_, status)| status.as_str())
}

fn pipecat_status(build: &PipecatBuild, clock: Option<Duration>) -> &str {
    status_at(&build.steps, clock, "pending")
}

fn apply_fields(map: &mut Map<String, Value>, fields: &[FieldOverride]) {
    for (name, value) in fields {
        match value {
            Some(value) => map.insert(name.clone(), value.clone()),
            None => map.remove(name),
        };
    }
}

/// A Pipecat build's timestamps as served at `clock`, in the frame `wall`.
struct PipecatTimes {
    created: String,
    updated: String,
    started: String,
    /// Served once terminal.
    completed: String,
    duration_seconds: i64,
}

fn pipecat_times(build: &PipecatBuild, clock: Option<Duration>, wall: &Wall) -> PipecatTimes {
    if !build.on_clock {
        let started =
            build.started_at.clone().unwrap_or_else(|| time::add_or_keep(&build.created_at, DEFAULT_START_DELAY));
        let completed = build.completed_at.clone().unwrap_or_else(|| {
            let seconds = u64::try_from(build.duration_seconds).unwrap_or(0);
            time::add_or_keep(&started, Duration::from_secs(seconds))
        });
        return PipecatTimes {
            created: wall.fixed(&build.created_at),
            updated: wall.fixed(build.updated_at.as_ref().unwrap_or(&build.created_at)),
            started: wall.fixed(&started),
            completed: wall.fixed(&completed),
            duration_seconds: build.duration_seconds,
        };
    }
    let first = build.steps.iter().map(|(at, _)| *at).min().unwrap_or(Duration::ZERO);
    let mut by_time: Vec<&(Duration, String)> = build.steps.iter().collect();
    by_time.sort_by_key(|(at, _)| *at);
    let started =
        by_time.iter().find(|(_, status)| status != "pending").map_or(first + DEFAULT_START_DELAY, |(at, _)| *at);
    let reached = step_at(&build.steps, clock).map_or(first, |(at, _)| *at);
    let seconds = (time::unix_millis(wall.at(reached)) - time::unix_millis(wall.at(started))).div_euclid(1_000);
    PipecatTimes {
        created: wall.stamp(first),
        updated: wall.stamp(reached),
        started: wall.stamp(started),
        completed: wall.stamp(reached),
        duration_seconds: seconds.max(0),
    }
}

/// A Pipecat build object as of `clock`, its timestamps in the frame `wall`.
pub(crate) fn pipecat_json(build: &PipecatBuild, clock: Option<Duration>, wall: &Wall) -> Value {
    let status = pipecat_status(build, clock);
    let terminal = matches!(status, "success" | "failed" | "timeout");
    let times = pipecat_times(build, clock, wall);
    let mut map = Map::new();
    map.insert("id".into(), json!(build.id));
    map.insert("organizationId".into(), json!("org_test"));
    map.insert("status".into(), json!(status));
    map.insert("region".into(), json!(build.region));
    map.insert("contextHash".into(), json!(build.context_hash));
    map.insert("dockerfilePath".into(), json!(build.dockerfile_path));
    map.insert("createdAt".into(), json!(times.created));
    map.insert("updatedAt".into(), json!(times.updated));
    map.insert("contextSizeBytes".into(), json!(10_485_760));
    if status != "pending" {
        map.insert("startedAt".into(), json!(times.started));
    }
    if terminal {
        map.insert("completedAt".into(), json!(times.completed));
        map.insert("buildDurationSeconds".into(), json!(times.duration_seconds));
    }
    if status == "success" {
        let uri = build.image_uri.clone().unwrap_or_else(|| {
            format!("123456789.dkr.ecr.us-west-2.amazonaws.com/pipecat-cloud/org_test:{}", build.context_hash)
        });
        map.insert("imageUri".into(), json!(uri));
        map.insert("imageSizeBytes".into(), json!(524_288_000));
    }
    if status == "failed" || status == "timeout" {
        let message = build.error_message.clone().unwrap_or_else(|| {
            if status == "failed" {
                "Docker build failed: COPY failed - file not found: requirements.txt".to_string()
            } else {
                "Build timed out".to_string()
            }
        });
        map.insert("errorMessage".into(), json!(message));
    }
    if let Some(url) = &build.logs_url {
        map.insert("logsUrl".into(), json!(url));
    }
    apply_fields(&mut map, &build.fields);
    Value::Object(map)
}

fn prime_started(status: &str) -> bool {
    !matches!(status, "PENDING" | "UPLOADING")
}

fn prime_terminal(status: &str) -> bool {
    matches!(status, "COMPLETED" | "FAILED" | "CANCELLED")
}

/// A Prime BuildStatusResponse as of `clock`, its timestamps moved by `skew`.
pub(crate) fn prime_json(build: &PrimeBuild, clock: Option<Duration>, skew: ClockSkew) -> Value {
    let snake = build.snake_case;
    let key = |camel: &str, snake_name: &str| {
        if snake { snake_name.to_string() } else { camel.to_string() }
    };
    let status = status_at(&build.steps, clock, "PENDING");
    let started = build.started_at.clone().unwrap_or_else(|| time::add_or_keep(&build.created_at, DEFAULT_START_DELAY));
    let completed = build.completed_at.clone().unwrap_or_else(|| time::add_or_keep(&started, PRIME_DEFAULT_DURATION));
    let (created, started, completed) =
        (time::shift(&build.created_at, skew), time::shift(&started, skew), time::shift(&completed, skew));
    let started_if = |s: &str| prime_started(s).then(|| started.clone());
    let completed_if = |s: &str| prime_terminal(s).then(|| completed.clone());
    let artifact_json = |artifact: &PrimeArtifact| {
        let own = status_at(&artifact.steps, clock, status);
        let mut map = Map::new();
        map.insert("id".into(), json!(artifact.id));
        map.insert(key("artifactType", "artifact_type"), json!(artifact.artifact_type));
        map.insert("status".into(), json!(own));
        let path = artifact
            .full_image_path
            .clone()
            .unwrap_or_else(|| format!("registry.primeintellect.ai/{}:{}", build.image_name, build.image_tag));
        map.insert(key("fullImagePath", "full_image_path"), json!((own == "COMPLETED").then_some(path)));
        let message = artifact.error_message.clone().unwrap_or_else(|| "Image build failed".to_string());
        map.insert(key("errorMessage", "error_message"), json!((own == "FAILED").then_some(message)));
        map.insert(key("createdAt", "created_at"), json!(created));
        map.insert(key("startedAt", "started_at"), json!(started_if(own)));
        map.insert(key("completedAt", "completed_at"), json!(completed_if(own)));
        apply_fields(&mut map, &artifact.fields);
        Value::Object(map)
    };
    // A clock not yet started shows the first step's moment, as `status_at` does.
    let shown_at = clock.or_else(|| build.steps.iter().map(|(at, _)| *at).min()).unwrap_or(Duration::ZERO);
    let artifacts: Vec<Value> =
        build.artifacts.iter().filter(|artifact| artifact.appear_at <= shown_at).map(artifact_json).collect();
    let mut map = Map::new();
    map.insert("id".into(), json!(build.id));
    map.insert(key("imageName", "image_name"), json!(build.image_name));
    map.insert(key("imageTag", "image_tag"), json!(build.image_tag));
    map.insert("status".into(), json!(status));
    map.insert(key("createdAt", "created_at"), json!(created));
    map.insert(key("startedAt", "started_at"), json!(started_if(status)));
    map.insert(key("completedAt", "completed_at"), json!(completed_if(status)));
    map.insert("artifacts".into(), Value::Array(artifacts));
    apply_fields(&mut map, &build.fields);
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_paths() {
        assert_eq!(Target::of_path("/v1/builds"), Target::ListBuilds);
        assert_eq!(Target::of_path("/v1/builds/x"), Target::GetBuild("x".into()));
        assert_eq!(Target::of_path("/v1/builds/x/logs"), Target::Logs("x".into()));
        assert_eq!(Target::of_path("/api/v1/images/build/a%2Fb"), Target::Prime("a/b".into()));
        assert_eq!(Target::of_path("/api/v1/images/build/"), Target::Unknown);
        assert_eq!(Target::of_path("/v2/builds"), Target::Unknown);
    }

    #[test]
    fn recognises_uuids() {
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_uuid("123E4567-E89B-12D3-A456-426614174000"));
        assert!(!is_uuid("123e4567-e89b-12d3-a456-42661417400"));
        assert!(!is_uuid("123e4567e89b12d3a456426614174000"));
        assert!(!is_uuid("g23e4567-e89b-12d3-a456-426614174000"));
    }

    #[test]
    fn pipecat_fields_follow_status() {
        let ms = Duration::from_millis;
        let build = PipecatBuild::new("123e4567-e89b-12d3-a456-426614174000")
            .step(ms(10), "building")
            .step(ms(20), "success")
            .logs_url("https://logs.example/1")
            .field("extra", json!(7));
        let wall = Wall::local();
        let before = pipecat_json(&build, None, &wall);
        assert_eq!(before["status"], "building");
        assert_eq!(before["startedAt"], "2026-02-20T12:00:02.000Z");
        assert!(before.get("completedAt").is_none());
        assert_eq!(before["logsUrl"], "https://logs.example/1");
        assert_eq!(before["extra"], 7);
        let done = pipecat_json(&build, Some(ms(25)), &wall);
        assert_eq!(done["status"], "success");
        assert_eq!(done["completedAt"], "2026-02-20T12:02:02.000Z");
        assert_eq!(done["buildDurationSeconds"], 120);
        assert!(done["imageUri"].as_str().unwrap().ends_with(":a1b2c3d4e5f6a7b8"));
        assert!(done.get("errorMessage").is_none());
        let pending = pipecat_json(&PipecatBuild::new("x"), Some(ms(1_000)), &wall);
        assert_eq!(pending["status"], "pending");
        assert!(pending.get("startedAt").is_none());
    }

    #[test]
    fn prime_fields_follow_status_and_case() {
        let ms = Duration::from_millis;
        let build = PrimeBuild::new("b1")
            .step(ms(0), "UPLOADING")
            .step(ms(10), "BUILDING")
            .step(ms(20), "FAILED")
            .artifact(PrimeArtifact::new("a1", "CONTAINER_IMAGE").step(ms(15), "COMPLETED"))
            .artifact(PrimeArtifact::new("a2", "VM_SANDBOX"));
        let early = prime_json(&build, Some(ms(5)), ClockSkew::NONE);
        assert_eq!(early["status"], "UPLOADING");
        assert_eq!(early["startedAt"], Value::Null);
        assert_eq!(early["artifacts"][0]["status"], "UPLOADING");
        assert_eq!(early["artifacts"][1]["status"], "UPLOADING");
        let late = prime_json(&build.clone().snake_case(true), Some(ms(30)), ClockSkew::NONE);
        assert_eq!(late["status"], "FAILED");
        assert_eq!(late["completed_at"], "2026-02-20T12:02:02Z");
        assert_eq!(late["artifacts"][0]["full_image_path"], "registry.primeintellect.ai/my-image:latest");
        assert_eq!(late["artifacts"][1]["error_message"], "Image build failed");
        assert_eq!(late["artifacts"][1]["full_image_path"], Value::Null);
        assert!(late.get("createdAt").is_none());
    }
}
