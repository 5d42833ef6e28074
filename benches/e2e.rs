//! End to end: the release `buildgate` binary against the Pipecat docs' curl + jq loop
//! (`benches/docs-loop.sh`), each following the same simulated build on a fresh fake API.
//!
//! ```sh
//! cargo bench -j1 --bench e2e                      # one scripted second = 50 ms (1/20), 8 rounds
//! cargo bench -j1 --bench e2e -- --scale-ms 100    # slower, closer to real time
//! cargo bench -j1 --bench e2e -- --rounds 16       # more rounds, a steadier mean latency
//! cargo bench -j1 --bench e2e -- --codebuild       # a CodeBuild-style build, recent builds listed
//! cargo bench -j1 --bench e2e -- --codebuild --no-signals   # the same without phase lines or history
//! ```
//!
//! The build (`bench_build` in `examples/fake-api-server.rs`, which `--scenario bench` serves
//! too) runs 600 scripted seconds: ~2000 unique log lines in bursts, some far over 100 lines, a
//! 503 and a 429 (`Retry-After: 1`, which is real seconds, not scaled) on the status route and a
//! 502 on the logs route mid-build, then `success`. Every interval of both contenders is scaled
//! by the same factor: buildgate's defaults (poll 2 s → max 10 s, the log read at least every
//! 60 s, a 30 s request timeout, a 30 m deadline) and the loop's 5 s sleep (status every second
//! iteration). The loop runs with `PACE=1`, so that its own curl and jq time, which compressed
//! time magnifies 20-fold, does not stretch its schedule (see the script).
//!
//! Each round moves the build's end a little past 600 s, evenly over the loop's 10 s status
//! period, and runs both contenders in turn; the table shows every run and the means. Detection
//! latency depends on where the end falls between two status reads, so only a mean over such
//! rounds compares the contenders fairly.
//!
//! Measured per run: requests (the server's record), log lines printed 2+ times and never,
//! detection latency (exit instant minus the scripted success instant: the build's clock starts
//! at the first request naming it, `FakeApi::clock_started`, so success is at that instant plus
//! the build's length), and CPU and peak RSS from `/usr/bin/time` (for the loop, summed over bash
//! and every curl and jq it ran; the RSS is the largest single process's, as getrusage reports it
//! for children). The contender's stdout is read through a pipe on a thread, each line
//! timestamped as it arrives.
//!
//! `--codebuild` (`[--rounds N] [--scale-ms N] [--no-signals] [--skew-s S]`) measures what guided
//! polling is for. Each round serves a fresh fake API with `codebuild_bench` (in
//! `examples/fake-api-server.rs`, which `--scenario codebuild` serves too): a CodeBuild-style
//! build of 600 scripted seconds plus the round's end offset (phase lines `[Container] <stamp>
//! Entering phase X` / `Phase complete: X State: SUCCEEDED` for INSTALL through FINALIZING,
//! Docker output in bursts of up to ~550 lines in BUILD, a quiet stretch of 40 to 90 s, trickles
//! elsewhere, the final phase line 2 to 6 s before `success`; `startedAt`/`completedAt` on the
//! build's clock, region `us-west`, no faults), plus 20 finished builds of about its length
//! (± 30 s) for `GET /v1/builds?status=success&region=us-west`. `--no-signals` serves the same
//! lines without any phase line and no finished builds. `--skew-s S` (whole real seconds, may be
//! negative; not scaled) sets the server's clock S seconds off the local one, its `Date` header
//! and every timestamp it writes included. The contenders run as in the default mode (same
//! scaled settings, same rounds), and per contender, as means over the rounds, it reports:
//! requests (status + logs + list), mean and worst detection latency, the line lag (for each
//! scripted line printed, the instant the bench read it from the contender's stdout minus the
//! instant it became visible, the clock's start plus its scripted time, in scripted seconds: p50,
//! p95 and max of each run), and lines lost and repeated. Its targets: at most half the loop's
//! requests; a mean latency at most half the loop's (with `--no-signals`: no worse than the
//! loop's); a lag p95 of at most 10 scripted s; nothing lost, nothing repeated.
//!
//! `cargo bench -j1 --bench e2e -- --volume` instead measures the gate alone, with its default
//! log interval, on a build that writes 100 000 log lines (bursts of 2 000 every 40 ms): its peak
//! RSS, the requests it made, and that every line was printed exactly once. `-- --volume
//! --long-lines` does the same with 20 000 lines of 10 KB (bursts of 200 every 100 ms, 200 MB in
//! all): memory must follow the byte budget of the windows, not the length of the lines.
//!
//! With `E2E_DEBUG=1` each run also prints its last status reads and exit relative to the end.
//!
//! Without `--bench` (i.e. under `cargo test --benches`) it only checks that the scenarios build.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_api::codebuild::{LineKind, line_key};
use fake_api::demo::DEMO_BUILD_ID;
use fake_api::{ClockSkew, DEFAULT_API_KEY, FakeApi, Route, Scenario};

#[path = "../examples/fake-api-server.rs"]
#[allow(dead_code)]
mod server;

use server::{BENCH_BUILD_SECONDS, BenchBuild, HISTORY_BUILDS, HISTORY_SPREAD_SECONDS, bench_build, codebuild_bench};

/// How long past the scripted success a contender may run before it is stopped.
const GRACE: Duration = Duration::from_secs(20);

/// The `--codebuild` targets: the most scripted seconds of lag at the 95th percentile.
const LAG_P95_TARGET: f64 = 10.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Contender {
    Buildgate,
    DocsLoop,
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Buildgate => "buildgate (plain)",
            Contender::DocsLoop => "docs loop (curl + jq)",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Contender::Buildgate => "buildgate",
            Contender::DocsLoop => "docs-loop",
        }
    }
}

struct Measured {
    contender: Contender,
    extra_ms: u32,
    expected_latency: Option<Duration>,
    exit: String,
    status_requests: usize,
    log_requests: usize,
    list_requests: usize,
    other_requests: usize,
    once: usize,
    repeated: usize,
    extra_prints: usize,
    lost: usize,
    out_of_order: usize,
    latency: Option<Duration>,
    /// For the lines printed: from visible to read, in scripted seconds.
    lag: Option<Lag>,
    cpu: Option<f64>,
    rss_kib: Option<u64>,
}

