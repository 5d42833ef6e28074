//! The HTTP client the providers share: the bearer key, one [`Deadline`] bounding every
//! request, answers read whole (decompressed, capped), and the split of failures into what is
//! retried and what ends the gate.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::{AUTHORIZATION, DATE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Client, Url, redirect};
use tokio::time::Instant;

use crate::clock::{Reading, unix_ms};

/// More than this (after decoding) is not a build status: the answer is unreadable.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// A longer `Retry-After` is read as this; the deadline cuts any wait anyway.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The bearer token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "*** ({} characters)", self.0.chars().count())
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// When requests must end: each one `per_request` after it starts, and none after `end`.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    pub end: Instant,
    pub per_request: Duration,
}

impl Deadline {
    /// When a request starting now must end.
    pub fn request_end(&self) -> Instant {
        Instant::now().checked_add(self.per_request).map_or(self.end, |by_timeout| by_timeout.min(self.end))
    }
}

/// An answer that arrived whole: any status but the transient ones.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// What the answer's `Date` header tells of the server's clock.
    pub clock: Option<Reading>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// Worth retrying on the same schedule: connect/reset/timeout, 408, 429, 5xx.
    Transient { reason: String, retry_after: Option<Duration> },
    /// The answer arrived but cannot be read (not JSON, cut short); retried a few times.
    Unreadable { reason: String },
    /// The answer is larger than [`MAX_BODY_BYTES`] once decoded.
    TooLarge,
    /// The API (or the way to it) said no: ends the gate with exit 3.
    Refused(Refusal),
}

/// Why the gate cannot go on asking; the words for the user are added where it reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// An HTTP status that will not change: 4xx but 408 and 429.
    Status {
        status: u16,
        detail: String,
        what: String,
    },
    /// A redirect to another scheme, host or port, where the token is not sent.
    Redirect {
        status: u16,
        to: String,
    },
    /// The server's certificate failed verification.
    Certificate {
        reason: String,
    },
    /// No TLS client could be set up (no CA store).
    Tls {
        reason: String,
    },
    Unsupported(&'static str),
}

impl FetchError {
    /// The error in a few words, for warnings.
    pub fn reason(&self) -> String {
        match self {
            FetchError::Transient { reason, .. } | FetchError::Unreadable { reason } => reason.clone(),
            FetchError::TooLarge => too_large(),
            FetchError::Refused(refusal) => refusal.to_string(),
        }
    }
}

fn too_large() -> String {
    format!("the answer is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024))
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Status { status, detail, what } if detail.is_empty() => write!(f, "HTTP {status} for {what}"),
            Refusal::Status { status, detail, what } => write!(f, "HTTP {status} for {what} — {detail}"),
            Refusal::Redirect { status, to } => write!(f, "HTTP {status} redirecting to {to}"),
            Refusal::Certificate { reason } => write!(f, "the server's certificate was refused: {reason}"),
            Refusal::Tls { reason } => write!(f, "cannot set up TLS: {reason}"),
            Refusal::Unsupported(what) => f.write_str(what),
        }
    }
}

/// How the client reaches the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// The API URL is `http://` (loopback only): no TLS is set up, and no proxy is used, so
    /// the token cannot travel in clear to a proxy host.
    pub plain_http: bool,
    /// `NO_PROXY=*`: no proxy at all.
    pub no_proxy: bool,
}

pub struct Http {
    client: Client,
    auth: HeaderValue,
}

