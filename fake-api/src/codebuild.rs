//! A CodeBuild-style Pipecat build, as the benchmarks and tests of guided polling need one:
//! `pending` → `building` → `success` (or `failed`), a log with CodeBuild's phase lines
//! (`[Container] YYYY/MM/DD HH:MM:SS.ffffff Entering phase BUILD`, `... Phase complete: BUILD
//! State: SUCCEEDED`) for INSTALL, PRE_BUILD, BUILD, POST_BUILD, UPLOAD_ARTIFACTS and FINALIZING,
//! bursts of Docker output in BUILD, a quiet stretch without a line, steady trickles elsewhere,
//! and the final phase line 2 to 6 scripted seconds before the status turns terminal.
//!
//! ```
//! use fake_api::codebuild::{CodebuildPlan, line_key};
//! use std::time::Duration;
//!
//! let plan = CodebuildPlan { second: Duration::from_millis(50), ..CodebuildPlan::default() };
//! let script = plan.script("123e4567-e89b-12d3-a456-426614174000");
//! let build = script.build.timestamps_on_clock(); // serve it: Scenario::new().pipecat(build)
//! assert_eq!(script.status, "success");
//! assert_eq!(line_key("[Container] 2026/03/04 10:00:00.123456 Entering phase BUILD"), "[Container] Entering phase BUILD");
//! # let _ = build;
//! ```
//!
//! The agent lines (`[Container] ...`) are [`PipecatBuild::container_log`] entries, stamped
//! when served; every line's [`ScriptedLine::key`] is unique, and [`line_key`] maps a served
//! (or printed) line to it. Everything is deterministic from [`CodebuildPlan::seed`].

use std::borrow::Cow;
use std::time::Duration;

use crate::PipecatBuild;

/// The length the layout is drawn for, in scripted ms; other lengths stretch it in proportion.
const NOMINAL_MS: u64 = 600_000;

/// The shortest length a plan is taken to have.
const MIN_LENGTH: Duration = Duration::from_secs(300);

/// A small deterministic generator: xorshift64* seeded through splitmix64.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }
}

/// How the build ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CodebuildOutcome {
    /// Every phase succeeds, FINALIZING completes, then `success`.
    #[default]
    Succeeded,
    /// `Phase complete: BUILD State: FAILED` (a test step fails), then POST_BUILD, then `failed`.
    Failed,
}

/// What to script; see [`CodebuildPlan::script`].
#[derive(Clone, Debug)]
pub struct CodebuildPlan {
    /// How long one scripted second lasts (default 1 s): every time of the script is scaled by it.
    pub second: Duration,
    /// Scripted time from the clock's start to the terminal status (default 600 s; shorter than
    /// 300 s is taken as 300 s). The layout is drawn for 600 s and stretched in proportion, but
    /// for the final phase line's lead (2 to 6 scripted s, whatever the length).
    pub length: Duration,
    /// Draws every choice (burst sizes, gaps, the quiet stretch, the lead).
    pub seed: u64,
    pub outcome: CodebuildOutcome,
    /// `true` (default): with phase lines. `false`: the "no signals" variant, the same lines
    /// (same times, same keys) without any phase line.
    pub phase_lines: bool,
}

impl Default for CodebuildPlan {
    fn default() -> Self {
        CodebuildPlan {
            second: Duration::from_secs(1),
            length: Duration::from_secs(600),
            seed: 1,
            outcome: CodebuildOutcome::Succeeded,
            phase_lines: true,
        }
    }
}

/// A CodeBuild phase, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Install,
    PreBuild,
    Build,
    PostBuild,
    UploadArtifacts,
    Finalizing,
}

impl Phase {
    pub const ALL: [Phase; 6] =
        [Phase::Install, Phase::PreBuild, Phase::Build, Phase::PostBuild, Phase::UploadArtifacts, Phase::Finalizing];

    /// As CodeBuild writes it: `INSTALL`, `PRE_BUILD`, ...
    pub fn name(self) -> &'static str {
        match self {
            Phase::Install => "INSTALL",
            Phase::PreBuild => "PRE_BUILD",
            Phase::Build => "BUILD",
            Phase::PostBuild => "POST_BUILD",
            Phase::UploadArtifacts => "UPLOAD_ARTIFACTS",
            Phase::Finalizing => "FINALIZING",
        }
    }

    /// Whether its entering line has the colon form (`Entering phase: X`); the phases alternate.
    fn colon(self) -> bool {
        matches!(self, Phase::PreBuild | Phase::PostBuild | Phase::Finalizing)
    }
}

