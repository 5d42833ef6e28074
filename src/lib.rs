//! buildgate: wait on a cloud image build from CI, stream its log, write its outputs, exit with
//! a code that says what happened. [`run`] is the whole gate; `main` only maps its exit.

// Outside the crate only `run` and its types are used (and, by the benchmarks and the help
// page's test, the log placement and the variable table); everything else is the crate's own.
mod ci;
mod clock;
mod config;
mod demo;
mod dry_run;
mod duration;
pub mod env;
mod error;
mod history;
mod http;
pub mod logs;
mod outcome;
mod phases;
mod pipe;
pub mod planner;
mod progress;
mod provider;
mod signals;
mod text;
mod wait;

pub use config::{VARS, Var};
pub use outcome::Exit;

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use tokio::time::Instant;

use crate::ci::{Console, Format, Session};
use crate::config::Config;
use crate::env::Env;
use crate::error::Failure;
use crate::http::Http;
use crate::outcome::{Context, Known, Outcome, Recorder, key_hint};
use crate::planner::Planner;
use crate::provider::{Provider, ProviderKind, Snapshot, Target, pipecat::Pipecat, prime::Prime};
use crate::text::Redactor;

/// Sets up diagnostics on stderr: `RUST_LOG` if set, else `BUILDGATE_LOG_LEVEL` (default warn).
pub fn init_tracing(env: &Env) {
    let filter = env
        .get("RUST_LOG")
        .map_or_else(|| env.get("BUILDGATE_LOG_LEVEL").unwrap_or("warn").to_ascii_lowercase(), str::to_string);
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(pipe::StderrWriter)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// The whole gate: `args` are the command line's arguments, the CI log goes to `stdout`.
pub async fn run(env: &Env, args: Vec<OsString>, mut stdout: Box<dyn Write + Send>) -> Exit {
    if let Some(exit) = command_line(&args, &mut stdout) {
        return exit;
    }
    let mut signals = signals::Signals::install();
    // The demo serves its build before the configuration is read: the gate then reads its own.
    let demo = demo::parse(env.get("BUILDGATE_DEMO")).ok().flatten().map(|d| (d, demo::DemoServer::start(d)));
    let demo_env = demo.as_ref().map(|(_, server)| server.environment(env));
    let env = demo_env.as_ref().unwrap_or(env);
    let config = match config::load(env) {
        Ok(config) => config,
        Err(errors) => {
            report_config_errors(env, &errors, stdout);
            pipe::stderr().drain(pipe::DRAIN_AT_EXIT);
            return Exit::Config;
        }
    };
    tracing::debug!(?config, "configuration");
    let redactor = Redactor::new(config.api_key.expose());
    pipe::redact_stderr(redactor.clone());
    let color = config.format != Format::Plain || std::io::stdout().is_terminal();
    let dialect = ci::dialect(config.format, Session::new(color && !config.no_color));
    let watched = config.format == Format::Plain && !config.dry_run;
    let live = (watched && ci::live::wanted(env, std::io::stdout().is_terminal()))
        .then(|| ci::live::Live::start(!config.no_color));
    let mut console = match live {
        Some(live) => Console::new(dialect, live.writer(), redactor.clone()).with_live(live),
        None => Console::new(dialect, stdout, redactor.clone()),
    };
    if config.format == Format::Github {
        console.mask(config.api_key.expose());
    }
    for warning in &config.warnings {
        console.warning(warning);
    }
    if let Some((demo, server)) = &demo {
        console.line(&format!(
            "buildgate demo: a scripted build that ends {}, served by this process on {} (no account, no \
             network); what follows is what a real job's log shows",
            if *demo == demo::Demo::Success { "in success" } else { "failed" },
            server.url()
        ));
    }
    let exit = if config.dry_run {
        dry_run::print_plan(&config, &config.provider.planned_urls(&config.api_url, &config.target), &mut console);
        Exit::Success
    } else {
        gate(config, &mut console, &mut signals, redactor).await
    };
    // Bounded: a stdout or stderr nobody reads must not keep the gate from exiting.
    console.drain(pipe::DRAIN_AT_EXIT);
    pipe::stderr().drain(pipe::DRAIN_AT_EXIT);
    exit
}

/// `--help`, `--version`, or an argument the gate does not take (exit 2 before anything else).
fn command_line(args: &[OsString], stdout: &mut Box<dyn Write + Send>) -> Option<Exit> {
    let first = args.first()?;
    let text = match first.to_str() {
        Some("--help" | "-h") => config::help_page(),
        Some("--version" | "-V") => format!("buildgate {}\n", env!("CARGO_PKG_VERSION")),
        _ => {
            pipe::eprint(&format!(
                "buildgate: invalid configuration:\n  {} is not an argument buildgate takes; it is configured by \
                 environment variables (see buildgate --help)\n",
                quoted(first)
            ));
            pipe::stderr().drain(pipe::DRAIN_AT_EXIT);
            return Some(Exit::Config);
        }
    };
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
    Some(Exit::Success)
}

/// `arg` quoted as Rust quotes a string, each byte that is not UTF-8 as `\xNN`: the gate's own
/// spelling, where the standard library does not promise one for an `OsStr`.
fn quoted(arg: &OsStr) -> String {
    let mut text = String::from('"');
    for chunk in arg.as_encoded_bytes().utf8_chunks() {
        let valid = format!("{:?}", chunk.valid());
        text.push_str(&valid[1..valid.len() - 1]);
        for byte in chunk.invalid() {
            let _ = write!(text, "\\x{byte:02X}");
        }
    }
    text.push('"');
    text
}

fn report_config_errors(env: &Env, errors: &config::ConfigErrors, stdout: Box<dyn Write + Send>) {
    // A key pasted into the wrong variable must not be echoed back.
    let keys = ["BUILDGATE_API_KEY", "PIPECAT_API_KEY", "PRIME_API_KEY"].map(|k| env.get(k).map(str::trim));
    let text =
        keys.iter().flatten().fold(errors.to_string(), |text, key| Redactor::new(key).redact(&text).into_owned());
    let indented = text.lines().fold(String::new(), |mut indented, line| {
        let _ = writeln!(indented, "  {line}");
        indented
    });
    pipe::eprint(&format!("buildgate: invalid configuration:\n{indented}"));
    // In a GitHub job, also annotate, so the reason shows on the run's summary page.
    if Format::from_config(env.get("BUILDGATE_FORMAT"), env) == Ok(Format::Github) {
        let mut console = Console::new(ci::dialect(Format::Github, Session::new(false)), stdout, Redactor::default());
        console.error("buildgate configuration", &text);
        console.drain(pipe::DRAIN_AT_EXIT);
    }
}

/// Waits on the build and reports how it ended.
async fn gate(mut config: Config, console: &mut Console, signals: &mut signals::Signals, redactor: Redactor) -> Exit {
    let mut recorder = Recorder::new(config.outputs.take(), config.summary_file.clone(), redactor);
    let ctx = Context {
        provider: config.provider,
        target: &config.target,
        timeout: config.timeout,
        key_hint: key_hint(config.api_key_source, config::key_variable(config.provider)),
    };
    let started = Instant::now();
    let mut known = Known::default();
    let result = match Http::new(&config.api_key, config.route()) {
        Err(e) => Err(match e {
            http::FetchError::Refused(refusal) => Failure::Refused(refusal),
            other => Failure::Unreadable(other.reason()),
        }),
        Ok(http) => {
            let url = config.api_url.clone();
            let mut waiting =
                Waiting { config: &config, console, recorder: &mut recorder, known: &mut known, signals, started };
            match config.provider {
                ProviderKind::Pipecat => waiting.on(Pipecat::new(http, url)).await,
                ProviderKind::Prime => waiting.on(Prime::new(http, url)).await,
            }
        }
    };
    let outcome = Outcome::new(result, known, started.elapsed());
    recorder.finish(&outcome, &ctx, console)
}

/// What a wait on either provider works with.
struct Waiting<'a> {
    config: &'a Config,
    console: &'a mut Console,
    recorder: &'a mut Recorder,
    known: &'a mut Known,
    signals: &'a mut signals::Signals,
    started: Instant,
}

impl Waiting<'_> {
    /// Waits on the build until it ends, the wait stops, or a signal comes.
    async fn on<P: Provider>(&mut self, provider: P) -> Result<Snapshot, Failure> {
        let config = self.config;
        if let Target::BuildId(id) = &config.target {
            self.console.line(&format!("Waiting on {} build {id}", config.provider.name()));
        }
        let wait = wait::Wait {
            provider: &provider,
            target: &config.target,
            planner: Planner::new(config.settings(seed())),
            console: self.console,
            recorder: self.recorder,
            known: self.known,
            logs: config.log_stream(),
            started: self.started,
            request_timeout: config.request_timeout,
            progress: progress::Progress::new(std::time::SystemTime::now() - self.started.elapsed()),
        };
        tokio::select! {
            result = wait.run() => result,
            signal = self.signals.recv() => Err(Failure::Interrupted(signal)),
        }
    }
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}
