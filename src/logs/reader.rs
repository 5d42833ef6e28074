//! Reading the log endpoint's answers into placed windows: the printed tail, how large a
//! window to ask for next, and a window held while a larger one is read (never dropped: placed
//! as it is when its re-read fails twice, the log moves past it, or the stream ends).

use super::LogWindow;
use super::place::{Marker, Placement, Read, Tail, contains};
use super::sizing::Sizing;
use crate::http::FetchError;

/// What to print of a window: its entries from `from` on, after `marker` if any.
#[derive(Debug)]
pub struct Placed {
    pub entries: Vec<String>,
    pub from: usize,
    pub marker: Option<Marker>,
    /// The window was one in hand, not the answer just read (what the property test follows).
    pub held: bool,
}

/// What to do after an answer.
#[derive(Debug)]
pub enum Step {
    /// Read again at once, with [`Reader::limit`]: the window did not tell where it belongs.
    ReadAgain,
    /// Print this. `failure`: why the window in hand was placed as it was, when a read failed
    /// (a re-read failed twice, the stream ended after a failed one, or no window under the body
    /// cap holds more).
    Print { placed: Placed, failure: Option<FetchError> },
    /// Nothing could be read.
    Failed(FetchError),
}

/// The most re-reads after one read: enough to grow to the largest window (500 to 10 000 by
/// fourfold steps: 3) and then to search, halving, for the largest one under the body cap
/// (`ceil(log2(10 000))` = 14), with room to spare.
pub const MAX_REREADS: usize = 20;

/// Placing answers: the printed tail, window sizes, and a window held while a larger one is read.
pub struct Reader {
    tail: Tail,
    sizing: Sizing,
    limit: usize,
    held: Option<(LogWindow, Read)>,
    /// While a window is held: the smallest limit whose answer was over the body cap. The
    /// re-reads then search between the two, so that one entry too large to read (or a few)
    /// costs only the lines no readable window holds.
    over: Option<usize>,
    /// Re-reads since the last placed (or failed) read.
    rereads: usize,
    /// A re-read failed while a window was in hand: it waits for the next read (most failures
    /// pass), and is placed as it is if that one fails too, or at the end.
    held_failure: Option<FetchError>,
}

impl Reader {
    pub fn new(tail: Tail) -> Self {
        let sizing = Sizing::default();
        Reader { limit: sizing.base(&tail), tail, sizing, held: None, over: None, rereads: 0, held_failure: None }
    }

    /// The `limit` for the next request.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many entries a usual read holds now, sized in bytes from the lines seen.
    pub fn usual_window(&self) -> usize {
        self.sizing.base(&self.tail)
    }

    pub fn answer(&mut self, answer: Result<LogWindow, FetchError>) -> Step {
        let asked = self.limit;
        match answer {
            Ok(window) => {
                // After a failed re-read, this answer replaces the window in hand when it holds
                // it; otherwise the log changed past it (it started over, say): the window in
                // hand is placed as it is, and the next read, as large, finds what follows.
                if self.held_failure.take().is_some()
                    && let Some((held, held_read)) = self.held.take()
                    && !contains(&self.tail.fingerprints(&window.entries), &self.tail.fingerprints(&held.entries))
                {
                    let step = self.place_as_is(held, held_read, None);
                    self.limit = asked;
                    return step;
                }
                let mut read = self.sizing.read(&self.tail, asked, &window.entries, window.bytes);
                if let Some(over) = self.over {
                    // What is too large is known: larger, but below that.
                    read.can_grow = window.entries.len() == asked && asked + 1 < over;
                }
                read.can_grow &= self.rereads < MAX_REREADS;
                self.place(window, read, None, false)
            }
            Err(e) => {
                if matches!(e, FetchError::TooLarge) {
                    self.sizing.too_large(asked);
                    // A larger window over the cap: one between it and the window in hand.
                    if let Some(have) = self.held.as_ref().map(|(w, _)| w.entries.len())
                        && asked > have + 1
                        && self.rereads < MAX_REREADS
                    {
                        self.over = Some(asked);
                        self.rereads += 1;
                        self.limit = have + (asked - have) / 2;
                        return Step::ReadAgain;
                    }
                }
                if self.held.is_some() && self.held_failure.is_none() && !matches!(e, FetchError::TooLarge) {
                    // The next read asks for the same larger window again.
                    self.held_failure = Some(e.clone());
                    return Step::Failed(e);
                }
                self.held_failure = None;
                self.limit = self.sizing.base(&self.tail);
                // Never drop what is in hand: placed as it is, the gap marked.
                if let Some((window, read)) = self.held.take() {
                    return self.place_as_is(window, read, Some(e));
                }
                (self.over, self.rereads) = (None, 0);
                Step::Failed(e)
            }
        }
    }

    /// The window still in hand at the end (its re-reads failed or were cut off), placed as it is.
    pub fn flush(&mut self) -> Option<Step> {
        let (window, read) = self.held.take()?;
        let failure = self.held_failure.take();
        Some(self.place_as_is(window, read, failure))
    }

    /// Places a window held in hand with no larger one to come: by its content, or under a marker.
    fn place_as_is(&mut self, window: LogWindow, read: Read, failure: Option<FetchError>) -> Step {
        self.place(window, Read { can_grow: false, ..read }, failure, true)
    }

