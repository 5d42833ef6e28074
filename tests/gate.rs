//! End-to-end: the real binary waiting on Pipecat builds served by the fake API — outcomes,
//! outputs, exit codes, retries, refusals, configuration errors and the dry run.

mod common;

use common::*;

fn scripted(build: PipecatBuild) -> FakeApi {
    FakeApi::start(Scenario::new().pipecat(build))
}

fn succeeding() -> PipecatBuild {
    PipecatBuild::new(ID)
        .step(ms(0), "pending")
        .step(ms(100), "building")
        .step(ms(500), "success")
        .image_uri("123.dkr.ecr.us-west-2.amazonaws.com/pipecat/org:abc")
        .duration_seconds(95)
        .logs_url("https://console.example/codebuild/1")
}

#[test]
fn a_successful_build_exits_0_with_every_output() {
    let api = scripted(succeeding());
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.names(), ["build-id", "status", "provider-status", "image-uri", "duration", "logs-url", "waited"]);
    assert_eq!(run.output("build-id").as_deref(), Some(ID));
    assert_eq!(run.output("status").as_deref(), Some("success"));
    assert_eq!(run.output("image-uri").as_deref(), Some("123.dkr.ecr.us-west-2.amazonaws.com/pipecat/org:abc"));
    assert_eq!(run.output("duration").as_deref(), Some("95"));
    assert_eq!(run.output("waited").as_deref(), Some("0"));
    assert_eq!(statuses(&run.stdout), ["pending", "building", "success"], "{}", run.stdout);
    assert!(run.stdout.starts_with(&format!("::add-mask::{DEFAULT_API_KEY}\n")));
    assert!(
        run.summary.contains("| Image | `123.dkr.ecr.us-west-2.amazonaws.com/pipecat/org:abc` (from imageUri) |"),
        "{}",
        run.summary
    );
    let auth =
        api.requests().iter().all(|r| r.authorization.as_deref() == Some(&format!("Bearer {DEFAULT_API_KEY}")[..]));
    assert!(auth, "every request carries the bearer token");
}

#[test]
fn a_failed_build_exits_1_with_an_annotation_and_the_error_message() {
    let api = scripted(
        PipecatBuild::new(ID)
            .step(ms(0), "building")
            .step(ms(50), "failed")
            .error_message("Docker build failed: COPY failed - file not found: requirements.txt")
            .started_at("2026-02-20T12:00:00Z")
            .completed_at("2026-02-20T12:00:42Z")
            .field("buildDurationSeconds", serde_json::Value::Null),
    );
    let run = gate(&api, &[("BUILDGATE_LOGS", "false")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.output("status").as_deref(), Some("failed"));
    assert_eq!(run.output("duration").as_deref(), Some("42"), "completedAt − startedAt");
    assert_eq!(run.output("image-uri"), None);
    assert_eq!(
        run.output("error-message").as_deref(),
        Some("Docker build failed: COPY failed - file not found: requirements.txt")
    );
    assert!(
        run.stdout.contains(
            "::error title=Build failed::Docker build failed: COPY failed - file not found: requirements.txt\n"
        )
    );
}

#[test]
fn a_provider_timeout_exits_1_with_status_timeout() {
    let api = scripted(PipecatBuild::new(ID).step(ms(0), "building").step(ms(30), "timeout"));
    let run = gate(&api, &[("BUILDGATE_LOGS", "false")]);
    assert_eq!(run.code, 1);
    assert_eq!(run.output("status").as_deref(), Some("timeout"));
    assert_eq!(run.output("provider-status").as_deref(), Some("timeout"));
}

#[test]
fn the_deadline_exits_124_while_the_build_runs_on() {
    let api = scripted(PipecatBuild::new(ID).step(ms(0), "building"));
    let run = gate(&api, &[("BUILDGATE_TIMEOUT", "300ms"), ("BUILDGATE_LOGS", "false")]);
    assert_eq!(run.code, 124, "{}", run.stdout);
    assert_eq!(run.output("status").as_deref(), Some("waiting"));
    assert_eq!(run.output("provider-status").as_deref(), Some("building"));
    assert!(run.stdout.contains("may still finish on the server"), "{}", run.stdout);
    let last = api.requests().last().unwrap().at;
    let first = api.requests().first().unwrap().at;
    let polled = last.checked_sub(first).expect("requests are recorded in order");
    assert!(polled >= ms(250), "polled until the deadline: {polled:?}");
}

#[test]
fn unauthorized_exits_3_and_mentions_forks() {
    let api = FakeApi::start(Scenario::new().api_key("another-key").pipecat(succeeding()));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 3);
    assert!(run.stdout.contains("HTTP 401") && run.stdout.contains("fork"), "{}", run.stdout);
    assert!(run.stdout.contains("BUILDGATE_API_KEY"));
    assert_eq!(run.output("status").as_deref(), Some("waiting"));
    assert_eq!(api.requests().len(), 1, "a refusal is not retried");
}

