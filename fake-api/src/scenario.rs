//! The scenario a fake server plays: builds with their timelines, and the faults to inject.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

/// The bearer token a [`Scenario`] expects unless told otherwise.
pub const DEFAULT_API_KEY: &str = "test-key-0123456789";

/// How long a server lives unless told otherwise (it stops by itself after that).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(120);

/// Everything one fake server serves.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Expected bearer token (default [`DEFAULT_API_KEY`]).
    pub api_key: String,
    pub pipecat_builds: Vec<PipecatBuild>,
    pub prime_builds: Vec<PrimeBuild>,
    /// Checked in order for every request; see [`Fault`].
    pub faults: Vec<Fault>,
    /// The server stops by itself this long after it started.
    pub lifetime: Duration,
    /// How every answer's body is encoded (default [`Compression::None`]); see [`Scenario::compression`].
    pub compression: Compression,
    /// How far the server's clock is off from the local one (default [`ClockSkew::NONE`]); see
    /// [`Scenario::clock_skew`].
    pub clock_skew: ClockSkew,
    /// Restart a build's clock when it is named again after its script ended and nobody asked
    /// for it this long (default: never); see [`Scenario::restart_when_idle`].
    pub restart_idle: Option<Duration>,
}

impl Scenario {
    pub fn new() -> Self {
        Scenario {
            api_key: DEFAULT_API_KEY.to_string(),
            pipecat_builds: Vec::new(),
            prime_builds: Vec::new(),
            faults: Vec::new(),
            lifetime: DEFAULT_LIFETIME,
            compression: Compression::None,
            clock_skew: ClockSkew::NONE,
            restart_idle: None,
        }
    }

    /// Every run of a client gets the build afresh: a build named again after its script has
    /// ended (its last step) and after `idle` without a request for it starts its clock over.
    /// For the server run by hand, so that a second run of the gate sees a whole build again.
    pub fn restart_when_idle(mut self, idle: Duration) -> Self {
        self.restart_idle = Some(idle);
        self
    }

    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    pub fn pipecat(mut self, build: PipecatBuild) -> Self {
        self.pipecat_builds.push(build);
        self
    }

    pub fn prime(mut self, build: PrimeBuild) -> Self {
        self.prime_builds.push(build);
        self
    }

    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sends every answer (every route, faults with a body included) with this
    /// `Content-Encoding` and its body so encoded, whether or not the request sent
    /// `Accept-Encoding`. A [`FaultKind::Compressed`] keeps its own encoding.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Plays a server whose clock is off from the local one by `skew`: every timestamp it writes
    /// is moved by it, the `Date` header included. That is: the on-clock timestamps
    /// ([`PipecatBuild::timestamps_on_clock`]), the times of [`PipecatBuild::finished`] builds
    /// (which are given by the local clock), the fixed `createdAt`/`startedAt`/... strings of
    /// every build (Prime builds included), log entry timestamps ([`PipecatBuild::log_objects`])
    /// and the stamps of [`PipecatBuild::container_log`] lines. Text the scenario gives verbatim
    /// is served as given: [`PipecatBuild::field`] values, log line text, and a fault's own
    /// headers (a [`FaultKind::Headers`] `Date` replaces the skewed one).
    pub fn clock_skew(mut self, skew: ClockSkew) -> Self {
        self.clock_skew = skew;
        self
    }

    /// Adds the `n` finished builds of [`PipecatBuild::history`] (`success`, every one ended
    /// before now, newest first by `createdAt`, durations spread around `median`).
    pub fn history(mut self, n: usize, median: Duration, spread: Duration, seed: u64) -> Self {
        self.pipecat_builds.extend(PipecatBuild::history(n, median, spread, seed));
        self
    }
}

/// How far a server's clock is off from the local one ([`Scenario::clock_skew`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockSkew {
    /// The server's clock reads later than the local one by this much.
    Ahead(Duration),
    /// The server's clock reads earlier than the local one by this much.
    Behind(Duration),
}

impl ClockSkew {
    /// The server's clock is the local one.
    pub const NONE: ClockSkew = ClockSkew::Ahead(Duration::ZERO);