impl Measured {
    fn requests(&self) -> usize {
        self.status_requests + self.log_requests + self.list_requests + self.other_requests
    }
}

/// The paths a run needs: the gate, the docs loop.
struct Tools {
    buildgate: PathBuf,
    script: PathBuf,
}

/// What one run serves, and how its printed lines are matched to the scripted ones.
struct Case {
    scenario: Scenario,
    /// Every scripted log line: its key, and when it becomes visible on the build's clock.
    lines: Vec<(String, Duration)>,
    /// When the build turns terminal on its clock.
    ends_at: Duration,
    /// The key of a printed line (the dialect's prefix already removed).
    key: fn(&str) -> Cow<'_, str>,
}

/// A printed line's key when lines match verbatim.
fn verbatim(line: &str) -> Cow<'_, str> {
    Cow::Borrowed(line)
}

/// The default mode's case: [`bench_build`] ending `extra_ms` past 600 s; lines match verbatim.
fn bench_case(second: Duration, extra_ms: u32) -> Case {
    let build = bench_build(second, extra_ms);
    let at = build.bursts.iter().flat_map(|&(ms, n)| std::iter::repeat_n(second * ms / 1000, n));
    Case {
        lines: build.lines.into_iter().zip(at).collect(),
        ends_at: build.ends_at,
        scenario: build.scenario,
        key: verbatim,
    }
}

/// The `--codebuild` case: [`codebuild_bench`] ending `extra_ms` past 600 s, the server's
/// clock off by `skew`; `[Container]` lines match without their stamp ([`line_key`]).
fn codebuild_case(second: Duration, extra_ms: u32, signals: bool, skew: ClockSkew) -> Case {
    let bench = codebuild_bench(second, extra_ms, signals);
    Case {
        scenario: bench.scenario.clock_skew(skew),
        lines: bench.script.lines.into_iter().map(|l| (l.key, l.at)).collect(),
        ends_at: bench.script.ends_at,
        key: line_key,
    }
}

/// The command line.
struct Options {
    second: Duration,
    rounds: u32,
    skew: ClockSkew,
    codebuild: bool,
    signals: bool,
    volume: Option<Volume>,
    /// Run by `cargo bench` (else only check that the scenarios build).
    bench: bool,
}

fn options(args: &[String]) -> Result<Options, String> {
    let flag = |name: &str| args.iter().any(|a| a == name);
    let scale_ms = number_flag(args, "--scale-ms", 50, 10..=1000, "a whole number of ms")?;
    let rounds = number_flag(args, "--rounds", 8, 1..=20, "a whole number")?;
    let options = Options {
        second: Duration::from_millis(scale_ms),
        rounds: u32::try_from(rounds).expect("at most 20 rounds"),
        skew: skew_flag(args)?,
        codebuild: flag("--codebuild"),
        signals: !flag("--no-signals"),
        volume: flag("--volume").then(|| if flag("--long-lines") { Volume::LONG_LINES } else { Volume::MANY_LINES }),
        bench: flag("--bench"),
    };
    if options.codebuild && options.volume.is_some() {
        return Err("--codebuild and --volume are separate runs".into());
    }
    if !options.codebuild && (!options.signals || options.skew != ClockSkew::NONE) {
        return Err("--no-signals and --skew-s go with --codebuild".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match options(&args) {
        Ok(options) => options,
        Err(e) => return usage(&e),
    };
    let Options { second, rounds, skew, signals, .. } = options;
    let build = bench_build(second, 0);
    if !options.bench {
        let with = codebuild_bench(second, 0, true);
        let without = codebuild_bench(second, 0, false);
        println!(
            "e2e: {} log lines scripted; --codebuild: {} ({} without phase lines), {} builds listed; run it with \
             `cargo bench --bench e2e`",
            build.lines.len(),
            with.script.lines.len(),
            without.script.lines.len(),
            with.scenario.pipecat_builds.len(),
        );
        return ExitCode::SUCCESS;
    }
    let buildgate = match buildgate_binary() {
        Ok(path) => path,
        Err(e) => return usage(&e),
    };
    if let Some(case) = options.volume {
        return match volume(&buildgate, case) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage(&e),
        };
    }
    if let Err(e) = check_tools() {
        return usage(&e);
    }
    let tools = Tools { buildgate, script: Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/docs-loop.sh") };
    if options.codebuild {
        describe_codebuild(second, rounds, signals, skew);
        let case = |extra_ms| codebuild_case(second, extra_ms, signals, skew);
        let Some(results) = all_rounds(&tools, second, rounds, case) else { return ExitCode::FAILURE };
        codebuild_table(&results, second);
        codebuild_targets(&results, signals);
    } else {
        describe(&build, second, rounds);
        let case = |extra_ms| bench_case(second, extra_ms);
        let Some(results) = all_rounds(&tools, second, rounds, case) else { return ExitCode::FAILURE };
        table(&results, second);
        targets(&results);
    }
    ExitCode::SUCCESS
}

/// What the contenders' runs need besides the gate: `/usr/bin/time`, `/usr/bin/env`, curl, jq.
fn check_tools() -> Result<(), String> {
    for tool in ["/usr/bin/time", "/usr/bin/env"] {
        if !Path::new(tool).exists() {
            return Err(format!("{tool} is needed (Debian: apt-get install time)"));
        }
    }
    for tool in ["curl", "jq"] {
        if !Command::new(tool).arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success()) {
            return Err(format!("the docs loop needs {tool} (Debian: apt-get install {tool})"));
        }
    }
    Ok(())
}

/// Every round, both contenders in turn, each on a fresh server with `case(end offset)`; `None`
/// (after saying why) if a run could not be made.
fn all_rounds(tools: &Tools, second: Duration, rounds: u32, case: impl Fn(u32) -> Case) -> Option<Vec<Measured>> {
    let mut results = Vec::new();
    for round in 0..rounds {
        let extra_ms = end_offset_ms(round, rounds);
        for contender in [Contender::Buildgate, Contender::DocsLoop] {
            eprintln!("e2e: round {}/{rounds} (end +{extra_ms} ms): {} ...", round + 1, contender.name());
            match run(contender, tools, second, extra_ms, &case(extra_ms)) {
                Ok(m) => results.push(m),
                Err(e) => {
                    eprintln!("e2e: {}: {e}", contender.name());
                    return None;
                }
            }
        }
    }
    Some(results)
}

/// Where round `round` of `rounds` moves the build's end, in scripted ms past 600 s: evenly over
/// the loop's 10 s status period, so the loop's latency averages over its phase as a real build's
/// would (a 600 s build alone would end just before one of its status reads).
fn end_offset_ms(round: u32, rounds: u32) -> u32 {
    (2 * round + 1) * 10_000 / (2 * rounds)
}

/// The value after `flag` in `args`, `default` without the flag, or what is wrong with it.
fn number_flag(
    args: &[String],
    flag: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    what: &str,
) -> Result<u64, String> {
    match args.iter().position(|a| a == flag).map(|i| args.get(i + 1)) {
        None => Ok(default),
        Some(Some(v)) => match v.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(format!("{flag}: {what} from {} to {}, not {v:?}", range.start(), range.end())),
        },
        Some(None) => Err(format!("{flag} needs a value")),
    }
}