#[test]
fn an_unknown_build_exits_3_with_the_api_message() {
    let api = FakeApi::start(Scenario::new());
    let run = gate(&api, &[]);
    assert_eq!(run.code, 3);
    assert!(run.stdout.contains("HTTP 404") && run.stdout.contains("Build not found (NOT_FOUND)"), "{}", run.stdout);
}

#[test]
fn rate_limits_are_retried_after_the_time_the_api_asks() {
    let api = FakeApi::start(
        Scenario::new().pipecat(succeeding()).fault(Fault::new(Route::GetBuild, FaultKind::retry_after(429, "1"))),
    );
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let requests = api.requests();
    let gap = requests[1].at.checked_sub(requests[0].at).expect("requests are recorded in order");
    assert!(gap >= ms(950), "Retry-After: 1 honoured, waited {gap:?}");
    assert!(run.stdout.contains("::warning::HTTP 429"), "{}", run.stdout);
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    // HTTP dates have whole seconds: 3 s ahead leaves at least 2 s once cut, whatever startup takes.
    let when = std::time::SystemTime::now() + std::time::Duration::from_secs(3);
    let api = FakeApi::start(
        Scenario::new().pipecat(succeeding()).fault(Fault::new(Route::GetBuild, FaultKind::retry_after_at(503, when))),
    );
    let run = gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let requests = api.requests();
    let gap = requests[1].at.checked_sub(requests[0].at).expect("requests are recorded in order");
    assert!(gap >= ms(900), "{gap:?}");
}

#[test]
fn server_error_bursts_and_resets_are_retried() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(succeeding())
            .fault(Fault::new(Route::GetBuild, FaultKind::status(503)).times(4))
            .fault(Fault::new(Route::GetBuild, FaultKind::Reset))
            .fault(Fault::new(Route::GetBuild, FaultKind::ResetMidBody))
            .fault(Fault::new(Route::GetBuild, FaultKind::status(502))),
    );
    let run = gate(&api, &[("BUILDGATE_LOGS", "false")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.output("status").as_deref(), Some("success"));
    assert!(run.stdout.contains("The API answered again after 7 failed requests"), "{}", run.stdout);
    assert!(!run.stdout.contains("Retry-After"), "no Retry-After was sent");
    assert_eq!(run.stdout.matches("::warning::").count(), 1, "one warning per streak:\n{}", run.stdout);
}

#[test]
fn a_slow_answer_times_out_and_is_retried() {
    let api = FakeApi::start(
        Scenario::new().pipecat(succeeding()).fault(Fault::new(Route::GetBuild, FaultKind::Delay(ms(3000)))),
    );
    let run = gate(&api, &[("BUILDGATE_REQUEST_TIMEOUT", "200ms"), ("BUILDGATE_LOGS", "false")]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("timed out"), "{}", run.stdout);
}

