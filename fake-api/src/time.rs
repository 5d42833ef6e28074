//! Tiny RFC 3339 arithmetic for the fixed `YYYY-MM-DDTHH:MM:SS[.fff]Z` timestamps served, and
//! the wall-clock stamps written from a `SystemTime` (RFC 3339, CodeBuild's log line stamps).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::scenario::ClockSkew;

/// A parsed UTC timestamp: milliseconds since the Unix epoch, and whether it had a fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    millis: i64,
    fraction: bool,
}

fn parse(text: &str) -> Option<Stamp> {
    let text = text.strip_suffix('Z')?;
    let (date, clock) = text.split_once('T')?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    let mut clock_parts = hms.splitn(3, ':');
    let hour: i64 = clock_parts.next()?.parse().ok()?;
    let minute: i64 = clock_parts.next()?.parse().ok()?;
    let second: i64 = clock_parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let frac_millis = match fraction {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{digits:0<3}");
            padded[..3].parse::<i64>().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(Stamp { millis: secs * 1_000 + frac_millis, fraction: fraction.is_some() })
}

fn format(stamp: Stamp) -> String {
    let secs = stamp.millis.div_euclid(1_000);
    let millis = stamp.millis.rem_euclid(1_000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    let (hour, minute, second) = (of_day / 3_600, of_day % 3_600 / 60, of_day % 60);
    if stamp.fraction {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }
}

/// `base + offset`, keeping `base`'s precision (or always with milliseconds if
/// `force_millis`); `None` if `base` is not in the fixed format.
pub(crate) fn add(base: &str, offset: Duration, force_millis: bool) -> Option<String> {
    let stamp = parse(base)?;
    let offset = i64::try_from(offset.as_millis()).ok()?;
    Some(format(Stamp { millis: stamp.millis.checked_add(offset)?, fraction: stamp.fraction || force_millis }))
}

/// `base + offset`, or `base` itself when it cannot be parsed.
pub(crate) fn add_or_keep(base: &str, offset: Duration) -> String {
    add(base, offset, false).unwrap_or_else(|| base.to_string())
}

/// `base` moved by `skew`, keeping its precision; `base` itself when there is no skew or it is
/// not in the fixed format (so an unskewed server serves every string exactly as given).
pub(crate) fn shift(base: &str, skew: ClockSkew) -> String {
    let millis = skew.signed_millis();
    if millis == 0 {
        return base.to_string();
    }
    parse(base)
        .and_then(|stamp| Some(format(Stamp { millis: stamp.millis.checked_add(millis)?, fraction: stamp.fraction })))
        .unwrap_or_else(|| base.to_string())
}

/// Microseconds since the Unix epoch (negative before it; saturating).
fn unix_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// Whole milliseconds since the Unix epoch (rounded down), as [`rfc3339_millis`] writes them.
pub(crate) fn unix_millis(t: SystemTime) -> i64 {
    unix_micros(t).div_euclid(1_000)
}

/// `t` as `YYYY-MM-DDTHH:MM:SS.fffZ` (UTC, rounded down to the millisecond).
pub(crate) fn rfc3339_millis(t: SystemTime) -> String {
    format(Stamp { millis: unix_millis(t), fraction: true })
}

/// `t` as CodeBuild stamps its `[Container]` lines: `YYYY/MM/DD HH:MM:SS.ffffff` (UTC).
pub(crate) fn codebuild_stamp(t: SystemTime) -> String {
    let micros = unix_micros(t);
    let secs = micros.div_euclid(1_000_000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    let (hour, minute, second) = (of_day / 3_600, of_day % 3_600 / 60, of_day % 60);
    let fraction = micros.rem_euclid(1_000_000);
    format!("{year:04}/{month:02}/{day:02} {hour:02}:{minute:02}:{second:02}.{fraction:06}")
}

/// The instant a fixed-format timestamp names, to the millisecond.
pub(crate) fn to_system_time(text: &str) -> Option<SystemTime> {
    let millis = parse(text)?.millis;
    match u64::try_from(millis) {
        Ok(after) => UNIX_EPOCH.checked_add(Duration::from_millis(after)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_millis(millis.unsigned_abs())),
    }
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_across_days_and_keeps_precision() {
        assert_eq!(
            add("2026-02-20T12:00:00.000Z", Duration::from_secs(122), false).as_deref(),
            Some("2026-02-20T12:02:02.000Z")
        );
        assert_eq!(add("2026-02-28T23:59:59Z", Duration::from_secs(1), false).as_deref(), Some("2026-03-01T00:00:00Z"));
        assert_eq!(
            add("2024-02-28T23:59:59Z", Duration::from_millis(1_500), true).as_deref(),
            Some("2024-02-29T00:00:00.500Z")
        );
        assert_eq!(add("yesterday", Duration::ZERO, false), None);
        assert_eq!(add_or_keep("soon", Duration::from_secs(3)), "soon");
    }

    #[test]
    fn writes_wall_clock_stamps() {
        let t = UNIX_EPOCH + Duration::from_micros(1_772_618_400_123_456); // 2026-03-04T10:00:00.123456Z
        assert_eq!(rfc3339_millis(t), "2026-03-04T10:00:00.123Z");
        assert_eq!(codebuild_stamp(t), "2026/03/04 10:00:00.123456");
        assert_eq!(unix_millis(t), 1_772_618_400_123);
        assert_eq!(
            to_system_time("2026-03-04T10:00:00.123Z"),
            Some(UNIX_EPOCH + Duration::from_millis(1_772_618_400_123))
        );
        assert_eq!(rfc3339_millis(UNIX_EPOCH - Duration::from_millis(1)), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn shifts_by_a_skew_or_keeps_the_text() {
        let hour = Duration::from_secs(3_600);
        assert_eq!(shift("2026-02-20T12:00:00.000Z", ClockSkew::Ahead(hour)), "2026-02-20T13:00:00.000Z");
        assert_eq!(shift("2026-02-20T00:30:00Z", ClockSkew::Behind(hour)), "2026-02-19T23:30:00Z");
        assert_eq!(shift("2026-02-20T12:00:00.000000Z", ClockSkew::NONE), "2026-02-20T12:00:00.000000Z");
        assert_eq!(shift("not a time", ClockSkew::Ahead(hour)), "not a time");
    }

    #[test]
    fn epoch_round_trips() {
        assert_eq!(parse("1970-01-01T00:00:00Z").map(|s| s.millis), Some(0));
        assert_eq!(
            add("1969-12-31T23:59:59.999Z", Duration::from_millis(1), false).as_deref(),
            Some("1970-01-01T00:00:00.000Z")
        );
    }
}
