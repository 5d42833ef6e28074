//! What earlier builds say of this one: the durations of recent successful builds like it, their
//! median and spread, and from the build's start (on the server's clock, corrected by the
//! answers' `Date`) when it will likely end.

use std::time::Duration;

use crate::clock::ServerClock;
use crate::planner::Eta;

/// Fewer earlier builds than this say too little to predict an end.
pub const MIN_BUILDS: usize = 3;
/// The most recent builds counted.
pub const MAX_BUILDS: usize = 20;

/// Durations of recent successful builds, newest first, at most [`MAX_BUILDS`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    pub durations: Vec<Duration>,
    /// Only builds of the same Dockerfile are counted (else: every build in the region).
    pub same_dockerfile: bool,
}

impl History {
    /// Picks from `(duration, dockerfile_path)` of listed builds, newest first: those with this
    /// build's Dockerfile when at least [`MIN_BUILDS`] have it, else all of them.
    pub fn pick(listed: &[(Duration, Option<String>)], dockerfile: Option<&str>) -> History {
        let same: Vec<Duration> = listed
            .iter()
            .filter(|(_, path)| dockerfile.is_some() && path.as_deref() == dockerfile)
            .map(|(d, _)| *d)
            .collect();
        if same.len() >= MIN_BUILDS {
            return History { durations: same.into_iter().take(MAX_BUILDS).collect(), same_dockerfile: true };
        }
        History { durations: listed.iter().map(|(d, _)| *d).take(MAX_BUILDS).collect(), same_dockerfile: false }
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut sorted = self.durations.clone();
        sorted.sort_unstable();
        sorted
    }

    /// The median duration, with enough builds to tell.
    pub fn median(&self) -> Option<Duration> {
        (self.durations.len() >= MIN_BUILDS).then(|| median_of(&self.sorted()))
    }

    /// How far durations fall from the median: the median absolute deviation, scaled to be
    /// comparable with a standard deviation, robust to one odd build.
    pub fn spread(&self) -> Option<Duration> {
        let median = self.median()?;
        let mut deviations: Vec<Duration> = self.durations.iter().map(|d| d.abs_diff(median)).collect();
        deviations.sort_unstable();
        Some(median_of(&deviations).mul_f64(1.4826))
    }

    /// When the build started on the server's clock (`started_at_ms`), the likely end as time
    /// since the gate started (`gate_started_ms`, local): `None` without a median or a reading
    /// of the server's clock.
    pub fn eta(&self, started_at_ms: i64, clock: &ServerClock, gate_started_ms: i64) -> Option<Eta> {
        let started_local = clock.local_ms(started_at_ms)?;
        let median_ms = i64::try_from(self.median()?.as_millis()).ok()?;
        let end_ms = started_local.saturating_add(median_ms).saturating_sub(gate_started_ms);
        let uncertainty = Duration::from_millis(u64::try_from(clock.uncertainty_ms()?).unwrap_or(0));
        Some(Eta {
            end: Duration::from_millis(u64::try_from(end_ms).unwrap_or(0)),
            spread: self.spread()? + uncertainty,
        })
    }

    /// How this build's duration compares, for the line that ends the wait.
    pub fn compare(&self, took: Duration) -> Option<String> {
        let median = self.median()?;
        let of = if self.same_dockerfile { " of the same Dockerfile" } else { "" };
        Some(format!(
            "{}, median of the last {}{of}: {}",
            crate::duration::format(whole_seconds(took)),
            self.durations.len(),
            crate::duration::format(whole_seconds(median))
        ))
    }
}

fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

fn median_of(sorted: &[Duration]) -> Duration {
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Reading;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_same_dockerfile_is_preferred_when_enough_builds_have_it() {
        let listed: Vec<(Duration, Option<String>)> = [(100, "a"), (300, "b"), (110, "a"), (320, "b"), (120, "a")]
            .iter()
            .map(|(s, p)| (S(*s), Some((*p).to_string())))
            .collect();
        let a = History::pick(&listed, Some("a"));
        assert_eq!((a.durations, a.same_dockerfile), (vec![S(100), S(110), S(120)], true));
        let b = History::pick(&listed, Some("b"));
        assert_eq!((b.durations.len(), b.same_dockerfile), (5, false), "two builds of b are too few: all count");
        assert_eq!(History::pick(&listed, None).durations.len(), 5);
    }

    #[test]
    fn median_and_spread_resist_one_odd_build() {
        let history = History { durations: vec![S(180), S(190), S(200), S(210), S(3600)], same_dockerfile: true };
        assert_eq!(history.median(), Some(S(200)));
        let spread = history.spread().unwrap();
        assert!(spread > S(14) && spread < S(15), "{spread:?}");
        assert_eq!(History { durations: vec![S(1), S(2)], same_dockerfile: true }.median(), None, "too few");
        assert_eq!(
            history.compare(Duration::from_millis(185_900)).unwrap(),
            "3m5s, median of the last 5 of the same Dockerfile: 3m20s"
        );
    }

    #[test]
    fn the_end_is_placed_on_the_local_clock_whatever_the_servers_says() {
        let history = History { durations: vec![S(300); 5], same_dockerfile: false };
        // The server's clock is an hour ahead; the build started there 100 s before the gate did.
        let gate_started_ms = 1_800_000_000_000;
        let ahead = 3_600_000;
        let mut clock = ServerClock::default();
        clock.observe(Reading {
            date_ms: (gate_started_ms + ahead) / 1000 * 1000,
            sent_ms: gate_started_ms,
            received_ms: gate_started_ms + 20,
        });
        let eta = history.eta(gate_started_ms + ahead - 100_000, &clock, gate_started_ms).unwrap();
        assert!(eta.end.abs_diff(S(200)) <= Duration::from_millis(600), "{eta:?}");
        assert!(eta.spread <= Duration::from_millis(600), "no spread but the clock's: {eta:?}");
    }
}
