//! Durations as users write them (`500ms`, `1.5m`, `1h30m`, `45`) and as the gate prints them.

use std::fmt::Write as _;
use std::time::Duration;

/// The longest duration accepted anywhere: 31 days, far beyond any CI job, well within the clock.
pub const MAX: Duration = Duration::from_secs(31 * 24 * 3600);
/// The shortest: one millisecond.
pub const MIN: Duration = Duration::from_millis(1);

/// What every duration message says is accepted.
pub const ACCEPTED: &str = "use a number with a unit (ms, s, m, h), like 500ms, 1.5m, 90s or 1h30m, or a bare number \
                            of seconds, from 1ms to 744h (31 days)";

/// Parses `text`: parts of a number (decimals allowed) and a unit, summed, or a bare number of
/// seconds; refused outside [`MIN`]..=[`MAX`], with why.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("it is empty".into());
    }
    let mut total_ms: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(format!("expected a number at {rest:?}"));
        }
        rest = &rest[number_len..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_ms: u128 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            // A bare number is seconds, when it is all there is.
            "" if number_len == text.len() => 1_000,
            "" => return Err(format!("{number} has no unit")),
            unit => return Err(format!("{unit:?} is not a unit")),
        };
        rest = &rest[unit_len..];
        total_ms = total_ms.saturating_add(millis(number, unit_ms));
    }
    let max_ms = MAX.as_millis();
    if total_ms > max_ms {
        return Err("it is longer than 744h (31 days)".into());
    }
    if total_ms < MIN.as_millis() {
        let zero = !text.bytes().any(|b| (b'1'..=b'9').contains(&b));
        return Err(if zero { "it is zero" } else { "it is shorter than 1ms" }.into());
    }
    Ok(Duration::from_millis(u64::try_from(total_ms).expect("at most MAX")))
}

/// `number` (digits, maybe one `.`) times `unit_ms`, in whole milliseconds, saturating.
fn millis(number: &str, unit_ms: u128) -> u128 {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    // Only the digits that can matter: beyond 40 the value is over MAX whatever they are.
    let whole: u128 = if whole.len() > 30 { u128::MAX } else { whole.parse().unwrap_or(0) };
    let fraction = &fraction[..fraction.len().min(12)];
    let scale = 10u128.pow(u32::try_from(fraction.len()).expect("at most 12 digits"));
    let fraction: u128 = fraction.parse().unwrap_or(0);
    whole.saturating_mul(unit_ms).saturating_add(fraction * unit_ms / scale)
}

/// The shortest exact spelling in the units [`parse`] accepts.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return if ms >= 1000 { format!("{:.1}s", d.as_secs_f64()) } else { format!("{ms}ms") };
    }
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    [(h, "h"), (m, "m"), (s, "s")].iter().filter(|(v, _)| *v > 0).fold(String::new(), |mut text, (v, unit)| {
        let _ = write!(text, "{v}{unit}");
        text
    })
}

/// Elapsed time in status lines: `12.3s` under a minute, `4m05s` from there.
pub fn format_elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 { format!("{:.1}s", d.as_secs_f64()) } else { format!("{}m{:02}s", secs / 60, secs % 60) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form_parses() {
        for (text, ms) in [
            ("500ms", 500),
            ("90s", 90_000),
            ("30m", 1_800_000),
            ("1h30m", 5_400_000),
            ("45", 45_000),
            ("1h1m1s1ms", 3_661_001),
            ("1.5m", 90_000),
            ("0.5s", 500),
            ("2.5", 2_500),
            ("1.25h", 4_500_000),
            ("744h", 744 * 3_600_000),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_millis(ms)), "{text}");
        }
    }

    #[test]
    fn every_refusal_says_why() {
        for (bad, why) in [
            ("", "empty"),
            ("abc", "expected a number"),
            ("10x", "not a unit"),
            ("1.2.3s", "expected a number"),
            ("m", "expected a number"),
            ("-1s", "expected a number"),
            ("5m3", "has no unit"),
            ("0", "zero"),
            ("0.0001s", "shorter than 1ms"),
            ("0.000s", "zero"),
            ("745h", "longer than 744h"),
            ("18446744073709551615", "longer than 744h"),
            ("99999999999h", "longer than 744h"),
            ("99999999999999999999999999999999999999999999h", "longer than 744h"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn property_formatting_round_trips() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let ms = 1 + state % u64::try_from(MAX.as_millis()).expect("MAX is 31 days");
            let d = Duration::from_millis(if state.is_multiple_of(3) { ms / 1000 * 1000 + 1000 } else { ms });
            let text = format(d);
            let back = parse(&text).unwrap();
            // Sub-second values over a second print to a tenth: exact to 100 ms.
            assert!(back.abs_diff(d) < Duration::from_millis(100), "{d:?} -> {text} -> {back:?}");
        }
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_millis(250)), "250ms");
        assert_eq!(format_elapsed(Duration::from_secs(245)), "4m05s");
    }
}
