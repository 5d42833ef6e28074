//! The simulated build that the demo, the CI workflow's action run and the benchmarks share.

use std::time::Duration;

use crate::{PipecatBuild, PrimeBuild, Scenario};

/// The build id the demo build has.
pub const DEMO_BUILD_ID: &str = "123e4567-e89b-12d3-a456-426614174000";

/// The build id of the Prime demo build.
pub const PRIME_DEMO_BUILD_ID: &str = "bld_demo_vm_01";

/// A Pipecat build that goes pending → building → success over about `seconds` × 1 s,
/// writing a CodeBuild-style log with phases, a pip install and a Docker build.
pub fn demo_scenario(scale: Duration) -> Scenario {
    let at = |units: u32| scale * units / 10;
    let phase = |t: &str, name: &str| format!("[Container] 2026/03/04 10:00:{t} Entering phase: {name}");
    let build = PipecatBuild::new(DEMO_BUILD_ID)
        .step(at(0), "pending")
        .step(at(10), "building")
        .step(at(50), "success")
        .image_uri("123456789.dkr.ecr.us-west-2.amazonaws.com/pipecat-cloud/org_demo:a1b2c3d4e5f6a7b8")
        .duration_seconds(48)
        .logs_url("https://console.aws.amazon.com/codebuild/home#/builds/demo")
        .logs(
            at(12),
            ["[Container] 2026/03/04 10:00:00 Running on CodeBuild On-demand".to_string(), phase("00", "INSTALL")],
        )
        .logs(
            at(18),
            [
                "[Container] 2026/03/04 10:00:01 Running command pip install -r requirements.txt",
                "Collecting pipecat-ai==0.1.0",
                "Successfully installed pipecat-ai-0.1.0",
            ],
        )
        .logs(at(25), [phase("10", "BUILD"), "Step 1/6 : FROM dailyco/pipecat-base:latest".to_string()])
        .logs(at(32), (2..=6).map(|i| format!("Step {i}/6 : RUN layer {i}")))
        .logs(
            at(42),
            [phase("40", "POST_BUILD"), "Pushing image to 123456789.dkr.ecr.us-west-2.amazonaws.com".to_string()],
        )
        .log(at(48), "[Container] 2026/03/04 10:00:48 Phase complete: POST_BUILD State: SUCCEEDED");
    Scenario::new().pipecat(build)
}

/// The demo build failing: `pip install` finds no matching distribution in `BUILD`, so the log
/// tail names the cause (the gate's hint: check requirements.txt) and the build ends `failed`.
pub fn failed_demo_scenario(scale: Duration) -> Scenario {
    let at = |units: u32| scale * units / 10;
    let phase = |t: &str, name: &str| format!("[Container] 2026/03/04 10:00:{t} Entering phase: {name}");
    let build = PipecatBuild::new(DEMO_BUILD_ID)
        .step(at(0), "pending")
        .step(at(10), "building")
        .step(at(36), "failed")
        .duration_seconds(26)
        .error_message("Build failed during phase BUILD: COMMAND_EXECUTION_ERROR")
        .logs_url("https://console.aws.amazon.com/codebuild/home#/builds/demo")
        .logs(at(12), [phase("00", "INSTALL"), "Collecting pipecat-ai==0.1.0".to_string()])
        .logs(
            at(20),
            [
                phase("08", "BUILD"),
                "Step 1/6 : FROM dailyco/pipecat-base:latest".to_string(),
                "Step 2/6 : RUN pip install -r requirements.txt".to_string(),
                "ERROR: Could not find a version that satisfies the requirement pipecat-ai==9.9.9".to_string(),
                "ERROR: No matching distribution found for pipecat-ai==9.9.9".to_string(),
            ],
        )
        .logs(
            at(28),
            [
                "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1".to_string(),
                "[Container] 2026/03/04 10:00:24 Phase complete: BUILD State: FAILED".to_string(),
                phase("24", "POST_BUILD"),
            ],
        );
    Scenario::new().pipecat(build)
}

/// The context hash of the waiting-by-hash demo.
pub const DEMO_CONTEXT_HASH: &str = "a1b2c3d4e5f6a7b8";

/// Waiting by context hash: an older build of another Dockerfile from the same context is there
/// from the start; the demo build, of `Dockerfile`, appears after 2 × `scale` and then runs as
/// [`demo_scenario`]'s does (its clock starts when it is first named).
pub fn context_hash_scenario(scale: Duration) -> Scenario {
    let worker = PipecatBuild::new("0badc0de-0000-4000-8000-000000000001")
        .context_hash(DEMO_CONTEXT_HASH)
        .dockerfile_path("docker/Dockerfile.worker")
        .created_at("2026-03-04T09:00:00Z")
        .step(Duration::ZERO, "success")
        .image_uri("123456789.dkr.ecr.us-west-2.amazonaws.com/pipecat-cloud/org_demo:worker");
    let mut scenario = demo_scenario(scale);
    let app = scenario.pipecat_builds.remove(0);
    let app = app.context_hash(DEMO_CONTEXT_HASH).created_at("2026-03-04T10:00:00Z").appear_at(scale * 2);
    scenario.pipecat(worker).pipecat(app)
}

/// A Prime build as the current Prime CLI (`prime images push`) makes them, over about
/// `scale` × 4: `UPLOADING`, then `BUILDING` with a `VM_SANDBOX` artifact appearing, then
/// `COMPLETED` with the VM image's `fullImagePath` (no `CONTAINER_IMAGE` artifact).
pub fn prime_demo_scenario(scale: Duration) -> Scenario {
    let build = PrimeBuild::vm_image(PRIME_DEMO_BUILD_ID, scale, scale * 4)
        .image_name("team/agent")
        .image_tag("v7")
        .started_at("2026-03-04T10:00:00Z")
        .completed_at("2026-03-04T10:03:10Z");
    Scenario::new().prime(build)
}