    /// The local instant `local` as the server's clock reads it (unchanged if that would leave
    /// the range `SystemTime` holds).
    pub fn apply(self, local: SystemTime) -> SystemTime {
        match self {
            ClockSkew::Ahead(by) => local.checked_add(by),
            ClockSkew::Behind(by) => local.checked_sub(by),
        }
        .unwrap_or(local)
    }

    /// The skew in whole milliseconds, positive when the server is ahead (saturating).
    pub fn signed_millis(self) -> i64 {
        match self {
            ClockSkew::Ahead(by) => i64::try_from(by.as_millis()).unwrap_or(i64::MAX),
            ClockSkew::Behind(by) => i64::try_from(by.as_millis()).map_or(i64::MIN, |m| -m),
        }
    }
}

impl Default for ClockSkew {
    fn default() -> Self {
        ClockSkew::NONE
    }
}

/// A body encoding the server can apply (`Content-Encoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// The body as is, no `Content-Encoding`.
    #[default]
    None,
    /// `Content-Encoding: gzip` (RFC 1952).
    Gzip,
    /// `Content-Encoding: deflate`: zlib-wrapped (RFC 1950), as HTTP's "deflate" means.
    Deflate,
}

impl Compression {
    /// The `Content-Encoding` value (`None` for [`Compression::None`]).
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Deflate => Some("deflate"),
        }
    }

    /// `body` encoded this way (at the default level).
    pub fn encode(self, body: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let level = flate2::Compression::default();
        // Writing into a Vec cannot fail.
        match self {
            Compression::None => body.to_vec(),
            Compression::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), level);
                encoder.write_all(body).expect("gzip into memory");
                encoder.finish().expect("gzip into memory")
            }
            Compression::Deflate => {
                let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), level);
                encoder.write_all(body).expect("zlib into memory");
                encoder.finish().expect("zlib into memory")
            }
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::new()
    }
}

/// A field override applied to a rendered JSON object: `Some` sets, `None` removes.
pub(crate) type FieldOverride = (String, Option<Value>);

/// One Pipecat Cloud build and its scripted timeline.
#[derive(Clone, Debug)]
pub struct PipecatBuild {
    pub(crate) id: String,
    pub(crate) steps: Vec<(Duration, String)>,
    pub(crate) image_uri: Option<String>,
    pub(crate) error_message: Option<String>,
    pub(crate) logs_url: Option<String>,
    pub(crate) duration_seconds: i64,
    pub(crate) started_at: Option<String>,
    pub(crate) completed_at: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: Option<String>,
    pub(crate) context_hash: String,
    pub(crate) region: String,
    pub(crate) dockerfile_path: String,
    pub(crate) on_clock: bool,
    pub(crate) appear_at: Duration,
    pub(crate) logs: Vec<LogEntry>,
    pub(crate) log_objects: bool,
    pub(crate) logs_cap: Option<usize>,
    pub(crate) logs_ignore_limit: bool,
    pub(crate) log_restarts: Vec<Duration>,
    pub(crate) fields: Vec<FieldOverride>,
}

/// One entry of a Pipecat build's log, visible from `at` on the build's clock.
#[derive(Clone, Debug)]
pub(crate) struct LogEntry {
    pub at: Duration,
    pub text: LogText,
}

/// What a [`LogEntry`] holds.
#[derive(Clone, Debug)]
pub(crate) enum LogText {
    /// A line, served as a JSON string (or a `{"message", "timestamp"}` object).
    Line(String),
    /// A line still being written: its text is the latest step reached (steps sorted by time).
    Growing(Vec<(Duration, String)>),
    /// Bytes written verbatim as one element of the `logs` array.
    Raw(Vec<u8>),
    /// A CodeBuild agent line: served as `[Container] YYYY/MM/DD HH:MM:SS.ffffff <text>`,
    /// stamped with the entry's own time (see [`PipecatBuild::container_log`]).
    Container(String),
}

