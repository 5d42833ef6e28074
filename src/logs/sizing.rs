//! How many log entries to ask for: the API's default, grown while placement is unsure, and
//! always sized in bytes too, from the lengths of the entries already printed (a larger window
//! reaches back over them) and of the newest ones, so that an answer stays well under the body
//! cap; a larger re-read is sized from the window in hand, its newest part. A body-cap failure
//! lowers a ceiling on the usual reads instead of asking the same again.

use super::place::{MAX_LIMIT, Read, Tail};
use crate::http::MAX_BODY_BYTES;

/// The API's default `limit`.
pub const BASE_LIMIT: usize = 500;
/// A usual read's answer stays under this.
const READ_BYTES: usize = 1024 * 1024;
/// The largest window asked for: three quarters of the body cap.
const GROWN_BYTES: usize = MAX_BODY_BYTES / 4 * 3;
/// JSON's quotes, comma and escapes around each entry, as a rough allowance.
const ENTRY_OVERHEAD: usize = 8;

/// A window in hand while a larger one is read: the newest entries of the next answer.
#[derive(Clone, Copy, Debug, Default)]
struct InHand {
    entries: usize,
    bytes: usize,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Sizing {
    /// Bytes per new entry, in whole bytes (rounded down): the newest read's mean, or half the
    /// previous estimate if more.
    fresh_bytes: usize,
    /// The most entries the endpoint has been seen to answer with.
    cap: Option<usize>,
    /// After an answer over the body cap: no more than this until reads succeed again.
    ceiling: Option<usize>,
}

impl Sizing {
    /// The largest window within `budget` bytes and `most` entries: the newest printed entries
    /// as long as they are, new ones at the fresh estimate.
    fn within(&self, tail: &Tail, budget: usize, most: usize) -> usize {
        self.within_after(InHand::default(), tail, budget, most)
    }

    /// [`Sizing::within`] for a window whose newest entries are `held`, a window in hand, as
    /// long as they are: the printed entries come before them, then new ones.
    fn within_after(&self, held: InHand, tail: &Tail, budget: usize, most: usize) -> usize {
        let per_new = self.fresh_bytes + ENTRY_OVERHEAD;
        let by_new = budget / per_new;
        let (mut bytes, mut n) = (held.bytes, held.entries);
        if n >= most || bytes >= budget {
            return self.bound(n.min(most).min(by_new));
        }
        for len in tail.lengths_newest_first() {
            if n == most || bytes + len + ENTRY_OVERHEAD > budget {
                return self.bound(n.min(by_new));
            }
            bytes += len + ENTRY_OVERHEAD;
            n += 1;
        }
        let beyond = (budget - bytes) / per_new;
        self.bound((n + beyond).min(most).min(by_new))
    }

    /// Sizes for the read after `window` (an answer of `bytes`) when it is kept in hand: its
    /// entries are the newest of the next answer, and the best estimate of the ones before it.
    fn with_window(&self, window: &[String], bytes: usize) -> (Sizing, InHand) {
        if window.is_empty() {
            return (*self, InHand::default());
        }
        let entry_bytes = window.iter().map(|e| e.len() + ENTRY_OVERHEAD).sum::<usize>().max(bytes);
        // Bytes of text per entry, as `observe` counts them; the overhead is added where sized.
        let fresh_bytes = (entry_bytes / window.len()).saturating_sub(ENTRY_OVERHEAD);
        // A ceiling learned from an earlier answer over the cap does not bound the window: its
        // bytes are estimated from the one in hand, and the reader searches below one found
        // too large.
        let sizing = Sizing { fresh_bytes, ceiling: None, ..*self };
        (sizing, InHand { entries: window.len(), bytes: entry_bytes })
    }

    /// The largest limit asked for after `window` (an answer of `bytes`), kept in hand.
    fn max_after(&self, tail: &Tail, window: &[String], bytes: usize) -> usize {
        let (sizing, held) = self.with_window(window, bytes);
        sizing.within_after(held, tail, GROWN_BYTES, MAX_LIMIT).max(sizing.base(tail))
    }

    fn bound(&self, n: usize) -> usize {
        n.min(self.cap.unwrap_or(usize::MAX)).min(self.ceiling.unwrap_or(usize::MAX)).max(1)
    }

    /// The limit of a usual read.
    pub fn base(&self, tail: &Tail) -> usize {
        self.within(tail, READ_BYTES, BASE_LIMIT)
    }

    /// The largest limit asked for.
    pub fn max(&self, tail: &Tail) -> usize {
        self.within(tail, GROWN_BYTES, MAX_LIMIT).max(self.base(tail))
    }

    /// Learns from a placed answer: the mean length of its new entries, and that the endpoint
    /// answers again (a ceiling doubles back per success).
    pub fn observe(&mut self, new_entries: &[String]) {
        if !new_entries.is_empty() {
            let mean = new_entries.iter().map(String::len).sum::<usize>() / new_entries.len();
            self.fresh_bytes = mean.max(self.fresh_bytes / 2);
        }
        self.ceiling = self.ceiling.map(|c| c.saturating_mul(2)).filter(|c| *c < MAX_LIMIT);
    }

