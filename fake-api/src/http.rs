//! Hand-rolled HTTP/1.1: reading a request head, percent-decoding, and a response's bytes (framing, encoding).

use std::time::SystemTime;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::scenario::Compression;

/// The longest request head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// A parsed request head.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub method: String,
    /// The path as sent (not decoded), without the query.
    pub path: String,
    /// The raw query, without '?'.
    pub query: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first header of that name (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        parse_query(&self.query).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// Why no request could be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The peer closed or failed before a full head arrived.
    Closed,
    /// The head exceeds [`MAX_HEAD`].
    TooLarge,
    /// The head is not an HTTP/1.x request.
    Malformed,
}

/// Reads up to and including the blank line ending the head, and parses it.
pub(crate) async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> Result<Request, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| HeadError::Closed)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        let searched_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = find(&buf[searched_from..], b"\r\n\r\n") {
            return parse_head(&buf[..searched_from + pos]);
        }
        if buf.len() > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses a head (without the final blank line).
pub(crate) fn parse_head(head: &[u8]) -> Result<Request, HeadError> {
    let text = std::str::from_utf8(head).map_err(|_| HeadError::Malformed)?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().ok_or(HeadError::Malformed)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed);
    };
    if method.is_empty() || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Err(HeadError::Malformed);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(HeadError::Malformed)?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    Ok(Request { method: method.to_string(), path: path.to_string(), query: query.to_string(), headers })
}

/// Decodes `%XX` escapes (and '+' as a space if `plus_as_space`); invalid escapes stay as is.
pub(crate) fn percent_decode(text: &str, plus_as_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_as_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits a raw query into decoded `(name, value)` pairs, in order.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect()
}

/// How a response's body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length` (unless the headers give one).
    Length,
    /// `Transfer-Encoding: chunked` (no `Content-Length`).
    Chunked,
}

/// A complete response, written as `Connection: close`.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub content_type: String,
    /// Extra headers; a Content-Type, Content-Length or Connection here replaces the default.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, body: &Value) -> Response {
        Response {
            status,
            content_type: "application/json".to_string(),
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }

    /// A JSON answer whose body is given as bytes (not necessarily valid JSON).
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Response {
        Response { status, content_type: "application/json".to_string(), headers: Vec::new(), body }
    }

    /// Sets a header, removing every extra header of that name first (case-insensitive).
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// The body encoded with `compression`, with its `Content-Encoding` set.
    pub fn compressed(mut self, compression: Compression) -> Response {
        if let Some(encoding) = compression.content_encoding() {
            self.body = compression.encode(&self.body);
            self.set_header("Content-Encoding", encoding);
        }
        self
    }

    /// Status line and headers, through the blank line, with a `Content-Length`.
    pub fn head_bytes(&self) -> Vec<u8> {
        self.head(Framing::Length)
    }

    /// Status line and headers, through the blank line, framed as `framing` says.
    pub fn head(&self, framing: Framing) -> Vec<u8> {
        let has = |name: &str| self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        if !has("content-type") {
            head.push_str(&format!("Content-Type: {}\r\n", self.content_type));
        }
        match framing {
            Framing::Length if !has("content-length") => {
                head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
            }
            Framing::Length => {}
            Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
        if !has("connection") {
            head.push_str("Connection: close\r\n");
        }
        if !has("date") {
            head.push_str(&format!("Date: {}\r\n", httpdate::fmt_http_date(SystemTime::now())));
        }
        let chunked = framing == Framing::Chunked;
        for (name, value) in &self.headers {
            if chunked
                && (name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding"))
            {
                continue;
            }
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// The standard reason phrase of a status code.
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(percent_decode("a%20b%2Fc", false), "a b/c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
    }

    #[test]
    fn parses_query_pairs() {
        assert_eq!(
            parse_query("status=success&region=us%2Dwest&flag&limit="),
            vec![
                ("status".to_string(), "success".to_string()),
                ("region".to_string(), "us-west".to_string()),
                ("flag".to_string(), String::new()),
                ("limit".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn parses_head_with_case_insensitive_headers() {
        let req = parse_head(b"GET /v1/builds/a%2Fb?limit=5 HTTP/1.1\r\nauthorization:  Bearer k \r\nHost: x").unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/v1/builds/a%2Fb");
        assert_eq!(req.query, "limit=5");
        assert_eq!(req.header("Authorization"), Some("Bearer k"));
        assert_eq!(req.param("limit").as_deref(), Some("5"));
        assert_eq!(parse_head(b"garbage").unwrap_err(), HeadError::Malformed);
    }
}
