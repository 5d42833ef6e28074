//! buildgate: wait on a cloud image build from CI, stream its log, write its outputs, exit with
//! a code that says what happened. [`run`] is the whole gate; `main` only maps its outcome.

pub mod ci;
pub mod config;
pub mod error;
pub mod http;
pub mod logs;
pub mod outputs;
pub mod poll;
pub mod provider;
pub mod signals;

use std::io::{IsTerminal, Write};

use tokio::time::Instant;

use crate::ci::{Console, Session};
use crate::config::{Config, Env, Format, ProviderKind, Target, format_duration};
use crate::error::Failure;
use crate::outputs::{Outputs, Summary};
use crate::poll::{Progress, Wait, base_delays};
use crate::provider::{BuildState, Provider, Snapshot, pipecat::Pipecat, prime::Prime};

/// Sets up diagnostics on stderr: `RUST_LOG` if set, else `BUILDGATE_LOG_LEVEL` (default warn).
pub fn init_tracing(env: &Env) {
    let filter = env
        .get("RUST_LOG")
        .map(str::to_string)
        .unwrap_or_else(|| env.get("BUILDGATE_LOG_LEVEL").unwrap_or("warn").to_ascii_lowercase());
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "warn".into());
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

/// The whole gate, printing the CI log to `stdout`.
pub async fn run(env: &Env, stdout: Box<dyn Write + Send>) -> Result<(), Failure> {
    let mut signals = signals::Signals::install();
    let config = match config::load(env) {
        Ok(config) => config,
        Err(errors) => {
            report_config_errors(env, &errors, stdout);
            return Err(Failure::Config(errors));
        }
    };
    tracing::debug!(?config, "configuration");
    let color = config.format != Format::Plain || std::io::stdout().is_terminal();
    let session = Session::new(color && !config.no_color);
    let mut console = Console::new(ci::dialect(config.format, session), stdout);
    if config.format == Format::Github {
        console.mask(config.api_key.expose());
    }
    let http = http::Http::new(&config.api_key, config.api_url.scheme() == "http").map_err(|e| {
        let failure = Failure::Api(e);
        console.error("buildgate", &failure.to_string());
        failure
    })?;
    let (url, hint) = (config.api_url.clone(), key_hint(&config));
    match config.provider {
        ProviderKind::Pipecat => proceed(Pipecat::new(http, url, hint), &config, console, &mut signals).await,
        ProviderKind::Prime => proceed(Prime::new(http, url, hint), &config, console, &mut signals).await,
    }
}

async fn proceed<P: Provider>(
    provider: P,
    config: &Config,
    mut console: Console,
    signals: &mut signals::Signals,
) -> Result<(), Failure> {
    if config.dry_run {
        let mut urls = provider.planned_urls(&config.target);
        if !config.logs {
            urls.retain(|u| !u.contains("/logs"));
        }
        print_plan(config, &urls, &mut console);
        return Ok(());
    }
    gate(provider, config, console, signals).await
}

/// Names the variable the key came from, and the one it took precedence over.
fn key_hint(config: &Config) -> &'static str {
    match (config.provider, config.api_key_source) {
        (ProviderKind::Pipecat, "BUILDGATE_API_KEY") => "BUILDGATE_API_KEY (it takes precedence over PIPECAT_API_KEY)",
        (ProviderKind::Prime, "BUILDGATE_API_KEY") => "BUILDGATE_API_KEY (it takes precedence over PRIME_API_KEY)",
        (_, source) => source,
    }
}

fn report_config_errors(env: &Env, errors: &config::ConfigErrors, stdout: Box<dyn Write + Send>) {
    // A key pasted into the wrong variable must not be echoed back.
    let keys = ["BUILDGATE_API_KEY", "PIPECAT_API_KEY", "PRIME_API_KEY"].map(|k| env.get(k).map(str::trim));
    let text = keys.iter().flatten().fold(errors.to_string(), |text, key| text.replace(key, "***"));
    eprintln!("buildgate: invalid configuration:");
    for line in text.lines() {
        eprintln!("  {line}");
    }
    // In a GitHub job, also annotate, so the reason shows on the run's summary page.
    if config::format(env.get("BUILDGATE_FORMAT"), env) == Ok(Format::Github) {
        let mut console = Console::new(ci::dialect(Format::Github, Session::new(false)), stdout);
        console.error("buildgate configuration", &text);
    }
}