/// What a scripted line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// `[Container] <stamp> Entering phase X` or `... Entering phase: X`.
    EnterPhase(Phase),
    /// `[Container] <stamp> Phase complete: X State: SUCCEEDED` (`succeeded`) or `... FAILED`.
    PhaseComplete { phase: Phase, succeeded: bool },
    /// Another CodeBuild agent line (`[Container] <stamp> Running command ...`).
    Agent,
    /// The build's own output (Docker, pip, pytest, ...), served as is.
    Output,
}

impl LineKind {
    pub fn is_phase_line(self) -> bool {
        matches!(self, LineKind::EnterPhase(_) | LineKind::PhaseComplete { .. })
    }
}

/// One log entry of the script.
#[derive(Clone, Debug)]
pub struct ScriptedLine {
    /// When it becomes visible on the build's clock (scaled: a time to add to
    /// [`crate::FakeApi::clock_started`]).
    pub at: Duration,
    /// Its text, unique in the script: an output line as served; an agent or phase line as
    /// `[Container] <text>`, the served line without its stamp (what [`line_key`] makes of it).
    pub key: String,
    pub kind: LineKind,
}

/// A scripted CodeBuild-style build and what a benchmark needs to know about it.
#[derive(Clone, Debug)]
pub struct CodebuildScript {
    /// The build: `pending` from 0, `building` from [`CodebuildScript::building_at`], `status`
    /// from [`CodebuildScript::ends_at`], the log, a `logsUrl`, `buildDurationSeconds` of the
    /// building time. Add [`PipecatBuild::timestamps_on_clock`] for real-time timestamps.
    pub build: PipecatBuild,
    /// Every log entry, in the order served.
    pub lines: Vec<ScriptedLine>,
    /// When the status turns `building`, on the build's clock (scaled).
    pub building_at: Duration,
    /// When the status turns terminal, on the build's clock (scaled): the plan's length.
    pub ends_at: Duration,
    /// `success` or `failed`.
    pub status: &'static str,
    /// When the final phase line (`Phase complete: FINALIZING State: SUCCEEDED`, or after a
    /// failure `Phase complete: POST_BUILD State: SUCCEEDED`) becomes visible, 2 to 6 scripted
    /// seconds before [`CodebuildScript::ends_at`]; `None` without phase lines.
    pub final_phase_at: Option<Duration>,
    /// The quiet stretch in BUILD (scaled, on the build's clock): no line becomes visible
    /// strictly between the two; 40 to 90 scripted s long in a 600 s build.
    pub quiet: (Duration, Duration),
}

impl CodebuildPlan {
    /// The build `id` scripted by this plan.
    pub fn script(&self, id: &str) -> CodebuildScript {
        let length_ms = u64::try_from(self.length.max(MIN_LENGTH).as_millis()).unwrap_or(u64::MAX / NOMINAL_MS);
        let mut g = Gen { rng: Rng::new(self.seed), length_ms, seq: 0, events: Vec::new() };
        let layout = g.layout(self.outcome, self.seed);
        let mut events = std::mem::take(&mut g.events);
        if !self.phase_lines {
            events.retain(|e| !e.kind.is_phase_line());
        }
        // Stable: lines at the same time keep the order they were written in.
        events.sort_by_key(|e| e.at);

        let scale = |ms: u64| {
            let nanos = self.second.as_nanos() * u128::from(ms) / 1_000;
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        };
        let (building_at, ends_at) = (scale(layout.building), scale(length_ms));
        let status = match self.outcome {
            CodebuildOutcome::Succeeded => "success",
            CodebuildOutcome::Failed => "failed",
        };
        let mut build = PipecatBuild::new(id)
            .step(Duration::ZERO, "pending")
            .step(building_at, "building")
            .step(ends_at, status)
            .duration_seconds(i64::try_from((ends_at - building_at).as_secs()).unwrap_or(i64::MAX))
            .logs_url(&format!(
                "https://console.aws.amazon.com/codebuild/home?region=us-west-2#/builds/pipecat-build:{id}/view/new"
            ));
        if self.outcome == CodebuildOutcome::Failed {
            build = build.error_message(&format!("Docker build failed: {PYTEST_FAILED}"));
        }
        let mut lines = Vec::with_capacity(events.len());
        for event in events {
            let at = scale(event.at);
            let key = match event.kind {
                LineKind::Output => {
                    build = build.log(at, &event.text);
                    event.text
                }
                _ => {
                    build = build.container_log(at, &event.text);
                    format!("[Container] {}", event.text)
                }
            };
            lines.push(ScriptedLine { at, key, kind: event.kind });
        }
        CodebuildScript {
            build,
            lines,
            building_at,
            ends_at,
            status,
            final_phase_at: self.phase_lines.then(|| scale(layout.final_phase)),
            quiet: (scale(layout.quiet.0), scale(layout.quiet.1)),
        }
    }
}

