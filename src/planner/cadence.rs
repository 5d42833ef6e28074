//! When the build log is read. Every read is a request, and status polls alone decide the
//! outcome, so the log is read after a status answer only when one of these holds: it has not
//! been read yet; skipping it would leave more than `interval` between two reads; or entries
//! arrive so fast that more than a default window would wait by the next poll. That third rule
//! keeps windows small and keeps a fast log from outrunning the largest window between two
//! reads, the one way lines can be lost. The planner adds a final read at the end.

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
}

impl Cadence {
    pub fn new(interval: Duration) -> Self {
        Cadence { interval, last_read: None, rate: 0.0 }
    }

    /// Whether a status answer at `now` should be followed by a read, the next poll being
    /// `next_poll_in` away.
    pub fn due(&self, now: Duration, next_poll_in: Duration) -> bool {
        let Some(last) = self.last_read else { return true };
        let by_next_poll = now.saturating_sub(last) + next_poll_in;
        by_next_poll > self.interval || self.rate * by_next_poll.as_secs_f64() >= BASE_LIMIT as f64
    }

    /// Records a read made at `now` that found `new` entries not printed before. The first
    /// read has no interval of its own (the log may have grown long before the gate started),
    /// so its rate counts only when it found a default window's worth: a few entries found
    /// moments after the start say nothing about speed.
    pub fn read(&mut self, now: Duration, new: usize) {
        let since = now.saturating_sub(self.last_read.unwrap_or_default()).max(Duration::from_millis(1));
        let observed =
            if self.last_read.is_some() || new >= BASE_LIMIT { new as f64 / since.as_secs_f64() } else { 0.0 };
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
        cadence.read(s(3), 10);
        assert!(!cadence.due(s(12), s(10)), "9 s after a slow read, with the next poll 10 s away: skip");
        assert!(!cadence.due(s(53), s(10)), "the next poll still falls within the interval");
        assert!(cadence.due(s(54), s(10)), "the next poll would fall past it: read now");
        cadence.read(s(54), 10);
        // 600 entries in 6 s: at that rate more than a default window (500) waits by the next poll.
        cadence.read(s(60), 600);
        assert!(cadence.due(s(61), s(4)));
        // A quiet read halves the estimate rather than trusting the quiet at once.
        cadence.read(s(70), 0);
        assert!(cadence.due(s(71), s(9)), "50 entries/s for 10 s is still 500");
        cadence.read(s(80), 0);
        cadence.read(s(90), 0);
        assert!(!cadence.due(s(91), s(9)), "after three quiet reads the rate has decayed");
        let mut instant = Cadence::new(s(60));
        instant.read(ms(5), 2000);
        assert!(instant.due(ms(25), ms(20)), "2000 entries in the first 5 ms: read on every poll");
        let mut few = Cadence::new(s(60));
        few.read(ms(1), 1);
        assert!(!few.due(ms(800), ms(40)), "one entry found 1 ms after the start is no flow");
    }
}
