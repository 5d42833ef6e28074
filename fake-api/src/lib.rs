//! A scripted local Pipecat Cloud / Prime Intellect build API over real HTTP/1.1, with faults.
//!
//! [`FakeApi::start`] binds `127.0.0.1:0` and serves a [`Scenario`] on its own thread:
//! builds whose statuses and log lines follow timelines, and [`Fault`]s injected per request
//! (error statuses, raw bodies, connection resets, truncated bodies, delays, hangs).
//! [`FakeApi::start_tls`] serves the same over HTTPS (see [`tls::TestCerts`]).
//!
//! Clocks: each build's timeline runs on its own clock, started by the first request naming
//! that build (get build, get logs, Prime get) once the build has appeared, whatever the
//! answer to that request (faulted ones included). Before that a list shows the build at its
//! first step. `appear_at` is measured from server start.
//!
//! The logs endpoint (`GET /v1/builds/{id}/logs?limit=N`) is a sliding tail of the latest
//! `limit` visible entries, which a [`PipecatBuild`] can bend the ways real servers do:
//! - [`PipecatBuild::logs_cap`]: windows shorter than asked;
//! - [`PipecatBuild::logs_ignore_limit`]: the whole log whatever `limit` says;
//! - [`PipecatBuild::log_restart`]: the log starts over, earlier entries vanish;
//! - [`PipecatBuild::growing_line`]: an entry whose text grows while it is written;
//! - [`PipecatBuild::raw_log`]: an entry written verbatim (invalid UTF-8, lone surrogates, non-strings);
//! - [`PipecatBuild::log_objects`]: `{"message", "timestamp"}` entries, stamped with their own time.
//!
//! Time: timestamps are fixed strings unless a build has [`PipecatBuild::timestamps_on_clock`]
//! (computed from the wall time its clock started at plus its steps' times);
//! [`PipecatBuild::finished`] and [`Scenario::history`] add builds that ended before the server
//! started, for the list endpoint; [`Scenario::clock_skew`] plays a server whose clock is off,
//! its `Date` header included; [`FakeApi::clock_started`] tells when a build's clock started.
//! [`codebuild`] scripts a CodeBuild-style build (phase lines, bursts, a quiet stretch) whose
//! agent lines ([`PipecatBuild::container_log`]) are stamped as they are served.
//!
//! On the wire: [`Scenario::compression`] gzips or deflates every answer unasked, and the
//! [`FaultKind`]s also include a compressed answer of any decoded size (a "zip bomb"), a
//! chunked body cut short or with a broken chunk, a trickled body, and the real answer with
//! extra or replaced headers (`Date`, `Retry-After`, `Location`, ...). Every answer carries a
//! `Date` (the server's clock unless a fault gives one) and `Connection: close`.
//!
//! Prime builds: artifacts may appear late ([`PrimeArtifact::appear_at`]), and
//! [`PrimeBuild::vm_image`] plays a build as the current Prime CLI makes them.

mod api;
pub mod ci;
pub mod codebuild;
pub mod demo;
mod http;
mod scenario;
mod server;
mod state;
mod time;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

pub use scenario::{
    ClockSkew, Compression, DEFAULT_API_KEY, DEFAULT_LIFETIME, Fault, FaultKind, PipecatBuild, PrimeArtifact,
    PrimeBuild, Route, Scenario,
};

use state::Shared;

/// One request the server received.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The path as sent (not percent-decoded), without the query.
    pub path: String,
    /// The raw query, without '?'.
    pub query: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// When it arrived, since server start.
    pub at: Duration,
}

impl RecordedRequest {
    /// The route this request's path belongs to (`None`: none of the APIs' paths).
    pub fn route(&self) -> Option<Route> {
        api::Target::of_path(&self.path).route()
    }
}