#[test]
fn an_unreadable_answer_that_stays_unreadable_exits_3() {
    let html = FaultKind::body(200, "text/html", "<html><body>Maintenance</body></html>");
    let api = FakeApi::start(Scenario::new().pipecat(succeeding()).fault(Fault::new(Route::GetBuild, html).times(100)));
    let run = gate(&api, &[]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(run.stdout.contains("is not JSON") && run.stdout.contains("Maintenance"), "{}", run.stdout);
    assert_eq!(api.requests().len(), 3);
}

#[test]
fn every_configuration_error_exits_2_naming_the_variable_before_any_request() {
    let api = scripted(succeeding());
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("BUILDGATE_BUILD_ID", "nope")], "BUILDGATE_BUILD_ID: \"nope\" is not a Pipecat build id"),
        (&[("BUILDGATE_API_KEY", "")], "BUILDGATE_API_KEY: no API key"),
        (&[("BUILDGATE_TIMEOUT", "ten")], "BUILDGATE_TIMEOUT: \"ten\" is not a duration"),
        (&[("BUILDGATE_POLL_INTERVAL", "0s")], "BUILDGATE_POLL_INTERVAL: \"0s\" is not a duration: it is zero; use"),
        (&[("BUILDGATE_POLL_MAX_INTERVAL", "1ms")], "BUILDGATE_POLL_MAX_INTERVAL: 1ms is shorter"),
        (&[("BUILDGATE_REQUEST_TIMEOUT", "5 min")], "BUILDGATE_REQUEST_TIMEOUT"),
        (&[("BUILDGATE_LOGS", "sometimes")], "BUILDGATE_LOGS: \"sometimes\" is not a boolean"),
        (&[("BUILDGATE_FORMAT", "xml")], "BUILDGATE_FORMAT: \"xml\" is not a format"),
        (&[("BUILDGATE_PROVIDER", "aws")], "BUILDGATE_PROVIDER: \"aws\" is not a provider"),
        (&[("BUILDGATE_DRY_RUN", "maybe")], "BUILDGATE_DRY_RUN"),
        (&[("BUILDGATE_LOG_LEVEL", "chatty")], "BUILDGATE_LOG_LEVEL"),
        (
            &[("BUILDGATE_API_URL", "http://example.com/v1")],
            "BUILDGATE_API_URL: \"http://example.com/v1\" uses http://",
        ),
        (&[("BUILDGATE_CONTEXT_HASH", "abc")], "set exactly one"),
        (&[("BUILDGATE_REGION", "us-west")], "BUILDGATE_REGION"),
        (&[("BUILDGATE_MAX_LOG_LINES", "-1")], "BUILDGATE_MAX_LOG_LINES"),
        (&[("BUILDGATE_LOG_INTERVAL", "often")], "BUILDGATE_LOG_INTERVAL: \"often\" is not a duration"),
    ];
    for (extra, expected) in cases {
        let run = gate(&api, extra);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{extra:?}: expected {expected:?} in\n{}", run.stderr);
        let annotated = run.stdout.contains("::error title=buildgate configuration::");
        assert_eq!(annotated, extra[0].0 != "BUILDGATE_FORMAT", "{extra:?}: {}", run.stdout);
    }
    assert!(api.requests().is_empty(), "no request on invalid configuration");
}

