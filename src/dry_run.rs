//! The dry run: the resolved plan, printed with the key redacted, without any request (no
//! HTTP client is even built, so it runs where no CA store is).

use crate::ci::{Console, Format};
use crate::config::Config;
use crate::duration;
use crate::planner::base_delays;
use crate::provider::Target;

/// Prints the plan; `urls` are the requests the provider would make.
pub fn print_plan(config: &Config, urls: &[String], console: &mut Console) {
    console.line("buildgate dry run: the configuration is valid; no request is made.");
    for (name, value) in rows(config, urls) {
        console.line(&format!("  {name:<16} {value}"));
    }
}

fn rows(config: &Config, urls: &[String]) -> Vec<(&'static str, String)> {
    let target = match &config.target {
        Target::BuildId(id) => format!("build {id}"),
        Target::ContextHash { hash, region: None } => format!("the newest build with context hash {hash}"),
        Target::ContextHash { hash, region: Some(r) } => {
            format!("the newest build with context hash {hash} in region {r}")
        }
    };
    let delays: Vec<String> =
        base_delays(config.poll_interval, config.poll_max_interval, 6).into_iter().map(duration::format).collect();
    let outputs = match (&config.outputs, config.format) {
        (Some(file), _) => format!("appended to {} (it can be)", file.path().display()),
        (None, Format::Github) => "printed on stdout as name=value lines (GITHUB_OUTPUT is not set)".to_string(),
        (None, _) => "printed on stdout as name=value lines".to_string(),
    };
    let logs = if config.logs {
        format!(
            "streamed, at most {} lines; read at least every {}, on every poll while lines come fast, and once at \
             the end",
            config.max_log_lines,
            duration::format(config.log_interval)
        )
    } else {
        "off".into()
    };
    let mut rows = vec![("provider", config.provider.name().to_string()), ("wait on", target)];
    for (i, url) in urls.iter().enumerate() {
        let url = if config.logs || !url.contains("/logs") { url } else { continue };
        rows.push((if i == 0 { "would poll" } else { "" }, format!("GET {url}")));
    }
    rows.extend([
        ("api key", format!("{:?} from {}", config.api_key, config.api_key_source)),
        ("deadline", duration::format(config.timeout)),
        ("request timeout", duration::format(config.request_timeout)),
        ("poll schedule", format!("{}, ... (each up to 20% shorter: jitter)", delays.join(", "))),
        ("build logs", logs),
        ("format", config.format.name().to_string()),
        ("outputs", outputs),
    ]);
    if let Some(summary) = &config.summary_file {
        let can = match crate::ci::OutputsFile::open(Format::Github, summary.clone(), "GITHUB_STEP_SUMMARY", true) {
            Ok(_) => "it can be".to_string(),
            Err(why) => format!("warning: {why}"),
        };
        rows.push(("step summary", format!("appended to {} ({can})", summary.display())));
    }
    rows
}