fn print_plan(config: &Config, urls: &[String], console: &mut Console) {
    let target = match &config.target {
        Target::BuildId(id) => format!("build {id}"),
        Target::ContextHash { hash, region: None } => format!("the newest build with context hash {hash}"),
        Target::ContextHash { hash, region: Some(r) } => {
            format!("the newest build with context hash {hash} in region {r}")
        }
    };
    let delays: Vec<String> =
        base_delays(config.poll_interval, config.poll_max_interval, 6).into_iter().map(format_duration).collect();
    let outputs = match (&config.output_file, config.format) {
        (Some(path), _) => format!("appended to {}", path.display()),
        (None, Format::Github) => "printed on stdout as name=value lines (GITHUB_OUTPUT is not set)".to_string(),
        (None, _) => "printed on stdout as name=value lines".to_string(),
    };
    console.line("buildgate dry run: the configuration is valid; no request is made.");
    let mut rows = vec![
        ("provider", config.provider.name().to_string()),
        ("wait on", target),
        ("api key", format!("{:?} from {}", config.api_key, config.api_key_source)),
        ("deadline", format_duration(config.timeout)),
        ("request timeout", format_duration(config.request_timeout)),
        ("poll schedule", format!("{}, ... (each up to 20% shorter: jitter)", delays.join(", "))),
        (
            "build logs",
            if config.logs {
                format!(
                    "streamed, at most {} lines; read at least every {}, on every poll while lines come fast, \
                     and once at the end",
                    config.max_log_lines,
                    format_duration(config.log_interval)
                )
            } else {
                "off".into()
            },
        ),
        ("format", config.format.name().to_string()),
        ("outputs", outputs),
    ];
    if let Some(summary) = &config.summary_file {
        rows.push(("step summary", format!("appended to {}", summary.display())));
    }
    for (i, url) in urls.iter().enumerate() {
        rows.insert(2 + i, (if i == 0 { "would poll" } else { "" }, format!("GET {url}")));
    }
    for (name, value) in rows {
        console.line(&format!("  {name:<16} {value}"));
    }
}

