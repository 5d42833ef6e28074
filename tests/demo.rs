//! End to end: the demo in the binary (`BUILDGATE_DEMO`), a scripted build served in-process on
//! loopback, run through the real gate in the format the environment selects.

mod common;

use std::process::Command;

use common::*;

fn demo(value: &str, extra: &[(&str, &str)]) -> Run {
    let mut env: Vec<(String, String)> = vec![("BUILDGATE_DEMO".into(), value.into())];
    env.extend(extra.iter().map(|(n, v)| ((*n).to_string(), (*v).to_string())));
    run_env(&env)
}

#[test]
fn a_successful_demo_shows_a_github_job_log_and_writes_the_outputs() {
    // Nothing else set: no build id, no key; GitHub's own variables select the format.
    let run = demo("true", &[("GITHUB_ACTIONS", "true"), ("BUILDGATE_POLL_INTERVAL", "50ms")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("buildgate demo: a scripted build that ends in success"), "{}", run.stdout);
    assert!(run.stdout.contains("::group::Build log · BUILD"), "the GitHub format: {}", run.stdout);
    assert_eq!(run.output("status").as_deref(), Some("success"));
    assert!(run.output("image-uri").is_some_and(|uri| uri.contains("pipecat-cloud/org_demo")));
    assert!(run.summary.contains("Build phases"), "the step summary too: {}", run.summary);
}

#[test]
fn a_failed_demo_ends_1_with_the_log_tail_and_its_hint() {
    let run = demo("failed", &[("GITLAB_CI", "true"), ("BUILDGATE_POLL_INTERVAL", "50ms")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("section_start:"), "the GitLab format: {}", run.stdout);
    assert!(run.stdout.contains("check requirements.txt"), "{}", run.stdout);
    assert_eq!(run.output("BUILDGATE_STATUS").as_deref(), Some("failed"));
}

#[test]
fn the_demo_never_uses_the_users_key_or_build() {
    let key = "pck_the_users_real_key_0123456789";
    let run = demo("success", &[("BUILDGATE_API_KEY", key), ("BUILDGATE_BUILD_ID", "not-a-uuid")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_no_key(&run, key);
}

#[test]
fn an_unknown_demo_is_a_configuration_error_naming_it() {
    let run = demo("maybe", &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("BUILDGATE_DEMO") && run.stderr.contains("success or failed"), "{}", run.stderr);
}

#[test]
fn the_demo_needs_no_network() {
    // A network namespace with only loopback (`unshare --net`, which needs the right to make one).
    let bin = assert_cmd::cargo::cargo_bin("buildgate");
    let probe = Command::new("unshare").args(["--net", "true"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("the_demo_needs_no_network SKIPPED: cannot make a network namespace here (unshare --net)");
        return;
    }
    let script = format!("ip link set lo up 2>/dev/null; exec {}", bin.display());
    let out = Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("BUILDGATE_DEMO", "success")
        .env("BUILDGATE_POLL_INTERVAL", "50ms")
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("status=success"), "{stdout}");
}