impl PipecatBuild {
    /// [`CodebuildPlan::script`]'s build alone (for the script's lines and times, call that).
    pub fn codebuild(id: &str, plan: &CodebuildPlan) -> PipecatBuild {
        plan.script(id).build
    }
}

/// The key of a served or printed log line: a `[Container] YYYY/MM/DD HH:MM:SS.ffffff <text>`
/// line without its stamp (`[Container] <text>`), any other line as it is.
pub fn line_key(line: &str) -> Cow<'_, str> {
    const STAMP: &[u8] = b"dddd/dd/dd dd:dd:dd.dddddd ";
    if let Some(rest) = line.strip_prefix("[Container] ") {
        let bytes = rest.as_bytes();
        let stamped = bytes.len() >= STAMP.len()
            && STAMP
                .iter()
                .zip(bytes)
                .all(|(want, got)| if *want == b'd' { got.is_ascii_digit() } else { want == got });
        if stamped {
            return Cow::Owned(format!("[Container] {}", &rest[STAMP.len()..]));
        }
    }
    Cow::Borrowed(line)
}

const PYTEST_FAILED: &str =
    "process \"/bin/sh -c python -m pytest -q tests\" did not complete successfully: exit code: 1";
const DOCKER_BUILD: &str = "docker build --progress=plain -t $IMAGE_REPO:$IMAGE_TAG .";

/// One line at a scripted ms; the text of an agent or phase line is without `[Container] <stamp>`.
struct Event {
    at: u64,
    kind: LineKind,
    text: String,
}

/// Where the drawn layout put its landmarks, in scripted ms.
struct Layout {
    building: u64,
    final_phase: u64,
    quiet: (u64, u64),
}

/// Writes the events; times are given on the nominal 600 s layout and stretched by `t`.
struct Gen {
    rng: Rng,
    length_ms: u64,
    seq: u32,
    events: Vec<Event>,
}

impl Gen {
    /// A nominal time as a scripted ms of this build.
    fn t(&self, nominal: u64) -> u64 {
        u64::try_from(u128::from(nominal) * u128::from(self.length_ms) / u128::from(NOMINAL_MS)).unwrap_or(u64::MAX)
    }

    /// A scripted ms of this build on the nominal layout (rounded down, so `t` of it is not later).
    fn nominal(&self, scripted: u64) -> u64 {
        u64::try_from(u128::from(scripted) * u128::from(NOMINAL_MS) / u128::from(self.length_ms)).unwrap_or(u64::MAX)
    }

    /// The next sequence number: every generated line carries one, so each is unique.
    fn seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    fn push(&mut self, at: u64, kind: LineKind, text: String) {
        self.events.push(Event { at, kind, text });
    }

    fn out(&mut self, nominal: u64, text: String) {
        let at = self.t(nominal);
        self.push(at, LineKind::Output, text);
    }

    fn agent(&mut self, nominal: u64, text: &str) {
        let at = self.t(nominal);
        self.push(at, LineKind::Agent, text.to_string());
    }

    fn enter(&mut self, nominal: u64, phase: Phase) {
        let colon = if phase.colon() { ":" } else { "" };
        let at = self.t(nominal);
        self.push(at, LineKind::EnterPhase(phase), format!("Entering phase{colon} {}", phase.name()));
    }

