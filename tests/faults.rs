//! End-to-end: the gate under faults — hostile or broken answers, retries against the deadline,
//! unreachable hosts, redirects, statuses that go backwards or are never known.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn succeeding() -> PipecatBuild {
    PipecatBuild::new(ID).step(ms(0), "building").step(ms(100), "success").image_uri("registry/img:1")
}

fn with_fault(kind: FaultKind, times: usize) -> FakeApi {
    FakeApi::start(Scenario::new().pipecat(succeeding()).fault(Fault::new(Route::GetBuild, kind).times(times)))
}

fn quick(api: &FakeApi, extra: &[(&str, &str)]) -> Run {
    let mut env = vec![("BUILDGATE_LOGS", "false")];
    env.extend_from_slice(extra);
    gate(api, &env)
}

#[test]
fn a_retry_after_longer_than_the_time_left_still_ends_at_the_deadline() {
    let api = with_fault(FaultKind::retry_after(429, "3600"), 1);
    let started = Instant::now();
    let run = quick(&api, &[("BUILDGATE_TIMEOUT", "1s"), ("BUILDGATE_REQUEST_TIMEOUT", "500ms")]);
    let took = started.elapsed();
    // The API asked for a wait past the deadline: it is not waited out, and no read is made
    // against its wish; the gate ends at the deadline.
    assert_eq!(run.code, 124, "{}", run.stdout);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "ended at the deadline: {took:?}");
    assert_eq!(api.requests().len(), 1);
    assert!(run.stdout.contains("may still finish on the server"), "{}", run.stdout);
}

#[test]
fn answers_that_never_come_end_at_the_deadline_within_one_request_timeout() {
    let api = with_fault(FaultKind::Hang, 1000);
    let started = Instant::now();
    let run = quick(&api, &[("BUILDGATE_TIMEOUT", "1s"), ("BUILDGATE_REQUEST_TIMEOUT", "300ms")]);
    let took = started.elapsed();
    assert_eq!(run.code, 124, "{}", run.stdout);
    assert!(took >= Duration::from_secs(1) && took < Duration::from_millis(1300 + 1000), "{took:?}");
    assert!(run.stdout.contains("timed out"), "{}", run.stdout);
}

#[test]
fn a_closed_port_is_retried_until_the_deadline() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let api = FakeApi::start(Scenario::new());
    let url = format!("http://127.0.0.1:{port}/v1");
    let run = quick(&api, &[("BUILDGATE_API_URL", &url), ("BUILDGATE_TIMEOUT", "500ms")]);
    assert_eq!(run.code, 124, "{}", run.stdout);
    assert!(run.stdout.contains("could not connect"), "{}", run.stdout);
    assert!(run.stdout.contains("last error: could not connect"), "{}", run.stdout);
}

#[test]
fn broken_bodies_are_retried_then_refused_with_exit_3() {
    let cases: Vec<(&str, FaultKind)> = vec![
        ("malformed", FaultKind::body(200, "application/json", "{\"build\": {\"status\": ")),
        ("truncated", FaultKind::body(200, "application/json", "{\"build\": {\"status\": \"success\"")),
        ("html", FaultKind::body(200, "text/html", "<!doctype html><title>502</title>")),
        ("empty", FaultKind::body(200, "application/json", "")),
        ("null", FaultKind::body(200, "application/json", "null")),
        ("no build", FaultKind::body(200, "application/json", "{\"builds\": []}")),
        ("status not a string", FaultKind::body(200, "application/json", "{\"build\": {\"status\": 3}}")),
    ];
    for (name, kind) in cases {
        let api = with_fault(kind, 100);
        let run = quick(&api, &[]);
        assert_eq!(run.code, 3, "{name}: {}", run.stdout);
        assert!(run.stdout.contains("3 times in a row"), "{name}: {}", run.stdout);
        assert_eq!(api.requests().len(), 3, "{name}");
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
    }
}

#[test]
fn one_broken_body_among_good_ones_is_only_a_warning() {
    let api = with_fault(FaultKind::body(200, "application/json", "{\"build\": "), 1);
    let run = quick(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("::warning::the answer for build 123e4567-e89b-12d3-a456-426614174000 is not JSON"));
}