/// `--skew-s S`: the server's clock S whole seconds ahead (S > 0) or behind (S < 0).
fn skew_flag(args: &[String]) -> Result<ClockSkew, String> {
    match args.iter().position(|a| a == "--skew-s").map(|i| args.get(i + 1)) {
        None => Ok(ClockSkew::NONE),
        Some(Some(v)) => match v.parse::<i64>() {
            Ok(s) if s.unsigned_abs() <= 86_400 => {
                let by = Duration::from_secs(s.unsigned_abs());
                Ok(if s < 0 { ClockSkew::Behind(by) } else { ClockSkew::Ahead(by) })
            }
            _ => Err(format!("--skew-s: whole seconds from -86400 to 86400, not {v:?}")),
        },
        Some(None) => Err("--skew-s needs a value".into()),
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("e2e: {message}");
    eprintln!(
        "usage: cargo bench --bench e2e [-- --scale-ms N] [--rounds N] | [-- --codebuild [--no-signals] [--skew-s S] \
         [--scale-ms N] [--rounds N]] | [-- --volume [--long-lines]]"
    );
    ExitCode::from(2)
}

/// The `buildgate` binary cargo built for this bench (release settings), else the one next to
/// this bench's directory (`target/release/buildgate`), else built with `cargo build --release`.
fn buildgate_binary() -> Result<PathBuf, String> {
    if let Some(path) = option_env!("CARGO_BIN_EXE_buildgate").map(PathBuf::from).filter(|p| p.exists()) {
        return Ok(path);
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the bench's own path: {e}"))?;
    // target/release/deps/e2e-HASH → target/release/buildgate
    let beside = exe.parent().and_then(Path::parent).map(|dir| dir.join("buildgate"));
    if let Some(path) = beside.filter(|p| p.exists()) {
        return Ok(path);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let status = Command::new(cargo)
        .args(["build", "-j1", "--release", "--bin", "buildgate", "--manifest-path"])
        .arg(&manifest)
        .status()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/buildgate");
    if status.success() && path.exists() {
        Ok(path)
    } else {
        Err(format!("cargo build --release did not produce {}", path.display()))
    }
}

fn describe(build: &BenchBuild, second: Duration, rounds: u32) {
    let largest = build.bursts.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let over_100 = build.bursts.iter().filter(|(_, n)| *n > 100).count();
    let ends: Vec<String> =
        (0..rounds).map(|r| format!("{:.2}", f64::from(end_offset_ms(r, rounds)) / 1000.0)).collect();
    println!(
        "Simulated build: {BENCH_BUILD_SECONDS} s scripted plus, in each of {rounds} rounds, {} s (1 s = {} ms, so \
         about {:.1} s of wall time per contender and round), {} unique log lines in {} bursts ({over_100} of them \
         over 100 lines, the largest {largest}), 503 + 429 (Retry-After: 1) on the 11th/12th status read, 502 on the \
         6th logs read, then success.",
        ends.join(" / "),
        second.as_millis(),
        build.ends_at.as_secs_f64(),
        build.lines.len(),
        build.bursts.len(),
    );
    print_settings(second);
}

/// The contenders' settings, scaled.
fn print_settings(second: Duration) {
    println!(
        "buildgate: BUILDGATE_POLL_INTERVAL={} BUILDGATE_POLL_MAX_INTERVAL={} BUILDGATE_LOG_INTERVAL={} (its \
         defaults, scaled); docs loop: SLEEP={} (logs every iteration, status every 2nd), PACE=1.\n",
        ms(second * 2),
        ms(second * 10),
        ms(second * 60),
        secs(second * 5),
    );
}

/// What the `--codebuild` build is (its round-0 form: the rounds only move its end).
fn describe_codebuild(second: Duration, rounds: u32, signals: bool, skew: ClockSkew) {
    let bench = codebuild_bench(second, 0, signals);
    let script = &bench.script;
    let scripted = |d: Duration| d.as_secs_f64() / second.as_secs_f64();
    let mut per_instant: HashMap<Duration, usize> = HashMap::new();
    for line in &script.lines {
        *per_instant.entry(line.at).or_default() += 1;
    }
    let over_100: Vec<usize> = {
        let mut sizes: Vec<usize> = per_instant.values().copied().filter(|n| *n > 100).collect();
        sizes.sort_unstable();
        sizes
    };
    let phase_lines = script.lines.iter().filter(|l| l.kind.is_phase_line()).count();
    let agent = script.lines.iter().filter(|l| l.kind == LineKind::Agent).count();
    let ends: Vec<String> =
        (0..rounds).map(|r| format!("{:.2}", f64::from(end_offset_ms(r, rounds)) / 1000.0)).collect();
    println!(
        "CodeBuild-style build: {BENCH_BUILD_SECONDS} s scripted plus, in each of {rounds} rounds, {} s (1 s = {} ms), \
         pending for {:.0} s, {} unique log lines ({phase_lines} phase lines, {agent} other agent lines), bursts over \
         100 lines: {over_100:?}, a quiet stretch of {:.0} s in BUILD, {}; timestamps on the build's clock{}.",
        ends.join(" / "),
        second.as_millis(),
        scripted(script.building_at),
        script.lines.len(),
        scripted(script.quiet.1.saturating_sub(script.quiet.0)),
        script.final_phase_at.map_or_else(
            || "no phase lines (--no-signals)".to_string(),
            |at| format!("the final phase line {:.1} s before success", scripted(script.ends_at.saturating_sub(at))),
        ),
        match skew {
            ClockSkew::Ahead(by) if !by.is_zero() => format!(", the server's clock {} s ahead", by.as_secs()),
            ClockSkew::Behind(by) if !by.is_zero() => format!(", the server's clock {} s behind", by.as_secs()),
            _ => String::new(),
        },
    );
    if signals {
        println!(
            "Listed: {HISTORY_BUILDS} finished builds (status success, region us-west), durations {:.0} s ± \
             {HISTORY_SPREAD_SECONDS} s scripted (whole wall seconds in buildDurationSeconds; startedAt and \
             completedAt in ms).",
            scripted((second * (BENCH_BUILD_SECONDS * 1000 + 5_000) / 1000).saturating_sub(script.building_at)),
        );
    } else {
        println!("Listed: no finished builds (--no-signals).");
    }
    print_settings(second);
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn secs(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

fn run(contender: Contender, tools: &Tools, second: Duration, extra_ms: u32, case: &Case) -> Result<Measured, String> {
    let dir = std::env::temp_dir().join(format!("buildgate-e2e-{}-{}", std::process::id(), contender.slug()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (stderr_path, time_path) = (dir.join("stderr"), dir.join("time"));
    let file = |p: &Path| File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
    let limit = case.ends_at + GRACE;

    let mut command = Command::new("/usr/bin/time");
    command.args(["-f", "%U %S %M", "-o"]).arg(&time_path);
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()));
    command.env("NO_COLOR", "1").env("LC_ALL", "C");

    let origin = Instant::now();
    let api = FakeApi::start(case.scenario.clone().lifetime(limit + Duration::from_secs(10)));
    add_contender(&mut command, contender, &tools.buildgate, &tools.script, second, &api);
    command.stdin(Stdio::null()).stderr(file(&stderr_path)?);
    let finished = run_until(&mut command, origin, limit)?;
    let requests = api.requests();
    let clock_started = api.clock_started(DEMO_BUILD_ID);
    api.stop();
    let wall = finished.exit_at.duration_since(origin);
    let exit = exit_text(&finished.status, wall, limit);

    let count = |route: Route| requests.iter().filter(|r| r.route() == Some(route)).count();
    let (status_requests, log_requests, list_requests) =
        (count(Route::GetBuild), count(Route::Logs), count(Route::ListBuilds));
    let other_requests = requests.len() - status_requests - log_requests - list_requests;
    // The scripted end, as an instant: the clock's start plus the build's length.
    let end = clock_started.map(|started| started + case.ends_at);
    let latency = end.and_then(|end| finished.exit_at.checked_duration_since(end));
    let first = requests.iter().find(|r| r.path.contains(DEMO_BUILD_ID)).map(|r| r.at);
    let status_times: Vec<Duration> =
        requests.iter().filter(|r| r.route() == Some(Route::GetBuild)).map(|r| r.at).collect();
    let expected_latency = first.and_then(|first| expected_latency(&status_times, first + second * 150, wall));
    if std::env::var_os("E2E_DEBUG").is_some()
        && let Some(first) = first
    {
        debug_the_end(contender, &status_times, first + case.ends_at, wall);
    }

    let tally = tally(case, &finished.printed);
    let lag = clock_started.and_then(|started| Lag::of(&case.lines, &tally.first_seen, started, second));
    let prints = &tally.prints;
    let (cpu, rss_kib) = parse_time(&std::fs::read_to_string(&time_path).unwrap_or_default());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Measured {
        contender,
        extra_ms,
        expected_latency,
        exit,
        status_requests,
        log_requests,
        list_requests,
        other_requests,
        once: prints.iter().filter(|&&n| n == 1).count(),
        repeated: prints.iter().filter(|&&n| n > 1).count(),
        extra_prints: prints.iter().map(|&n| n.saturating_sub(1)).sum(),
        lost: prints.iter().filter(|&&n| n == 0).count(),
        out_of_order: tally.out_of_order,
        latency,
        lag,
        cpu,
        rss_kib,
    })
}

/// How a run ended, for the table: its exit code, or that it was stopped at `limit`.
fn exit_text(status: &std::io::Result<ExitStatus>, wall: Duration, limit: Duration) -> String {
    match status {
        Ok(s) if wall >= limit => format!("stopped after {limit:.0?} ({s})"),
        Ok(s) => s.code().map_or_else(|| s.to_string(), |c| c.to_string()),
        Err(e) => format!("wait failed: {e}"),
    }
}

/// The contender's program and settings, every interval scaled by `second`, against `api`.
fn add_contender(
    command: &mut Command,
    contender: Contender,
    buildgate: &Path,
    script: &Path,
    second: Duration,
    api: &FakeApi,
) {
    match contender {
        Contender::Buildgate => {
            command.arg(buildgate).envs([
                ("BUILDGATE_BUILD_ID", DEMO_BUILD_ID.to_string()),
                ("BUILDGATE_API_URL", api.pipecat_url()),
                ("BUILDGATE_API_KEY", DEFAULT_API_KEY.to_string()),
                ("BUILDGATE_FORMAT", "plain".to_string()),
                ("BUILDGATE_POLL_INTERVAL", ms(second * 2)),
                ("BUILDGATE_POLL_MAX_INTERVAL", ms(second * 10)),
                ("BUILDGATE_LOG_INTERVAL", ms(second * 60)),
                ("BUILDGATE_REQUEST_TIMEOUT", ms(second * 30)),
                ("BUILDGATE_TIMEOUT", ms(second * 30 * 60)),
            ]);
        }
        Contender::DocsLoop => {
            command.arg("bash").arg(script).envs([
                ("PIPECAT_API_URL", api.pipecat_url()),
                ("BUILD_ID", DEMO_BUILD_ID.to_string()),
                ("PIPECAT_API_KEY", DEFAULT_API_KEY.to_string()),
                ("SLEEP", secs(second * 5)),
                ("CURL_MAX_TIME", secs(second * 30)),
                ("PACE", "1".to_string()),
            ]);
        }
    }
}

/// How a contender's run ended, and every line it printed with the instant it was read.
struct Finished {
    status: std::io::Result<ExitStatus>,
    exit_at: Instant,
    printed: Vec<(Instant, String)>,
}

/// Runs `command` until it exits, or stops it with all its children once `limit` after
/// `origin` has passed: how it exited, and when; its stdout is read through a pipe on a thread,
/// each line timestamped as it arrives.
fn run_until(command: &mut Command, origin: Instant, limit: Duration) -> Result<Finished, String> {
    // Its own process group, so that a contender that overruns is stopped with all its children.
    command.process_group(0).stdout(Stdio::piped());
    let mut child = command.spawn().map_err(|e| format!("cannot start /usr/bin/time: {e}"))?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let (lines_done, lines) = mpsc::channel::<Vec<(Instant, String)>>();
    let reader = std::thread::spawn(move || {
        let _ = lines_done.send(read_lines(stdout));
    });
    let (done, exited) = mpsc::channel::<(std::io::Result<ExitStatus>, Instant)>();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = done.send((status, Instant::now()));
    });
    let (status, exit_at) = exited.recv_timeout(limit.saturating_sub(origin.elapsed())).or_else(|_| {
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{pid}")]).status();
        exited.recv_timeout(Duration::from_secs(10)).map_err(|_| "the contender did not stop".to_string())
    })?;
    let _ = waiter.join();
    // Every writer has exited with the process group; the pipe ends soon after.
    let printed = lines.recv_timeout(Duration::from_secs(10)).map_err(|_| "its stdout stayed open".to_string())?;
    let _ = reader.join();
    Ok(Finished { status, exit_at, printed })
}

/// Every line read from `stdout` until it ends (without its line end), with the instant it
/// was read.
fn read_lines(stdout: impl Read) -> Vec<(Instant, String)> {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let (mut lines, mut buf) = (Vec::new(), Vec::new());
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return lines,
            Ok(_) => {
                let at = Instant::now();
                let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
                lines.push((at, String::from_utf8_lossy(text).into_owned()));
            }
        }
    }
}

