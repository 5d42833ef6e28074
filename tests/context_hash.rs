//! End-to-end: waiting on the newest Pipecat build with a context hash, as it appears.

mod common;

use common::*;

const HASH: &str = "a1b2c3d4e5f6a7b8";

fn uuid(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

fn by_hash(api: &FakeApi, extra: &[(&str, &str)]) -> Run {
    let mut env = vec![("BUILDGATE_BUILD_ID", ""), ("BUILDGATE_CONTEXT_HASH", HASH), ("BUILDGATE_LOGS", "false")];
    env.extend_from_slice(extra);
    gate(api, &env)
}

#[test]
fn the_newest_build_is_picked_across_two_pages_once_they_appear() {
    let mut scenario = Scenario::new();
    for n in 0..130 {
        // Same hash, same creation time: only `updatedAt` tells them apart, and the newest is
        // listed last, on the second page of 100. None is listed before 300 ms.
        scenario = scenario.pipecat(
            PipecatBuild::new(&uuid(n))
                .appear_at(ms(300))
                .context_hash(HASH)
                .created_at("2026-02-20T10:00:00Z")
                .updated_at(&format!("2026-02-20T11:{:02}:{:02}Z", n / 60, n % 60))
                .step(ms(0), "failed"),
        );
    }
    let newest = uuid(999);
    let scenario = scenario
        .pipecat(PipecatBuild::new(&uuid(500)).context_hash("otherhash").created_at("2026-03-01T00:00:00Z"))
        .pipecat(
            PipecatBuild::new(&newest)
                .appear_at(ms(300))
                .context_hash(HASH)
                .created_at("2026-02-20T10:00:00Z")
                .updated_at("2026-02-20T12:00:00Z")
                .step(ms(0), "building")
                .step(ms(100), "success")
                .image_uri("registry/new:1"),
        );
    let api = FakeApi::start(scenario);
    let run = by_hash(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("build-id").as_deref(), Some(newest.as_str()));
    assert_eq!(run.output("image-uri").as_deref(), Some("registry/new:1"));
    let picked = format!("Picked build {newest} (created 2026-02-20T10:00:00Z): the newest of 131");
    assert!(run.stdout.contains(&picked), "{}", run.stdout);
    // The searches by context hash (the list of recent successful builds, for the likely end, is
    // another request).
    let lists: Vec<String> = api
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/builds" && r.query.contains("contextHash="))
        .map(|r| r.query.clone())
        .collect();
    assert!(lists.len() > 3, "listed again until the builds appeared: {lists:?}");
    let (first_page, second_page) = (&lists[lists.len() - 2], &lists[lists.len() - 1]);
    assert!(first_page.contains(&format!("contextHash={HASH}")) && first_page.contains("limit=100"));
    assert!(first_page.contains("offset=0") && second_page.contains("offset=100"), "{lists:?}");
}

#[test]
fn a_build_appearing_after_a_delay_among_older_ones_is_waited_for() {
    let mut scenario = Scenario::new();
    for n in 0..150 {
        scenario =
            scenario.pipecat(PipecatBuild::new(&uuid(n)).context_hash(&format!("old{n}")).step(ms(0), "success"));
    }
    let id = uuid(777);
    let api = FakeApi::start(scenario.pipecat(
        PipecatBuild::new(&id).context_hash(HASH).appear_at(ms(400)).step(ms(0), "building").step(ms(50), "success"),
    ));
    let run = by_hash(&api, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("build-id").as_deref(), Some(id.as_str()));
    assert!(run.stdout.contains(&format!("Picked build {id}")));
    let lists: Vec<_> = api.requests().into_iter().filter(|r| r.path == "/v1/builds").collect();
    assert!(lists.len() > 2, "listed again until it appeared: {}", lists.len());
    assert!(lists.last().unwrap().at >= ms(400));
}

#[test]
fn the_region_filters_the_search() {
    let (west, east) = (uuid(1), uuid(2));
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(
                PipecatBuild::new(&west)
                    .context_hash(HASH)
                    .region("us-west")
                    .created_at("2026-02-01T00:00:00Z")
                    .step(ms(0), "success"),
            )
            .pipecat(
                PipecatBuild::new(&east)
                    .context_hash(HASH)
                    .region("eu-central")
                    .created_at("2026-02-02T00:00:00Z")
                    .step(ms(0), "success"),
            ),
    );
    let run = by_hash(&api, &[("BUILDGATE_REGION", "us-west")]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.output("build-id").as_deref(), Some(west.as_str()));
    assert!(api.requests()[0].query.contains("region=us-west"));
}

