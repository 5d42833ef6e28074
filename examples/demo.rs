//! The demo: buildgate waits on a simulated Pipecat build served in-process by the fake API and
//! prints exactly what the CI log would show, then the outputs file it wrote.
//!
//! `cargo run --example demo` (GitHub format), or `cargo run --example demo -- gitlab|plain`;
//! add `prime` for a Prime Intellect VM image build as the current Prime CLI makes them.

use std::time::Duration;

use buildgate::env::Env;
use fake_api::demo::{DEMO_BUILD_ID, PRIME_DEMO_BUILD_ID, demo_scenario, prime_demo_scenario};
use fake_api::{DEFAULT_API_KEY, FakeApi};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prime = args.iter().any(|a| a == "prime");
    let format = args.iter().find(|a| *a != "prime").cloned().unwrap_or_else(|| "github".into());
    let scale = Duration::from_secs(1);
    let (api, provider, id) = if prime {
        (FakeApi::start(prime_demo_scenario(scale)), "prime", PRIME_DEMO_BUILD_ID)
    } else {
        (FakeApi::start(demo_scenario(scale)), "pipecat", DEMO_BUILD_ID)
    };
    let url = if prime { api.base_url() } else { api.pipecat_url() };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let outputs = dir.path().join(if format == "gitlab" { "buildgate.env" } else { "outputs" });
    let env = Env::from_pairs([
        ("BUILDGATE_PROVIDER", provider.to_string()),
        ("BUILDGATE_BUILD_ID", id.to_string()),
        ("BUILDGATE_API_URL", url),
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