/// With `E2E_DEBUG`: the last status reads and the exit, relative to the build's `end`.
fn debug_the_end(contender: Contender, status_times: &[Duration], end: Duration, wall: Duration) {
    let end = end.as_secs_f64();
    let around: Vec<String> =
        status_times.iter().rev().take(3).map(|t| format!("{:+.3}", t.as_secs_f64() - end)).collect();
    eprintln!(
        "e2e: {}: last status reads vs the end (s): {around:?}; exit {:+.3}",
        contender.slug(),
        wall.as_secs_f64() - end
    );
}

/// How the printed lines map to the scripted ones.
struct Tally {
    /// How often each scripted line was printed.
    prints: Vec<usize>,
    /// How many were first printed after a later one.
    out_of_order: usize,
    /// When each was first read from the contender's stdout.
    first_seen: Vec<Option<Instant>>,
}

/// Matches every `printed` line (read at its instant) to `case`'s scripted lines by key.
fn tally(case: &Case, printed: &[(Instant, String)]) -> Tally {
    let index: HashMap<&str, usize> = case.lines.iter().enumerate().map(|(i, (key, _))| (key.as_str(), i)).collect();
    let mut tally =
        Tally { prints: vec![0; case.lines.len()], out_of_order: 0, first_seen: vec![None; case.lines.len()] };
    let mut furthest = None::<usize>;
    for (at, line) in printed {
        let text = line.strip_prefix("  | ").unwrap_or(line);
        if let Some(&i) = index.get((case.key)(text).as_ref()) {
            if tally.prints[i] == 0 {
                // A first print of a line earlier than one already shown.
                if furthest.is_some_and(|f| i < f) {
                    tally.out_of_order += 1;
                }
                furthest = furthest.max(Some(i));
                tally.first_seen[i] = Some(*at);
            }
            tally.prints[i] += 1;
        }
    }
    tally
}