#[test]
fn no_build_before_the_deadline_exits_124_waiting() {
    let api = FakeApi::start(Scenario::new().pipecat(PipecatBuild::new(&uuid(3)).context_hash("different")));
    let run = by_hash(&api, &[("BUILDGATE_TIMEOUT", "300ms")]);
    assert_eq!(run.code, 124, "{}", run.stdout);
    assert_eq!(run.output("status").as_deref(), Some("waiting"));
    assert_eq!(run.output("build-id"), None);
    assert!(
        run.stdout.contains(&format!("no build with context hash {HASH} appeared before the deadline")),
        "{}",
        run.stdout
    );
}

#[test]
fn with_a_dockerfile_only_builds_of_that_dockerfile_are_picked() {
    // One context, two Dockerfiles: the newest build with the hash is the worker's; the gate waits
    // on the app's newest, and never picks the worker's even when no build of the app exists.
    let worker = uuid(1);
    let (app_old, app_new) = (uuid(2), uuid(3));
    let build = |id: &str, path: &str, created: &str| {
        PipecatBuild::new(id).context_hash(HASH).dockerfile_path(path).created_at(created).step(ms(0), "success")
    };
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(build(&app_old, "Dockerfile", "2026-02-20T10:00:00Z").image_uri("registry/app:old"))
            .pipecat(build(&worker, "docker/Dockerfile.worker", "2026-02-20T12:00:00Z").image_uri("registry/worker:1"))
            .pipecat(
                build(&app_new, "Dockerfile", "2026-02-20T11:00:00Z").image_uri("registry/app:new").appear_at(ms(200)),
            ),
    );
    let run = by_hash(&api, &[("BUILDGATE_DOCKERFILE", "Dockerfile")]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("Looking for the newest build with context hash"), "{}", run.stdout);
    assert!(run.stdout.contains("of Dockerfile Dockerfile"), "{}", run.stdout);
    assert_eq!(run.output("build-id").as_deref(), Some(app_old.as_str()), "the app's newest at the first search");
    let any = by_hash(&api, &[]);
    assert_eq!(any.output("build-id").as_deref(), Some(worker.as_str()), "without it, the newest of any Dockerfile");
    let unknown =
        FakeApi::start(Scenario::new().pipecat(build(&worker, "docker/Dockerfile.worker", "2026-02-20T12:00:00Z")));
    let waiting = by_hash(&unknown, &[("BUILDGATE_DOCKERFILE", "Dockerfile"), ("BUILDGATE_TIMEOUT", "300ms")]);
    assert_eq!(waiting.code, 124, "a build of another Dockerfile is never picked: {}", waiting.stdout);
    assert!(waiting.stdout.contains("of Dockerfile Dockerfile appeared before the deadline"), "{}", waiting.stdout);
}

#[test]
fn a_dockerfile_without_a_context_hash_is_a_configuration_error() {
    let api = FakeApi::start(Scenario::new());
    let run = gate(&api, &[("BUILDGATE_DOCKERFILE", "Dockerfile")]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("BUILDGATE_DOCKERFILE") || run.stdout.contains("BUILDGATE_DOCKERFILE"),
        "{}",
        run.stderr
    );
    let dry = FakeApi::start(Scenario::new());
    let plan = by_hash(&dry, &[("BUILDGATE_DOCKERFILE", "docker/Dockerfile.worker"), ("BUILDGATE_DRY_RUN", "true")]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("of Dockerfile docker/Dockerfile.worker"), "{}", plan.stdout);
}
