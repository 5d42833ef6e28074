//! End-to-end in a real container: the release binary in a `FROM scratch` image (its entrypoint,
//! as in the project's Dockerfile), run the way the GitHub runner runs a Docker container action
//! (`action.yml`'s `runs.env`, the runner's variables and mounts: see `container/runner.rs`)
//! against the fake API on the host's loopback. Exit codes pass through `docker run`, the outputs
//! land in the mounted `$GITHUB_OUTPUT`, and `docker stop` (SIGTERM to the gate as PID 1, where
//! a signal without a handler of its own would be ignored) ends it within 2 s.
//!
//! Needs a Docker engine. Without one (`docker info` fails) every test here prints
//! `container tests SKIPPED: no Docker engine (<why>)` and returns without asserting;
//! `BUILDGATE_REQUIRE_DOCKER=1` makes a missing engine a failure instead. With one, the release
//! binary is built first (`cargo build --release`, a no-op when it is up to date; minutes when
//! it is not, as the release profile uses LTO), so the image always holds the current sources.
//! Every image and container is named uniquely, labelled `buildgate-container-test` and removed
//! at the end, also when a test fails.

mod common;
#[path = "container/docker.rs"]
mod docker;
#[path = "container/runner.rs"]
mod runner;

use std::io::Write;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use common::*;
use docker::{Container, Finished, Image, Running, note};
use runner::Step;

/// One container at a time: the machine may have two cores, and the stop test is timed.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The engine's version, or why none answers; asked once per test process.
fn engine() -> &'static Result<String, String> {
    static ENGINE: OnceLock<Result<String, String>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let engine = docker::engine();
        if let Ok(version) = &engine {
            note(&format!("Docker engine {version}"));
        }
        engine
    })
}

/// A fresh image for one test, or `None` after saying loudly that the test is skipped.
fn image_or_skip(test: &str) -> Option<Image> {
    match engine() {
        Ok(_) => Some(Image::build(docker::release_binary())),
        Err(why) => {
            let required = std::env::var("BUILDGATE_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
            assert!(!required, "BUILDGATE_REQUIRE_DOCKER=1, but there is no Docker engine: {why}");
            // Straight to the stream, past the test harness's capture: a skip must be seen.
            let _ = writeln!(std::io::stderr(), "container tests SKIPPED: no Docker engine ({why}) [{test}]");
            None
        }
    }
}

/// The step's `with:`: the build, the key and the fake API, with fast polling; `extra` overrides.
fn inputs<'a>(api_url: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut with = vec![
        ("build-id", ID),
        ("api-key", DEFAULT_API_KEY),
        ("api-url", api_url),
        ("poll-interval", "10ms"),
        ("poll-max-interval", "40ms"),
        ("log-interval", "10ms"),
        ("timeout", "30s"),
        ("request-timeout", "5s"),
    ];
    for (key, value) in extra {
        with.retain(|(k, _)| k != key);
        with.push((key, value));
    }
    with
}

/// What one step left: the `docker run` client's exit and output, the step's files.
struct Ran {
    done: Finished,
    outputs_file: String,
    summary: String,
}

impl Ran {
    fn collect(done: Finished, step: &Step) -> Ran {
        let ran = Ran { done, outputs_file: step.outputs(), summary: step.summary() };
        assert_key_absent(DEFAULT_API_KEY, &ran.done.stdout, &ran.done.stderr, &ran.outputs_file, &ran.summary);
        ran
    }

    fn output(&self, name: &str) -> Option<String> {
        parse_outputs(&self.outputs_file).into_iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn context(&self) -> String {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}\n$GITHUB_OUTPUT:\n{}",
            self.done.status, self.done.stdout, self.done.stderr, self.outputs_file
        )
    }
}

