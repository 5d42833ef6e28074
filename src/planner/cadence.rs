//! When the build log is read. Every read is a request, and status polls alone decide the
//! outcome, so the log is read after a status answer only when one of these holds: it has not
//! been read yet; skipping it would leave more than `interval` between two reads; or entries
//! arrive so fast that more than a usual window would wait by the next poll. That third rule
//! keeps windows small and keeps a fast log from outrunning the largest window between two
//! reads, the one way lines can be lost. A usual window is sized in bytes, so long lines make
//! it fewer entries (and the log is read more often). The planner adds a final read at the end.

use std::time::Duration;

use crate::logs::BASE_LIMIT;

#[derive(Clone, Debug)]
pub struct Cadence {
    interval: Duration,
    /// When the last read was made.
    last_read: Option<Duration>,
    /// Entries per second: the newest read's rate, or half the previous estimate if that is
    /// more, so a quiet read after a fast stretch does not at once trust the quiet.
    rate: f64,
    /// How many entries a usual read holds, as the last read found.
    window: usize,
}

impl Cadence {
    pub fn new(interval: Duration) -> Self {
        Cadence { interval, last_read: None, rate: 0.0, window: BASE_LIMIT }
    }

    /// Whether a status answer at `now` should be followed by a read, the next poll being
    /// `next_poll_in` away.
    pub fn due(&self, now: Duration, next_poll_in: Duration) -> bool {
        let Some(last) = self.last_read else { return true };
        let by_next_poll = now.saturating_sub(last) + next_poll_in;
        by_next_poll > self.interval || self.rate * by_next_poll.as_secs_f64() >= self.window as f64
    }

    /// Records a read made at `now` that found `new` entries not printed before, after which a
    /// usual read holds `window` entries. The first read has no interval of its own (the log
    /// may have grown long before the gate started), so its rate counts only when it found a
    /// usual window's worth: a few entries found moments after the start say nothing about speed.
    pub fn read(&mut self, now: Duration, new: usize, window: usize) {
        self.window = window.max(1);
        let since = now.saturating_sub(self.last_read.unwrap_or_default()).max(Duration::from_millis(1));
        let observed =
            if self.last_read.is_some() || new >= self.window { new as f64 / since.as_secs_f64() } else { 0.0 };
        self.rate = observed.max(self.rate / 2.0);
        self.last_read = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cadence_reads_first_then_at_the_interval_and_while_lines_come_fast() {
        let (ms, s) = (Duration::from_millis, Duration::from_secs);
        let mut cadence = Cadence::new(s(60));
        assert!(cadence.due(s(3), s(2)), "the first poll after the build starts reads");
        cadence.read(s(3), 10, BASE_LIMIT);
        assert!(!cadence.due(s(12), s(10)), "9 s after a slow read, with the next poll 10 s away: skip");
        assert!(!cadence.due(s(53), s(10)), "the next poll still falls within the interval");
        assert!(cadence.due(s(54), s(10)), "the next poll would fall past it: read now");
        cadence.read(s(54), 10, BASE_LIMIT);
        // 600 entries in 6 s: at that rate more than a default window (500) waits by the next poll.
        cadence.read(s(60), 600, BASE_LIMIT);
        assert!(cadence.due(s(61), s(4)));
        // A quiet read halves the estimate rather than trusting the quiet at once.
        cadence.read(s(70), 0, BASE_LIMIT);
        assert!(cadence.due(s(71), s(9)), "50 entries/s for 10 s is still 500");
        cadence.read(s(80), 0, BASE_LIMIT);
        cadence.read(s(90), 0, BASE_LIMIT);
        assert!(!cadence.due(s(91), s(9)), "after three quiet reads the rate has decayed");
        let mut instant = Cadence::new(s(60));
        instant.read(ms(5), 2000, BASE_LIMIT);
        assert!(instant.due(ms(25), ms(20)), "2000 entries in the first 5 ms: read on every poll");
        let mut few = Cadence::new(s(60));
        few.read(ms(1), 1, BASE_LIMIT);
        assert!(!few.due(ms(800), ms(40)), "one entry found 1 ms after the start is no flow");
    }

    #[test]
    fn long_lines_make_a_usual_window_fewer_entries_and_the_log_read_more_often() {
        let s = Duration::from_secs;
        // 200 entries of 10 KB at once: a usual read (1 MiB) holds about 100 of them.
        let mut long = Cadence::new(s(60));
        long.read(s(1), 200, 100);
        assert!(long.due(s(3), s(2)), "two windows' worth in a second: read on every poll");
        let mut short = Cadence::new(s(60));
        short.read(s(1), 200, BASE_LIMIT);
        assert!(!short.due(s(3), s(2)), "200 short entries are less than a usual window");
        // 20 entries a second of 10 KB: 100 pile up within 5 s.
        let mut flow = Cadence::new(s(60));
        flow.read(s(1), 10, 100);
        flow.read(s(11), 200, 100);
        assert!(flow.due(s(13), s(4)), "20 entries/s for 6 s fill a window of 100");
        flow.read(s(14), 60, BASE_LIMIT);
        assert!(!flow.due(s(16), s(3)), "the same flow of short lines is far from a window of 500");
    }
}