#[test]
fn a_fifty_megabyte_answer_is_capped_and_refused() {
    let huge = format!("{{\"build\": {{\"status\": \"building\", \"pad\": \"{}\"}}}}", "x".repeat(50 * 1024 * 1024));
    let api = with_fault(FaultKind::body(200, "application/json", huge), 100);
    let run = quick(&api, &[]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(run.stdout.contains("larger than 8 MiB"), "{}", run.stdout);
}

#[test]
fn odd_but_valid_fields_do_not_stop_the_gate() {
    let build = succeeding()
        .duration_seconds(-40)
        .started_at("2026-02-20T12:00:00+01:00")
        .completed_at("2026-02-20 11:01:05.123456Z")
        .field("imageSizeBytes", serde_json::json!("large"))
        .field("logsUrl", serde_json::json!(12))
        .field("somethingNew", serde_json::json!({"nested": [1, 2]}));
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = quick(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("duration").as_deref(), Some("65"), "negative duration ignored, timestamps used");
    assert_eq!(run.output("logs-url"), None, "a number is no URL");
}

#[test]
fn the_first_terminal_status_wins_even_if_it_goes_backwards() {
    let build = PipecatBuild::new(ID).step(ms(0), "success").step(ms(30), "building").image_uri("registry/first:1");
    let api = FakeApi::start(Scenario::new().pipecat(build));
    let run = quick(&api, &[]);
    assert_eq!(run.code, 0);
    assert_eq!(run.output("image-uri").as_deref(), Some("registry/first:1"));
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn an_unknown_status_forever_ends_at_the_deadline() {
    let api = FakeApi::start(Scenario::new().pipecat(PipecatBuild::new(ID).step(ms(0), "queued")));
    let run = quick(&api, &[("BUILDGATE_TIMEOUT", "400ms")]);
    assert_eq!(run.code, 124);
    assert_eq!(run.output("provider-status").as_deref(), Some("queued"));
    assert_eq!(run.stdout.matches("unknown build status \"queued\"").count(), 1);
}

#[test]
fn slow_or_shrinking_logs_never_decide_the_outcome() {
    let build =
        PipecatBuild::new(ID).step(ms(0), "building").step(ms(1200), "success").logs(ms(0), ["one", "two", "three"]);
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(build)
            .fault(Fault::new(Route::Logs, FaultKind::Delay(ms(2000))).times(2))
            // A window that shrinks: fewer lines than were already printed.
            .fault(Fault::new(Route::Logs, FaultKind::body(200, "application/json", "{\"logs\": [\"one\"]}")).times(3)),
    );
    let run = gate(&api, &[("BUILDGATE_REQUEST_TIMEOUT", "200ms")]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let text = run.stdout;
    assert_eq!(text.matches("\none\n").count(), 1, "{text}");
    assert!(text.contains("\nthree\n"));
}

#[test]
fn a_redirect_to_another_host_is_not_followed_with_the_token() {
    let other = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let location = format!("http://127.0.0.2:{}/v1/builds/{ID}", other.local_addr().unwrap().port());
    let redirect =
        FaultKind::Status { code: 302, body: String::new(), headers: vec![("Location".into(), location.clone())] };
    let api = with_fault(redirect, 100);
    let run = quick(&api, &[]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(run.stdout.contains("redirecting to") && run.stdout.contains(&location), "{}", run.stdout);
    assert!(other.accept().is_err(), "nothing connected to the other host");
}

#[test]
fn a_redirect_within_the_same_host_is_followed() {
    let location = format!("/v1/builds/{ID}");
    let redirect = FaultKind::Status { code: 307, body: String::new(), headers: vec![("Location".into(), location)] };
    let api = with_fault(redirect, 1);
    let run = quick(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(api.requests()[1].authorization.is_some());
}

#[test]
fn no_color_means_no_escape_sequences() {
    let api = FakeApi::start(Scenario::new().pipecat(succeeding()));
    let run = quick(&api, &[("NO_COLOR", "1")]);
    assert_eq!(run.code, 0);
    assert!(!run.stdout.contains('\x1b'), "{}", run.stdout);
    let coloured = quick(&api, &[]);
    assert!(coloured.stdout.contains("\x1b[36m"), "CI logs get colour by default");
}

#[test]
fn an_absurd_retry_after_neither_crashes_nor_outlives_the_deadline() {
    let api = with_fault(FaultKind::retry_after(503, "18446744073709551615"), 1);
    let started = Instant::now();
    let run = quick(&api, &[("BUILDGATE_TIMEOUT", "600ms")]);
    assert_eq!(run.code, 124, "{}\n{}", run.stdout, run.stderr);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[test]
fn a_key_echoed_by_the_api_is_never_shown() {
    let echo = format!("{{\"error\":\"Invalid API key {DEFAULT_API_KEY}\",\"code\":\"UNAUTHORIZED\"}}");
    for format in ["plain", "gitlab", "github"] {
        let api = with_fault(FaultKind::Status { code: 401, body: echo.clone(), headers: vec![] }, 1);
        // run_env fails the test if the key shows anywhere (stdout, stderr, outputs, summary).
        let run = quick(&api, &[("BUILDGATE_FORMAT", format), ("BUILDGATE_LOG_LEVEL", "trace")]);
        assert_eq!(run.code, 3);
        assert!(run.stdout.contains("Invalid API key ***"), "{format}: {}", run.stdout);
    }
}

#[test]
fn no_proxy_sees_the_token_of_a_loopback_http_api() {
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let api = FakeApi::start(Scenario::new().pipecat(succeeding()));
    let run = quick(&api, &[("HTTP_PROXY", &proxy_url), ("http_proxy", &proxy_url), ("ALL_PROXY", &proxy_url)]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(proxy.accept().is_err(), "the proxy was never contacted");
}