/// Line lag over one run's printed lines, in scripted seconds: from the instant a line became
/// visible (the clock's start plus its scripted time) to the instant it was read from stdout.
#[derive(Clone, Copy)]
struct Lag {
    p50: f64,
    p95: f64,
    max: f64,
}

impl Lag {
    /// Over the lines first read at `first_seen` (`None`: never printed), nearest-rank percentiles.
    fn of(
        lines: &[(String, Duration)],
        first_seen: &[Option<Instant>],
        started: Instant,
        second: Duration,
    ) -> Option<Lag> {
        let mut lags: Vec<f64> = lines
            .iter()
            .zip(first_seen)
            .filter_map(|((_, at), seen)| {
                let (seen, visible) = ((*seen)?, started + *at);
                let lag = match seen.checked_duration_since(visible) {
                    Some(late) => late.as_secs_f64(),
                    None => -visible.duration_since(seen).as_secs_f64(),
                };
                Some(lag / second.as_secs_f64())
            })
            .collect();
        lags.sort_by(f64::total_cmp);
        let rank = |percent: usize| lags[(lags.len() * percent).div_ceil(100).max(1) - 1];
        let max = *lags.last()?;
        Some(Lag { p50: rank(50), p95: rank(95), max })
    }

    fn show(lag: Option<Lag>) -> String {
        lag.map_or("n/a".into(), |l| format!("{:.1} / {:.1} / {:.1}", l.p50, l.p95, l.max))
    }
}

/// The detection latency to expect of a contender for a build ending at a random instant: the
/// mean wait from such an instant to its next status read (for reads Δ apart, Σ Δ² / 2 Σ Δ, over
/// its reads from `from` on), plus its own time from the read that saw the end to its exit. It
/// is read off each run's own request times, so it varies far less between rounds than the
/// latency measured for one end instant.
fn expected_latency(status_times: &[Duration], from: Duration, exit: Duration) -> Option<Duration> {
    let reads: Vec<f64> = status_times.iter().filter(|t| **t >= from).map(Duration::as_secs_f64).collect();
    let gaps: Vec<f64> = reads.windows(2).map(|w| w[1] - w[0]).collect();
    let total: f64 = gaps.iter().sum();
    let deciding = *reads.last()?;
    (total > 0.0).then(|| {
        let wait = gaps.iter().map(|g| g * g).sum::<f64>() / (2.0 * total);
        Duration::from_secs_f64(wait + (exit.as_secs_f64() - deciding).max(0.0))
    })
}

