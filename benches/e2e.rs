//! End to end: the release `buildgate` binary against the Pipecat docs' curl + jq loop
//! (`benches/docs-loop.sh`), each following the same simulated build on a fresh fake API.
//!
//! ```sh
//! cargo bench -j1 --bench e2e                      # one scripted second = 50 ms (1/20), 8 rounds
//! cargo bench -j1 --bench e2e -- --scale-ms 100    # slower, closer to real time
//! cargo bench -j1 --bench e2e -- --rounds 16       # more rounds, a steadier mean latency
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
//! at the first request naming it, so success is at that request's time plus the build's length,
//! both measured from an instant taken just before the server starts), and CPU and peak RSS from
//! `/usr/bin/time` (for the loop, summed over bash and every curl and jq it ran; the RSS is the
//! largest single process's, as getrusage reports it for children).
//!
//! `cargo bench -j1 --bench e2e -- --volume` instead measures the gate alone, with its default
//! log interval, on a build that writes 100 000 log lines (bursts of 2 000 every 40 ms): its peak
//! RSS, the requests it made, and that every line was printed exactly once. `-- --volume
//! --long-lines` does the same with 20 000 lines of 10 KB (bursts of 200 every 100 ms, 200 MB in
//! all): memory must follow the byte budget of the windows, not the length of the lines.
//!
//! With `E2E_DEBUG=1` each run also prints its last status reads and exit relative to the end.
//!
//! Without `--bench` (i.e. under `cargo test --benches`) it only checks that the scenario builds.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_api::demo::DEMO_BUILD_ID;
use fake_api::{DEFAULT_API_KEY, FakeApi, Route};

#[path = "../examples/fake-api-server.rs"]
#[allow(dead_code)]
mod server;

use server::{BENCH_BUILD_SECONDS, BenchBuild, bench_build};

/// How long past the scripted success a contender may run before it is stopped.
const GRACE: Duration = Duration::from_secs(20);

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
    other_requests: usize,
    once: usize,
    repeated: usize,
    extra_prints: usize,
    lost: usize,
    out_of_order: usize,
    latency: Option<Duration>,
    cpu: Option<f64>,
    rss_kib: Option<u64>,
}

