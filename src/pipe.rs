//! Output that never holds up the gate: bytes for stdout or stderr are handed to a thread of
//! their own, so a pipe nobody reads cannot stop the gate from serving a signal or its deadline.

use std::io::Write;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::text::Redactor;

/// A writer on its own thread. Bytes sent are written in order; [`Pipe::drain`] waits (bounded)
/// until they are.
pub struct Pipe {
    tx: Sender<Vec<u8>>,
    sent: Mutex<u64>,
    written: Arc<(Mutex<u64>, Condvar)>,
}

impl Pipe {
    pub fn spawn(mut out: Box<dyn Write + Send>) -> Pipe {
        let (tx, rx) = channel::<Vec<u8>>();
        let written = Arc::new((Mutex::new(0u64), Condvar::new()));
        let progress = Arc::clone(&written);
        // A closed or broken output must not stop the gate: write errors are dropped.
        let spawned = std::thread::Builder::new().name("buildgate-output".into()).spawn(move || {
            for bytes in rx {
                let _ = out.write_all(&bytes).and_then(|()| out.flush());
                let (count, changed) = &*progress;
                *count.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
                changed.notify_all();
            }
        });
        if spawned.is_err() {
            tracing::warn!("cannot start the output thread: output is dropped");
        }
        Pipe { tx, sent: Mutex::new(0), written }
    }

    pub fn send(&self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let mut sent = self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.tx.send(bytes).is_ok() {
            *sent += 1;
        }
    }

    /// Waits until everything sent is written, or `within` has passed; says whether it was.
    pub fn drain(&self, within: Duration) -> bool {
        let target = *self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = Instant::now() + within;
        let (count, changed) = &*self.written;
        let mut written = count.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *written < target {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            written = changed.wait_timeout(written, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
        true
    }
}

static STDERR: OnceLock<Pipe> = OnceLock::new();
static STDERR_REDACTOR: OnceLock<Redactor> = OnceLock::new();

/// The process's stderr, through a pipe.
pub fn stderr() -> &'static Pipe {
    STDERR.get_or_init(|| Pipe::spawn(Box::new(std::io::stderr())))
}

/// From now on, everything written to stderr has the key cut out (set once the key is known).
pub fn redact_stderr(redactor: Redactor) {
    let _ = STDERR_REDACTOR.set(redactor);
}

/// Writes `text` to stderr, redacted.
pub fn eprint(text: &str) {
    let redacted = STDERR_REDACTOR.get().map_or(text.into(), |r| r.redact(text));
    stderr().send(redacted.as_bytes().to_vec());
}

/// Diagnostics (tracing) on stderr: each event is sent, redacted, when its writer is dropped.
#[derive(Clone, Copy, Debug, Default)]
pub struct StderrWriter;

/// One event's bytes, on their way to stderr.
pub struct EventBuffer(Vec<u8>);

impl Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        eprint(&String::from_utf8_lossy(&self.0));
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StderrWriter {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer(Vec::new())
    }
}

/// How long the gate waits at its end for stdout and stderr to take what was printed.
pub const DRAIN_AT_EXIT: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::Receiver;

    /// A writer that blocks until told to go on, as a pipe nobody reads does.
    struct Stuck(Receiver<()>, Arc<Mutex<Vec<u8>>>);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            self.1.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_blocked_output_never_blocks_the_sender() {
        let (go, wait) = channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let pipe = Pipe::spawn(Box::new(Stuck(wait, Arc::clone(&seen))));
        for i in 0..1000 {
            pipe.send(format!("line {i}\n").into_bytes());
        }
        assert!(!pipe.drain(Duration::from_millis(50)), "nothing could be written yet");
        for _ in 0..1000 {
            go.send(()).unwrap();
        }
        assert!(pipe.drain(Duration::from_secs(30)));
        let text = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("line 0\nline 1\n") && text.ends_with("line 999\n"), "in order, all of it");
    }
}