/// A volume run: how many lines, in bursts of how many, how often, and how long each line is.
#[derive(Clone, Copy)]
struct Volume {
    lines: usize,
    burst: usize,
    every_ms: u64,
    line_bytes: usize,
}

impl Volume {
    const MANY_LINES: Volume = Volume { lines: 100_000, burst: 2_000, every_ms: 40, line_bytes: 0 };
    const LONG_LINES: Volume = Volume { lines: 20_000, burst: 200, every_ms: 100, line_bytes: 10_000 };

    fn line(self, n: usize) -> String {
        let line = format!("[Container] 2026/03/04 10:00:00 step {n:06}: layer sha256:{n:064x}");
        let padding = self.line_bytes.saturating_sub(line.len() + 1);
        if padding == 0 { line } else { format!("{line} {}", "x".repeat(padding)) }
    }
}

/// The volume build: `case.lines` lines in bursts, then `success` 200 ms after the last burst.
fn volume_scenario(case: Volume) -> fake_api::Scenario {
    let Volume { lines, burst, every_ms, .. } = case;
    let mut build = fake_api::PipecatBuild::new(DEMO_BUILD_ID).step(Duration::ZERO, "building");
    for (i, chunk) in (0..lines).collect::<Vec<_>>().chunks(burst).enumerate() {
        build = build.logs(Duration::from_millis(every_ms * i as u64), chunk.iter().map(|n| case.line(*n)));
    }
    let ends = Duration::from_millis(every_ms * (lines / burst) as u64 + 200);
    fake_api::Scenario::new().pipecat(build.step(ends, "success"))
}

