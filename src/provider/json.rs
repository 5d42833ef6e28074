//! Reading API answers: JSON as JSON (lossily, see [`crate::text::parse_json`]), fields read
//! leniently by any of their spellings, and the timestamps builds carry.

use serde_json::Value;

use crate::http::{Answer, FetchError, Refusal};

/// The JSON of a 2xx answer; any other status is the API's refusal, with `detail` taken from
/// the body by the provider's own reader.
pub fn read_answer(answer: &Answer, what: &str, detail: fn(&Value) -> String) -> Result<Value, FetchError> {
    let parsed = crate::text::parse_json(&answer.body);
    if !(200..300).contains(&answer.status) {
        let detail = parsed.as_ref().map(detail).unwrap_or_default();
        return Err(FetchError::Refused(Refusal::Status { status: answer.status, detail, what: what.to_string() }));
    }
    parsed.map_err(|e| FetchError::Unreadable {
        reason: format!("the answer for {what} is not JSON ({e}){}", crate::http::excerpt(&answer.body)),
    })
}

/// The first of `names` that holds a string.
pub fn text(value: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| value.get(n)?.as_str().map(str::to_string))
}

/// The first of `names` that holds a whole number.
pub fn integer(value: &Value, names: &[&str]) -> Option<i64> {
    names.iter().find_map(|n| value.get(n)?.as_i64())
}

/// The array under `name`, or none (a `null` or another type counts as none).
pub fn array<'a>(value: &'a Value, name: &str) -> &'a [Value] {
    value.get(name).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Whole seconds between two RFC 3339 timestamps, when both can be read and are in order.
pub fn seconds_between(started: Option<&str>, completed: Option<&str>) -> Option<u64> {
    let (start, end) = (parse_rfc3339(started?)?, parse_rfc3339(completed?)?);
    if end < start {
        return None;
    }
    u64::try_from((end - start) / 1000).ok()
}

/// A plausible build duration: negative or absurd (over 30 days) values are ignored.
pub fn plausible_duration(secs: i64) -> Option<u64> {
    u64::try_from(secs).ok().filter(|secs| *secs <= 30 * 24 * 3600)
}

/// Milliseconds since the Unix epoch of an RFC 3339 date-time (`T`, `t` or space; `Z` or an offset).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day, hour, minute, second) =
        (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0i64;
    if let Some((b'.', frac)) = rest.split_first() {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (d, scale) in frac[..digits.min(3)].iter().zip([100, 10, 1]) {
            millis += i64::from(d - b'0') * scale;
        }
        rest = &frac[digits..];
    }
    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = i64::from(h1 - b'0') * 600
                + i64::from(h2 - b'0') * 60
                + i64::from(m1 - b'0') * 10
                + i64::from(m2 - b'0');
            if *sign == b'+' { value } else { -value }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(secs * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms_agree() {
        let base = parse_rfc3339("2026-02-20T12:00:00.000Z").unwrap();
        assert_eq!(base, 1_771_588_800_000);
        for same in [
            "2026-02-20T12:00:00Z",
            "2026-02-20t12:00:00z",
            "2026-02-20 12:00:00Z",
            "2026-02-20T13:30:00+01:30",
            "2026-02-20T07:00:00.000000-05:00",
        ] {
            assert_eq!(parse_rfc3339(same), Some(base), "{same}");
        }
        assert_eq!(parse_rfc3339("2026-02-20T12:00:01.5Z"), Some(base + 1500));
        for bad in
            ["", "2026-02-20", "2026-13-01T00:00:00Z", "2026-02-20T12:00:00", "2026-02-20T12:00:00+0100", "yesterday"]
        {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_come_from_timestamps_when_sane() {
        assert_eq!(seconds_between(Some("2026-02-20T12:00:00Z"), Some("2026-02-20T12:02:00.900Z")), Some(120));
        assert_eq!(seconds_between(Some("2026-02-20T12:02:00Z"), Some("2026-02-20T12:00:00Z")), None);
        assert_eq!(seconds_between(None, Some("2026-02-20T12:00:00Z")), None);
        assert_eq!(plausible_duration(120), Some(120));
        assert_eq!(plausible_duration(-5), None);
        assert_eq!(plausible_duration(i64::MAX), None);
    }

    #[test]
    fn fields_are_read_by_any_spelling_and_leniently() {
        let v: Value = serde_json::json!({"a_b": "x", "n": 7, "s": "7", "list": null});
        assert_eq!(text(&v, &["aB", "a_b"]).as_deref(), Some("x"));
        assert_eq!(integer(&v, &["n"]), Some(7));
        assert_eq!(integer(&v, &["s"]), None);
        assert!(array(&v, "list").is_empty());
    }
}