async fn gate<P: Provider>(
    provider: P,
    config: &Config,
    mut console: Console,
    signals: &mut signals::Signals,
) -> Result<(), Failure> {
    let started = Instant::now();
    let mut outputs = Outputs::new(config.format, config.output_file.clone());
    let mut progress = Progress::default();
    match &config.target {
        Target::BuildId(id) => console.line(&format!("Waiting on {} build {id}", config.provider.name())),
        Target::ContextHash { .. } => {}
    }
    let result = {
        let wait = Wait {
            provider: &provider,
            config,
            console: &mut console,
            outputs: &mut outputs,
            progress: &mut progress,
            started,
            seed: seed(),
        };
        tokio::select! {
            result = wait.run() => result,
            signal = signals.recv() => Err(Failure::Interrupted(signal)),
        }
    };
    finish(config, &mut console, &mut outputs, &progress, started, result)
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// Reports the outcome in the CI log, writes the outputs and the summary, and says how it ended.
fn finish(
    config: &Config,
    console: &mut Console,
    outputs: &mut Outputs,
    progress: &Progress,
    started: Instant,
    result: Result<Snapshot, Failure>,
) -> Result<(), Failure> {
    console.close_group();
    let waited = started.elapsed().as_secs();
    let last = progress.last.as_ref();
    let id = progress.build_id.as_deref();
    let tail = progress.logs.as_ref().map(|l| l.recent()).unwrap_or_default();
    let outcome = match result {
        Ok(snapshot) if snapshot.state == BuildState::Succeeded => {
            let image = snapshot.image_uri.as_deref().map(|u| format!(": {u}")).unwrap_or_default();
            let took = snapshot.duration_secs.map(|d| format!(" in {d}s")).unwrap_or_default();
            console.line(&format!("Build {} succeeded{took}{image}", snapshot.id));
            Ok(())
        }
        Ok(snapshot) => {
            let verb = match snapshot.state {
                BuildState::TimedOut => "timed out on the provider's side",
                BuildState::Cancelled => "was cancelled",
                _ => "failed",
            };
            let reason = snapshot.error_message.as_deref().unwrap_or("no error message was given");
            let message = format!("Build {} {verb} ({}): {reason}", snapshot.id, snapshot.provider_status);
            console.error("Build failed", reason);
            if !tail.is_empty() {
                console.log_excerpt(&format!("Last {} build log lines:", tail.len()), tail.iter().map(String::as_str));
                if let Some(hint) = failure_hint(&tail) {
                    console.line(&format!("Hint: {hint}"));
                }
            }
            console.line(&message);
            Err(Failure::Build(message))
        }
        Err(failure) => {
            match &failure {
                Failure::Interrupted(signal) => {
                    let stood = last.map_or("not yet seen".to_string(), |s| s.provider_status.clone());
                    let build = id.map(|i| format!(" build {i} was {stood};")).unwrap_or_default();
                    console.line(&format!(
                        "Interrupted by {}:{build} the build itself goes on on the server",
                        signal.name()
                    ));
                }
                other => console.error("buildgate", &other.to_string()),
            }
            Err(failure)
        }
    };
    let status = match &outcome {
        Ok(()) => "success",
        Err(Failure::Build(_)) => last.map_or("failed", |s| s.state.output_status()),
        Err(_) => "waiting",
    };
    let error_message = match &outcome {
        Ok(()) => None,
        Err(Failure::Build(_)) => {
            Some(last.and_then(|s| s.error_message.clone()).unwrap_or_else(|| "the build failed".into()))
        }
        Err(failure) => Some(failure.to_string()),
    };
    let mut values: Vec<(&str, String)> = Vec::new();
    if let Some(id) = id {
        values.push(("build-id", id.to_string()));
    }
    values.push(("status", status.to_string()));
    if let Some(s) = last {
        values.push(("provider-status", s.provider_status.clone()));
        if let (Ok(()), Some(uri)) = (&outcome, &s.image_uri) {
            values.push(("image-uri", uri.clone()));
        }
        if let Some(d) = s.duration_secs {
            values.push(("duration", d.to_string()));
        }
        if let Some(url) = &s.logs_url {
            values.push(("logs-url", url.clone()));
        }
    }
    if let Some(e) = &error_message {
        values.push(("error-message", outputs::one_line(e)));
    }
    values.push(("waited", waited.to_string()));
    let mut write_error = None;
    for (name, value) in &values {
        if let Err(e) = outputs.set(name, value) {
            write_error.get_or_insert_with(|| format!("cannot write the outputs file: {e}"));
        }
    }
    // Through the dialect, so no value can pass for a CI command.
    for line in outputs.take_pending() {
        console.line(&line);
    }
    if let Some(path) = &config.summary_file {
        let summary = Summary {
            provider: config.provider.name(),
            build_id: id,
            status,
            provider_status: last.map(|s| s.provider_status.as_str()),
            duration_secs: last.and_then(|s| s.duration_secs),
            image_uri: last.and_then(|s| s.image_uri.as_deref()).filter(|_| outcome.is_ok()),
            logs_url: last.and_then(|s| s.logs_url.as_deref()),
            waited_secs: waited,
            error_message: error_message.as_deref(),
            log_tail: if matches!(outcome, Err(Failure::Build(_))) { &tail } else { &[] },
        };
        if let Err(e) = outputs::append_summary(path, &summary) {
            write_error.get_or_insert_with(|| format!("cannot write the step summary {}: {e}", path.display()));
        }
    }
    match (outcome, write_error) {
        (Ok(()), Some(e)) => {
            console.error("buildgate", &e);
            Err(Failure::Output(e))
        }
        (outcome, _) => outcome,
    }
}

/// The typical causes Pipecat's docs list for failed builds, recognised in the log tail.
pub fn failure_hint(tail: &[String]) -> Option<&'static str> {
    let text = tail.join("\n").to_ascii_lowercase();
    let hints: [(&[&str], &str); 4] = [
        (
            &["no matching distribution found", "could not find a version that satisfies", "modulenotfounderror"],
            "a dependency is missing or unavailable: check requirements.txt",
        ),
        (
            &["copy failed", "failed to compute cache key", "no such file or directory"],
            "a file named in a COPY instruction is missing from the build context",
        ),
        (
            &["pip install", "pip subprocess", "error: subprocess-exited-with-error", "returned a non-zero code"],
            "a command in the Dockerfile (often pip install) failed: see the lines above",
        ),
        (
            &["dockerfile parse error", "unknown instruction", "failed to solve: dockerfile"],
            "the Dockerfile has a syntax error",
        ),
    ];
    hints.iter().find(|(needles, _)| needles.iter().any(|n| text.contains(n))).map(|(_, hint)| *hint)
}