    /// A phase complete line at scripted ms `at` (not stretched).
    fn complete_at(&mut self, at: u64, phase: Phase, succeeded: bool) {
        let state = if succeeded { "SUCCEEDED" } else { "FAILED" };
        self.push(
            at,
            LineKind::PhaseComplete { phase, succeeded },
            format!("Phase complete: {} State: {state}", phase.name()),
        );
    }

    fn complete(&mut self, nominal: u64, phase: Phase, succeeded: bool) {
        let at = self.t(nominal);
        self.complete_at(at, phase, succeeded);
    }

    /// Seconds since `step` (nominal ms) at `nominal`, as BuildKit prefixes its output.
    fn elapsed(&self, step: u64, nominal: u64) -> String {
        format!("{:.3}", (self.t(nominal) - self.t(step)) as f64 / 1000.0)
    }

    /// 1 to 4 lines every 0.8 to 3.5 nominal s from `from` until before `to`, and the
    /// `bursts` (nominal ms, lines) among them, written in time order (so that the sequence
    /// numbers rise with time).
    fn trickle(&mut self, from: u64, to: u64, bursts: &[(u64, u64)], mut line: impl FnMut(&mut Gen, u64) -> String) {
        let mut bursts = bursts.iter().peekable();
        let mut at = from;
        while at < to {
            while let Some(&(burst_at, n)) = bursts.next_if(|(burst_at, _)| *burst_at <= at) {
                self.burst(burst_at, n, &mut line);
            }
            for _ in 0..self.rng.range(1, 4) {
                let text = line(self, at);
                self.out(at, text);
            }
            at += self.rng.range(800, 3_500);
        }
        for &(burst_at, n) in bursts {
            self.burst(burst_at, n, &mut line);
        }
    }

    /// `n` lines at once.
    fn burst(&mut self, at: u64, n: u64, mut line: impl FnMut(&mut Gen, u64) -> String) {
        for _ in 0..n {
            let text = line(self, at);
            self.out(at, text);
        }
    }