    fn place(&mut self, window: LogWindow, read: Read, failure: Option<FetchError>, held: bool) -> Step {
        let marks = self.tail.fingerprints(&window.entries);
        match self.tail.place(&window.entries, &marks, read) {
            Placement::Grow => {
                self.limit = match self.over {
                    Some(over) => read.asked + (over - read.asked) / 2,
                    None => self.sizing.grown(&self.tail, read.asked, &window.entries, window.bytes),
                };
                self.rereads += 1;
                self.held = Some((window, read));
                Step::ReadAgain
            }
            Placement::From { from, marker, whole } => {
                (self.held, self.over, self.rereads) = (None, None, 0);
                // Shorter than asked, placed by its content, and starting after the first entry
                // printed: not the whole log, so the endpoint caps its answers.
                if window.entries.len() < read.asked && !whole && marker.is_none() && from < self.tail.len() {
                    self.sizing.capped_at(window.entries.len());
                }
                self.tail.commit(&window.entries, &marks, from, marker);
                let new = window.entries.len() - from;
                self.sizing.observe(&window.entries[from..]);
                self.limit = self.sizing.next(&self.tail, read.asked, new);
                Step::Print { placed: Placed { entries: window.entries, from, marker, held }, failure }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::MAX_BODY_BYTES;
    use crate::logs::{Fingerprinter, MAX_LIMIT};

    /// The latest `limit` entries of `log`, or too large, as the endpoint answers.
    fn answer(log: &[String], limit: usize) -> Result<LogWindow, FetchError> {
        let tail = &log[log.len().saturating_sub(limit)..];
        let bytes = tail.iter().map(|e| e.len() + 3).sum::<usize>() + 10;
        if bytes > MAX_BODY_BYTES {
            return Err(FetchError::TooLarge);
        }
        Ok(LogWindow { entries: tail.to_vec(), bytes })
    }

    fn reader() -> Reader {
        Reader::new(Tail::new(MAX_LIMIT, Fingerprinter::with_seeds(1, 2)))
    }

    fn lines(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("line {i}")).collect()
    }

    /// 2000 lines at once: the first window does not tell where it belongs, and the larger
    /// re-read fails; the reader holds the first window (the log's last 500 lines).
    fn holding_after_a_failed_re_read() -> (Vec<String>, Reader) {
        let log = lines(0..2000);
        let mut reader = reader();
        assert!(matches!(reader.answer(answer(&log, reader.limit())), Step::ReadAgain));
        let failure = FetchError::Transient { reason: "HTTP 502".into(), retry_after: None };
        assert!(matches!(reader.answer(Err(failure)), Step::Failed(_)), "the window in hand waits");
        (log, reader)
    }

    #[test]
    fn a_window_in_hand_waits_out_one_failed_re_read() {
        let (log, mut reader) = holding_after_a_failed_re_read();
        for _ in 0..MAX_REREADS {
            match reader.answer(answer(&log, reader.limit())) {
                Step::ReadAgain => {}
                Step::Print { placed, failure: None } => {
                    assert_eq!((placed.from, placed.marker, placed.held), (0, None, false));
                    assert_eq!(placed.entries, log, "the larger windows, asked again, hold the whole log");
                    return;
                }
                other => panic!("{other:?}"),
            }
        }
        panic!("more than {MAX_REREADS} re-reads");
    }

    #[test]
    fn a_window_in_hand_is_placed_when_the_log_moves_past_it() {
        let (log, mut reader) = holding_after_a_failed_re_read();
        // The log started over: the answer no longer holds the window in hand.
        match reader.answer(answer(&lines(5000..5010), reader.limit())) {
            Step::Print { placed, .. } => {
                assert!(placed.held, "the window in hand is the one placed");
                assert_eq!(placed.marker, Some(Marker::Missing), "the lines before it are marked");
                assert_eq!(placed.entries[placed.from..], log[1500..]);
            }
            other => panic!("{other:?}"),
        }
        assert!(reader.flush().is_none(), "nothing is left in hand");
        assert_eq!(reader.limit(), 2000, "the next read is as large as the one that failed");
        // The next read finds what follows, after a marker: it is nowhere in what was printed.
        let after = lines(5000..5010);
        match reader.answer(answer(&after, reader.limit())) {
            Step::Print { placed, failure: None } => {
                assert!(!placed.held && placed.marker.is_some(), "{placed:?}");
                assert_eq!(placed.entries[placed.from..], after[..]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_window_still_in_hand_at_the_end_is_placed() {
        let (log, mut reader) = holding_after_a_failed_re_read();
        match reader.flush() {
            Some(Step::Print { placed, .. }) => assert!(placed.held && placed.entries[placed.from..] == log[1500..]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_entry_over_the_body_cap_costs_only_itself() {
        // The reads search between the window in hand and the one over the cap for the largest
        // window that can be read: all of the log after the huge entry.
        let mut reader = reader();
        let mut log: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        assert!(matches!(reader.answer(answer(&log, reader.limit())), Step::Print { .. }));
        log.push("z".repeat(9 << 20));
        log.extend((101..3000).map(|i| format!("line {i}")));
        for _ in 0..=MAX_REREADS {
            match reader.answer(answer(&log, reader.limit())) {
                Step::ReadAgain => {}
                Step::Print { placed, failure } => {
                    // The search ends on the answer over the cap just past the window in hand.
                    assert!(matches!(failure, Some(FetchError::TooLarge)), "{failure:?}");
                    assert_eq!(placed.marker, Some(Marker::Missing), "the huge entry is not shown");
                    assert!(placed.entries[placed.from..] == log[101..], "every line after it is");
                    return;
                }
                Step::Failed(e) => panic!("{e:?}"),
            }
        }
        panic!("more than {MAX_REREADS} re-reads");
    }
}
