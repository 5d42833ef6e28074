//! Why the gate stopped other than with a finished build, and the signals that can stop it.

use crate::http::Refusal;

/// A signal that stopped the gate; each has its own exit code (128 + signal number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
    Hangup,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        }
    }
}

/// Why the wait ended without a build that ended.
#[derive(Debug)]
pub enum Failure {
    /// The outputs file could not be written.
    Output(String),
    /// The API, or the way to it, said no.
    Refused(Refusal),
    /// Answers that could not be read, [`crate::planner::UNREADABLE_LIMIT`] times in a row.
    Unreadable(String),
    /// The deadline passed while the build was still running (or not found yet).
    Deadline {
        last_error: Option<String>,
    },
    Interrupted(Signal),
}