    /// An answer to `asked` was over the body cap: the next requests ask for at most half.
    pub fn too_large(&mut self, asked: usize) {
        self.ceiling = Some((asked / 2).max(1));
    }

    /// The endpoint answered `entries` though more were asked for and the log holds more.
    pub fn capped_at(&mut self, entries: usize) {
        self.cap = Some(self.cap.map_or(entries, |cap| cap.max(entries)).max(1));
    }

    /// What is known of a read of `asked` that gave `window` (an answer of `bytes`).
    pub fn read(&self, tail: &Tail, asked: usize, window: &[String], bytes: usize) -> Read {
        let can_grow = window.len() == asked && asked < self.max_after(tail, window, bytes);
        Read { asked, can_grow, cap: self.cap }
    }

    /// The limit to read again with when `window` (an answer of `bytes`) did not tell where it
    /// belongs: larger, and sized from the window in hand, the newest part of the next answer.
    pub fn grown(&self, tail: &Tail, asked: usize, window: &[String], bytes: usize) -> usize {
        asked.saturating_mul(4).min(self.max_after(tail, window, bytes))
    }

    /// The limit after a read of `asked` found `new` entries: a larger window is kept while
    /// bursts continue, and shrinks back (by four at a time) once they stop.
    pub fn next(&self, tail: &Tail, asked: usize, new: usize) -> usize {
        let base = self.base(tail);
        let keep = if asked > base && new < asked / 4 { asked / 4 } else { asked };
        keep.clamp(base, self.max(tail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Fingerprinter;

    fn tail_of(lengths: &[usize]) -> Tail {
        let entries: Vec<String> =
            lengths.iter().enumerate().map(|(i, n)| format!("{i:08}{}", "x".repeat(*n))).collect();
        let mut tail = Tail::new(MAX_LIMIT, Fingerprinter::with_seeds(1, 2));
        let marks = tail.fingerprints(&entries);
        tail.commit(&entries, &marks, 0, None);
        tail
    }

    fn observed(lengths: &[usize]) -> (Sizing, Tail) {
        let mut s = Sizing::default();
        s.observe(&lengths.iter().map(|n| "x".repeat(*n)).collect::<Vec<_>>());
        (s, tail_of(lengths))
    }

    #[test]
    fn short_lines_read_the_api_default_and_grow_to_its_maximum() {
        let (s, tail) = observed(&[60; 500]);
        assert_eq!((s.base(&tail), s.max(&tail)), (BASE_LIMIT, MAX_LIMIT));
        assert_eq!(s.grown(&tail, 500, &vec!["x".repeat(60); 500], 0), 2000);
        assert_eq!(s.next(&tail, 8000, 100), 2000);
        assert_eq!(s.next(&tail, 2000, 100), 500);
        assert_eq!(s.next(&tail, 2000, 1500), 2000);
    }

    #[test]
    fn long_lines_keep_every_window_under_the_body_cap() {
        let (s, tail) = observed(&[10_000; 300]);
        let (base, max) = (s.base(&tail), s.max(&tail));
        assert!(base * 10_000 <= READ_BYTES && base > 50, "{base}");
        assert!(max * 10_000 <= GROWN_BYTES && max > 500, "{max}");
    }

    #[test]
    fn a_few_huge_lines_printed_long_ago_bound_only_windows_that_reach_them() {
        let mut lengths = vec![3_000_000; 3];
        lengths.extend([50; 2000]);
        let (s, _) = observed(&lengths[3..]);
        let tail = tail_of(&lengths);
        assert_eq!(s.base(&tail), BASE_LIMIT, "the newest 500 are short");
        let max = s.max(&tail);
        assert!(
            (2000..=2003).contains(&max),
            "a window may reach back to the huge lines only within the budget: {max}"
        );
    }

    #[test]
    fn a_body_cap_failure_halves_the_next_requests_until_reads_succeed() {
        let (mut s, tail) = observed(&[60; 500]);
        s.too_large(2000);
        assert_eq!((s.base(&tail), s.max(&tail)), (500, 1000));
        s.too_large(500);
        assert_eq!(s.base(&tail), 250);
        s.observe(&[]);
        assert_eq!(s.base(&tail), 500, "a success doubles the ceiling back");
    }

    #[test]
    fn a_cap_bounds_every_limit() {
        let (mut s, tail) = observed(&[60; 500]);
        s.capped_at(1000);
        assert_eq!(s.max(&tail), 1000);
        let window = |n: usize| vec!["x".repeat(60); n];
        assert!(!s.read(&tail, 1000, &window(1000), 0).can_grow);
        assert!(s.read(&tail, 500, &window(500), 0).can_grow);
    }
}
