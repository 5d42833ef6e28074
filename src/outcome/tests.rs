//! The outcome's rules: status, exit code and outputs for each way the wait can end.

use super::*;
use crate::http::Refusal;
use crate::provider::Part;

fn snapshot(state: BuildState, image: Result<Image, &'static str>) -> Snapshot {
    Snapshot {
        id: "b1".into(),
        state,
        provider_status: "COMPLETED".into(),
        phase: None,
        image,
        duration_secs: Some(90),
        logs_url: None,
        error_message: Some("pip install failed".into()),
        parts: vec![Part {
            name: "artifact VM_SANDBOX".into(),
            kind: "VM_SANDBOX".into(),
            status: "COMPLETED".into(),
            image: None,
        }],
        timing: crate::provider::Timing::default(),
    }
}

fn known() -> Known {
    Known { build_id: Some("b1".into()), last: None, log_tail: vec!["ERROR: x".into()], phases: None }
}

static TARGET: Target = Target::BuildId(String::new());

fn ctx() -> Context<'static> {
    Context {
        provider: ProviderKind::Prime,
        target: &TARGET,
        timeout: Duration::from_secs(60),
        key_hint: "PRIME_API_KEY".into(),
    }
}

fn names(outcome: &Outcome) -> Vec<&'static str> {
    outcome.outputs(&ctx()).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn a_success_with_an_image_exits_0_and_names_it() {
    let image = Image { uri: "reg/vm:1".into(), source: "the completed VM_SANDBOX artifact's fullImagePath" };
    let o = Outcome::new(Ok(snapshot(BuildState::Succeeded, Ok(image))), known(), Duration::from_secs(5));
    assert_eq!((o.exit(), o.status()), (Exit::Success, "success"));
    assert_eq!(names(&o), ["build-id", "status", "provider-status", "image-uri", "duration", "waited"]);
    let summary = o.summary(&ctx(), None);
    assert_eq!(summary.image.map(|(_, source)| source), Some("the completed VM_SANDBOX artifact's fullImagePath"));
    assert_eq!(summary.parts.len(), 1);
    assert!(summary.log_tail.is_empty());
}

#[test]
fn a_success_without_an_image_exits_3_with_status_success_and_no_image() {
    let o = Outcome::new(
        Ok(snapshot(BuildState::Succeeded, Err("the build answer has no `imageUri`"))),
        known(),
        Duration::ZERO,
    );
    assert_eq!((o.exit(), o.exit().code(), o.status()), (Exit::Api, 3, "success"));
    assert!(!names(&o).contains(&"image-uri"));
    let message = o.error_message(&ctx()).unwrap();
    assert!(message.contains("`imageUri`"), "{message}");
}

#[test]
fn an_unsuccessful_build_exits_1_with_its_own_status_and_message() {
    for (state, status) in
        [(BuildState::Failed, "failed"), (BuildState::TimedOut, "timeout"), (BuildState::Cancelled, "cancelled")]
    {
        let o = Outcome::new(Ok(snapshot(state, Err("x"))), known(), Duration::ZERO);
        assert_eq!((o.exit(), o.status()), (Exit::BuildFailed, status));
        assert_eq!(o.error_message(&ctx()).as_deref(), Some("pip install failed"));
        assert_eq!(o.summary(&ctx(), None).log_tail.len(), 1, "the tail is shown for a failed build");
    }
}

#[test]
fn a_stopped_wait_says_waiting_and_exits_per_cause() {
    let cases = [
        (Failure::Deadline { last_error: None }, Exit::Deadline, 124),
        (
            Failure::Refused(Refusal::Status { status: 401, detail: String::new(), what: "build b1".into() }),
            Exit::Api,
            3,
        ),
        (Failure::Unreadable("x".into()), Exit::Api, 3),
        (Failure::Output("disk full".into()), Exit::Config, 2),
        (Failure::Interrupted(Signal::Terminate), Exit::Interrupted(Signal::Terminate), 143),
        (Failure::Interrupted(Signal::Interrupt), Exit::Interrupted(Signal::Interrupt), 130),
        (Failure::Interrupted(Signal::Hangup), Exit::Interrupted(Signal::Hangup), 129),
    ];
    for (failure, exit, code) in cases {
        let o = Outcome::new(Err(failure), known(), Duration::ZERO);
        assert_eq!((o.exit(), o.exit().code(), o.status()), (exit, code, "waiting"));
        assert!(names(&o).contains(&"error-message"));
    }
    let refused = Outcome::new(
        Err(Failure::Refused(Refusal::Status { status: 401, detail: String::new(), what: "build b1".into() })),
        known(),
        Duration::ZERO,
    );
    let message = refused.error_message(&ctx()).unwrap();
    assert!(
        message.contains("PRIME_API_KEY") && message.contains("fork"),
        "the hint is added where the gate reports: {message}"
    );
}
