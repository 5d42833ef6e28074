//! Tiny RFC 3339 arithmetic for the fixed `YYYY-MM-DDTHH:MM:SS[.fff]Z` timestamps served.

use std::time::Duration;

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
    fn epoch_round_trips() {
        assert_eq!(parse("1970-01-01T00:00:00Z").map(|s| s.millis), Some(0));
        assert_eq!(
            add("1969-12-31T23:59:59.999Z", Duration::from_millis(1), false).as_deref(),
            Some("1970-01-01T00:00:00.000Z")
        );
    }
}