impl PipecatBuild {
    /// A build that is "pending" forever until steps are added.
    pub fn new(id: &str) -> Self {
        PipecatBuild {
            id: id.to_string(),
            steps: Vec::new(),
            image_uri: None,
            error_message: None,
            logs_url: None,
            duration_seconds: 120,
            started_at: None,
            completed_at: None,
            created_at: "2026-02-20T12:00:00.000Z".to_string(),
            updated_at: None,
            context_hash: "a1b2c3d4e5f6a7b8".to_string(),
            region: "us-west".to_string(),
            dockerfile_path: "Dockerfile".to_string(),
            on_clock: false,
            appear_at: Duration::ZERO,
            logs: Vec::new(),
            log_objects: false,
            logs_cap: None,
            logs_ignore_limit: false,
            log_restarts: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// A build that finished before the server started, as a list of recent builds shows one:
    /// `status` (meant to be terminal: `success`, `failed`, `timeout`) whatever its clock says
    /// (its one step is at 0, and a clock not started shows the first step, so it is terminal
    /// from the start, with or without a request naming it), `startedAt` = `started_at`,
    /// `completedAt` = `started_at + duration`, `buildDurationSeconds` = the whole seconds of
    /// `duration`, `createdAt` 2 s before it started and `updatedAt` = `completedAt`; all
    /// written with milliseconds, by the local clock (a [`Scenario::clock_skew`] moves them).
    pub fn finished(id: &str, status: &str, started_at: SystemTime, duration: Duration) -> Self {
        let stamp = crate::time::rfc3339_millis;
        let created = started_at.checked_sub(Duration::from_secs(2)).unwrap_or(started_at);
        let completed = started_at.checked_add(duration).unwrap_or(started_at);
        PipecatBuild::new(id)
            .step(Duration::ZERO, status)
            .created_at(&stamp(created))
            .started_at(&stamp(started_at))
            .completed_at(&stamp(completed))
            .updated_at(&stamp(completed))
            .duration_seconds(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
    }

    /// `n` [`PipecatBuild::finished`] `success` builds, as a team's recent builds: the newest
    /// ended 5 to 15 minutes before now (the local clock, when this is called), each earlier one
    /// ended 20 to 120 minutes before the next one was created; returned newest first.
    /// Their durations are `median` ± up to `spread`, evenly spaced over that range (so that
    /// `median` is their median and their mean, and the shortest and longest are nearly
    /// `spread` from it), in an order shuffled by `seed`. Each has its own id
    /// (`hhhhhhhh-0000-4000-a000-<index>`, from the seed) and context hash; the region and
    /// `dockerfilePath` are the defaults (`us-west`, `Dockerfile`). Deterministic but for `now`.
    pub fn history(n: usize, median: Duration, spread: Duration, seed: u64) -> Vec<PipecatBuild> {
        let mut rng = crate::codebuild::Rng::new(seed);
        // Evenly spaced offsets in (-1, 1), shuffled (Fisher-Yates).
        let mut offsets: Vec<f64> = (0..n).map(|i| -1.0 + (2.0 * i as f64 + 1.0) / n as f64).collect();
        for i in (1..offsets.len()).rev() {
            offsets.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let tag = (seed ^ (seed >> 32)) & 0xffff_ffff;
        let mut ends = SystemTime::now() - Duration::from_secs(300 + rng.below(600));
        let mut builds = Vec::with_capacity(n);
        for (i, offset) in offsets.into_iter().enumerate() {
            let duration = median.as_secs_f64() + spread.as_secs_f64() * offset;
            let duration = Duration::from_secs_f64(duration.max(0.0));
            let started = ends.checked_sub(duration).unwrap_or(ends);
            let id = format!("{tag:08x}-0000-4000-a000-{:012x}", i + 1);
            let hash = format!("{:016x}", rng.next());
            builds.push(PipecatBuild::finished(&id, "success", started, duration).context_hash(&hash));
            ends = started - Duration::from_secs(2 + 1_200 + rng.below(6_000));
        }
        builds
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// From `at` on the build's clock, the build has `status` (any string).
    pub fn step(mut self, at: Duration, status: &str) -> Self {
        self.steps.push((at, status.to_string()));
        self
    }

    /// Served as `imageUri` once "success" (default: an ECR URI ending in the context hash).
    pub fn image_uri(mut self, uri: &str) -> Self {
        self.image_uri = Some(uri.to_string());
        self
    }

    /// Served as `errorMessage` once "failed" or "timeout" (default: a generic message).
    pub fn error_message(mut self, message: &str) -> Self {
        self.error_message = Some(message.to_string());
        self
    }

    /// Served as `logsUrl` at every step.
    pub fn logs_url(mut self, url: &str) -> Self {
        self.logs_url = Some(url.to_string());
        self
    }

    /// Served as `buildDurationSeconds` once terminal (default 120).
    pub fn duration_seconds(mut self, seconds: i64) -> Self {
        self.duration_seconds = seconds;
        self
    }

    /// Default: `createdAt` + 2 s.
    pub fn started_at(mut self, at: &str) -> Self {
        self.started_at = Some(at.to_string());
        self
    }

    /// Default: `startedAt` + `buildDurationSeconds`.
    pub fn completed_at(mut self, at: &str) -> Self {
        self.completed_at = Some(at.to_string());
        self
    }

    pub fn created_at(mut self, at: &str) -> Self {
        self.created_at = at.to_string();
        self
    }

    /// Default: `createdAt`.
    pub fn updated_at(mut self, at: &str) -> Self {
        self.updated_at = Some(at.to_string());
        self
    }

    pub fn context_hash(mut self, hash: &str) -> Self {
        self.context_hash = hash.to_string();
        self
    }

    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_string();
        self
    }

    /// Served as `dockerfilePath` (default `Dockerfile`).
    pub fn dockerfile_path(mut self, path: &str) -> Self {
        self.dockerfile_path = path.to_string();
        self
    }

    /// Computes the build's timestamps from the wall-clock time (`SystemTime`) at which its
    /// clock started (the first request naming it) plus the times of its steps, instead of the
    /// fixed strings: `createdAt` = clock start + the first step's time, `startedAt` = clock
    /// start + the time of the first step whose status is not `pending`, `completedAt` (once
    /// terminal) and `updatedAt` = clock start + the time of the step reached, each written
    /// RFC 3339 with milliseconds, and `buildDurationSeconds` = the whole seconds from
    /// `startedAt` to `completedAt` as written. [`PipecatBuild::log_objects`] timestamps and
    /// [`PipecatBuild::container_log`] stamps follow the same clock. These replace
    /// [`PipecatBuild::created_at`], [`PipecatBuild::started_at`],
    /// [`PipecatBuild::completed_at`], [`PipecatBuild::updated_at`] and
    /// [`PipecatBuild::duration_seconds`] ([`PipecatBuild::field`] still overrides). Before the
    /// clock starts (a list does not start it) the clock start is taken to be the server's start
    /// plus [`PipecatBuild::appear_at`]. A [`Scenario::clock_skew`] moves them all.
    pub fn timestamps_on_clock(mut self) -> Self {
        self.on_clock = true;
        self
    }

    /// Before `at` (measured from server start) the build is absent from lists and 404s.
    pub fn appear_at(mut self, at: Duration) -> Self {
        self.appear_at = at;
        self
    }

    /// One log line, visible from `at` on the build's clock.
    pub fn log(mut self, at: Duration, line: &str) -> Self {
        self.logs.push(LogEntry { at, text: LogText::Line(line.to_string()) });
        self
    }

    /// A CodeBuild agent line, visible from `at`: served as
    /// `[Container] YYYY/MM/DD HH:MM:SS.ffffff <text>`, stamped (UTC, microseconds) with the
    /// entry's own time: `createdAt` (or, with [`PipecatBuild::timestamps_on_clock`], the
    /// clock's start) plus `at`, moved by any [`Scenario::clock_skew`]. Since the stamp is only
    /// known once served, match such lines on [`crate::codebuild::line_key`].
    pub fn container_log(mut self, at: Duration, text: &str) -> Self {
        self.logs.push(LogEntry { at, text: LogText::Container(text.to_string()) });
        self
    }

    /// A burst of log lines, all visible from `at`, in order.
    pub fn logs(mut self, at: Duration, lines: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.logs.extend(lines.into_iter().map(|line| LogEntry { at, text: LogText::Line(line.into()) }));
        self
    }

    /// One log entry still being written: it appears at its earliest step's time (ordered
    /// among the other entries by that time, as [`PipecatBuild::log`]), and at clock `t` its
    /// text is that of the latest step reached (`"Downloading 10%"`, then
    /// `"Downloading 10% 20%"`, ...). Without steps it never appears.
    pub fn growing_line(mut self, steps: impl IntoIterator<Item = (Duration, impl Into<String>)>) -> Self {
        let mut steps: Vec<(Duration, String)> = steps.into_iter().map(|(at, text)| (at, text.into())).collect();
        steps.sort_by_key(|(at, _)| *at);
        if let Some(&(at, _)) = steps.first() {
            self.logs.push(LogEntry { at, text: LogText::Growing(steps) });
        }
        self
    }

    /// One log entry, visible from `at`, written verbatim as an element of the `logs` array,
    /// e.g. `"bad \udcff"` (a lone surrogate escape), a string holding a raw 0xFF byte, or
    /// `{"message": 5}`. Served as is also with [`PipecatBuild::log_objects`].
    pub fn raw_log(mut self, at: Duration, raw_json: impl Into<Vec<u8>>) -> Self {
        self.logs.push(LogEntry { at, text: LogText::Raw(raw_json.into()) });
        self
    }

    /// Serve log entries as `{"message": line, "timestamp": "..."}` instead of strings; the
    /// timestamp is `createdAt` plus the entry's own time on the build's clock, in milliseconds.
    pub fn log_objects(mut self, objects: bool) -> Self {
        self.log_objects = objects;
        self
    }

    /// Every logs answer holds at most `n` entries: the newest `min(limit, n)` (a server that
    /// serves shorter windows than asked).
    pub fn logs_cap(mut self, n: usize) -> Self {
        self.logs_cap = Some(n);
        self
    }

    /// If `ignore`, every logs answer is the whole visible log (still within
    /// [`PipecatBuild::logs_cap`]), whatever `limit` says; any `limit` value is accepted.
    pub fn logs_ignore_limit(mut self, ignore: bool) -> Self {
        self.logs_ignore_limit = ignore;
        self
    }

    /// From `at` on the build's clock the log starts over: an answer shows only the entries
    /// logged at or after the latest restart point reached (earlier ones vanish). May be
    /// given several times.
    pub fn log_restart(mut self, at: Duration) -> Self {
        self.log_restarts.push(at);
        self
    }

    /// Sets or overrides a top-level field of the build JSON after it is computed.
    pub fn field(mut self, name: &str, value: Value) -> Self {
        self.fields.push((name.to_string(), Some(value)));
        self
    }

    /// Removes a top-level field from the build JSON after it is computed.
    pub fn omit(mut self, name: &str) -> Self {
        self.fields.push((name.to_string(), None));
        self
    }
}

/// One Prime Intellect image build (a build group) and its scripted timeline.
#[derive(Clone, Debug)]
pub struct PrimeBuild {
    pub(crate) id: String,
    pub(crate) image_name: String,
    pub(crate) image_tag: String,
    pub(crate) created_at: String,
    pub(crate) started_at: Option<String>,
    pub(crate) completed_at: Option<String>,
    pub(crate) steps: Vec<(Duration, String)>,
    pub(crate) artifacts: Vec<PrimeArtifact>,
    pub(crate) snake_case: bool,
    pub(crate) appear_at: Duration,
    pub(crate) fields: Vec<FieldOverride>,
}

impl PrimeBuild {
    /// A build that is "PENDING" forever until steps are added.
    pub fn new(id: &str) -> Self {
        PrimeBuild {
            id: id.to_string(),
            image_name: "my-image".to_string(),
            image_tag: "latest".to_string(),
            created_at: "2026-02-20T12:00:00Z".to_string(),
            started_at: None,
            completed_at: None,
            steps: Vec::new(),
            artifacts: Vec::new(),
            snake_case: false,
            appear_at: Duration::ZERO,
            fields: Vec::new(),
        }
    }

    /// A build as the current Prime CLI (`prime images push`) makes them: `UPLOADING` at 0,
    /// `BUILDING` from `building`, `COMPLETED` from `completed` (times on the build's clock),
    /// and one `VM_SANDBOX` artifact `"<id>-vm"`, absent until `building`, that mirrors the
    /// build's status and so has its (default) `fullImagePath` once completed. The usual
    /// builder methods still apply (e.g. another `step` for a failure).
    pub fn vm_image(id: &str, building: Duration, completed: Duration) -> Self {
        PrimeBuild::new(id)
            .step(Duration::ZERO, "UPLOADING")
            .step(building, "BUILDING")
            .step(completed, "COMPLETED")
            .artifact(PrimeArtifact::new(&format!("{id}-vm"), "VM_SANDBOX").appear_at(building))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// From `at` on the build's clock, the group has `status` (any string).
    pub fn step(mut self, at: Duration, status: &str) -> Self {
        self.steps.push((at, status.to_string()));
        self
    }

    pub fn artifact(mut self, artifact: PrimeArtifact) -> Self {
        self.artifacts.push(artifact);
        self
    }

    pub fn image_name(mut self, name: &str) -> Self {
        self.image_name = name.to_string();
        self
    }

    pub fn image_tag(mut self, tag: &str) -> Self {
        self.image_tag = tag.to_string();
        self
    }

    pub fn created_at(mut self, at: &str) -> Self {
        self.created_at = at.to_string();
        self
    }

    /// Default: `createdAt` + 2 s.
    pub fn started_at(mut self, at: &str) -> Self {
        self.started_at = Some(at.to_string());
        self
    }

    /// Default: `startedAt` + 120 s.
    pub fn completed_at(mut self, at: &str) -> Self {
        self.completed_at = Some(at.to_string());
        self
    }

    /// Serve `created_at`, `image_name`, `full_image_path`, ... instead of camelCase names.
    pub fn snake_case(mut self, snake: bool) -> Self {
        self.snake_case = snake;
        self
    }

    /// Before `at` (measured from server start) the build 404s.
    pub fn appear_at(mut self, at: Duration) -> Self {
        self.appear_at = at;
        self
    }

    /// Sets or overrides a top-level field of the response JSON after it is computed.
    pub fn field(mut self, name: &str, value: Value) -> Self {
        self.fields.push((name.to_string(), Some(value)));
        self
    }

    /// Removes a top-level field from the response JSON after it is computed.
    pub fn omit(mut self, name: &str) -> Self {
        self.fields.push((name.to_string(), None));
        self
    }
}

/// One artifact row of a [`PrimeBuild`]; its steps run on the build's clock.
#[derive(Clone, Debug)]
pub struct PrimeArtifact {
    pub(crate) id: String,
    pub(crate) artifact_type: String,
    pub(crate) steps: Vec<(Duration, String)>,
    pub(crate) full_image_path: Option<String>,
    pub(crate) error_message: Option<String>,
    pub(crate) appear_at: Duration,
    pub(crate) fields: Vec<FieldOverride>,
}

impl PrimeArtifact {
    /// `artifact_type` is "CONTAINER_IMAGE" or "VM_SANDBOX" (or anything else).
    /// Without steps, the artifact mirrors the build group's status.
    pub fn new(id: &str, artifact_type: &str) -> Self {
        PrimeArtifact {
            id: id.to_string(),
            artifact_type: artifact_type.to_string(),
            steps: Vec::new(),
            full_image_path: None,
            error_message: None,
            appear_at: Duration::ZERO,
            fields: Vec::new(),
        }
    }

    pub fn step(mut self, at: Duration, status: &str) -> Self {
        self.steps.push((at, status.to_string()));
        self
    }

    /// Served once COMPLETED (default: `registry.primeintellect.ai/<name>:<tag>`).
    pub fn full_image_path(mut self, path: &str) -> Self {
        self.full_image_path = Some(path.to_string());
        self
    }

    /// Served once FAILED (default: a generic message).
    pub fn error_message(mut self, message: &str) -> Self {
        self.error_message = Some(message.to_string());
        self
    }

    /// Before `at` on the build's clock the artifact is absent from the build's `artifacts`
    /// (as in today's Prime builds, whose artifacts appear once building starts).
    pub fn appear_at(mut self, at: Duration) -> Self {
        self.appear_at = at;
        self
    }

    /// Sets or overrides a field of this artifact's JSON after it is computed.
    pub fn field(mut self, name: &str, value: Value) -> Self {
        self.fields.push((name.to_string(), Some(value)));
        self
    }
}

/// A fault injected on the next `times` requests to `route`.
#[derive(Clone, Debug)]
pub struct Fault {
    pub route: Route,
    pub times: usize,
    pub kind: FaultKind,
}

impl Fault {
    /// A fault applied once.
    pub fn new(route: Route, kind: FaultKind) -> Self {
        Fault { route, times: 1, kind }
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }
}

/// Which requests a [`Fault`] applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/builds/{id}`
    GetBuild,
    /// `GET /v1/builds`
    ListBuilds,
    /// `GET /v1/builds/{id}/logs`
    Logs,
    /// `GET /api/v1/images/build/{id}`
    PrimeBuild,
    /// Every request, whatever its path.
    Any,
}

impl Route {
    /// Whether a fault registered for `self` applies to a request routed to `actual`
    /// (`None` for a path that belongs to no route).
    pub fn matches(self, actual: Option<Route>) -> bool {
        self == Route::Any || Some(self) == actual
    }
}

/// What a [`Fault`] does to a request.
#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Answer `code` with a JSON `body` and extra headers (a `Content-Type`,
    /// `Content-Length` or `Connection` given here replaces the server's own).
    Status { code: u16, body: String, headers: Vec<(String, String)> },
    /// Answer `code` with a raw body of the given content type.
    Body { code: u16, content_type: String, body: Vec<u8> },
    /// Read the request, then close with RST before sending any byte.
    Reset,
    /// Send the real answer's head with the full Content-Length, half its body, then RST.
    ResetMidBody,
    /// Wait, then serve the normal answer as of the end of the wait.
    Delay(Duration),
    /// Never answer (until the client closes or the server stops).
    Hang,
    /// Answer `code` with `body` (the decoded bytes, e.g. 20 MiB of JSON) encoded with
    /// `encoding`, the matching `Content-Encoding` and `Content-Type: application/json`
    /// (the scenario's own [`Scenario::compression`] is not applied on top).
    Compressed { code: u16, encoding: Compression, body: Vec<u8> },
    /// Send the real answer with `Transfer-Encoding: chunked`: the first half of its body
    /// as one chunk, then close (cleanly) without the terminating zero-size chunk.
    ChunkedCut,
    /// Send the real answer's head with `Transfer-Encoding: chunked`, then an invalid
    /// chunk-size line (`zz`), then close.
    BadChunk,
    /// Send the real answer, its body `bytes` at a time (at least 1) with a pause of `every`
    /// between writes: a slow, large answer.
    Trickle { every: Duration, bytes: usize },
    /// Send the real answer with these headers added, each replacing the answer's own of the
    /// same name (`Date`, `Content-Type`, `Content-Length` and `Connection` included); its
    /// status and body are kept.
    Headers(Vec<(String, String)>),
}

impl FaultKind {
    /// A `{"error": ..., "code": ...}` JSON answer suited to `code`.
    pub fn status(code: u16) -> Self {
        let (message, error_code) = match code {
            400 => ("Bad request", "INVALID_PARAMETER"),
            401 => ("Unauthorized: invalid or missing API key", "UNAUTHORIZED"),
            403 => ("Forbidden", "FORBIDDEN"),
            404 => ("Not found", "NOT_FOUND"),
            408 => ("Request timeout", "REQUEST_TIMEOUT"),
            409 => ("Conflict", "CONFLICT"),
            422 => ("Invalid request data", "UNPROCESSABLE_ENTITY"),
            429 => ("Too many requests", "RATE_LIMITED"),
            500 => ("Internal server error", "INTERNAL_ERROR"),
            502 => ("Bad gateway", "BAD_GATEWAY"),
            503 => ("Service unavailable", "SERVICE_UNAVAILABLE"),
            504 => ("Gateway timeout", "GATEWAY_TIMEOUT"),
            _ => ("Unexpected error", "ERROR"),
        };
        FaultKind::Status {
            code,
            body: json!({ "error": message, "code": error_code }).to_string(),
            headers: Vec::new(),
        }
    }

    /// [`FaultKind::status`] with a `Retry-After: value` header.
    pub fn retry_after(code: u16, value: &str) -> Self {
        FaultKind::status(code).with_header("Retry-After", value)
    }

    /// [`FaultKind::status`] with a `Retry-After` header in HTTP-date form.
    pub fn retry_after_at(code: u16, when: SystemTime) -> Self {
        FaultKind::retry_after(code, &httpdate::fmt_http_date(when))
    }

    /// A raw body answer.
    pub fn body(code: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        FaultKind::Body { code, content_type: content_type.to_string(), body: body.into() }
    }

    /// A [`FaultKind::Compressed`] answer.
    pub fn compressed(code: u16, encoding: Compression, body: impl Into<Vec<u8>>) -> Self {
        FaultKind::Compressed { code, encoding, body: body.into() }
    }

    /// Adds a header to a `Status` or `Headers` fault (no effect on other kinds).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let FaultKind::Status { headers, .. } | FaultKind::Headers(headers) = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}