/// Runs one step to its end (bounded) and reads back what it left.
fn run_step(image: &Image, api_url: &str, extra: &[(&str, &str)]) -> Ran {
    let step = Step::new();
    let container = Container::new();
    let started = Instant::now();
    let mut cmd = step.docker_run(&image.name, &container.name, &inputs(api_url, extra));
    let done = docker::output_within(&mut cmd, Duration::from_secs(90)).unwrap_or_else(|e| panic!("docker run: {e}"));
    note(&format!("docker run exited {} after {:.2?}", done.code(), started.elapsed()));
    Ran::collect(done, &step)
}

#[test]
fn a_successful_build_exits_0_with_the_outputs_in_the_mounted_file() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(image) = image_or_skip("success") else { return };
    let api = FakeApi::start(
        Scenario::new().pipecat(
            PipecatBuild::new(ID)
                .step(ms(0), "pending")
                .step(ms(100), "building")
                .step(ms(400), "success")
                .image_uri("123.dkr.ecr.us-west-2.amazonaws.com/pipecat/org:abc")
                .duration_seconds(95)
                .logs(ms(150), ["[Container] Entering phase: BUILD", "Step 1/3 : FROM python:3.12"]),
        ),
    );
    let ran = run_step(&image, &api.pipecat_url(), &[]);
    let context = ran.context();
    assert_eq!(ran.done.code(), 0, "{context}");
    // GITHUB_ACTIONS=true picked the GitHub format (the `format` input is unset, so empty).
    assert!(ran.done.stdout.starts_with(&format!("::add-mask::{DEFAULT_API_KEY}\n")), "{context}");
    assert!(ran.done.stdout.contains("Step 1/3 : FROM python:3.12"), "{context}");
    // Every value in the heredoc form, as the runner reads $GITHUB_OUTPUT.
    for name in ["build-id", "status", "image-uri"] {
        let heredoc = format!("{name}<<");
        assert!(ran.outputs_file.lines().any(|l| l.starts_with(&heredoc)), "{name} not in the heredoc form: {context}");
    }
    assert!(!ran.outputs_file.lines().any(|l| l.starts_with("status=")), "{context}");
    assert_eq!(ran.output("build-id").as_deref(), Some(ID), "{context}");
    assert_eq!(ran.output("status").as_deref(), Some("success"), "{context}");
    assert_eq!(ran.output("image-uri").as_deref(), Some("123.dkr.ecr.us-west-2.amazonaws.com/pipecat/org:abc"));
    assert!(ran.summary.contains("123.dkr.ecr.us-west-2.amazonaws.com/pipecat/org:abc"), "summary:\n{}", ran.summary);
    // The inputs the step left unset arrive as empty variables: none of them draws a warning.
    // (Lines of the docker client's own, `WARNING: ...`, are not the gate's.)
    let gate_stderr: Vec<&str> = ran.done.stderr.lines().filter(|l| !l.starts_with("WARNING:")).collect();
    assert!(gate_stderr.is_empty(), "the gate wrote to stderr: {context}");
}

#[test]
fn a_failed_build_exits_1_through_docker_run() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(image) = image_or_skip("failed") else { return };
    let api = FakeApi::start(
        Scenario::new().pipecat(
            PipecatBuild::new(ID)
                .step(ms(0), "building")
                .step(ms(300), "failed")
                .error_message("Docker build failed: COPY failed - file not found: requirements.txt"),
        ),
    );
    let ran = run_step(&image, &api.pipecat_url(), &[]);
    let context = ran.context();
    assert_eq!(ran.done.code(), 1, "{context}");
    assert_eq!(ran.output("status").as_deref(), Some("failed"), "{context}");
    assert_eq!(ran.output("build-id").as_deref(), Some(ID), "{context}");
    assert_eq!(
        ran.output("error-message").as_deref(),
        Some("Docker build failed: COPY failed - file not found: requirements.txt"),
        "{context}"
    );
    assert!(ran.done.stdout.contains("::error title=Build failed::"), "{context}");
}

