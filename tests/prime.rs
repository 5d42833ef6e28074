//! End-to-end: Prime Intellect image builds — artifacts decide, both field spellings, refusals.

mod common;

use common::*;

fn prime_gate(api: &FakeApi, extra: &[(&str, &str)]) -> Run {
    let url = api.base_url();
    let mut env = vec![
        ("BUILDGATE_PROVIDER", "prime"),
        ("BUILDGATE_BUILD_ID", "bld_7f3a"),
        ("BUILDGATE_API_URL", url.as_str()),
        ("BUILDGATE_API_KEY", ""),
        ("PRIME_API_KEY", DEFAULT_API_KEY),
    ];
    env.extend_from_slice(extra);
    gate(api, &env)
}

fn completed(snake_case: bool) -> PrimeBuild {
    PrimeBuild::new("bld_7f3a")
        .step(ms(0), "PENDING")
        .step(ms(40), "UPLOADING")
        .step(ms(80), "BUILDING")
        .step(ms(200), "COMPLETED")
        .started_at("2026-02-20T12:00:00Z")
        .completed_at("2026-02-20T12:01:30Z")
        .snake_case(snake_case)
        .artifact(
            PrimeArtifact::new("a1", "CONTAINER_IMAGE")
                .step(ms(0), "PENDING")
                .step(ms(80), "BUILDING")
                .step(ms(200), "COMPLETED")
                .full_image_path("registry.primeintellect.ai/team/my-image:latest"),
        )
        .artifact(
            PrimeArtifact::new("a2", "VM_SANDBOX")
                .step(ms(0), "PENDING")
                .step(ms(120), "BUILDING")
                .step(ms(200), "COMPLETED"),
        )
}

#[test]
fn a_completed_build_with_both_artifacts_succeeds_in_either_spelling() {
    for snake_case in [false, true] {
        let api = FakeApi::start(Scenario::new().prime(completed(snake_case)));
        let run = prime_gate(&api, &[]);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(run.output("image-uri").as_deref(), Some("registry.primeintellect.ai/team/my-image:latest"));
        assert_eq!(run.output("duration").as_deref(), Some("90"));
        assert_eq!(run.output("provider-status").as_deref(), Some("COMPLETED"));
        let text = uncolored(&run.stdout);
        assert!(text.contains("] artifact CONTAINER_IMAGE: BUILDING"), "{text}");
        assert!(text.contains("] artifact VM_SANDBOX: COMPLETED"), "{text}");
        let path = &api.requests()[0].path;
        assert_eq!(path, "/api/v1/images/build/bld_7f3a");
        assert!(api.requests().iter().all(|r| !r.path.contains("logs")), "Prime has no logs endpoint");
    }
}

#[test]
fn the_container_artifact_decides_over_the_group() {
    let build = PrimeBuild::new("bld_7f3a")
        .step(ms(0), "BUILDING")
        .step(ms(100), "FAILED")
        .artifact(PrimeArtifact::new("a1", "CONTAINER_IMAGE").step(ms(0), "BUILDING").step(ms(100), "COMPLETED"))
        .artifact(
            PrimeArtifact::new("a2", "VM_SANDBOX")
                .step(ms(0), "BUILDING")
                .step(ms(100), "FAILED")
                .error_message("sandbox image too large"),
        );
    let api = FakeApi::start(Scenario::new().prime(build));
    let run = prime_gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("status").as_deref(), Some("success"));
}

#[test]
fn a_failed_artifact_gives_its_error_message() {
    let build = PrimeBuild::new("bld_7f3a").step(ms(0), "BUILDING").step(ms(100), "FAILED").artifact(
        PrimeArtifact::new("a1", "CONTAINER_IMAGE")
            .step(ms(0), "BUILDING")
            .step(ms(100), "FAILED")
            .error_message("pip install failed: no matching distribution"),
    );
    let api = FakeApi::start(Scenario::new().prime(build));
    let run = prime_gate(&api, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.output("status").as_deref(), Some("failed"));
    assert_eq!(run.output("error-message").as_deref(), Some("pip install failed: no matching distribution"));
    assert!(run.stdout.contains("::error title=Build failed::pip install failed: no matching distribution"));
}

#[test]
fn a_cancelled_build_exits_1_with_status_cancelled() {
    let build = PrimeBuild::new("bld_7f3a").step(ms(0), "BUILDING").step(ms(60), "CANCELLED");
    let api = FakeApi::start(Scenario::new().prime(build));
    let run = prime_gate(&api, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.output("status").as_deref(), Some("cancelled"));
}

#[test]
fn unauthorized_points_at_prime_api_key() {
    let api = FakeApi::start(Scenario::new().api_key("other").prime(completed(false)));
    let run = prime_gate(&api, &[]);
    assert_eq!(run.code, 3);
    assert!(run.stdout.contains("PRIME_API_KEY") && run.stdout.contains("Not authenticated"), "{}", run.stdout);
}

#[test]
fn validation_errors_list_each_parameter() {
    let body = r#"{"errors":[{"param":"build_id","details":"must be a valid build id"},{"param":"team","details":"unknown"}]}"#;
    let api = FakeApi::start(
        Scenario::new()
            .prime(completed(false))
            .fault(Fault::new(Route::PrimeBuild, FaultKind::Status { code: 422, body: body.into(), headers: vec![] })),
    );
    let run = prime_gate(&api, &[]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains("HTTP 422") && run.stdout.contains("build_id: must be a valid build id; team: unknown"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unknown_status_warns_once_and_keeps_waiting() {
    let build = PrimeBuild::new("bld_7f3a")
        .step(ms(0), "QUEUED_FOR_GPU")
        .step(ms(150), "COMPLETED")
        .artifact(PrimeArtifact::new("a1", "CONTAINER_IMAGE").step(ms(0), "QUEUED_FOR_GPU").step(ms(150), "COMPLETED"));
    let api = FakeApi::start(Scenario::new().prime(build));
    let run = prime_gate(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.stdout.matches("unknown build status \"QUEUED_FOR_GPU\"").count(), 1, "{}", run.stdout);
}

#[test]
fn prime_refuses_logs_and_a_context_hash_in_configuration() {
    let api = FakeApi::start(Scenario::new().prime(completed(false)));
    let run = prime_gate(&api, &[("BUILDGATE_LOGS", "true")]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("BUILDGATE_LOGS: Prime Intellect has no build logs endpoint"), "{}", run.stderr);
    assert!(api.requests().is_empty());
}
