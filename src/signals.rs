//! The gate's own handlers for SIGINT, SIGTERM and SIGHUP: as a container's PID 1 it gets no
//! default action, so without them it could not be stopped cleanly.

use tokio::signal::unix::{Signal as Stream, SignalKind, signal};

use crate::error::Signal;

pub struct Signals {
    streams: Option<(Stream, Stream, Stream)>,
}

impl Signals {
    /// Installs the handlers; if the OS refuses, the gate still runs, just without them.
    pub fn install() -> Self {
        let streams = (|| {
            Some((
                signal(SignalKind::interrupt()).ok()?,
                signal(SignalKind::terminate()).ok()?,
                signal(SignalKind::hangup()).ok()?,
            ))
        })();
        if streams.is_none() {
            tracing::warn!("cannot install signal handlers");
        }
        Signals { streams }
    }

    /// The next signal; never returns when no handler could be installed.
    pub async fn recv(&mut self) -> Signal {
        let Some((int, term, hup)) = self.streams.as_mut() else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => Signal::Interrupt,
            _ = term.recv() => Signal::Terminate,
            _ = hup.recv() => Signal::Hangup,
        }
    }
}