#[test]
fn empty_values_count_as_unset() {
    let api = scripted(succeeding());
    let empties: Vec<(&str, &str)> = [
        "BUILDGATE_CONTEXT_HASH",
        "BUILDGATE_REGION",
        "BUILDGATE_PROVIDER",
        "BUILDGATE_POLL_INTERVAL",
        "BUILDGATE_LOGS",
        "BUILDGATE_DRY_RUN",
        "BUILDGATE_LOG_LEVEL",
        "BUILDGATE_MAX_LOG_LINES",
        "BUILDGATE_LOG_INTERVAL",
    ]
    .iter()
    .map(|k| (*k, ""))
    .collect();
    let mut extra = empties.clone();
    extra.push(("BUILDGATE_POLL_MAX_INTERVAL", "2s"));
    let run = gate(&api, &extra);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn the_dry_run_prints_the_plan_and_makes_no_request() {
    let api = scripted(succeeding());
    let run =
        gate(&api, &[("BUILDGATE_DRY_RUN", "yes"), ("BUILDGATE_FORMAT", "plain"), ("BUILDGATE_TIMEOUT", "1h30m")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(api.requests().is_empty());
    let url = api.pipecat_url();
    for expected in [
        "buildgate dry run".to_string(),
        format!("GET {url}/builds/{ID}"),
        format!("GET {url}/builds/{ID}/logs?limit=500"),
        "deadline         1h30m".to_string(),
        "poll schedule    10ms, 20ms, 40ms, 40ms".to_string(),
        format!("*** ({} characters) from BUILDGATE_API_KEY", DEFAULT_API_KEY.len()),
        "format           plain".to_string(),
        "read every 10ms or sooner".to_string(),
        format!("GET {url}/builds?status=success&region={{region}}&limit=50"),
        "guided by        one list of recent successful builds".to_string(),
    ] {
        assert!(run.stdout.contains(&expected), "{expected:?} in\n{}", run.stdout);
    }
    assert!(run.output_file.is_empty());
    let invalid = gate(&api, &[("BUILDGATE_DRY_RUN", "true"), ("BUILDGATE_TIMEOUT", "x")]);
    assert_eq!(invalid.code, 2);
}

#[test]
fn the_key_never_shows_even_at_trace_level() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(succeeding().logs(ms(0), ["line one", "line two"]))
            .fault(Fault::new(Route::GetBuild, FaultKind::status(500))),
    );
    for format in ["github", "gitlab", "plain"] {
        let run = gate(&api, &[("BUILDGATE_LOG_LEVEL", "trace"), ("BUILDGATE_FORMAT", format)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.len() > 1000, "trace diagnostics were written");
        // run_env has already grepped stdout, stderr, outputs and summary for the key.
    }
    let refused = FakeApi::start(Scenario::new().api_key("other"));
    let run = gate(&refused, &[("BUILDGATE_LOG_LEVEL", "trace"), ("RUST_LOG", "trace")]);
    assert_eq!(run.code, 3);
}

#[test]
fn gitlab_writes_a_valid_dotenv_report() {
    let api = scripted(succeeding().step(ms(200), "failed").error_message("two\nlines"));
    let run = gate(&api, &[("BUILDGATE_FORMAT", "gitlab"), ("BUILDGATE_LOGS", "false")]);
    assert_eq!(run.code, 1);
    for line in run.output_file.lines() {
        let (key, _) = line.split_once('=').unwrap();
        assert!(key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'), "{line}");
    }
    assert!(!run.output_file.contains("\n\n"));
    assert!(
        run.output_file.starts_with(&format!("BUILDGATE_BUILD_ID={ID}\nBUILDGATE_STATUS=failed\n")),
        "{}",
        run.output_file
    );
    assert!(run.output_file.contains("BUILDGATE_ERROR_MESSAGE=two lines\n"));
    assert!(!run.stdout.contains("::"), "no GitHub commands in GitLab logs");
}

#[test]
fn plain_prints_outputs_after_the_result() {
    let api = scripted(succeeding());
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = [
        ("BUILDGATE_BUILD_ID", ID.to_string()),
        ("BUILDGATE_API_URL", api.pipecat_url()),
        ("PIPECAT_API_KEY", DEFAULT_API_KEY.to_string()),
        ("BUILDGATE_POLL_INTERVAL", "10ms".to_string()),
        ("BUILDGATE_POLL_MAX_INTERVAL", "20ms".to_string()),
        ("BUILDGATE_LOGS", "no".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut cmd = assert_cmd::Command::cargo_bin("buildgate").unwrap();
    cmd.env_clear().current_dir(dir.path()).envs(env).timeout(std::time::Duration::from_secs(60));
    let out = cmd.output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains(DEFAULT_API_KEY));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let tail: Vec<&str> = stdout.lines().rev().take(7).collect();
    assert_eq!(tail.last().map(|l| l.starts_with("build-id=")), Some(true), "{stdout}");
    assert!(stdout.contains("\nstatus=success\n") && stdout.contains("\nimage-uri=123.dkr"), "{stdout}");
    assert!(!stdout.contains(DEFAULT_API_KEY));
}
