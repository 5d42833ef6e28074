//! End-to-end: Prime builds as the current Prime CLI makes them (VM images: `VM_SANDBOX`
//! artifacts only, appearing once building starts) — each row of the image rule and of the
//! outcome rule, in all three formats.

mod common;

use common::*;
use serde_json::Value;

const BUILD: &str = "bld_vm_1";

fn prime_gate(api: &FakeApi, format: &str) -> Run {
    let url = api.base_url();
    gate(
        api,
        &[
            ("BUILDGATE_PROVIDER", "prime"),
            ("BUILDGATE_BUILD_ID", BUILD),
            ("BUILDGATE_API_URL", url.as_str()),
            ("BUILDGATE_FORMAT", format),
        ],
    )
}

/// An output by its GitHub name, whatever the format wrote (`image-uri` or `BUILDGATE_IMAGE_URI`).
fn output(run: &Run, name: &str) -> Option<String> {
    let key = format!("BUILDGATE_{}", name.to_ascii_uppercase().replace('-', "_"));
    run.outputs().into_iter().rev().find(|(n, _)| n == name || *n == key).map(|(_, v)| v)
}

/// A VM image build: UPLOADING, then BUILDING with its `VM_SANDBOX` artifact, then `end`.
fn vm_build(end: &str) -> PrimeBuild {
    PrimeBuild::new(BUILD)
        .step(ms(0), "UPLOADING")
        .step(ms(60), "BUILDING")
        .step(ms(160), end)
        .image_name("team/agent")
        .image_tag("v7")
        .started_at("2026-10-20T12:00:00Z")
        .completed_at("2026-10-20T12:03:10Z")
}

fn vm(id: &str) -> PrimeArtifact {
    PrimeArtifact::new(id, "VM_SANDBOX").appear_at(ms(60))
}

const FORMATS: [&str; 3] = ["github", "gitlab", "plain"];

#[test]
fn a_vm_only_build_gives_its_completed_artifacts_image() {
    let build = vm_build("COMPLETED").artifact(vm("a1").full_image_path("registry.primeintellect.ai/team/agent:v7-vm"));
    for format in FORMATS {
        let api = FakeApi::start(Scenario::new().prime(build.clone()));
        let run = prime_gate(&api, format);
        assert_eq!(run.code, 0, "{format}: {}", run.stdout);
        assert_eq!(output(&run, "status").as_deref(), Some("success"), "{format}");
        assert_eq!(
            output(&run, "image-uri").as_deref(),
            Some("registry.primeintellect.ai/team/agent:v7-vm"),
            "{format}"
        );
        assert_eq!(output(&run, "duration").as_deref(), Some("190"), "{format}");
        let text = uncolored(&run.stdout);
        assert!(text.contains("] status: UPLOADING · uploading the build context"), "{format}: {text}");
        assert!(text.contains("] status: BUILDING · building"), "{format}: {text}");
        assert!(text.contains("] artifact VM_SANDBOX: BUILDING"), "{format}: {text}");
    }
}

#[test]
fn the_first_completed_of_several_vm_artifacts_gives_the_image_and_the_summary_lists_each() {
    let build = vm_build("COMPLETED")
        .artifact(vm("a1").step(ms(60), "BUILDING").step(ms(160), "FAILED").full_image_path("reg/failed:1"))
        .artifact(vm("a2").full_image_path("reg/vm:2"))
        .artifact(vm("a3").full_image_path("reg/vm:3"));
    let api = FakeApi::start(Scenario::new().prime(build));
    let run = prime_gate(&api, "github");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(output(&run, "image-uri").as_deref(), Some("reg/vm:2"));
    assert!(run.summary.contains("| Image | `reg/vm:2` (from the completed VM_SANDBOX artifact's fullImagePath) |"));
    for (name, status) in [("#1", "FAILED"), ("#2", "COMPLETED"), ("#3", "COMPLETED")] {
        assert!(run.summary.contains(&format!("| artifact VM_SANDBOX {name} | {status} |")), "{}", run.summary);
    }
}

