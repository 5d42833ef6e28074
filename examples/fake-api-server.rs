//! The fake Pipecat Cloud API as a standalone server on loopback, for pointing other programs at
//! it by hand (buildgate itself, the docs' curl loop, a debugger).
//!
//! ```sh
//! cargo run --example fake-api-server -- --port 8080 [--scenario demo|bench|codebuild] [--scale-ms N] [--lifetime SECONDS]
//! ```
//!
//! It prints one line, `listening on http://127.0.0.1:PORT`, to stderr and serves until killed or
//! until `--lifetime` (default 600 s) has passed. The Pipecat base URL is that address plus `/v1`,
//! the build id is `123e4567-e89b-12d3-a456-426614174000` and the key is
//! [`fake_api::DEFAULT_API_KEY`]. A build's clock starts at the first request naming it.
//!
//! - `demo` (default): [`fake_api::demo::demo_scenario`], `--scale-ms` (default 1000) being its
//!   scale: pending → building → success after 5 × scale.
//! - `bench`: the build `benches/e2e.rs` measures ([`bench_build`]): a 600 s build compressed so
//!   that one scripted second lasts `--scale-ms` (default 50), ~2000 unique log lines in bursts
//!   (some far over 100 lines), a 503 and a 429 (`Retry-After: 1`) on the status route and a 502
//!   on the logs route, then success.
//! - `codebuild`: the build of the bench's `--codebuild` mode ([`codebuild_bench`]): a 600 s
//!   CodeBuild-style build (phase lines, bursts, a quiet stretch; timestamps on its clock) and
//!   20 finished builds of about its length for `GET /v1/builds?status=success`, one scripted
//!   second lasting `--scale-ms` (default 50).

use std::process::ExitCode;
use std::time::Duration;

use fake_api::codebuild::{CodebuildOutcome, CodebuildPlan, CodebuildScript};
use fake_api::demo::{
    DEMO_BUILD_ID, DEMO_CONTEXT_HASH, PRIME_DEMO_BUILD_ID, context_hash_scenario, demo_scenario, failed_demo_scenario,
    prime_demo_scenario,
};
use fake_api::{FakeApi, Fault, FaultKind, PipecatBuild, Route, Scenario};

/// The bench build's length in scripted seconds: it turns `success` at this point of its clock,
/// plus the `extra_ms` given to [`bench_build`].
pub const BENCH_BUILD_SECONDS: u32 = 600;

/// The bench's simulated build: the scenario, every log line it serves in order (each unique),
/// and when on the build's clock it turns `success`.
pub struct BenchBuild {
    pub scenario: Scenario,
    pub lines: Vec<String>,
    pub ends_at: Duration,
    /// (scripted ms, lines) of every burst, in order.
    pub bursts: Vec<(u32, usize)>,
}

/// Sizes of the large bursts (a pip install resolving, wheels downloading, a Docker layer's
/// output flushed at once, ...), at scripted ms.
const LARGE_BURSTS: [(u32, usize, &str); 5] = [
    (45_000, 150, "Collecting"),
    (130_000, 280, "Downloading"),
    (250_000, 520, "#12"),
    (380_000, 200, "Installing"),
    (470_000, 120, "#18"),
];

/// Phase changes, at scripted ms.
const PHASES: [(u32, &str); 4] =
    [(10_000, "INSTALL"), (100_000, "PRE_BUILD"), (200_000, "BUILD"), (560_000, "POST_BUILD")];

/// The build the e2e bench runs every contender against, one scripted second lasting `second`,
/// turning `success` `extra_ms` scripted ms after [`BENCH_BUILD_SECONDS`] (the bench varies it
/// so that the end falls at different points of the contenders' polling).
/// Deterministic: the small bursts come from a fixed-seed generator, so every run is the same.
pub fn bench_build(second: Duration, extra_ms: u32) -> BenchBuild {
    let scaled = |ms: u32| second * ms / 1000;
    let ends_at = scaled(BENCH_BUILD_SECONDS * 1000 + extra_ms);
    let mut build = PipecatBuild::new(DEMO_BUILD_ID)
        .step(Duration::ZERO, "pending")
        .step(scaled(8_000), "building")
        .step(ends_at, "success")
        .duration_seconds(i64::from(BENCH_BUILD_SECONDS + extra_ms / 1000))
        .logs_url("https://console.aws.amazon.com/codebuild/home#/builds/bench");
    let mut lines = Vec::new();
    let mut bursts = Vec::new();
    for (at, bodies) in bench_events() {
        let stamp = format!("{:02}:{:02}.{:03}", at / 60_000, at / 1000 % 60, at % 1000);
        let mut burst = Vec::with_capacity(bodies.len());
        for body in bodies {
            let line = format!("[Container] 2026/03/04 10:{stamp} line {:04} {body}", lines.len() + 1);
            lines.push(line.clone());
            burst.push(line);
        }
        bursts.push((at, burst.len()));
        build = build.logs(scaled(at), burst);
    }
    BenchBuild { scenario: with_bench_faults(build), lines, ends_at, bursts }
}