    /// Draws the whole log; returns the landmarks.
    fn layout(&mut self, outcome: CodebuildOutcome, seed: u64) -> Layout {
        let src = format!("/codebuild/output/src{:09}/src", seed % 1_000_000_000);
        let building = 8_000;
        self.agent(9_000, "Running on CodeBuild On-demand");
        self.agent(9_000, "Waiting for agent ping");
        self.agent(10_500, "Waiting for DOWNLOAD_SOURCE");
        self.agent(12_800, &format!("CODEBUILD_SRC_DIR={src}"));
        self.agent(12_800, &format!("YAML location is {src}/buildspec.yml"));
        self.agent(12_800, "Processing environment variables");
        self.agent(12_800, "No runtime version selected in buildspec.");
        self.agent(12_800, &format!("Moving to directory {src}"));

        self.enter(13_500, Phase::Install);
        self.agent(13_600, "Running command pip install --upgrade pip awscli");
        self.trickle(14_000, 59_000, &[], |g, _| pip_line(g, None));
        self.complete(60_000, Phase::Install, true);

        self.enter(60_200, Phase::PreBuild);
        self.agent(
            60_400,
            "Running command aws ecr get-login-password --region us-west-2 | docker login --username AWS \
             --password-stdin 123456789.dkr.ecr.us-west-2.amazonaws.com",
        );
        self.out(63_000, "WARNING! Your password will be stored unencrypted in /root/.docker/config.json.".into());
        self.out(63_000, "Login Succeeded".into());
        self.agent(64_000, "Running command export IMAGE_TAG=$CONTEXT_HASH");
        self.trickle(65_000, 95_000, &[], |g, _| {
            let n = g.seq();
            format!("Fetching build context part {n:05} ({} KiB)", 64 + n % 192)
        });
        self.complete(96_000, Phase::PreBuild, true);

        self.enter(96_200, Phase::Build);
        self.agent(96_400, &format!("Running command {DOCKER_BUILD}"));
        let preamble = [
            "#0 building with \"default\" instance using docker driver",
            "#1 [internal] load build definition from Dockerfile",
            "#1 transferring dockerfile: 1.18kB done",
            "#1 DONE 0.0s",
            "#2 [internal] load metadata for docker.io/library/python:3.12-slim",
            "#2 DONE 0.9s",
            "#3 [internal] load .dockerignore",
            "#3 transferring context: 2B done",
            "#3 DONE 0.0s",
            "#4 [1/9] FROM docker.io/library/python:3.12-slim@sha256:4d1e5c",
            "#4 CACHED",
            "#5 [2/9] WORKDIR /app",
            "#5 CACHED",
        ];
        for line in preamble {
            self.out(97_000, line.to_string());
        }
        // apt-get: a trickle with one burst.
        self.out(100_000, "#6 [3/9] RUN apt-get update && apt-get install -y --no-install-recommends gcc".into());
        let apt_burst = self.rng.range(100, 150);
        self.trickle(100_500, 170_000, &[(130_000, apt_burst)], |g, at| apt_line(g, 100_000, at));
        self.out(170_000, format!("#6 DONE {}s", self.elapsed(100_000, 170_000)));
        self.out(170_500, "#7 [4/9] COPY requirements.txt .".into());
        self.out(170_500, "#7 DONE 0.0s".into());
        // pip: large bursts (a resolver's output, wheels downloading) over a trickle.
        self.out(171_000, "#8 [5/9] RUN pip install --no-cache-dir -r requirements.txt".into());
        let bursts: Vec<(u64, u64)> = [(190_000, 200, 300), (250_000, 400, 550), (285_000, 120, 180)]
            .into_iter()
            .map(|(at, lo, hi)| (at, self.rng.range(lo, hi)))
            .collect();
        self.trickle(171_500, 300_000, &bursts, |g, at| pip_line(g, Some((171_000, at))));
        self.out(300_000, format!("#8 DONE {}s", self.elapsed(171_000, 300_000)));
        // The quiet stretch: a compile step that prints nothing.
        let quiet = self.rng.range(40_000, 90_000);
        self.out(301_000, "#9 [6/9] RUN python -m compileall -q /app".into());
        let quiet_end = 301_000 + quiet;
        self.out(quiet_end, format!("#9 DONE {}s", self.elapsed(301_000, quiet_end)));
        self.out(quiet_end + 500, "#10 [7/9] COPY . .".into());
        self.out(quiet_end + 500, "#10 DONE 0.2s".into());
        self.out(quiet_end + 1_000, "#11 [8/9] RUN python -m pytest -q tests".into());
        let failed = outcome == CodebuildOutcome::Failed;
        self.trickle(quiet_end + 1_500, 466_000, &[], |g, at| {
            let n = g.seq();
            format!("#11 {} tests/test_module_{n:05}.py ........ [{:>3}%]", g.elapsed(quiet_end + 1_000, at), n % 100)
        });
        let final_phase;
        if failed {
            let n = self.seq();
            self.out(
                466_000,
                format!(
                    "#11 {} FAILED tests/test_module_{n:05}.py::test_image - AssertionError",
                    self.elapsed(quiet_end + 1_000, 466_000)
                ),
            );
            self.out(466_000, format!("#11 ERROR: {PYTEST_FAILED}"));
            self.out(470_000, "------".into());
            self.out(470_000, " > [8/9] RUN python -m pytest -q tests:".into());
            self.out(470_000, format!("ERROR: failed to solve: {PYTEST_FAILED}"));
            self.agent(471_000, &format!("Command did not exit successfully {DOCKER_BUILD} exit status 1"));
            self.complete(472_000, Phase::Build, false);
            self.enter(472_500, Phase::PostBuild);
            self.agent(472_700, "Running command echo Build failed for $IMAGE_REPO:$IMAGE_TAG");
            self.out(
                473_000,
                "Build failed for 123456789.dkr.ecr.us-west-2.amazonaws.com/pipecat-cloud/org_test".into(),
            );
            final_phase = self.final_phase_at();
            let fin = self.nominal(final_phase);
            self.trickle(474_000, fin - 2_000, &[], |g, _| {
                let n = g.seq();
                format!("Cleaning up build cache entry {n:05}")
            });
            self.complete_at(final_phase, Phase::PostBuild, true);
        } else {
            self.out(466_500, format!("#11 DONE {}s", self.elapsed(quiet_end + 1_000, 466_500)));
            self.out(467_000, "#12 [9/9] RUN useradd --create-home app".into());
            self.out(468_000, "#12 DONE 0.6s".into());
            self.out(470_000, "#13 exporting to image".into());
            self.out(470_000, "#13 exporting layers".into());
            self.trickle(470_500, 500_000, &[], |g, at| {
                let n = g.seq();
                format!("#13 {} writing layer sha256:{}", g.elapsed(470_000, at), digest(u64::from(n)))
            });
            self.out(500_500, format!("#13 writing image sha256:{} done", digest(seed)));
            self.out(
                500_500,
                "#13 naming to 123456789.dkr.ecr.us-west-2.amazonaws.com/pipecat-cloud/org_test done".into(),
            );
            self.out(501_000, format!("#13 DONE {}s", self.elapsed(470_000, 501_000)));
            self.complete(504_000, Phase::Build, true);

            // The tail is laid out back from the final phase line, so that it keeps its lead.
            final_phase = self.final_phase_at();
            let fin = self.nominal(final_phase);
            self.enter(504_200, Phase::PostBuild);
            self.agent(504_400, "Running command docker push $IMAGE_REPO:$IMAGE_TAG");
            self.out(
                505_000,
                "The push refers to repository [123456789.dkr.ecr.us-west-2.amazonaws.com/pipecat-cloud/org_test]"
                    .into(),
            );
            let layers = self.rng.range(8, 14);
            self.burst(506_000, layers, |g, _| {
                let n = g.seq();
                format!("{:012x}: Preparing", mix(u64::from(n)) >> 16)
            });
            self.trickle(507_000, fin - 10_000, &[], |g, _| {
                let n = g.seq();
                let verb = if n % 3 == 0 { "Layer already exists" } else { "Pushed" };
                format!("{:012x}: {verb}", mix(u64::from(n)) >> 16)
            });
            self.out(fin - 9_500, format!("latest: digest: sha256:{} size: 2841", digest(seed ^ 1)));
            self.complete(fin - 9_000, Phase::PostBuild, true);

            self.enter(fin - 8_800, Phase::UploadArtifacts);
            self.agent(fin - 8_000, "Expanding base directory path: .");
            self.agent(fin - 7_900, "Assembling file list");
            self.agent(fin - 7_800, "Expanding .");
            self.agent(fin - 7_700, "Expanding file paths for base directory .");
            self.agent(fin - 7_600, "Expanding imagedefinitions.json");
            self.agent(fin - 6_800, "Found 1 file(s)");
            self.complete(fin - 4_000, Phase::UploadArtifacts, true);

            self.enter(fin - 3_800, Phase::Finalizing);
            self.agent(fin - 3_000, "Running command echo Build completed for $IMAGE_REPO:$IMAGE_TAG");
            self.out(
                fin - 2_500,
                "Build completed for 123456789.dkr.ecr.us-west-2.amazonaws.com/pipecat-cloud/org_test".into(),
            );
            self.complete_at(final_phase, Phase::Finalizing, true);
        }
        Layout { building: self.t(building), final_phase, quiet: (self.t(301_000), self.t(quiet_end)) }
    }

