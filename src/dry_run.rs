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
        search @ Target::ContextHash { .. } => {
            format!("the newest build with {}", search.search_words().unwrap_or_default())
        }
    };
    let delays: Vec<String> =
        base_delays(config.poll_interval, config.poll_max_interval, 6).into_iter().map(duration::format).collect();
    let outputs = match (&config.outputs, config.format) {
        (Some(file), _) => format!("appended to {} (it can be)", file.path().display()),
        (None, Format::Github) => "printed on stdout as name=value lines (GITHUB_OUTPUT is not set)".to_string(),
        (None, _) => "printed on stdout as name=value lines".to_string(),
    };
    let max = config.poll_max_interval;
    let every = duration::format(max.min(config.log_interval));
    let logs = if config.logs {
        format!(
            "streamed, at most {} lines; read every {every} or sooner (a line waits no longer), every {} in the \
             build's last phases and around its likely end, more often while lines come fast, and once at the end",
            config.max_log_lines,
            duration::format(max.min(config.log_interval) / 2)
        )
    } else {
        "off".into()
    };
    let guided = guidance(config);
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
        ("guided by", guided),
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

/// What guides the polling, in the dry run's words.
fn guidance(config: &Config) -> String {
    let (max, first) = (config.poll_max_interval, config.poll_interval);
    match config.provider {
        crate::provider::ProviderKind::Prime => {
            "the plain backoff above: Prime's API gives no build log and no list of earlier builds".to_string()
        }
        crate::provider::ProviderKind::Pipecat if !config.logs => {
            "the plain backoff above (the build log, which would guide it, is off)".to_string()
        }
        crate::provider::ProviderKind::Pipecat => format!(
            "one list of recent successful builds (same region; the same Dockerfile when 3 or more) places the \
             likely end; the status keeps the backoff until the log tells the build's phases, then is read every \
             {} while lines flow, at once when the log goes quiet, and every {} (backing off) once the final \
             phase shows; never more than {} apart otherwise",
            duration::format(config.log_interval.saturating_mul(4)),
            duration::format(first / 2),
            duration::format(max.saturating_mul(2)),
        ),
    }
}