/// (scripted ms, bodies) of every burst, in time order; numbered by [`bench_build`].
fn bench_events() -> Vec<(u32, Vec<String>)> {
    let mut events: Vec<(u32, Vec<String>)> = Vec::new();
    events.push((10_000, vec!["Running on CodeBuild On-demand".into(), "Waiting for agent ping".into()]));
    for (at, phase) in PHASES {
        events.push((at, vec![format!("Entering phase: {phase}")]));
    }
    for (at, size, kind) in LARGE_BURSTS {
        let bodies = (0..size)
            .map(|k| match kind {
                "Collecting" => format!("Collecting dependency-{k:03}>=1.{}", k % 7),
                "Downloading" => {
                    format!("  Downloading dependency_{k:03}-1.{}-py3-none-any.whl ({} kB)", k % 7, 10 + k)
                }
                "Installing" => format!("Installing collected packages: dependency-{k:03}"),
                step => format!("{step} {}.{k:03} writing layer sha256:{:016x}", k / 50, k * 7919),
            })
            .collect();
        events.push((at, bodies));
    }
    events.extend(small_bursts());
    events.push((598_000, vec!["Phase complete: POST_BUILD State: SUCCEEDED".into()]));
    // Stable: bursts at the same ms keep the order above.
    events.sort_by_key(|(at, _)| *at);
    events
}

/// Small bursts between the large ones: 1 to 8 lines every 1 to 6 scripted seconds, from a
/// fixed-seed generator, so every run is the same.
fn small_bursts() -> Vec<(u32, Vec<String>)> {
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut bursts = Vec::new();
    let mut at = 10_500;
    let mut small = 0;
    while at < 590_000 {
        let size = 1 + usize::try_from(next(8)).expect("below 8");
        let bodies = (0..size)
            .map(|_| {
                small += 1;
                match at {
                    ..100_000 => format!("Running command pip install -r requirements.txt ({small})"),
                    100_000..200_000 => format!("Running command python -m compileall /app ({small})"),
                    200_000..560_000 => format!("Step {}/48 : RUN build step {small}", 1 + small % 48),
                    _ => format!("Pushing image layer {small} to 123456789.dkr.ecr.us-west-2.amazonaws.com"),
                }
            })
            .collect();
        bursts.push((at, bodies));
        at += 1_000 + u32::try_from(next(5_000)).expect("below 5000");
    }
    bursts
}

/// Faults mid-build: the 11th and 12th status reads fail (a 503, then a 429 asking for a
/// second), the 6th logs read gets a 502. Delay(0) lets the earlier requests through unharmed.
fn with_bench_faults(build: PipecatBuild) -> Scenario {
    Scenario::new()
        .pipecat(build)
        .fault(Fault::new(Route::GetBuild, FaultKind::Delay(Duration::ZERO)).times(10))
        .fault(Fault::new(Route::GetBuild, FaultKind::status(503)))
        .fault(Fault::new(Route::GetBuild, FaultKind::retry_after(429, "1")))
        .fault(Fault::new(Route::Logs, FaultKind::Delay(Duration::ZERO)).times(5))
        .fault(Fault::new(Route::Logs, FaultKind::status(502)))
}

/// How many finished builds the `--codebuild` bench lists, and how far their durations spread
/// around the median (scripted seconds).
pub const HISTORY_BUILDS: usize = 20;
pub const HISTORY_SPREAD_SECONDS: u32 = 30;

/// The seed of the `--codebuild` bench's build and history.
const CODEBUILD_SEED: u64 = 2026;

/// The build of the bench's `--codebuild` mode and the scenario that serves it.
pub struct CodebuildBench {
    pub scenario: Scenario,
    pub script: CodebuildScript,
}