/// Many log lines through the release binary (GitHub format): peak RSS, requests, exactness.
fn volume(buildgate: &Path, case: Volume) -> Result<(), String> {
    let lines = case.lines;
    let api = FakeApi::start(volume_scenario(case));
    let dir = std::env::temp_dir().join(format!("buildgate-volume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let time_path = dir.join("time");
    let output = run_volume_gate(buildgate, &api, &dir, &time_path, lines)?;
    let requests = api.requests();
    api.stop();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let printed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("[Container]")).collect();
    let in_order = printed.iter().enumerate().all(|(i, l)| l.contains(&format!("step {i:06}:")));
    let (cpu, rss_kib) = parse_time(&std::fs::read_to_string(&time_path).unwrap_or_default());
    let logs = requests.iter().filter(|r| r.route() == Some(Route::Logs)).count();
    println!(
        "| log lines | line length | printed | exactly once, in order | requests (status + logs) | peak RSS | CPU |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {lines} | {} B | {} | {} | {} ({} + {logs}) | {} | {} |",
        case.line(0).len(),
        printed.len(),
        if printed.len() == lines && in_order { "yes" } else { "NO" },
        requests.len(),
        requests.len() - logs,
        rss_kib.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        cpu.map_or("?".into(), |c| format!("{c:.2} s")),
    );
    println!("exit code {:?}", output.status.code());
    for line in stdout.lines().filter(|l| l.starts_with("::warning")) {
        println!("{line}");
    }
    if std::env::var_os("VOLUME_DEBUG").is_some() {
        let queries: Vec<String> = requests
            .iter()
            .map(|r| format!("{:?} {}{}", r.at, r.path.rsplit('/').next().unwrap_or(""), r.query))
            .collect();
        println!("{queries:#?}");
    }
    if let Some(first) = printed.iter().enumerate().find(|(i, l)| !l.contains(&format!("step {i:06}:"))) {
        println!("first line out of place: #{} {}", first.0, first.1.chars().take(120).collect::<String>());
    }
    Ok(())
}

/// The gate against `api` for a volume build of `lines` lines, under `/usr/bin/time` (which
/// writes its figures to `time_path`).
fn run_volume_gate(
    buildgate: &Path,
    api: &FakeApi,
    dir: &Path,
    time_path: &Path,
    lines: usize,
) -> Result<std::process::Output, String> {
    Command::new("/usr/bin/time")
        .args(["-f", "%U %S %M", "-o"])
        .arg(time_path)
        .arg(buildgate)
        .env_clear()
        .envs([
            ("BUILDGATE_BUILD_ID", DEMO_BUILD_ID.to_string()),
            ("BUILDGATE_API_URL", api.pipecat_url()),
            ("BUILDGATE_API_KEY", DEFAULT_API_KEY.to_string()),
            ("BUILDGATE_FORMAT", "github".to_string()),
            ("BUILDGATE_OUTPUT_FILE", dir.join("outputs").display().to_string()),
            ("BUILDGATE_POLL_INTERVAL", "20ms".to_string()),
            ("BUILDGATE_POLL_MAX_INTERVAL", "100ms".to_string()),
            ("BUILDGATE_TIMEOUT", "60s".to_string()),
            ("BUILDGATE_MAX_LOG_LINES", (lines * 2).to_string()),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the gate: {e}"))
}

/// `%U %S %M` on the last line (GNU time puts "Command exited with non-zero status" first).
fn parse_time(text: &str) -> (Option<f64>, Option<u64>) {
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    let fields: Vec<&str> = last.split_whitespace().collect();
    match fields.as_slice() {
        [user, sys, rss] => {
            let cpu = user.parse::<f64>().ok().zip(sys.parse::<f64>().ok()).map(|(u, s)| u + s);
            (cpu, rss.parse().ok())
        }
        _ => (None, None),
    }
}

fn table(results: &[Measured], second: Duration) {
    let real = |d: Duration| d.as_secs_f64() / second.as_secs_f64();
    let latency =
        |l: Option<Duration>| l.map_or("n/a".into(), |l| format!("{} ms (≈ {:.1} s)", l.as_millis(), real(l)));
    println!(
        "| round: end | contender | exit | requests (status + logs) | lines shown once | lines shown 2+ times (extra \
         prints) | lines never shown | shown out of order | detection latency (unscaled) | expected latency | CPU \
         user+sys | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for m in results {
        let other = others_text(m.other_requests + m.list_requests);
        println!(
            "| +{:.2} s | {} | {} | {} ({} + {}{other}) | {} | {} ({}) | {} | {} | {} | {} | {} | {} |",
            f64::from(m.extra_ms) / 1000.0,
            m.contender.name(),
            m.exit,
            m.requests(),
            m.status_requests,
            m.log_requests,
            m.once,
            m.repeated,
            m.extra_prints,
            m.lost,
            m.out_of_order,
            latency(m.latency),
            latency(m.expected_latency),
            m.cpu.map_or("n/a".into(), |c| format!("{c:.2} s")),
            m.rss_kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        );
    }
    println!("\nMean per round:\n");
    println!(
        "| contender | requests (status + logs) | lines shown 2+ times | lines never shown | detection latency \
         (unscaled) ± standard error | expected latency | CPU user+sys | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for contender in [Contender::Buildgate, Contender::DocsLoop] {
        let Some(m) = Mean::of(results, contender) else { continue };
        println!(
            "| {} | {:.1} ({:.1} + {:.1}) | {:.1} | {:.1} | {} ± {} ms | {} | {:.2} s | {:.1} MiB |",
            contender.name(),
            m.requests,
            m.status_requests,
            m.log_requests,
            m.repeated,
            m.lost,
            latency(m.latency),
            m.latency_error.as_millis(),
            latency(m.expected_latency),
            m.cpu,
            m.rss_kib / 1024.0,
        );
    }
    println!(
        "\nCPU and RSS by /usr/bin/time: for the loop, CPU sums bash and every curl and jq it ran, and RSS is \
         the largest single process's. Latency: exit minus the scripted success instant; its mean has a \
         standard error over the rounds, as the end falls at a different point between two polls each time. \
         Expected latency: for an end at a random instant, from each run's own status reads after 150 scripted s \
         (the mean wait to the next read, Σ Δ² / 2 Σ Δ) plus its time from the deciding read to exit."
    );
}

/// One contender's means over the rounds (latency over the rounds that saw the end).
struct Mean {
    rounds: usize,
    requests: f64,
    status_requests: f64,
    log_requests: f64,
    list_requests: f64,
    repeated: f64,
    lost: f64,
    latency: Option<Duration>,
    /// The standard error of that mean: where the end falls between two polls varies a lot.
    latency_error: Duration,
    /// The longest latency of any round (over the rounds that saw the end).
    worst_latency: Option<Duration>,
    expected_latency: Option<Duration>,
    /// The mean of each run's p50, p95 and max (over the runs that printed a line).
    lag: Option<Lag>,
    cpu: f64,
    rss_kib: f64,
}

impl Mean {
    fn of(results: &[Measured], contender: Contender) -> Option<Mean> {
        let runs: Vec<&Measured> = results.iter().filter(|m| m.contender == contender).collect();
        if runs.is_empty() {
            return None;
        }
        let mean = |f: &dyn Fn(&Measured) -> f64| runs.iter().map(|m| f(m)).sum::<f64>() / runs.len() as f64;
        let latencies: Vec<f64> = runs.iter().filter_map(|m| m.latency).map(|l| l.as_secs_f64()).collect();
        let n = latencies.len() as f64;
        let latency_mean = latencies.iter().sum::<f64>() / n;
        let variance = latencies.iter().map(|l| (l - latency_mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        let lags: Vec<Lag> = runs.iter().filter_map(|m| m.lag).collect();
        let lag_mean = |f: fn(&Lag) -> f64| lags.iter().map(f).sum::<f64>() / lags.len() as f64;
        Some(Mean {
            rounds: runs.len(),
            requests: mean(&|m| m.requests() as f64),
            status_requests: mean(&|m| m.status_requests as f64),
            log_requests: mean(&|m| m.log_requests as f64),
            list_requests: mean(&|m| m.list_requests as f64),
            repeated: mean(&|m| m.repeated as f64),
            lost: mean(&|m| m.lost as f64),
            latency: (latencies.len() == runs.len()).then(|| Duration::from_secs_f64(latency_mean)),
            latency_error: if n > 0.0 { Duration::from_secs_f64((variance / n).sqrt()) } else { Duration::ZERO },
            worst_latency: runs.iter().filter_map(|m| m.latency).max(),
            expected_latency: runs
                .iter()
                .map(|m| m.expected_latency)
                .sum::<Option<Duration>>()
                .map(|total| total / u32::try_from(runs.len()).unwrap_or(u32::MAX)),
            lag: (!lags.is_empty()).then(|| Lag {
                p50: lag_mean(|l| l.p50),
                p95: lag_mean(|l| l.p95),
                max: lag_mean(|l| l.max),
            }),
            cpu: mean(&|m| m.cpu.unwrap_or(0.0)),
            rss_kib: mean(&|m| m.rss_kib.unwrap_or(0) as f64),
        })
    }
}

fn targets(results: &[Measured]) {
    let (Some(gate), Some(shell)) = (Mean::of(results, Contender::Buildgate), Mean::of(results, Contender::DocsLoop))
    else {
        return;
    };
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let gate_runs = || results.iter().filter(|m| m.contender == Contender::Buildgate);
    let repeated: usize = gate_runs().map(|m| m.repeated).sum();
    let lost: usize = gate_runs().map(|m| m.lost).sum();
    println!("\nTargets (buildgate, over {} rounds):", gate.rounds);
    println!("- 0 duplicates: {} ({repeated} lines shown more than once in all rounds)", verdict(repeated == 0));
    println!("- 0 lost: {} ({lost} lines never shown in all rounds)", verdict(lost == 0));
    println!(
        "- at most half the loop's requests: {} ({:.1} vs at most {:.1} a round; {:.0}% of the loop's)",
        verdict(gate.requests <= shell.requests / 2.0),
        gate.requests,
        shell.requests / 2.0,
        100.0 * gate.requests / shell.requests.max(1.0),
    );
    match (gate.latency, shell.latency) {
        (Some(g), Some(s)) => println!(
            "- detection latency no worse than the loop's: {} ({} ± {} ms vs {} ± {} ms, mean over the rounds)",
            verdict(g <= s),
            g.as_millis(),
            gate.latency_error.as_millis(),
            s.as_millis(),
            shell.latency_error.as_millis(),
        ),
        _ => println!("- detection latency: not measured (a contender did not see the build finish in some round)"),
    }
    if let (Some(g), Some(s)) = (gate.expected_latency, shell.expected_latency) {
        println!(
            "- expected detection latency no worse than the loop's: {} ({} ms vs {} ms, from the polls of every round)",
            verdict(g <= s),
            g.as_millis(),
            s.as_millis()
        );
    }
}

/// ` + N other` requests, if any.
fn others_text(n: usize) -> String {
    if n > 0 { format!(" + {n} other") } else { String::new() }
}

/// Milliseconds and, in brackets, scripted seconds.
fn latency_text(l: Option<Duration>, second: Duration) -> String {
    l.map_or("n/a".into(), |l| format!("{} ms (≈ {:.1} s)", l.as_millis(), l.as_secs_f64() / second.as_secs_f64()))
}

fn codebuild_table(results: &[Measured], second: Duration) {
    let latency = |l: Option<Duration>| latency_text(l, second);
    println!(
        "| round: end | contender | exit | requests (status + logs + list) | lines shown 2+ times (extra prints) | \
         lines never shown | shown out of order | line lag p50 / p95 / max (scripted s) | detection latency \
         (unscaled) | CPU user+sys | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for m in results {
        let other = others_text(m.other_requests);
        println!(
            "| +{:.2} s | {} | {} | {} ({} + {} + {}{other}) | {} ({}) | {} | {} | {} | {} | {} | {} |",
            f64::from(m.extra_ms) / 1000.0,
            m.contender.name(),
            m.exit,
            m.requests(),
            m.status_requests,
            m.log_requests,
            m.list_requests,
            m.repeated,
            m.extra_prints,
            m.lost,
            m.out_of_order,
            Lag::show(m.lag),
            latency(m.latency),
            m.cpu.map_or("n/a".into(), |c| format!("{c:.2} s")),
            m.rss_kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        );
    }
    println!("\nMean per round:\n");
    println!(
        "| contender | requests (status + logs + list) | lines shown 2+ times | lines never shown | line lag p50 / \
         p95 / max (scripted s) | detection latency (unscaled) ± standard error | worst latency | CPU user+sys | peak \
         RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for contender in [Contender::Buildgate, Contender::DocsLoop] {
        let Some(m) = Mean::of(results, contender) else { continue };
        println!(
            "| {} | {:.1} ({:.1} + {:.1} + {:.1}) | {:.1} | {:.1} | {} | {} ± {} ms | {} | {:.2} s | {:.1} MiB |",
            contender.name(),
            m.requests,
            m.status_requests,
            m.log_requests,
            m.list_requests,
            m.repeated,
            m.lost,
            Lag::show(m.lag),
            latency(m.latency),
            m.latency_error.as_millis(),
            latency(m.worst_latency),
            m.cpu,
            m.rss_kib / 1024.0,
        );
    }
    println!(
        "\nLine lag: for each scripted line printed, the instant the bench read it from the contender's stdout minus \
         the instant it became visible (the build's clock start plus the line's scripted time), in scripted seconds; \
         p50, p95 and max of each run, then their means over the rounds. Latency: exit minus the scripted success \
         instant; worst: the longest of any round."
    );
}

fn codebuild_targets(results: &[Measured], signals: bool) {
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let (Some(gate), Some(shell)) = (Mean::of(results, Contender::Buildgate), Mean::of(results, Contender::DocsLoop))
    else {
        println!("\nTargets: MISSED (a contender has no runs)");
        return;
    };
    let gate_runs = || results.iter().filter(|m| m.contender == Contender::Buildgate);
    let repeated: usize = gate_runs().map(|m| m.repeated).sum();
    let lost: usize = gate_runs().map(|m| m.lost).sum();
    println!("\nTargets (buildgate, over {} rounds{}):", gate.rounds, if signals { "" } else { ", --no-signals" });
    println!(
        "- at most half the loop's requests: {} ({:.1} vs at most {:.1} a round, {:.1} of them list requests; {:.0}% \
         of the loop's)",
        verdict(gate.requests <= shell.requests / 2.0),
        gate.requests,
        shell.requests / 2.0,
        gate.list_requests,
        100.0 * gate.requests / shell.requests.max(1.0),
    );
    let (factor, what) = if signals { (0.5, "at most half the loop's") } else { (1.0, "no worse than the loop's") };
    match (gate.latency, shell.latency) {
        (Some(g), Some(s)) => println!(
            "- mean detection latency {what}: {} ({} ± {} ms vs at most {} ms; the loop's {} ± {} ms; worst {} ms)",
            verdict(g.as_secs_f64() <= s.as_secs_f64() * factor),
            g.as_millis(),
            gate.latency_error.as_millis(),
            s.mul_f64(factor).as_millis(),
            s.as_millis(),
            shell.latency_error.as_millis(),
            gate.worst_latency.map_or(0, |w| w.as_millis()),
        ),
        _ => println!(
            "- mean detection latency {what}: MISSED (not measured: a contender did not see the build finish in some \
             round)"
        ),
    }
    match gate.lag {
        Some(lag) => println!(
            "- line lag p95 at most {LAG_P95_TARGET} scripted s: {} ({:.1} s, mean over the rounds; p50 {:.1} s, max \
             {:.1} s; the loop's p95 {})",
            verdict(lag.p95 <= LAG_P95_TARGET),
            lag.p95,
            lag.p50,
            lag.max,
            shell.lag.map_or("n/a".into(), |l| format!("{:.1} s", l.p95)),
        ),
        None => println!("- line lag p95 at most {LAG_P95_TARGET} scripted s: MISSED (not measured: no line printed)"),
    }
    println!("- 0 lost: {} ({lost} lines never shown in all rounds)", verdict(lost == 0));
    println!("- 0 repeated: {} ({repeated} lines shown more than once in all rounds)", verdict(repeated == 0));
}
