//! The accept loop and per-connection handling over TCP or TLS, including fault injection on the wire.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::api::pipecat_error;
use crate::http::{self, Framing, HeadError, Response};
use crate::scenario::{ClockSkew, FaultKind};
use crate::state::Shared;

/// How long a client may take to complete the TLS handshake, and then to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the client to close after the answer, to avoid an RST.
const LINGER: Duration = Duration::from_secs(1);
/// Pause between the half body and the RST, so the half body leaves the send queue.
const MID_BODY_PAUSE: Duration = Duration::from_millis(20);

/// One accepted connection: plain TCP, or TLS over TCP.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The TCP socket underneath.
    fn tcp(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Conn for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Serves until `stop` fires (or its sender is dropped) or the scenario's lifetime ends;
/// over TLS when given an acceptor.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
    tls: Option<TlsAcceptor>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("fake-api: cannot register listener: {error}");
            return;
        }
    };
    let lifetime = tokio::time::sleep(shared.scenario.lifetime);
    tokio::pin!(lifetime);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            () = &mut lifetime => break,
            accepted = listener.accept() => match (accepted, &tls) {
                (Ok((stream, _)), None) => {
                    tokio::spawn(handle(stream, Arc::clone(&shared)));
                }
                (Ok((stream, _)), Some(acceptor)) => {
                    let (acceptor, shared) = (acceptor.clone(), Arc::clone(&shared));
                    tokio::spawn(async move {
                        // A failed or stalled handshake just drops the connection.
                        if let Ok(Ok(stream)) = tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(stream)).await {
                            handle(stream, shared).await;
                        }
                    });
                }
                // E.g. out of file descriptors: back off instead of spinning.
                (Err(_), _) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

async fn handle(mut stream: impl Conn, shared: Arc<Shared>) {
    let compression = shared.scenario.compression;
    let skew = shared.scenario.clock_skew;
    let req = match tokio::time::timeout(HEAD_TIMEOUT, http::read_head(&mut stream)).await {
        Ok(Ok(req)) => req,
        Ok(Err(HeadError::Malformed)) => {
            let response = pipecat_error(400, "Malformed request", "BAD_REQUEST");
            send(stream, &dated(response.compressed(compression), skew)).await;
            return;
        }
        Ok(Err(HeadError::TooLarge)) => {
            let response = pipecat_error(431, "Request head too large", "BAD_REQUEST");
            send(stream, &dated(response.compressed(compression), skew)).await;
            return;
        }
        Ok(Err(HeadError::Closed)) | Err(_) => return,
    };
    let real = || dated(shared.answer(&req).compressed(compression), skew);
    let fault = shared.arrive(&req);
    match fault.map(|index| &shared.scenario.faults[index].kind) {
        None => send(stream, &real()).await,
        Some(FaultKind::Status { code, body, headers }) => {
            let response = Response::json_bytes(*code, body.clone().into_bytes()).compressed(compression);
            send(stream, &with_headers(dated(response, skew), headers.clone())).await;
        }
        Some(FaultKind::Body { code, content_type, body }) => {
            let response =
                Response { status: *code, content_type: content_type.clone(), headers: Vec::new(), body: body.clone() };
            send(stream, &dated(response.compressed(compression), skew)).await;
        }
        Some(FaultKind::Reset) => reset(stream),
        Some(FaultKind::ResetMidBody) => {
            let response = real();
            let half = &response.body[..response.body.len() / 2];
            if write(&mut stream, &[&response.head_bytes(), half]).await {
                tokio::time::sleep(MID_BODY_PAUSE).await;
            }
            reset(stream);
        }
        Some(FaultKind::Delay(wait)) => {
            tokio::time::sleep(*wait).await;
            send(stream, &real()).await;
        }
        Some(FaultKind::Hang) => {
            // Hold the connection without answering until the client gives up.
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Some(FaultKind::Compressed { code, encoding, .. }) => {
            let body = fault.and_then(|index| shared.encoded_body(index)).unwrap_or_default().to_vec();
            let mut response = Response::json_bytes(*code, body);
            if let Some(name) = encoding.content_encoding() {
                response.set_header("Content-Encoding", name);
            }
            send(stream, &dated(response, skew)).await;
        }
        Some(FaultKind::ChunkedCut) => {
            let response = real();
            let body = &response.body;
            // A chunk of size 0 would end the body properly: at least one byte when there is one.
            let half = &body[..(body.len() / 2).max(1).min(body.len())];
            let mut wire = response.head(Framing::Chunked);
            if !half.is_empty() {
                wire.extend_from_slice(format!("{:x}\r\n", half.len()).as_bytes());
                wire.extend_from_slice(half);
                wire.extend_from_slice(b"\r\n");
            }
            if write(&mut stream, &[&wire]).await {
                close(stream).await;
            }
        }
        Some(FaultKind::BadChunk) => {
            let response = real();
            if write(&mut stream, &[&response.head(Framing::Chunked), b"zz\r\n"]).await {
                close(stream).await;
            }
        }
        Some(FaultKind::Trickle { every, bytes }) => {
            let response = real();
            if !write(&mut stream, &[&response.head_bytes()]).await {
                return;
            }
            for piece in response.body.chunks((*bytes).max(1)) {
                tokio::time::sleep(*every).await;
                if !write(&mut stream, &[piece]).await {
                    return;
                }
            }
            close(stream).await;
        }
        Some(FaultKind::Headers(headers)) => send(stream, &with_headers(real(), headers.clone())).await,
    }
}

/// `response` with the `Date` of a server whose clock is off by `skew` (without a skew, the
/// head writes the local time itself, as it always has).
fn dated(mut response: Response, skew: ClockSkew) -> Response {
    if skew != ClockSkew::NONE {
        response.set_header("Date", &httpdate::fmt_http_date(skew.apply(SystemTime::now())));
    }
    response
}

/// `response` with `headers` added after removing its own extra headers of the same names (its
/// default Content-Type, Content-Length, Connection and Date yield to them when written).
fn with_headers(mut response: Response, headers: Vec<(String, String)>) -> Response {
    response.headers.retain(|(own, _)| !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case(own)));
    response.headers.extend(headers);
    response
}

/// Writes the whole response, then closes cleanly.
async fn send(mut stream: impl Conn, response: &Response) {
    if write(&mut stream, &[&response.head_bytes(), &response.body]).await {
        close(stream).await;
    }
}

/// Writes `parts` in order and flushes; whether all of it went out.
async fn write(stream: &mut impl Conn, parts: &[&[u8]]) -> bool {
    for part in parts {
        if stream.write_all(part).await.is_err() {
            return false;
        }
    }
    stream.flush().await.is_ok()
}

/// Half-closes (over TLS: after a close_notify), and waits briefly for the client to close.
async fn close(mut stream: impl Conn) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 1024];
    let drain = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Closes with RST (SO_LINGER 0).
fn reset(stream: impl Conn) {
    let _ = stream.tcp().set_zero_linger();
    drop(stream);
}
