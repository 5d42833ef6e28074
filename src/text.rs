//! Where text from the API becomes printable text: JSON read lossily, the key redacted in every
//! form it can be written in, escape sequences made inert, and lengths cut to a bound.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

/// Log lines are cut here, with a marker saying how much was cut.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Parses a JSON answer as JSON: invalid UTF-8 and lone surrogate escapes become U+FFFD (what
/// JavaScript's and Python's serializers write for a cut emoji must not make an answer
/// unreadable), a name given twice keeps its last value, and numbers of any size are read.
pub fn parse_json(body: &[u8]) -> Result<Value, serde_json::Error> {
    let text = String::from_utf8_lossy(body);
    let fixed = replace_lone_surrogates(&text);
    serde_json::from_str(&fixed)
}

/// `\uD83D` not followed by a low surrogate escape (or a lone low one) becomes `\uFFFD`; one
/// linear pass that tracks whether it is inside a string.
fn replace_lone_surrogates(json: &str) -> Cow<'_, str> {
    if !json.contains("\\u") {
        return Cow::Borrowed(json);
    }
    let b = json.as_bytes();
    let mut out = String::new();
    let (mut copied, mut i, mut in_string) = (0, 0, false);
    while i < b.len() {
        match b[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string && b.get(i + 1) == Some(&b'u') && hex4(b, i + 2).is_some() => {
                let unit = hex4(b, i + 2).unwrap_or_default();
                let low_follows = || {
                    b.get(i + 6..i + 8) == Some(b"\\u")
                        && hex4(b, i + 8).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low))
                };
                match unit {
                    0xD800..=0xDBFF if low_follows() => i += 12,
                    0xD800..=0xDFFF => {
                        out.push_str(&json[copied..i]);
                        out.push_str("\\uFFFD");
                        i += 6;
                        copied = i;
                    }
                    _ => i += 6,
                }
                continue;
            }
            // Any other escape: its second byte is never a quote that ends the string.
            b'\\' if in_string => i += 1,
            _ => {}
        }
        i += 1;
    }
    if copied == 0 {
        return Cow::Borrowed(json);
    }
    out.push_str(&json[copied..]);
    Cow::Owned(out)
}

fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |n, d| Some(n * 16 + char::from(*d).to_digit(16)?))
}

/// Cuts the key out of text, in the forms an API may echo it: as is, JSON-escaped (`\u002d`,
/// `\/`) and percent-encoded (`%2D`), also when the text was escaped twice.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    key: Option<String>,
}

/// What stands where the key was.
pub const REDACTED: &str = "***";

impl Redactor {
    pub fn new(key: &str) -> Self {
        Redactor { key: (!key.is_empty()).then(|| key.to_string()) }
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(key) = self.key.as_deref() else { return Cow::Borrowed(text) };
        let mut out = if text.contains(key) { Cow::Owned(text.replace(key, REDACTED)) } else { Cow::Borrowed(text) };
        // Escapes are decoded only to look for the key; text where none hides it stays as it was.
        let mut view = out.clone();
        for _ in 0..3 {
            if !view.contains(['\\', '%']) {
                break;
            }
            let decoded = decode_escapes(&view);
            if decoded == view {
                break;
            }
            if decoded.contains(key) {
                out = Cow::Owned(decoded.replace(key, REDACTED));
                view.clone_from(&out);
            } else {
                view = Cow::Owned(decoded);
            }
        }
        out
    }
}

