//! The delays between status polls: exponential (factor 2) from the first interval up to the
//! cap, each shortened by up to 20% of jitter drawn from a seed, so many gates do not poll in step.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

pub struct Schedule {
    first: Duration,
    cap: Duration,
    seed: u64,
    step: u64,
    base: ExponentialBackoff,
}

impl Schedule {
    pub fn new(first: Duration, cap: Duration, seed: u64) -> Self {
        Schedule { first, cap, seed, step: 0, base: exponential(first, cap) }
    }

    pub fn next_delay(&mut self) -> Duration {
        self.step += 1;
        let base = whole_ms(self.base.next().unwrap_or(self.cap)).min(self.cap);
        jitter(base, self.seed, self.step)
    }

    /// Back to the first interval: called when the build changes, as more change is likely.
    pub fn reset(&mut self) {
        self.base = exponential(self.first, self.cap);
    }
}

/// backon computes in f32; whole milliseconds keep the schedule exact (40ms, not 39.99ms).
fn whole_ms(d: Duration) -> Duration {
    // To the nearest millisecond, a half rounded up.
    let ms = d.as_nanos().saturating_add(500_000) / 1_000_000;
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

fn exponential(first: Duration, cap: Duration) -> ExponentialBackoff {
    ExponentialBuilder::default().with_min_delay(first).with_max_delay(cap).with_factor(2.0).without_max_times().build()
}

/// The delays before jitter, for the dry run's plan.
pub fn base_delays(first: Duration, cap: Duration, n: usize) -> Vec<Duration> {
    exponential(first, cap).take(n).map(|d| whole_ms(d).min(cap)).collect()
}

/// `base` shortened by a fraction in [0, 20%) that depends only on `seed` and `step`.
pub fn jitter(base: Duration, seed: u64, step: u64) -> Duration {
    jitter_within(base, 0.2, seed, step)
}

/// `base` shortened by a fraction in [0, `most`) that depends only on `seed` and `step`.
pub fn jitter_within(base: Duration, most: f64, seed: u64, step: u64) -> Duration {
    // splitmix64: a well-mixed 64-bit value from (seed, step).
    let mut z = seed.wrapping_add(step.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let fraction = (z >> 11) as f64 / (1u64 << 53) as f64;
    base.mul_f64(1.0 - most * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_schedule_doubles_up_to_the_cap_before_jitter() {
        assert_eq!(base_delays(S(2), S(10), 6), [S(2), S(4), S(8), S(10), S(10), S(10)]);
        assert_eq!(base_delays(Duration::from_millis(5), Duration::from_millis(5), 3), [Duration::from_millis(5); 3]);
    }

    #[test]
    fn jitter_shortens_by_less_than_a_fifth_and_is_repeatable() {
        let mut seen = std::collections::HashSet::new();
        for step in 0..1000 {
            let d = jitter(S(10), 42, step);
            assert!(d <= S(10) && d > Duration::from_secs(8), "{d:?}");
            assert_eq!(d, jitter(S(10), 42, step));
            seen.insert(d);
        }
        assert!(seen.len() > 900, "jitter varies from step to step");
        assert_ne!(jitter(S(10), 1, 1), jitter(S(10), 2, 1), "and from seed to seed");
    }

    #[test]
    fn the_schedule_never_exceeds_the_cap_and_resets() {
        let mut schedule = Schedule::new(S(1), S(4), 7);
        let delays: Vec<Duration> = (0..20).map(|_| schedule.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= S(4)));
        assert!(delays[19] > Duration::from_millis(3200));
        schedule.reset();
        assert!(schedule.next_delay() <= S(1));
    }
}
