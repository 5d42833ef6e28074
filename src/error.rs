//! The gate's one error type, and the one place an outcome becomes an exit code.

use std::fmt;

use crate::config::ConfigErrors;

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

/// Why the gate did not end with a successful build.
#[derive(Debug)]
pub enum Failure {
    /// The configuration is invalid; each message names its variable.
    Config(ConfigErrors),
    /// An outputs or summary file could not be written.
    Output(String),
    /// The API refused or answered something that cannot be read.
    Api(String),
    /// The build ended unsuccessfully (failed, timed out on the provider's side, cancelled).
    Build(String),
    /// The deadline passed while the build was still running.
    Deadline(String),
    Interrupted(Signal),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Config(errors) => write!(f, "invalid configuration:\n{errors}"),
            Failure::Output(m) | Failure::Api(m) | Failure::Build(m) | Failure::Deadline(m) => f.write_str(m),
            Failure::Interrupted(s) => write!(f, "interrupted by {}", s.name()),
        }
    }
}

/// The contract's exit codes, in one place.
pub fn exit_code(outcome: &Result<(), Failure>) -> u8 {
    match outcome {
        Ok(()) => 0,
        Err(Failure::Build(_)) => 1,
        Err(Failure::Config(_) | Failure::Output(_)) => 2,
        Err(Failure::Api(_)) => 3,
        Err(Failure::Deadline(_)) => 124,
        Err(Failure::Interrupted(Signal::Interrupt)) => 130,
        Err(Failure::Interrupted(Signal::Terminate)) => 143,
        Err(Failure::Interrupted(Signal::Hangup)) => 129,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        let code = |f: Failure| exit_code(&Err(f));
        assert_eq!(exit_code(&Ok(())), 0);
        assert_eq!(code(Failure::Build("x".into())), 1);
        assert_eq!(code(Failure::Config(ConfigErrors(vec![]))), 2);
        assert_eq!(code(Failure::Api("x".into())), 3);
        assert_eq!(code(Failure::Deadline("x".into())), 124);
        assert_eq!(code(Failure::Interrupted(Signal::Interrupt)), 130);
        assert_eq!(code(Failure::Interrupted(Signal::Terminate)), 143);
        assert_eq!(code(Failure::Interrupted(Signal::Hangup)), 129);
    }
}