/// The `--codebuild` bench's build, one scripted second lasting `second`: a CodeBuild-style
/// build ([`CodebuildPlan`]) turning `success` at [`BENCH_BUILD_SECONDS`] plus `extra_ms`
/// scripted ms, its timestamps on its clock, in `us-west`; with `signals`, its phase lines and
/// [`HISTORY_BUILDS`] finished builds whose durations (`startedAt` to `completedAt`) spread
/// ± [`HISTORY_SPREAD_SECONDS`] around this one's at the middle of the rounds' ends (+5 s).
/// Without `signals`: the same lines without any phase line, and no finished builds.
pub fn codebuild_bench(second: Duration, extra_ms: u32, signals: bool) -> CodebuildBench {
    let plan = CodebuildPlan {
        second,
        length: Duration::from_millis(u64::from(BENCH_BUILD_SECONDS * 1000 + extra_ms)),
        seed: CODEBUILD_SEED,
        outcome: CodebuildOutcome::Succeeded,
        phase_lines: signals,
    };
    let script = plan.script(DEMO_BUILD_ID);
    let mut scenario = Scenario::new().pipecat(script.build.clone().timestamps_on_clock().region("us-west"));
    if signals {
        let median = (second * (BENCH_BUILD_SECONDS * 1000 + 5_000) / 1000).saturating_sub(script.building_at);
        scenario = scenario.history(HISTORY_BUILDS, median, second * HISTORY_SPREAD_SECONDS, CODEBUILD_SEED);
    }
    CodebuildBench { scenario, script }
}

const USAGE: &str = "usage: fake-api-server [--port PORT] [--scenario success|failed|prime|context-hash|bench|codebuild] \
                     [--scale-ms N] [--lifetime SECONDS]";

struct Options {
    port: u16,
    scenario: String,
    scale_ms: Option<u64>,
    lifetime: Duration,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options =
        Options { port: 8080, scenario: "demo".into(), scale_ms: None, lifetime: Duration::from_secs(600) };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag}: not a whole number: {v:?}"));
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                options.port = v.parse().map_err(|_| format!("--port: not a port number (0-65535): {v:?}"))?;
            }
            "--scenario" => match value()?.as_str() {
                s @ ("demo" | "success" | "failed" | "prime" | "context-hash" | "bench" | "codebuild") => {
                    options.scenario = s.into();
                }
                other => {
                    return Err(format!(
                        "--scenario: unknown scenario {other:?} (success, failed, prime, context-hash, bench or codebuild)"
                    ));
                }
            },
            "--scale-ms" => options.scale_ms = Some(number(value()?)?.max(1)),
            "--lifetime" => options.lifetime = Duration::from_secs(number(value()?)?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// A build named again after this long without a request, once played out, starts over.
const IDLE: Duration = Duration::from_secs(2);

/// The gate's command for this scenario, printed at the start.
fn what_to_run(scenario: &str, port: u16) -> String {
    let (provider, target) = match scenario {
        "prime" => ("prime", format!("BUILDGATE_BUILD_ID={PRIME_DEMO_BUILD_ID}")),
        "context-hash" => {
            ("pipecat", format!("BUILDGATE_CONTEXT_HASH={DEMO_CONTEXT_HASH} BUILDGATE_DOCKERFILE=Dockerfile"))
        }
        _ => ("pipecat", format!("BUILDGATE_BUILD_ID={DEMO_BUILD_ID}")),
    };
    let url =
        if provider == "prime" { format!("http://127.0.0.1:{port}") } else { format!("http://127.0.0.1:{port}/v1") };
    format!(
        "run the gate against it:\n  BUILDGATE_PROVIDER={provider} {target} BUILDGATE_API_URL={url} \
         BUILDGATE_API_KEY={} buildgate",
        fake_api::DEFAULT_API_KEY
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("fake-api-server: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let scale = Duration::from_millis(options.scale_ms.unwrap_or(1000));
    let bench_second = Duration::from_millis(options.scale_ms.unwrap_or(50));
    let scenario = match options.scenario.as_str() {
        "bench" => bench_build(bench_second, 0).scenario,
        "codebuild" => codebuild_bench(bench_second, 0, true).scenario,
        // Run by hand: each run of the gate, a few seconds after the last, sees a whole build.
        "failed" => failed_demo_scenario(scale).restart_when_idle(IDLE),
        "prime" => prime_demo_scenario(scale).restart_when_idle(IDLE),
        "context-hash" => context_hash_scenario(scale).restart_when_idle(IDLE),
        _ => demo_scenario(scale).restart_when_idle(IDLE),
    };
    let api = match FakeApi::start_on(options.port, scenario.lifetime(options.lifetime)) {
        Ok(api) => api,
        Err(e) => {
            eprintln!("fake-api-server: cannot listen on 127.0.0.1:{}: {e}", options.port);
            return ExitCode::FAILURE;
        }
    };
    eprintln!("listening on {}", api.base_url());
    eprintln!("{}", what_to_run(&options.scenario, api.port()));
    // The server stops by itself when its lifetime ends; this only outlives it by a moment.
    std::thread::sleep(options.lifetime);
    api.stop();
    ExitCode::SUCCESS
}
