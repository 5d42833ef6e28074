//! The API's clock against ours. Build timestamps are the server's, so they are never compared
//! with the local clock raw: each answer's `Date` header (whole seconds) says the server's time
//! was in [Date, Date + 1 s) at some moment between sending the request and receiving the answer.
//! That bounds the offset (server minus local); answers taken together narrow the bounds.

use std::time::SystemTime;

/// What one answer tells of the server's clock, in ms since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_field_names)] // every field is a time in ms: the suffix says so
pub struct Reading {
    pub date_ms: i64,
    pub sent_ms: i64,
    pub received_ms: i64,
}

/// Milliseconds since the Unix epoch (negative before it).
pub fn unix_ms(at: SystemTime) -> i64 {
    match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The bounds on the server's offset from the local clock that the answers so far allow.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerClock {
    bounds: Option<(i64, i64)>,
}

impl ServerClock {
    pub fn observe(&mut self, reading: Reading) {
        let low = reading.date_ms.saturating_sub(reading.received_ms);
        let high = reading.date_ms.saturating_add(1000).saturating_sub(reading.sent_ms);
        self.bounds = match self.bounds {
            Some((l, h)) if l.max(low) <= h.min(high) => Some((l.max(low), h.min(high))),
            // Bounds that cross mean a clock was stepped (or a proxy wrote the Date): start over.
            _ => Some((low, high)),
        };
    }

    /// Server minus local time, in ms: the middle of what the answers allow.
    pub fn offset_ms(&self) -> Option<i64> {
        self.bounds.map(|(low, high)| low + (high - low) / 2)
    }

    /// How far the offset may be off, in ms.
    pub fn uncertainty_ms(&self) -> Option<i64> {
        self.bounds.map(|(low, high)| (high - low) / 2)
    }

    /// A server timestamp as local time (ms since the epoch).
    pub fn local_ms(&self, server_ms: i64) -> Option<i64> {
        Some(server_ms.saturating_sub(self.offset_ms()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_header_bounds_the_offset_and_answers_narrow_it() {
        // The server is 3600.4 s ahead; requests take 50 ms; its Date truncates to whole seconds.
        let truth = 3_600_400;
        let reading = |sent: i64| {
            let server_at_answer = sent + 25 + truth;
            Reading { date_ms: server_at_answer / 1000 * 1000, sent_ms: sent, received_ms: sent + 50 }
        };
        let mut clock = ServerClock::default();
        clock.observe(reading(1_000_000_000_000));
        let first = clock.uncertainty_ms().unwrap();
        assert!(first <= 525, "one answer: within half a second and the round trip ({first})");
        assert!((clock.offset_ms().unwrap() - truth).abs() <= first);
        for i in 1..20 {
            clock.observe(reading(1_000_000_000_000 + i * 2_370));
        }
        let narrowed = clock.uncertainty_ms().unwrap();
        assert!(narrowed < 100 && narrowed < first, "{narrowed}");
        assert!((clock.offset_ms().unwrap() - truth).abs() <= narrowed);
        assert_eq!(clock.local_ms(truth + 5_000).map(|ms| (ms - 5_000).abs() <= narrowed), Some(true));
    }

    #[test]
    fn a_stepped_clock_starts_the_bounds_over() {
        let mut clock = ServerClock::default();
        clock.observe(Reading { date_ms: 10_000, sent_ms: 10_000, received_ms: 10_010 });
        clock.observe(Reading { date_ms: 99_000, sent_ms: 10_100, received_ms: 10_110 });
        let offset = clock.offset_ms().unwrap();
        assert!((88_890..=89_900).contains(&offset), "{offset}");
        assert_eq!(unix_ms(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1500)), 1500);
    }
}