#[test]
fn without_an_artifact_path_the_image_is_the_builds_name_and_tag() {
    let without_path = vm_build("COMPLETED").artifact(vm("a1").field("fullImagePath", Value::Null));
    let without_artifacts = vm_build("COMPLETED");
    for (case, build) in [("artifact without a path", without_path), ("no artifacts", without_artifacts)] {
        for format in FORMATS {
            let api = FakeApi::start(Scenario::new().prime(build.clone()));
            let run = prime_gate(&api, format);
            assert_eq!(run.code, 0, "{case}, {format}: {}", run.stdout);
            assert_eq!(output(&run, "image-uri").as_deref(), Some("team/agent:v7"), "{case}, {format}");
        }
    }
    let api = FakeApi::start(Scenario::new().prime(vm_build("COMPLETED")));
    let run = prime_gate(&api, "github");
    assert!(run.summary.contains("(from the build's imageName:imageTag)"), "{}", run.summary);
}

#[test]
fn a_success_that_names_no_image_is_exit_3_with_status_success_and_no_image_uri() {
    let build =
        vm_build("COMPLETED").omit("imageName").omit("imageTag").artifact(vm("a1").field("fullImagePath", Value::Null));
    for format in FORMATS {
        let api = FakeApi::start(Scenario::new().prime(build.clone()));
        let run = prime_gate(&api, format);
        assert_eq!(run.code, 3, "{format}: {}", run.stdout);
        assert_eq!(output(&run, "status").as_deref(), Some("success"), "{format}");
        assert_eq!(output(&run, "image-uri"), None, "{format}");
        let message = output(&run, "error-message").unwrap_or_default();
        assert!(message.contains("VM_SANDBOX") && message.contains("imageName"), "{format}: {message}");
        assert!(run.stdout.contains("`imageName`"), "{format}: the CI log names the missing field: {}", run.stdout);
    }
}

#[test]
fn without_a_container_artifact_the_builds_own_status_decides() {
    // A failed VM artifact in a build that completed: the build's status decides.
    let mixed = vm_build("COMPLETED")
        .artifact(vm("a1").step(ms(60), "BUILDING").step(ms(160), "FAILED"))
        .artifact(vm("a2").full_image_path("reg/vm:ok"));
    let api = FakeApi::start(Scenario::new().prime(mixed));
    let run = prime_gate(&api, "github");
    assert_eq!((run.code, output(&run, "status").as_deref()), (0, Some("success")), "{}", run.stdout);
    assert_eq!(output(&run, "image-uri").as_deref(), Some("reg/vm:ok"));
    // A failed build whose only artifact completed: failed.
    let failed = vm_build("FAILED")
        .artifact(vm("a1").step(ms(60), "BUILDING").step(ms(160), "COMPLETED").full_image_path("reg/vm:1"))
        .field("errorMessage", Value::String("sandbox boot check failed".into()));
    for format in FORMATS {
        let api = FakeApi::start(Scenario::new().prime(failed.clone()));
        let run = prime_gate(&api, format);
        assert_eq!(run.code, 1, "{format}: {}", run.stdout);
        assert_eq!(output(&run, "status").as_deref(), Some("failed"), "{format}");
        assert_eq!(output(&run, "image-uri"), None, "{format}");
        assert_eq!(output(&run, "error-message").as_deref(), Some("sandbox boot check failed"), "{format}");
    }
}

#[test]
fn the_vm_image_scenario_of_the_fake_plays_like_the_cli_s_builds() {
    let api = FakeApi::start(Scenario::new().prime(PrimeBuild::vm_image(BUILD, ms(60), ms(160))));
    let run = prime_gate(&api, "plain");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(output(&run, "image-uri").as_deref(), Some("registry.primeintellect.ai/my-image:latest"));
    let text = uncolored(&run.stdout);
    let uploading = text.find("status: UPLOADING").expect("UPLOADING shown");
    let artifact = text.find("artifact VM_SANDBOX").expect("the artifact shown once it appears");
    assert!(uploading < artifact, "{text}");
}

#[test]
fn the_prime_demo_plays_a_vm_image_build_and_gives_its_image() {
    let api = FakeApi::start(fake_api::demo::prime_demo_scenario(ms(100)));
    let url = api.base_url();
    let run = gate(
        &api,
        &[
            ("BUILDGATE_PROVIDER", "prime"),
            ("BUILDGATE_BUILD_ID", fake_api::demo::PRIME_DEMO_BUILD_ID),
            ("BUILDGATE_API_URL", url.as_str()),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(output(&run, "image-uri").as_deref(), Some("registry.primeintellect.ai/team/agent:v7"));
    let text = uncolored(&run.stdout);
    for expected in ["status: UPLOADING · uploading the build context", "artifact VM_SANDBOX: BUILDING"] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    assert!(run.summary.contains("VM_SANDBOX"), "{}", run.summary);
}