    /// The final phase line's scripted ms: 2 to 6 s (drawn) before the end.
    fn final_phase_at(&mut self) -> u64 {
        self.length_ms - self.rng.range(2_000, 6_000)
    }
}

/// A pip line, with BuildKit's step prefix when inside a Docker step (`(step, at)`, nominal ms).
fn pip_line(g: &mut Gen, docker: Option<(u64, u64)>) -> String {
    let n = g.seq();
    let body = match g.rng.below(3) {
        0 => format!("Collecting dependency-{n:05}>=1.{}", n % 7),
        1 => format!("  Downloading dependency_{n:05}-1.{}-py3-none-any.whl ({} kB)", n % 7, 10 + n % 900),
        _ => format!("Requirement already satisfied: dependency-{n:05} in /usr/local/lib/python3.12/site-packages"),
    };
    match docker {
        Some((step, at)) => format!("#8 {} {body}", g.elapsed(step, at)),
        None => body,
    }
}

/// An apt-get line inside Docker step #6 (started at `step`, nominal ms).
fn apt_line(g: &mut Gen, step: u64, at: u64) -> String {
    let n = g.seq();
    let body = match g.rng.below(3) {
        0 => format!(
            "Get:{n} http://deb.debian.org/debian bookworm/main amd64 libpkg{n:05} amd64 1.{}-1 [{} kB]",
            n % 9,
            20 + n % 700
        ),
        1 => format!("Unpacking libpkg{n:05}:amd64 (1.{}-1) ...", n % 9),
        _ => format!("Setting up libpkg{n:05}:amd64 (1.{}-1) ...", n % 9),
    };
    format!("#6 {} {body}", g.elapsed(step, at))
}