#[test]
fn a_bad_configuration_exits_2_before_any_request() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(image) = image_or_skip("bad configuration") else { return };
    let api = FakeApi::start(Scenario::new().pipecat(PipecatBuild::new(ID).step(ms(0), "success")));
    let ran = run_step(&image, &api.pipecat_url(), &[("build-id", "not-a-uuid")]);
    let context = ran.context();
    assert_eq!(ran.done.code(), 2, "{context}");
    assert!(format!("{}{}", ran.done.stdout, ran.done.stderr).contains("BUILDGATE_BUILD_ID"), "{context}");
    assert!(api.requests().is_empty(), "no request on an invalid configuration: {:?}", api.requests());
}

/// Waits (bounded) until the gate in the container has read the build log twice: it is running
/// and streaming, a group open. Panics with its output if it ended first.
fn wait_until_streaming(api: &FakeApi, running: &mut Running) {
    let start = Instant::now();
    while api.requests().iter().filter(|r| r.path.ends_with("/logs")).count() < 2 {
        if let Some(status) = running.ended() {
            let done = running.collect(status);
            panic!("the container ended before streaming ({}):\n{}\n{}", done.status, done.stdout, done.stderr);
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the gate in the container never read the logs");
        std::thread::sleep(ms(10));
    }
}

#[test]
fn docker_stop_ends_the_gate_as_pid_1_within_2_s_with_exit_143_and_the_outputs() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(image) = image_or_skip("docker stop") else { return };
    let api = FakeApi::start(Scenario::new().pipecat(
        PipecatBuild::new(ID).step(ms(0), "building").logs(ms(0), ["[Container] Entering phase: BUILD", "compiling"]),
    ));
    let url = api.pipecat_url();
    // Declared before the container: dropped after it, so the container is gone first.
    let step = Step::new();
    let container = Container::new();
    let with = inputs(&url, &[("timeout", "10m")]);
    let mut running = Running::start(&mut step.docker_run(&image.name, &container.name, &with)).expect("docker run");
    wait_until_streaming(&api, &mut running);

    // A gate that ignored SIGTERM would be killed at the stop timeout: exit 137 after 10 s.
    let sent = Instant::now();
    let mut stopping =
        Running::start(docker::docker().args(["stop", "--time", "10", &container.name])).expect("docker stop");
    let (mut exited, mut stopped) = (None, None);
    while exited.is_none() || stopped.is_none() {
        if exited.is_none() {
            exited = running.ended().map(|status| (status, sent.elapsed()));
        }
        if stopped.is_none() {
            stopped = stopping.ended().map(|status| (status, sent.elapsed()));
        }
        assert!(sent.elapsed() < Duration::from_secs(30), "docker stop -t 10 did not end the container in 30 s");
        std::thread::sleep(ms(2));
    }
    let ((status, took), (stop_status, stop_took)) = (exited.unwrap(), stopped.unwrap());
    let stop_done = stopping.collect(stop_status);
    assert!(stop_status.success(), "docker stop failed: {}", stop_done.stderr);
    let ran = Ran::collect(running.collect(status), &step);
    let context = ran.context();
    note(&format!(
        "docker stop -t 10: the container exited {} {took:.3?} after the stop (docker run returned); docker stop \
         returned after {stop_took:.3?}",
        ran.done.code()
    ));
    assert_ne!(ran.done.code(), 137, "killed at the stop timeout: the gate ignored SIGTERM as PID 1\n{context}");
    assert_eq!(ran.done.code(), 143, "{context}");
    assert!(took < Duration::from_secs(2), "the container ended within 2 s of docker stop, took {took:?}");
    let stdout = &ran.done.stdout;
    assert!(stdout.contains(&format!("Interrupted by SIGTERM: build {ID} was building")), "{context}");
    assert_eq!(stdout.matches("::group::").count(), stdout.matches("::endgroup::").count(), "{context}");
    assert_eq!(ran.output("status").as_deref(), Some("waiting"), "{context}");
    assert_eq!(ran.output("build-id").as_deref(), Some(ID), "{context}");
    assert_eq!(ran.output("provider-status").as_deref(), Some("building"), "{context}");
}