/// One round of decoding JSON escapes and percent-encoding, lossily.
fn decode_escapes(text: &str) -> String {
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if let Some(byte) =
                    b.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
                {
                    out.push(byte);
                    i += 3;
                    continue;
                }
            }
            b'\\' => {
                let simple = match b.get(i + 1) {
                    Some(b'/') => Some(b'/'),
                    Some(b'\\') => Some(b'\\'),
                    Some(b'"') => Some(b'"'),
                    _ => None,
                };
                if let Some(byte) = simple {
                    out.push(byte);
                    i += 2;
                    continue;
                }
                if b.get(i + 1) == Some(&b'u')
                    && let Some(unit) = hex4(b, i + 2)
                {
                    let ch = char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER);
                    out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                    i += 6;
                    continue;
                }
            }
            _ => {}
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` cut to at most `max_bytes` on a character boundary, with `…` where it was cut.
pub fn cut(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    let mut end = max_bytes.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// Line breaks and surrounding blanks folded into single spaces.
pub fn one_line(value: &str) -> String {
    value.split(['\r', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

/// A build log line made inert: complete SGR colour sequences (`ESC [ params m`) are kept, every
/// other escape or control sequence and any lone ESC is removed, the style is reset at the end
/// of a line that set one, and a line over [`MAX_LINE_BYTES`] is cut there with a marker. So no
/// line can hide, glue onto or recolour another line or the gate's own.
pub fn inert_log_line(line: &str) -> Cow<'_, str> {
    let (body, cut_bytes) = if line.len() > MAX_LINE_BYTES {
        let mut end = MAX_LINE_BYTES;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        (&line[..end], line.len() - end)
    } else {
        (line, 0)
    };
    let (clean, styled) = filter_controls(body, true);
    if cut_bytes == 0 && !styled {
        return clean;
    }
    let mut out = clean.into_owned();
    if styled {
        out.push_str("\x1b[0m");
    }
    if cut_bytes > 0 {
        let _ = write!(out, " [buildgate: line cut at 64 KiB, {cut_bytes} more bytes not shown]");
    }
    Cow::Owned(out)
}

/// Text of the API quoted in a line of the gate's own: every escape and control sequence
/// removed, colours included (tabs and line breaks stay; the dialects fold lines).
pub fn inert_text(text: &str) -> Cow<'_, str> {
    filter_controls(text, false).0
}

/// The filter behind [`inert_log_line`] and [`inert_text`]; says whether an SGR was kept.
fn filter_controls(text: &str, keep_sgr: bool) -> (Cow<'_, str>, bool) {
    let is_unsafe = |c: char| c != '\t' && c != '\n' && (c.is_control());
    if !text.contains(is_unsafe) {
        return (Cow::Borrowed(text), false);
    }
    let mut out = String::with_capacity(text.len());
    let mut styled = false;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '\x1b' {
            if !is_unsafe(c) {
                out.push(c);
            }
            continue;
        }
        let rest = &text[at + 1..];
        let len = escape_len(rest);
        let sequence = &text[at..at + 1 + len];
        if keep_sgr && is_sgr(sequence) {
            out.push_str(sequence);
            styled = true;
        }
        // Skip the rest of the sequence.
        for _ in 0..rest[..len].chars().count() {
            chars.next();
        }
    }
    (Cow::Owned(out), styled)
}

/// How many bytes after an ESC belong to its sequence (0 for a lone ESC). An unterminated
/// sequence runs to the end of the text.
fn escape_len(rest: &str) -> usize {
    let b = rest.as_bytes();
    match b.first() {
        // CSI: parameters and intermediates, then one final byte.
        Some(b'[') => {
            let body = b[1..].iter().take_while(|c| (0x20..=0x3f).contains(*c)).count();
            match b.get(1 + body) {
                Some(c) if (0x40..=0x7e).contains(c) => 2 + body,
                _ => 1 + body,
            }
        }
        // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \).
        Some(b']' | b'P' | b'X' | b'^' | b'_') => {
            let mut i = 1;
            while i < b.len() {
                match b[i] {
                    0x07 => return i + 1,
                    0x1b if b.get(i + 1) == Some(&b'\\') => return i + 2,
                    _ => i += 1,
                }
            }
            b.len()
        }
        // nF: intermediates, then a final byte.
        Some(c) if (0x20..=0x2f).contains(c) => {
            let body = b.iter().take_while(|c| (0x20..=0x2f).contains(*c)).count();
            match b.get(body) {
                Some(c) if (0x30..=0x7e).contains(c) => body + 1,
                _ => body,
            }
        }
        // Two-byte escapes (ESC c, ESC 7, ...).
        Some(c) if (0x30..=0x7e).contains(c) => 1,
        _ => 0,
    }
}

/// `ESC [ digits ; : m`, complete.
fn is_sgr(sequence: &str) -> bool {
    sequence
        .strip_prefix("\x1b[")
        .and_then(|s| s.strip_suffix('m'))
        .is_some_and(|params| params.bytes().all(|b| b.is_ascii_digit() || b == b';' || b == b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_and_bad_bytes_become_replacement_characters() {
        let v = parse_json(br#"{"a": "pip failed \ud83d", "b": "\udcff x", "c": "\ud83d\ude00"}"#).unwrap();
        assert_eq!(v["a"], "pip failed \u{FFFD}");
        assert_eq!(v["b"], "\u{FFFD} x");
        assert_eq!(v["c"], "😀");
        let v = parse_json(b"{\"a\": \"x\xffy\"}").unwrap();
        assert_eq!(v["a"], "x\u{FFFD}y");
        let v = parse_json(br#"{"a": "\\ud83d", "b": "\"\ud800"}"#).unwrap();
        assert_eq!(v["a"], "\\ud83d", "an escaped backslash is no escape");
        assert_eq!(v["b"], "\"\u{FFFD}");
    }

    #[test]
    fn valid_json_is_read_as_json() {
        let v = parse_json(
            br#"{"status": "building", "status": "success", "n": 1e400, "m": 123456789012345678901234567890}"#,
        )
        .unwrap();
        assert_eq!(v["status"], "success");
        assert!(parse_json(b"{\"a\": ").is_err());
    }

    #[test]
    fn the_key_is_redacted_in_every_encoded_form() {
        let r = Redactor::new("sk-live/abc");
        for leaked in [
            "token sk-live/abc refused",
            "token sk\\u002dlive\\/abc refused",
            "https://x/?k=sk%2Dlive%2Fabc",
            "https://x/?k=sk%252Dlive%252Fabc",
            "\\u0073k-live\\/abc",
        ] {
            let out = r.redact(leaked);
            assert!(out.contains(REDACTED), "{leaked} -> {out}");
            assert!(!decode_escapes(&decode_escapes(&out)).contains("sk-live/abc"), "{leaked} -> {out}");
        }
        assert_eq!(r.redact("50% done \\ no key"), "50% done \\ no key");
        assert_eq!(Redactor::default().redact("sk-live/abc"), "sk-live/abc");
    }

    #[test]
    fn log_lines_keep_colours_and_lose_every_other_escape() {
        let cases = [
            ("plain", "plain"),
            ("\x1b[32mgreen\x1b[0m", "\x1b[32mgreen\x1b[0m\x1b[0m"),
            ("pip: error \x1b[31", "pip: error "),
            ("lone \x1b", "lone "),
            ("\x1b[30;40mblack", "\x1b[30;40mblack\x1b[0m"),
            ("\x1b[2Jclear\x1b[1;1Hhome", "clearhome"),
            ("\x1b]0;title\x07after", "after"),
            ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
            ("bell\x07 back\x08 del\x7f c1\u{9b}31m", "bell back del c131m"),
            ("\x1bcreset", "reset"),
            ("tab\tkept", "tab\tkept"),
            ("\x1b[38:2::255:0:0mrgb", "\x1b[38:2::255:0:0mrgb\x1b[0m"),
        ];
        for (input, expected) in cases {
            assert_eq!(inert_log_line(input), expected, "{input:?}");
        }
        assert_eq!(inert_text("\x1b[31mred\x1b[0m \x1b"), "red ");
    }

    #[test]
    fn long_lines_are_cut_with_a_marker() {
        let line = "é".repeat(40_000);
        let out = inert_log_line(&line);
        assert!(out.len() < MAX_LINE_BYTES + 100);
        assert!(out.starts_with(&line[..MAX_LINE_BYTES]));
        assert!(
            out.ends_with(" [buildgate: line cut at 64 KiB, 14464 more bytes not shown]"),
            "{}",
            &out[out.len() - 80..]
        );
        assert_eq!(cut("abcdef", 4), "a…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn property_inert_lines_hold_no_escape_but_complete_sgr() {
        let pieces = ["a", "\x1b", "[", "31", ";", "m", "]", "\x07", "\\", "K", "é", "\r", "\u{9b}", "0", "?"];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5000 {
            let mut line = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                line.push_str(pieces[usize::try_from(state % pieces.len() as u64).expect("below the count of pieces")]);
            }
            let out = inert_log_line(&line);
            // Every ESC left starts a complete SGR, and the line ends in a reset when styled.
            let mut rest: &str = &out;
            while let Some(at) = rest.find('\x1b') {
                let seq = &rest[at..];
                let end = seq.find('m').expect("an SGR ends in m");
                assert!(is_sgr(&seq[..=end]), "{line:?} -> {out:?}");
                rest = &seq[end + 1..];
            }
            if out.contains('\x1b') {
                assert!(out.ends_with("\x1b[0m"), "{line:?} -> {out:?}");
            }
            assert!(!out.contains(|c: char| c.is_control() && c != '\x1b' && c != '\t'), "{line:?} -> {out:?}");
        }
    }
}