/// A running fake server; stops (and joins its thread) on [`FakeApi::stop`] or drop.
pub struct FakeApi {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeApi {
    /// Binds 127.0.0.1:0 and serves `scenario` on a dedicated OS thread running its own
    /// current-thread tokio runtime, so it works from sync tests and from inside an async program.
    ///
    /// Panics if the socket cannot be bound or the thread cannot be started.
    pub fn start(scenario: Scenario) -> FakeApi {
        FakeApi::start_on(0, scenario).expect("fake-api: bind 127.0.0.1:0 and start the server thread")
    }

    /// As [`FakeApi::start`], but on `127.0.0.1:port` (0: any free port), for a server that a
    /// separate program (a shell loop, the CLI under a debugger) is pointed at by hand.
    /// Fails instead of panicking when the port cannot be bound (already in use, say).
    pub fn start_on(port: u16, scenario: Scenario) -> std::io::Result<FakeApi> {
        FakeApi::launch(port, scenario, None)
    }

    /// As [`FakeApi::start`], but over HTTPS (TLS 1.2/1.3 by rustls with the ring provider,
    /// HTTP/1.1 only over ALPN), serving the PEM certificate chain `cert_chain_pem` (leaf first)
    /// with the private key in `key_pem`. [`FakeApi::base_url`] and [`FakeApi::pipecat_url`]
    /// then start with `https://`. See [`tls::TestCerts`] for certificates to serve.
    ///
    /// Panics if the files cannot be read or used, or as [`FakeApi::start`] does.
    pub fn start_tls(scenario: Scenario, cert_chain_pem: &Path, key_pem: &Path) -> FakeApi {
        FakeApi::start_tls_on(0, scenario, cert_chain_pem, key_pem).expect("fake-api: start the TLS server")
    }

    /// As [`FakeApi::start_tls`], but on `127.0.0.1:port` (0: any free port), failing instead
    /// of panicking.
    pub fn start_tls_on(
        port: u16,
        scenario: Scenario,
        cert_chain_pem: &Path,
        key_pem: &Path,
    ) -> std::io::Result<FakeApi> {
        let acceptor = tls::acceptor(cert_chain_pem, key_pem)?;
        FakeApi::launch(port, scenario, Some(acceptor))
    }

    fn launch(port: u16, scenario: Scenario, tls: Option<tokio_rustls::TlsAcceptor>) -> std::io::Result<FakeApi> {
        let (start, start_wall) = (Instant::now(), std::time::SystemTime::now());
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(scenario, start, start_wall));
        let (stop, stopped) = oneshot::channel();
        let thread_shared = Arc::clone(&shared);
        let is_tls = tls.is_some();
        let thread = std::thread::Builder::new().name(format!("fake-api-{}", addr.port())).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("fake-api: build tokio runtime");
            runtime.block_on(server::serve(listener, thread_shared, stopped, tls));
            // Dropping the runtime drops every connection task and closes its socket.
            drop(runtime);
        })?;
        Ok(FakeApi { addr, tls: is_tls, shared, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT` (`https://` for a server started with [`FakeApi::start_tls`]),
    /// the Prime Intellect base URL.
    pub fn base_url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Whether this server speaks TLS ([`FakeApi::start_tls`]).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// `base_url() + "/v1"`, the Pipecat Cloud base URL.
    pub fn pipecat_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far, in arrival order (faulted ones included).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// How many requests received so far belong to `route` (`Route::Any`: all).
    pub fn count(&self, route: Route) -> usize {
        self.requests().iter().filter(|r| route.matches(r.route())).count()
    }

    /// When the clock of the build `build_id` started: the arrival of the first request naming
    /// it once it had appeared (`None` before that, or for an id no build has). A scripted log
    /// line at `at` is visible from this instant plus `at` on, a step at `at` is shown from then.
    pub fn clock_started(&self, build_id: &str) -> Option<Instant> {
        self.shared.clock_started(build_id)
    }

    /// Stops the server and joins its thread (as drop does).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for FakeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeApi").field("addr", &self.addr).field("tls", &self.tls).finish()
    }
}
