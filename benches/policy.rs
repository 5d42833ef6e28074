//! The polling policy in virtual time: a corpus of build timelines replayed through the planner
//! (`buildgate::planner`) and through the docs' loops, each request taking a round trip, with no
//! clock and no network. It prints, per policy, requests, mean and worst detection latency, the
//! line lag percentiles and the lines lost or repeated, over hundreds of builds in about a second.
//!
//! ```sh
//! cargo bench -j1 --bench policy                  # the corpus at the default settings
//! cargo bench -j1 --bench policy -- --builds 2000 # a larger corpus
//! ```
//!
//! The corpus (seeded, so every run is the same): CodeBuild-style builds of 20 s to 30 min with
//! phase lines, the final phase line 2-6 s before the status turns; bursts and quiet stretches;
//! a history of earlier durations with spread (or none); builds that fail early; builds that end
//! with no sign in the log; a server clock off by minutes (the gate places the likely end from
//! the answers' `Date`, so only the estimate's error, up to a second, remains); 429s with
//! `Retry-After` on the status route. Policies: buildgate (the planner), the same without any
//! signal (no phases, no history), and with its longest interval halved and doubled, to show the
//! trade-off; the docs' logs loop (logs every 5 s with `limit=100`, status every 10 s); and a
//! fixed 5 s status loop (what the providers' CLIs do).
//!
//! Without `--bench` (under `cargo test --benches`) it replays a small corpus and checks that the
//! planner loses no line.

// Virtual seconds and counts as floats, rounded back to counts and indexes: far inside range.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
// The replay loop reads as one piece: a request sent, its answer taken, the planner asked again.
#![allow(clippy::too_many_lines)]

use std::time::Duration;

use buildgate::planner::{Eta, Failed, LogsRead, Planner, Retry, Seen, Settings, Stage};

/// A request's round trip.
const RTT: f64 = 0.08;
/// The largest window the gate reads (lines): more than this between two reads is lost.
const MAX_WINDOW: usize = 10_000;
/// A usual window.
const USUAL_WINDOW: usize = 500;

/// One build, in seconds since the gate started (the build is pending until `start`).
#[derive(Clone, Debug)]
struct Build {
    start: f64,
    end: f64,
    /// When each line becomes available.
    lines: Vec<f64>,
    /// When the log enters the last long phase (`POST_BUILD`), and when it shows the final lines.
    late_at: Option<f64>,
    final_at: Option<f64>,
    /// The likely end the gate would place from history, and its spread.
    eta: Option<(f64, f64)>,
    /// Status requests answered 429 (with `Retry-After`) in this stretch.
    throttled: Option<(f64, f64, f64)>,
}

/// splitmix64, for a corpus that is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// The kinds of build in the corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Codebuild,
    NoPhases,
    FailsEarly,
    EndsWithoutSign,
    Short,
}

fn corpus(n: usize, seed: u64) -> Vec<(Kind, Build)> {
    let mut rng = Rng(seed);
    let kinds =
        [Kind::Codebuild, Kind::Codebuild, Kind::NoPhases, Kind::FailsEarly, Kind::EndsWithoutSign, Kind::Short];
    (0..n)
        .map(|i| {
            let kind = kinds[i % kinds.len()];
            (kind, build(kind, &mut rng))
        })
        .collect()
}

fn build(kind: Kind, rng: &mut Rng) -> Build {
    let start = rng.range(0.5, 8.0);
    let length = match kind {
        Kind::Short => rng.range(15.0, 30.0),
        _ if rng.chance(0.1) => rng.range(900.0, 1800.0),
        _ => rng.range(120.0, 600.0),
    };
    let full_end = start + length;
    let end = if kind == Kind::FailsEarly { start + length * rng.range(0.1, 0.4) } else { full_end };
    let lead = rng.range(2.0, 6.0);
    let mut lines = Vec::new();
    let mut t = start + rng.range(0.5, 2.0);
    let stop_lines = if kind == Kind::EndsWithoutSign { end - rng.range(0.0, 2.0) } else { end - 0.5 };
    while t < stop_lines {
        let roll = rng.unit();
        if roll < 0.005 {
            t += rng.range(30.0, 90.0); // a quiet stretch (a long step with no output)
        } else if roll < 0.1 {
            let burst = (rng.range(50.0, 800.0)) as usize;
            lines.extend(std::iter::repeat_n(t, burst));
            t += rng.range(0.5, 3.0);
        } else {
            lines.push(t);
            t += rng.range(0.05, 1.5);
        }
    }
    lines.retain(|&at| at < stop_lines);
    let final_at = match kind {
        Kind::Codebuild | Kind::Short => Some(end - lead),
        Kind::FailsEarly => Some(end - lead.min((end - start) / 2.0)),
        Kind::NoPhases | Kind::EndsWithoutSign => None,
    };
    // POST_BUILD (the image push) starts 10-40 s before the final lines; a failed phase skips it.
    let late_at = final_at.filter(|_| kind != Kind::FailsEarly).map(|at| (at - rng.range(10.0, 40.0)).max(start));
    for at in late_at.iter().chain(&final_at) {
        lines.push(*at);
    }
    lines.sort_by(f64::total_cmp);
    let eta = (kind != Kind::NoPhases && rng.chance(0.8)).then(|| {
        let spread = rng.range(5.0, 40.0);
        // The earlier builds' median lies around this one's length; the clock's estimate adds
        // up to a second of error.
        (full_end + rng.range(-1.0, 1.0) * spread + rng.range(-1.0, 1.0), spread)
    });
    let throttled = rng.chance(0.15).then(|| {
        let from = rng.range(start, end);
        (from, from + rng.range(2.0, 20.0), rng.range(1.0, 5.0))
    });
    Build { start, end, lines, late_at, final_at, eta, throttled }
}

