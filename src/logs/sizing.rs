//! How many log entries to ask for: the API's default, grown while placement is unsure, and
//! always sized in bytes too, so that an answer stays well under the body cap.

use super::LogWindow;
use super::place::{MAX_LIMIT, Read};
use crate::http::MAX_BODY_BYTES;

/// The API's default `limit`.
pub const BASE_LIMIT: usize = 500;
/// A usual read's answer stays under this.
const READ_BYTES: usize = 1024 * 1024;
/// The largest window asked for: three quarters of the body cap.
const GROWN_BYTES: usize = MAX_BODY_BYTES / 4 * 3;
/// Bytes per entry are never estimated below this (JSON quotes and commas alone take some).
const MIN_ENTRY_BYTES: f64 = 16.0;

/// Bytes per entry as recently seen, and the most entries the endpoint answers with.
#[derive(Clone, Copy, Debug)]
pub struct Sizing {
    bytes_per_entry: f64,
    cap: Option<usize>,
}

impl Default for Sizing {
    fn default() -> Self {
        Sizing { bytes_per_entry: MIN_ENTRY_BYTES, cap: None }
    }
}

impl Sizing {
    fn lines_within(&self, bytes: usize, most: usize) -> usize {
        let lines = (bytes as f64 / self.bytes_per_entry) as usize;
        lines.clamp(1, most).min(self.cap.unwrap_or(usize::MAX)).max(1)
    }

    /// The limit of a usual read.
    pub fn base(&self) -> usize {
        self.lines_within(READ_BYTES, BASE_LIMIT)
    }

    /// The largest limit asked for.
    pub fn max(&self) -> usize {
        self.lines_within(GROWN_BYTES, MAX_LIMIT).max(self.base())
    }

    /// Learns from an answer: the newest bytes per entry count, an older larger
    /// estimate fades by half per answer.
    pub fn observe(&mut self, window: &LogWindow) {
        if !window.entries.is_empty() {
            let observed = window.bytes as f64 / window.entries.len() as f64;
            self.bytes_per_entry = observed.max(self.bytes_per_entry / 2.0).max(MIN_ENTRY_BYTES);
        }
    }

    /// An answer to `asked` was over the body cap: its entries average at least cap / asked.
    pub fn too_large(&mut self, asked: usize) {
        let at_least = MAX_BODY_BYTES as f64 / asked.max(1) as f64;
        self.bytes_per_entry = self.bytes_per_entry.max(at_least * 2.0);
    }

    /// The endpoint answered `entries` though more were asked for and the log holds more.
    pub fn capped_at(&mut self, entries: usize) {
        self.cap = Some(self.cap.map_or(entries, |cap| cap.max(entries)).max(1));
    }

    /// What is known of a read of `asked` that gave `got` entries.
    pub fn read(&self, asked: usize, got: usize) -> Read {
        Read { asked, can_grow: got == asked && asked < self.max(), cap: self.cap }
    }

    /// The limit to read again with when a window did not tell where it belongs.
    pub fn grown(&self, asked: usize) -> usize {
        asked.saturating_mul(4).min(self.max())
    }

    /// The limit after a read of `asked` found `new` entries: a larger window is kept while
    /// bursts continue, and shrinks back (by four at a time) once they stop.
    pub fn next(&self, asked: usize, new: usize) -> usize {
        let keep = if asked > self.base() && new < asked / 4 { asked / 4 } else { asked };
        keep.clamp(self.base(), self.max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(entries: usize, bytes: usize) -> LogWindow {
        LogWindow { entries: vec![String::new(); entries], bytes }
    }

    #[test]
    fn short_lines_read_the_api_default_and_grow_to_its_maximum() {
        let mut s = Sizing::default();
        s.observe(&window(500, 500 * 60));
        assert_eq!((s.base(), s.max()), (BASE_LIMIT, MAX_LIMIT));
        assert_eq!(s.grown(500), 2000);
        assert_eq!(s.next(8000, 100), 2000);
        assert_eq!(s.next(2000, 100), 500);
        assert_eq!(s.next(2000, 1500), 2000);
    }

    #[test]
    fn long_lines_shrink_every_window_under_the_body_cap() {
        let mut s = Sizing::default();
        s.observe(&window(100, 100 * 10_000));
        assert!(s.base() * 10_000 <= READ_BYTES && s.base() > 50, "{}", s.base());
        assert!(s.max() * 10_000 <= GROWN_BYTES, "{}", s.max());
        let before = s.max();
        s.too_large(before);
        assert!(s.base() < before / 2 && s.max() < before, "a body-cap failure shrinks the next request");
    }

    #[test]
    fn a_cap_bounds_every_limit() {
        let mut s = Sizing::default();
        s.capped_at(1000);
        assert_eq!(s.max(), 1000);
        assert!(!s.read(1000, 1000).can_grow);
        assert!(s.read(500, 500).can_grow);
    }
}
