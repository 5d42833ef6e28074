//! A shared script of console events for each dialect's golden test.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Console, Dialect, Session};
use crate::text::Redactor;

#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn session() -> Session {
    Session { token: "0123456789abcdef0123456789abcdef".into(), color: false, unix_time: || 1_771_588_800 }
}

pub use fake_api::ci::HOSTILE_LOG_LINES as HOSTILE;

/// The key the script masks, and which must show nowhere else.
pub const KEY: &str = "secret-key-123";

/// Runs the standard script and renders the bytes with ESC and CR made visible.
pub fn render(dialect: Box<dyn Dialect + Send>) -> String {
    let captured = Captured::default();
    {
        let mut console = Console::new(dialect, Box::new(captured.clone()), Redactor::new(KEY));
        console.mask(KEY);
        console.line("Waiting on build 123e4567-e89b-12d3-a456-426614174000 (pipecat)");
        console.status(Duration::from_millis(100), "pending");
        console.log_lines("Build log", ["[Container] 2026/03/04 10:00:00 Running on CodeBuild"]);
        console.log_lines("Build log · INSTALL", ["[Container] 2026/03/04 10:00:00 Entering phase: INSTALL"]);
        console.status(Duration::from_secs(75), "building");
        console.log_lines("Build log · INSTALL", HOSTILE.iter().copied());
        console.log_lines("Build log · INSTALL", ["echoed key: secret\\u002dkey\\u002d123 and secret-key-123"]);
        console.warning("logs: 100% done, 50%: not\nreally");
        console.error("Build failed: a, b", "Docker build failed: COPY failed\nline two 100% \x1b[31mred\x1b[0m");
        console.log_excerpt("Last 2 log lines:", ["ERROR: pip install failed", "::error::fake"]);
        console.log_lines("Build log · BUILD", ["still open when dropped"]);
        console.close_group();
        assert!(console.drain(Duration::from_secs(10)));
    }
    let bytes = captured.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap().replace('\x1b', "␛").replace('\r', "␍")
}
