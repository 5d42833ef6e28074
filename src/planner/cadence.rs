//! When the build log is read next. Every read is a request, so the log has its own timer rather
//! than riding on status polls: a line waits at most the longest poll interval (`max`) to be
//! read, or the log interval if shorter (the longest wait between two reads); near the build's
//! end, half the longest poll interval. Entries arriving so fast that two usual windows would
//! fill before then shorten the wait: that keeps windows small and keeps a fast log from
//! outrunning the largest window between two reads, the one way lines can be lost. A usual window
//! is sized in bytes, so long lines make it fewer entries (and the log is read more often).

use std::time::Duration;

use crate::logs::BASE_LIMIT;

#[derive(Clone, Debug)]
pub struct Cadence {
    /// The usual wait: the longest poll interval, or the log interval if shorter.
    flowing: Duration,
    /// No two reads closer than this, however fast the log: a quarter of the first interval.
    shortest: Duration,
    /// When the last read was made.
    last_read: Option<Duration>,
    /// Entries per second: the newest read's rate, or half the previous estimate if that is
    /// more, so a quiet read after a fast stretch does not at once trust the quiet.
    rate: f64,
    /// How many entries a usual read holds, as the last read found.
    window: usize,
    /// The last read found nothing new: the log does not flow.
    quiet: bool,
}

impl Cadence {
    pub fn new(first: Duration, max: Duration, log_interval: Duration) -> Self {
        Cadence {
            flowing: max.min(log_interval),
            shortest: first / 4,
            last_read: None,
            rate: 0.0,
            window: BASE_LIMIT,
            quiet: false,
        }
    }

    /// Lines came with the last read: the build is running and writing.
    pub fn flowing(&self) -> bool {
        self.last_read.is_some() && !self.quiet
    }

    /// Until when the last read's lines count as proof that the build runs: `within` after it.
    /// A read that fails or hangs brings no new proof, so the proof runs out.
    pub fn proof_until(&self, within: Duration) -> Option<Duration> {
        self.last_read.filter(|_| !self.quiet).map(|at| at.saturating_add(within))
    }

    /// The wait after a read before the next one (before jitter); `near` caps it when the build's
    /// end is near.
    pub fn gap(&self, near: Option<Duration>) -> Duration {
        let mut gap = self.flowing;
        if let Some(near) = near {
            gap = gap.min(near);
        }
        if self.rate > 0.0 {
            gap = gap.min(Duration::from_secs_f64((2.0 * self.window as f64 / self.rate).min(1e9)));
        }
        gap.max(self.shortest)
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
        if self.rate < 1e-3 {
            self.rate = 0.0;
        }
        self.last_read = Some(now);
        self.quiet = new == 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn defaults() -> Cadence {
        Cadence::new(S(2), S(10), S(60))
    }

    #[test]
    fn a_line_waits_at_most_the_longest_poll_interval_and_half_that_near_the_end() {
        let mut cadence = defaults();
        assert!(!cadence.flowing(), "nothing read yet");
        cadence.read(S(3), 10, BASE_LIMIT);
        assert!(cadence.flowing());
        assert_eq!(cadence.gap(None), S(10));
        cadence.read(S(13), 0, BASE_LIMIT);
        assert!(!cadence.flowing(), "a read that found nothing: the log does not flow");
        assert_eq!(cadence.gap(None), S(10), "a line that comes after a quiet stretch waits no longer");
        assert_eq!(cadence.gap(Some(S(5))), S(5), "near the end");
        cadence.read(S(23), 1, BASE_LIMIT);
        assert!(cadence.flowing(), "one line and the log flows again");
    }

    #[test]
    fn the_log_interval_bounds_every_wait() {
        let mut cadence = Cadence::new(S(2), S(10), S(5));
        cadence.read(S(1), 0, BASE_LIMIT);
        assert_eq!(cadence.gap(None), S(5));
        let long = Cadence::new(S(2), S(90), S(60));
        assert_eq!(long.gap(None), S(60), "a longest poll interval over the log interval is cut to it");
    }

    #[test]
    fn fast_entries_shorten_the_wait_until_two_usual_windows_would_fill() {
        let mut cadence = defaults();
        cadence.read(S(1), 10, BASE_LIMIT);
        // 1200 entries in 6 s: 200/s fill two windows of 500 in 5 s.
        cadence.read(S(7), 1200, BASE_LIMIT);
        assert_eq!(cadence.gap(None), S(5));
        // A quiet read halves the estimate rather than trusting the quiet at once.
        cadence.read(S(12), 0, BASE_LIMIT);
        assert_eq!(cadence.gap(None), S(10), "100/s: 10 s to fill two windows");
        // Long lines: a usual window of 100 entries fills five times sooner.
        let mut long = defaults();
        long.read(S(1), 10, 100);
        long.read(S(11), 400, 100);
        assert_eq!(long.gap(None), S(5));
        let mut flood = defaults();
        flood.read(Duration::from_millis(5), 2000, BASE_LIMIT);
        assert_eq!(flood.gap(None), Duration::from_millis(500), "never closer than a quarter of the first interval");
        let mut few = defaults();
        few.read(Duration::from_millis(1), 1, BASE_LIMIT);
        assert_eq!(few.gap(None), S(10), "one entry found 1 ms after the start is no flow rate");
    }
}