impl Measured {
    fn requests(&self) -> usize {
        self.status_requests + self.log_requests + self.other_requests
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (scale_ms, rounds) = match (
        number_flag(&args, "--scale-ms", 50, 10..=1000, "a whole number of ms"),
        number_flag(&args, "--rounds", 8, 1..=20, "a whole number"),
    ) {
        (Ok(scale_ms), Ok(rounds)) => (scale_ms, u32::try_from(rounds).expect("at most 20 rounds")),
        (Err(e), _) | (_, Err(e)) => return usage(&e),
    };
    let second = Duration::from_millis(scale_ms);
    let build = bench_build(second, 0);
    if !args.iter().any(|a| a == "--bench") {
        println!("e2e: {} log lines scripted; run it with `cargo bench --bench e2e`", build.lines.len());
        return ExitCode::SUCCESS;
    }
    let buildgate = match buildgate_binary() {
        Ok(path) => path,
        Err(e) => return usage(&e),
    };
    if args.iter().any(|a| a == "--volume") {
        let case = if args.iter().any(|a| a == "--long-lines") { Volume::LONG_LINES } else { Volume::MANY_LINES };
        return match volume(&buildgate, case) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage(&e),
        };
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/docs-loop.sh");
    for tool in ["/usr/bin/time", "/usr/bin/env"] {
        if !Path::new(tool).exists() {
            return usage(&format!("{tool} is needed (Debian: apt-get install time)"));
        }
    }
    for tool in ["curl", "jq"] {
        if !Command::new(tool).arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success()) {
            return usage(&format!("the docs loop needs {tool} (Debian: apt-get install {tool})"));
        }
    }
    describe(&build, second, rounds);
    let mut results = Vec::new();
    for round in 0..rounds {
        let extra_ms = end_offset_ms(round, rounds);
        for contender in [Contender::Buildgate, Contender::DocsLoop] {
            eprintln!("e2e: round {}/{rounds} (end +{extra_ms} ms): {} ...", round + 1, contender.name());
            match run(contender, &buildgate, &script, second, extra_ms) {
                Ok(m) => results.push(m),
                Err(e) => {
                    eprintln!("e2e: {}: {e}", contender.name());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    table(&results, second);
    targets(&results);
    ExitCode::SUCCESS
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

fn usage(message: &str) -> ExitCode {
    eprintln!("e2e: {message}");
    eprintln!("usage: cargo bench --bench e2e [-- --scale-ms N] [--rounds N] | [-- --volume]");
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
    println!(
        "buildgate: BUILDGATE_POLL_INTERVAL={} BUILDGATE_POLL_MAX_INTERVAL={} BUILDGATE_LOG_INTERVAL={} (its \
         defaults, scaled); docs loop: SLEEP={} (logs every iteration, status every 2nd), PACE=1.\n",
        ms(second * 2),
        ms(second * 10),
        ms(second * 60),
        secs(second * 5),
    );
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn secs(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

fn run(
    contender: Contender,
    buildgate: &Path,
    script: &Path,
    second: Duration,
    extra_ms: u32,
) -> Result<Measured, String> {
    let build = bench_build(second, extra_ms);
    let dir = std::env::temp_dir().join(format!("buildgate-e2e-{}-{}", std::process::id(), contender.slug()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (stdout_path, stderr_path, time_path) = (dir.join("stdout"), dir.join("stderr"), dir.join("time"));
    let file = |p: &Path| File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
    let limit = build.ends_at + GRACE;

    let mut command = Command::new("/usr/bin/time");
    command.args(["-f", "%U %S %M", "-o"]).arg(&time_path);
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()));
    command.env("NO_COLOR", "1").env("LC_ALL", "C");

    let origin = Instant::now();
    let api = FakeApi::start(build.scenario.lifetime(limit + Duration::from_secs(10)));
    add_contender(&mut command, contender, buildgate, script, second, &api);
    command.stdin(Stdio::null()).stdout(file(&stdout_path)?).stderr(file(&stderr_path)?);
    let (status, exit_at) = run_until(&mut command, origin, limit)?;
    let requests = api.requests();
    api.stop();
    let wall = exit_at.duration_since(origin);
    let exit = match status {
        Ok(s) if wall >= limit => format!("stopped after {limit:.0?} ({s})"),
        Ok(s) => s.code().map_or_else(|| s.to_string(), |c| c.to_string()),
        Err(e) => format!("wait failed: {e}"),
    };

    let count = |route: Route| requests.iter().filter(|r| r.route() == Some(route)).count();
    let (status_requests, log_requests) = (count(Route::GetBuild), count(Route::Logs));
    let other_requests = requests.len() - status_requests - log_requests;
    let first = requests.iter().find(|r| r.path.contains(DEMO_BUILD_ID)).map(|r| r.at);
    let latency = first.map(|first| first + build.ends_at).and_then(|success| wall.checked_sub(success));
    let status_times: Vec<Duration> =
        requests.iter().filter(|r| r.route() == Some(Route::GetBuild)).map(|r| r.at).collect();
    let expected_latency = first.and_then(|first| expected_latency(&status_times, first + second * 150, wall));
    if std::env::var_os("E2E_DEBUG").is_some()
        && let Some(first) = first
    {
        debug_the_end(contender, &status_times, first + build.ends_at, wall);
    }

    let stdout = std::fs::read(&stdout_path).map_err(|e| format!("cannot read {}: {e}", stdout_path.display()))?;
    let (prints, out_of_order) = prints_per_line(&build.lines, &String::from_utf8_lossy(&stdout));
    let (cpu, rss_kib) = parse_time(&std::fs::read_to_string(&time_path).unwrap_or_default());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Measured {
        contender,
        extra_ms,
        expected_latency,
        exit,
        status_requests,
        log_requests,
        other_requests,
        once: prints.iter().filter(|&&n| n == 1).count(),
        repeated: prints.iter().filter(|&&n| n > 1).count(),
        extra_prints: prints.iter().map(|&n| n.saturating_sub(1)).sum(),
        lost: prints.iter().filter(|&&n| n == 0).count(),
        out_of_order,
        latency,
        cpu,
        rss_kib,
    })
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

/// Runs `command` until it exits, or stops it with all its children once `limit` after
/// `origin` has passed: how it exited, and when.
fn run_until(
    command: &mut Command,
    origin: Instant,
    limit: Duration,
) -> Result<(std::io::Result<ExitStatus>, Instant), String> {
    // Its own process group, so that a contender that overruns is stopped with all its children.
    command.process_group(0);
    let mut child = command.spawn().map_err(|e| format!("cannot start /usr/bin/time: {e}"))?;
    let pid = child.id();
    let (done, exited) = mpsc::channel::<(std::io::Result<ExitStatus>, Instant)>();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = done.send((status, Instant::now()));
    });
    let exited_at = exited.recv_timeout(limit.saturating_sub(origin.elapsed())).or_else(|_| {
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{pid}")]).status();
        exited.recv_timeout(Duration::from_secs(10)).map_err(|_| "the contender did not stop".to_string())
    })?;
    let _ = waiter.join();
    Ok(exited_at)
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

/// How often each of the build's `lines` was printed in `stdout`, and how many were first
/// printed after a later one.
fn prints_per_line(lines: &[String], stdout: &str) -> (Vec<usize>, usize) {
    let index: HashMap<&str, usize> = lines.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    let mut prints = vec![0usize; lines.len()];
    let (mut out_of_order, mut furthest) = (0, None::<usize>);
    for line in stdout.lines() {
        let text = line.strip_prefix("  | ").unwrap_or(line);
        if let Some(&i) = index.get(text) {
            if prints[i] == 0 {
                // A first print of a line earlier than one already shown.
                if furthest.is_some_and(|f| i < f) {
                    out_of_order += 1;
                }
                furthest = furthest.max(Some(i));
            }
            prints[i] += 1;
        }
    }
    (prints, out_of_order)
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
        let other = if m.other_requests > 0 { format!(" + {} other", m.other_requests) } else { String::new() };
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
    repeated: f64,
    lost: f64,
    latency: Option<Duration>,
    /// The standard error of that mean: where the end falls between two polls varies a lot.
    latency_error: Duration,
    expected_latency: Option<Duration>,
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
        Some(Mean {
            rounds: runs.len(),
            requests: mean(&|m| m.requests() as f64),
            status_requests: mean(&|m| m.status_requests as f64),
            log_requests: mean(&|m| m.log_requests as f64),
            repeated: mean(&|m| m.repeated as f64),
            lost: mean(&|m| m.lost as f64),
            latency: (latencies.len() == runs.len()).then(|| Duration::from_secs_f64(latency_mean)),
            latency_error: if n > 0.0 { Duration::from_secs_f64((variance / n).sqrt()) } else { Duration::ZERO },
            expected_latency: runs
                .iter()
                .map(|m| m.expected_latency)
                .sum::<Option<Duration>>()
                .map(|total| total / u32::try_from(runs.len()).unwrap_or(u32::MAX)),
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
