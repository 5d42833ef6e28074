//! The demo: buildgate waits on a simulated Pipecat build served in-process by the fake API and
//! prints exactly what the CI log would show, then the outputs file it wrote.
//!
//! `cargo run --example demo` (GitHub format), or `cargo run --example demo -- gitlab|plain`.

use std::time::Duration;

use buildgate::env::Env;
use fake_api::demo::{DEMO_BUILD_ID, demo_scenario};
use fake_api::{DEFAULT_API_KEY, FakeApi};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let format = std::env::args().nth(1).unwrap_or_else(|| "github".into());
    let api = FakeApi::start(demo_scenario(Duration::from_secs(1)));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let outputs = dir.path().join(if format == "gitlab" { "buildgate.env" } else { "github_output" });
    let env = Env::from_pairs([
        ("BUILDGATE_BUILD_ID", DEMO_BUILD_ID.to_string()),
        ("BUILDGATE_API_URL", api.pipecat_url()),
        ("BUILDGATE_API_KEY", DEFAULT_API_KEY.to_string()),
        ("BUILDGATE_POLL_INTERVAL", "500ms".to_string()),
        ("BUILDGATE_POLL_MAX_INTERVAL", "1s".to_string()),
        ("BUILDGATE_LOG_INTERVAL", "2s".to_string()),
        ("BUILDGATE_TIMEOUT", "2m".to_string()),
        ("BUILDGATE_FORMAT", format.clone()),
        ("BUILDGATE_OUTPUT_FILE", outputs.display().to_string()),
        ("NO_COLOR", std::env::var("NO_COLOR").unwrap_or_default()),
    ]);
    println!("# demo: the CI log of a `{format}` job, as the runner receives it (commands shown raw)\n");
    let code = buildgate::run(&env, Vec::new(), Box::new(std::io::stdout())).await.code();
    println!("\n# exit code {code}; requests made to the API: {}", api.requests().len());
    println!("# {}:", outputs.display());
    print!("{}", std::fs::read_to_string(&outputs).unwrap_or_default());
    std::process::ExitCode::from(code)
}