#[derive(Clone, Debug, Default)]
struct Run {
    requests: usize,
    latency: f64,
    lags: Vec<f64>,
    lost: usize,
    repeated: usize,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn dur(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// The planner against one build: status and log reads in flight at once, each a round trip.
fn run_planner(build: &Build, settings: Settings, signals: bool) -> Run {
    let mut planner = Planner::new(settings);
    let mut run = Run::default();
    let (mut status_done, mut logs_done): (Option<f64>, Option<f64>) = (None, None);
    let mut printed = 0usize;
    let mut eta_given = false;
    let mut now = 0.0;
    for _ in 0..1_000_000 {
        let actions = planner.next(dur(now));
        if actions.stop.is_some() {
            run.latency = now - build.end;
            run.lost += build.lines.len() - printed.min(build.lines.len());
            return run;
        }
        if actions.cancel_logs {
            logs_done = None;
        }
        if actions.read_status.is_some() {
            run.requests += 1;
            status_done = Some(now + RTT);
        }
        if actions.read_logs.is_some() {
            run.requests += 1;
            logs_done = Some(now + RTT);
        }
        let wake = actions.wake_at.map_or(f64::INFINITY, secs);
        let next = wake.min(status_done.unwrap_or(f64::INFINITY)).min(logs_done.unwrap_or(f64::INFINITY));
        assert!(next.is_finite(), "the planner must always wake");
        now = next.max(now);
        if status_done.is_some_and(|at| at <= now) {
            status_done = None;
            let served = now - RTT / 2.0;
            match build.throttled {
                Some((from, to, wait)) if served >= from && served < to => {
                    let failed = Failed { retry_after: Some(dur(wait)), unreadable: false };
                    assert!(matches!(planner.status_failed(dur(now), failed), Retry::After { .. }));
                }
                _ => {
                    let seen = if served >= build.end {
                        Seen::Terminal
                    } else if served >= build.start {
                        Seen::Running { changed: false }
                    } else {
                        Seen::Pending { changed: false }
                    };
                    planner.status_answered(dur(now), seen);
                    if signals && !eta_given && served >= build.start {
                        eta_given = true;
                        if let Some((end, spread)) = build.eta {
                            planner.eta(dur(now), Eta { end: dur(end), spread: dur(spread) });
                        }
                    }
                }
            }
        }
        if logs_done.is_some_and(|at| at <= now) {
            logs_done = None;
            let served = now - RTT / 2.0;
            let available = build.lines.partition_point(|&at| at <= served);
            let new = available.saturating_sub(printed);
            let shown = new.min(MAX_WINDOW);
            run.lost += new - shown;
            for &at in &build.lines[available - shown..available] {
                run.lags.push(now - at);
            }
            printed = available;
            let stage = match (build.late_at, build.final_at) {
                _ if !signals => Stage::Unknown,
                (_, Some(at)) if at <= served => Stage::Final,
                (Some(at), _) if at <= served => Stage::Late,
                (None, None) => Stage::Unknown,
                // The first phase line comes with the build's first lines.
                _ => Stage::Early,
            };
            let read =
                LogsRead { new_entries: new, failed: false, retry_after: None, usual_window: USUAL_WINDOW, stage };
            planner.logs_read(dur(now), read);
        }
    }
    panic!("the planner did not stop");
}

/// The docs' loop: logs (`limit`) every `sleep` s, the status every `status_every`th time; or,
/// with `limit` 0, the status alone every `sleep` s.
fn run_loop(build: &Build, sleep: f64, status_every: usize, limit: usize) -> Run {
    let mut run = Run::default();
    let mut printed_upto = 0usize;
    for i in 0.. {
        let t = i as f64 * sleep;
        if limit > 0 {
            run.requests += 1;
            let served = t + RTT / 2.0;
            let available = build.lines.partition_point(|&at| at <= served);
            let window_start = available.saturating_sub(limit);
            run.lost += window_start.saturating_sub(printed_upto);
            run.repeated += printed_upto.saturating_sub(window_start).min(available - window_start);
            for &at in &build.lines[window_start.max(printed_upto)..available] {
                run.lags.push(t + RTT - at);
            }
            printed_upto = printed_upto.max(available);
        }
        if i % status_every == 0 {
            run.requests += 1;
            let served = t + RTT * 1.5;
            let throttled = build.throttled.is_some_and(|(from, to, _)| served >= from && served < to);
            if served >= build.end && !throttled {
                run.latency = t + 2.0 * RTT - build.end;
                if limit == 0 {
                    run.lost = build.lines.len();
                }
                return run;
            }
        }
    }
    unreachable!()
}

#[derive(Default)]
struct Totals {
    builds: usize,
    requests: usize,
    latency_sum: f64,
    latency_max: f64,
    lags: Vec<f64>,
    lost: usize,
    repeated: usize,
}

impl Totals {
    fn add(&mut self, run: &Run) {
        self.builds += 1;
        self.requests += run.requests;
        self.latency_sum += run.latency;
        self.latency_max = self.latency_max.max(run.latency);
        self.lags.extend(&run.lags);
        self.lost += run.lost;
        self.repeated += run.repeated;
    }

    fn percentile(&mut self, p: f64) -> f64 {
        if self.lags.is_empty() {
            return f64::NAN;
        }
        self.lags.sort_by(f64::total_cmp);
        let at = ((self.lags.len() - 1) as f64 * p).round() as usize;
        self.lags[at]
    }

    fn row(&mut self, name: &str) -> String {
        let n = self.builds.max(1) as f64;
        let (p50, p95, max) = (self.percentile(0.5), self.percentile(0.95), self.percentile(1.0));
        format!(
            "| {name} | {:.1} | {:.2} s | {:.1} s | {:.1} s | {:.1} s | {:.1} s | {} | {} |",
            self.requests as f64 / n,
            self.latency_sum / n,
            self.latency_max,
            p50,
            p95,
            max,
            self.lost,
            self.repeated
        )
    }
}

/// A policy replayed on one build (with a seed of its own).
type Policy = Box<dyn Fn(&Build, u64) -> Run>;

fn settings(max: f64, seed: u64) -> Settings {
    Settings {
        first_interval: Duration::from_secs(2),
        max_interval: dur(max),
        deadline: Duration::from_secs(3600),
        request_timeout: Duration::from_secs(30),
        log_interval: Some(Duration::from_secs(60)),
        seed,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let builds = args
        .iter()
        .position(|a| a == "--builds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 600 } else { 24 });
    let corpus = corpus(builds, 0xb1d9_a7e5);
    let policies: [(&str, Policy); 7] = [
        ("buildgate (defaults: 2 s, max 10 s, log 60 s)", Box::new(|b, s| run_planner(b, settings(10.0, s), true))),
        ("buildgate without signals", Box::new(|b, s| run_planner(b, settings(10.0, s), false))),
        ("buildgate, max 5 s", Box::new(|b, s| run_planner(b, settings(5.0, s), true))),
        ("buildgate, max 20 s", Box::new(|b, s| run_planner(b, settings(20.0, s), true))),
        ("buildgate, max 5 s, without signals", Box::new(|b, s| run_planner(b, settings(5.0, s), false))),
        ("docs logs loop (logs 5 s, status 10 s)", Box::new(|b, _| run_loop(b, 5.0, 2, 100))),
        ("fixed 5 s status loop (the CLIs)", Box::new(|b, _| run_loop(b, 5.0, 1, 0))),
    ];
    let started = std::time::Instant::now();
    println!("{builds} builds; each request takes {:.0} ms.\n", RTT * 1000.0);
    println!("| policy | requests | mean latency | worst latency | lag p50 | lag p95 | lag max | lost | repeated |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut gate_lost = 0;
    for (name, policy) in &policies {
        let mut totals = Totals::default();
        for (i, (_, build)) in corpus.iter().enumerate() {
            totals.add(&policy(build, i as u64));
        }
        if name.starts_with("buildgate") {
            gate_lost += totals.lost + totals.repeated;
        }
        println!("{}", totals.row(name));
    }
    println!("\nBy kind of build (buildgate at its defaults | docs logs loop):\n");
    println!("| kind | builds | requests | mean latency | worst latency | lag p95 |");
    println!("|---|---|---|---|---|---|");
    for kind in [Kind::Codebuild, Kind::NoPhases, Kind::FailsEarly, Kind::EndsWithoutSign, Kind::Short] {
        let (mut gate, mut docs) = (Totals::default(), Totals::default());
        for (i, (_, build)) in corpus.iter().enumerate().filter(|(_, (k, _))| *k == kind) {
            gate.add(&run_planner(build, settings(10.0, i as u64), true));
            docs.add(&run_loop(build, 5.0, 2, 100));
        }
        let n = gate.builds.max(1) as f64;
        let (gate_p95, docs_p95) = (gate.percentile(0.95), docs.percentile(0.95));
        println!(
            "| {kind:?} | {} | {:.1} \\| {:.1} | {:.2} s \\| {:.2} s | {:.1} s \\| {:.1} s | {:.1} s \\| {:.1} s |",
            gate.builds,
            gate.requests as f64 / n,
            docs.requests as f64 / n,
            gate.latency_sum / n,
            docs.latency_sum / n,
            gate.latency_max,
            docs.latency_max,
            gate_p95,
            docs_p95
        );
    }
    println!("\nReplayed in {:.2} s.", started.elapsed().as_secs_f64());
    assert_eq!(gate_lost, 0, "the planner lost or repeated lines");
}