/// A hash-like number for layer ids.
fn mix(x: u64) -> u64 {
    Rng::new(x).next()
}

/// A sha256-like digest: 64 hex digits drawn from `x`.
fn digest(x: u64) -> String {
    let mut rng = Rng::new(x);
    (0..4).map(|_| format!("{:016x}", rng.next())).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const ID: &str = "123e4567-e89b-12d3-a456-426614174000";

    fn plan(seed: u64) -> CodebuildPlan {
        CodebuildPlan { seed, ..CodebuildPlan::default() }
    }

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    /// The phase lines of a script, as (kind, at).
    fn phase_lines(script: &CodebuildScript) -> Vec<(LineKind, Duration)> {
        script.lines.iter().filter(|l| l.kind.is_phase_line()).map(|l| (l.kind, l.at)).collect()
    }

    #[test]
    fn lines_are_in_time_order_and_unique() {
        for seed in 0..20 {
            for outcome in [CodebuildOutcome::Succeeded, CodebuildOutcome::Failed] {
                let script = CodebuildPlan { outcome, ..plan(seed) }.script(ID);
                assert!(script.lines.windows(2).all(|w| w[0].at <= w[1].at), "seed {seed}: out of order");
                let keys: HashSet<&str> = script.lines.iter().map(|l| l.key.as_str()).collect();
                assert_eq!(keys.len(), script.lines.len(), "seed {seed} {outcome:?}: a key repeats");
                assert!(script.lines.len() > 1_000, "seed {seed}: only {} lines", script.lines.len());
                assert!(script.lines.first().unwrap().at > script.building_at);
                assert!(script.lines.last().unwrap().at < script.ends_at);
            }
        }
    }

    #[test]
    fn phases_run_in_order_and_end_2_to_6_s_before_the_status() {
        for seed in 0..50 {
            let script = plan(seed).script(ID);
            let mut expected = Vec::new();
            for phase in Phase::ALL {
                expected.push(LineKind::EnterPhase(phase));
                expected.push(LineKind::PhaseComplete { phase, succeeded: true });
            }
            let phases = phase_lines(&script);
            assert_eq!(phases.iter().map(|(kind, _)| *kind).collect::<Vec<_>>(), expected, "seed {seed}");
            let last = script.lines.last().unwrap();
            assert_eq!(last.key, "[Container] Phase complete: FINALIZING State: SUCCEEDED");
            assert_eq!(Some(last.at), script.final_phase_at);
            let lead = secs(script.ends_at - last.at);
            assert!((2.0..=6.0).contains(&lead), "seed {seed}: lead {lead} s");
            assert_eq!(script.status, "success");
        }
        // Both forms of the entering line.
        let keys: Vec<String> = plan(3).script(ID).lines.into_iter().map(|l| l.key).collect();
        assert!(keys.contains(&"[Container] Entering phase BUILD".to_string()));
        assert!(keys.contains(&"[Container] Entering phase: PRE_BUILD".to_string()));
    }

    #[test]
    fn the_build_has_bursts_a_quiet_stretch_and_trickles() {
        for seed in 0..20 {
            let script = plan(seed).script(ID);
            let (from, to) = script.quiet;
            let quiet = secs(to - from);
            assert!((40.0..=90.0).contains(&quiet), "seed {seed}: quiet {quiet} s");
            assert!(!script.lines.iter().any(|l| from < l.at && l.at < to), "seed {seed}: a line in the quiet stretch");
            let (build_start, build_end) = {
                let phases = phase_lines(&script);
                (phases[4].1, phases[5].1)
            };
            assert!(build_start < from && to < build_end);
            let mut per_instant: std::collections::BTreeMap<Duration, usize> = std::collections::BTreeMap::new();
            for line in &script.lines {
                *per_instant.entry(line.at).or_default() += 1;
            }
            assert!(per_instant.values().filter(|n| **n > 100).count() >= 3, "seed {seed}: bursts");
            // Elsewhere no gap between lines is longer than 10 s (but before the final line).
            let gaps = script.lines.windows(2).filter(|w| w[0].at != from && secs(w[1].at - w[0].at) > 10.0).count();
            assert_eq!(gaps, 0, "seed {seed}: a long gap outside the quiet stretch");
        }
    }

    #[test]
    fn a_failed_build_fails_build_then_runs_post_build() {
        let script = CodebuildPlan { outcome: CodebuildOutcome::Failed, ..plan(7) }.script(ID);
        let kinds: Vec<LineKind> = phase_lines(&script).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            kinds[kinds.len() - 4..],
            [
                LineKind::EnterPhase(Phase::Build),
                LineKind::PhaseComplete { phase: Phase::Build, succeeded: false },
                LineKind::EnterPhase(Phase::PostBuild),
                LineKind::PhaseComplete { phase: Phase::PostBuild, succeeded: true },
            ]
        );
        assert_eq!(script.status, "failed");
        let lead = secs(script.ends_at - script.final_phase_at.unwrap());
        assert!((2.0..=6.0).contains(&lead), "lead {lead} s");
        assert_eq!(script.lines.last().unwrap().key, "[Container] Phase complete: POST_BUILD State: SUCCEEDED");
    }

    #[test]
    fn without_signals_only_the_phase_lines_go() {
        let with = plan(11).script(ID);
        let without = CodebuildPlan { phase_lines: false, ..plan(11) }.script(ID);
        assert!(!without.lines.iter().any(|l| l.key.contains("phase") || l.key.contains("Phase")));
        assert_eq!(without.final_phase_at, None);
        let kept: Vec<(&str, Duration)> =
            with.lines.iter().filter(|l| !l.kind.is_phase_line()).map(|l| (l.key.as_str(), l.at)).collect();
        let all: Vec<(&str, Duration)> = without.lines.iter().map(|l| (l.key.as_str(), l.at)).collect();
        assert_eq!(kept, all);
        assert_eq!(with.lines.len() - without.lines.len(), 12);
    }

    #[test]
    fn deterministic_scaled_and_stretched() {
        let a = plan(5).script(ID);
        let b = plan(5).script(ID);
        assert_eq!(
            a.lines.iter().map(|l| (&l.key, l.at)).collect::<Vec<_>>(),
            b.lines.iter().map(|l| (&l.key, l.at)).collect::<Vec<_>>()
        );
        assert_ne!(plan(6).script(ID).lines.len(), 0);
        let fast = CodebuildPlan { second: Duration::from_millis(50), ..plan(5) }.script(ID);
        assert_eq!(fast.ends_at, Duration::from_secs(30));
        assert_eq!(fast.building_at, Duration::from_millis(400));
        for (slow, fast) in a.lines.iter().zip(&fast.lines) {
            assert_eq!(slow.key, fast.key);
            assert_eq!(slow.at / 20, fast.at);
        }
        let long = CodebuildPlan { length: Duration::from_secs(1_200), ..plan(5) }.script(ID);
        assert_eq!(long.ends_at, Duration::from_secs(1_200));
        let lead = secs(long.ends_at - long.final_phase_at.unwrap());
        assert!((2.0..=6.0).contains(&lead));
    }

    #[test]
    fn keys_drop_the_container_stamp_only() {
        assert_eq!(
            line_key("[Container] 2026/03/04 10:00:00.123456 Entering phase BUILD"),
            "[Container] Entering phase BUILD"
        );
        assert_eq!(
            line_key("[Container] 2026/03/04 10:00:00 Entering phase BUILD"),
            "[Container] 2026/03/04 10:00:00 Entering phase BUILD"
        );
        assert_eq!(line_key("#8 1.000 Collecting x"), "#8 1.000 Collecting x");
        assert_eq!(line_key("[Container] short"), "[Container] short");
    }
}
