//! The HTTP client shared by the providers: bearer auth, capped bodies, and the split of
//! failures into transient (retry) and the rest.

use std::time::{Duration, SystemTime};

use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Client, Url, redirect};

use crate::config::ApiKey;

/// More than this is not a build status: it is treated as an unreadable answer.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// A longer `Retry-After` is read as this; the deadline cuts any wait anyway.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// An answer that arrived whole: any status but the transient ones.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// Worth retrying on the same schedule: connect/reset/timeout, 408, 429, 5xx.
    Transient { reason: String, retry_after: Option<Duration> },
    /// The answer arrived but cannot be read; retried a few times, then it is a refusal.
    Unreadable { reason: String },
    /// The API said no: ends the gate with exit 3.
    Refused { message: String },
}

pub struct Http {
    client: Client,
    auth: HeaderValue,
    key: String,
}

impl Http {
    /// `plain_http`: the API URL is `http://` (loopback only), so no proxy is used either: the
    /// token must not travel in clear to a proxy host.
    pub fn new(key: &ApiKey, plain_http: bool) -> Result<Self, String> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
            .map_err(|_| "the API key cannot be sent in an HTTP header".to_string())?;
        // Keeps the token out of any Debug output of the request, at every log level.
        auth.set_sensitive(true);
        let mut builder = Client::builder()
            .user_agent(concat!("buildgate/", env!("CARGO_PKG_VERSION")))
            .redirect(same_origin_redirects());
        if plain_http {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Http { client, auth, key: key.expose().to_string() })
    }

    /// One GET, bounded by `timeout` from start to the last byte of the body.
    pub async fn get(&self, url: Url, timeout: Duration) -> Result<Answer, FetchError> {
        tracing::debug!(%url, "GET");
        let request = self.client.get(url).header(AUTHORIZATION, self.auth.clone()).timeout(timeout).send();
        let mut response = request.await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        if response.status().is_redirection() {
            let to = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("?");
            let to = to.replace(self.key.as_str(), "***");
            return Err(FetchError::Refused {
                message: format!(
                    "the API answered {status} redirecting to {to}; buildgate sends the token only to \
                     BUILDGATE_API_URL's own host, so set BUILDGATE_API_URL to the final address"
                ),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FetchError::Unreadable {
                    reason: format!("the answer is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024)),
                });
            }
            body.extend_from_slice(&chunk);
        }
        // An API may echo the token in an error: it must reach no message, output or log.
        let body = redact(body, self.key.as_bytes());
        tracing::debug!(status, bytes = body.len(), "answer");
        if status == 408 || status == 429 || (500..=599).contains(&status) {
            return Err(FetchError::Transient { reason: format!("HTTP {status}{}", excerpt(&body)), retry_after });
        }
        Ok(Answer { status, body })
    }
}

/// `body` with every occurrence of `secret` replaced by `***`.
pub fn redact(body: Vec<u8>, secret: &[u8]) -> Vec<u8> {
    if secret.is_empty() || body.len() < secret.len() || !body.windows(secret.len()).any(|w| w == secret) {
        return body;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(secret) {
            out.extend_from_slice(b"***");
            i += secret.len();
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

/// Follows redirects only within the same scheme, host and port, so the token goes nowhere else.
fn same_origin_redirects() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().cloned();
        let same = first.is_some_and(|f| {
            f.scheme() == attempt.url().scheme()
                && f.host_str() == attempt.url().host_str()
                && f.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if same && attempt.previous().len() < 5 { attempt.follow() } else { attempt.stop() }
    })
}

fn transport_error(e: reqwest::Error) -> FetchError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    FetchError::Transient { reason: format!("{kind}: {}", error_chain(&e)), retry_after: None }
}

/// The error and its causes on one line; reqwest's own text names the URL, never a header.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A short, single-line excerpt of a body for messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return String::new();
    }
    let mut cut: String = one_line.chars().take(200).collect();
    if cut.len() < one_line.len() {
        cut.push('…');
    }
    format!(": {cut}")
}

/// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or(Duration::ZERO),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("18446744073709551615", now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn the_key_is_cut_out_of_bodies() {
        assert_eq!(redact(b"bad key sk-1 and sk-1!".to_vec(), b"sk-1"), b"bad key *** and ***!");
        assert_eq!(redact(b"nothing".to_vec(), b"sk-1"), b"nothing");
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt(b""), "");
        assert_eq!(excerpt(b"<html>\n<body>oops</body>\n</html>"), ": <html> <body>oops</body> </html>");
        assert_eq!(excerpt("x".repeat(500).as_bytes()).chars().count(), 2 + 200 + 1);
    }
}