impl Http {
    pub fn new(key: &ApiKey, route: Route) -> Result<Self, FetchError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
            .map_err(|_| FetchError::Refused(Refusal::Unsupported("the API key cannot be sent in an HTTP header")))?;
        // Keeps the token out of any Debug output of the request, at every log level.
        auth.set_sensitive(true);
        let mut builder = Client::builder()
            .user_agent(concat!("buildgate/", env!("CARGO_PKG_VERSION")))
            .redirect(same_origin_redirects());
        if route.plain_http || route.no_proxy {
            builder = builder.no_proxy();
        }
        if route.plain_http {
            builder = without_tls(builder);
        }
        let client = builder.build().map_err(|e| FetchError::Refused(Refusal::Tls { reason: error_chain(&e) }))?;
        Ok(Http { client, auth })
    }

    /// One GET, ending by `deadline` from its start to the last byte of the body.
    pub async fn get(&self, url: Url, deadline: Deadline) -> Result<Answer, FetchError> {
        let end = deadline.request_end();
        let timeout = end.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        tracing::debug!(%url, "GET");
        let request = self.client.get(url).header(AUTHORIZATION, self.auth.clone()).timeout(timeout).send();
        let sent = SystemTime::now();
        let mut response = request.await.map_err(|e| transport_error(&e))?;
        let clock = server_clock(response.headers(), sent);
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        if response.status().is_redirection() {
            let to = response.headers().get(LOCATION).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return Err(FetchError::Refused(Refusal::Redirect { status, to: to.unwrap_or_else(|| "?".into()) }));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| body_error(&e))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(status, bytes = body.len(), "answer");
        if status == 408 || status == 429 || (500..=599).contains(&status) {
            return Err(FetchError::Transient { reason: format!("HTTP {status}{}", excerpt(&body)), retry_after });
        }
        Ok(Answer { status, body, clock })
    }
}

fn server_clock(headers: &HeaderMap, sent: SystemTime) -> Option<Reading> {
    let date = httpdate::parse_http_date(headers.get(DATE)?.to_str().ok()?).ok()?;
    Some(Reading { date_ms: unix_ms(date), sent_ms: unix_ms(sent), received_ms: unix_ms(SystemTime::now()) })
}

/// A client for `http://` only: it must start on a machine without any CA store, so it trusts
/// no root at all (an empty store) instead of loading the system's.
fn without_tls(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.tls_certs_only(Vec::<reqwest::Certificate>::new())
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

fn transport_error(e: &reqwest::Error) -> FetchError {
    let chain = error_chain(e);
    if let Some(reason) = certificate_problem(e) {
        return FetchError::Refused(Refusal::Certificate { reason });
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        return FetchError::Unreadable { reason: format!("the answer broke off: {chain}") };
    } else {
        "request failed"
    };
    FetchError::Transient { reason: format!("{kind}: {chain}"), retry_after: None }
}

/// A body that breaks off (connection closed early, a bad chunk, bad compression) is an
/// unreadable answer; a timeout while reading it is still a timeout.
fn body_error(e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Transient { reason: format!("timed out: {}", error_chain(e)), retry_after: None };
    }
    FetchError::Unreadable { reason: format!("the answer broke off: {}", error_chain(e)) }
}

/// The reason when the error is a certificate that failed verification. tokio-rustls hands
/// rustls' error inside an `io::Error`, whose `source()` skips it: each `io::Error` is opened.
fn certificate_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(e);
    while let Some(current) = cause {
        if let Some(rustls::Error::InvalidCertificate(why)) = current.downcast_ref::<rustls::Error>() {
            return Some(rustls::Error::InvalidCertificate(why.clone()).to_string());
        }
        if let Some(inner) = current.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref)
            && let Some(found) = certificate_problem(inner)
        {
            return Some(found);
        }
        cause = current.source();
    }
    None
}

/// The error and its causes on one line; reqwest's own text names the URL, never a header.
pub fn error_chain(e: &dyn std::error::Error) -> String {
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
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return String::new();
    }
    format!(": {}", crate::text::cut(&one_line, 200))
}

/// `Retry-After` as delay-seconds or an HTTP date, the date measured against the answer's own
/// `Date` (the server's clock, not ours; `now` only when it has none).
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    let server_now =
        headers.get(DATE).and_then(|d| d.to_str().ok()).and_then(|d| httpdate::parse_http_date(d).ok()).unwrap_or(now);
    parse_retry_after(value, server_now)
}

/// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), against `now`.
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
    fn a_retry_after_date_is_measured_on_the_servers_clock() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Sun, 06 Nov 1994 08:49:47 GMT"));
        headers.insert(DATE, HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
        // The local clock is a year ahead: the server's own Date still says 10 s.
        let local = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777 + 365 * 86_400);
        assert_eq!(retry_after(&headers, local), Some(Duration::from_secs(10)));
        headers.remove(DATE);
        assert_eq!(retry_after(&headers, local), Some(Duration::ZERO));
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt(b""), "");
        assert_eq!(excerpt(b"<html>\n<body>oops</body>\n</html>"), ": <html> <body>oops</body> </html>");
        assert!(excerpt("x".repeat(500).as_bytes()).len() <= 2 + 200);
    }
}
