//! The accept loop and per-connection handling, including fault injection on the wire.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::api::pipecat_error;
use crate::http::{self, HeadError, Response};
use crate::scenario::FaultKind;
use crate::state::Shared;

/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the client to close after the answer, to avoid an RST.
const LINGER: Duration = Duration::from_secs(1);
/// Pause between the half body and the RST, so the half body leaves the send queue.
const MID_BODY_PAUSE: Duration = Duration::from_millis(20);

/// Serves until `stop` fires (or its sender is dropped) or the scenario's lifetime ends.
pub(crate) async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
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
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(handle(stream, Arc::clone(&shared)));
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

async fn handle(mut stream: TcpStream, shared: Arc<Shared>) {
    let req = match tokio::time::timeout(HEAD_TIMEOUT, http::read_head(&mut stream)).await {
        Ok(Ok(req)) => req,
        Ok(Err(HeadError::Malformed)) => {
            let response = pipecat_error(400, "Malformed request", "BAD_REQUEST");
            send(stream, &response).await;
            return;
        }
        Ok(Err(HeadError::TooLarge)) => {
            let response = pipecat_error(431, "Request head too large", "BAD_REQUEST");
            send(stream, &response).await;
            return;
        }
        Ok(Err(HeadError::Closed)) | Err(_) => return,
    };
    match shared.arrive(&req) {
        None => send(stream, &shared.answer(&req)).await,
        Some(FaultKind::Status { code, body, headers }) => {
            let response = Response {
                status: code,
                content_type: "application/json".to_string(),
                headers,
                body: body.into_bytes(),
            };
            send(stream, &response).await;
        }
        Some(FaultKind::Body { code, content_type, body }) => {
            let response = Response { status: code, content_type, headers: Vec::new(), body };
            send(stream, &response).await;
        }
        Some(FaultKind::Reset) => reset(stream),
        Some(FaultKind::ResetMidBody) => {
            let response = shared.answer(&req);
            let half = &response.body[..response.body.len() / 2];
            if stream.write_all(&response.head_bytes()).await.is_ok()
                && stream.write_all(half).await.is_ok()
                && stream.flush().await.is_ok()
            {
                tokio::time::sleep(MID_BODY_PAUSE).await;
            }
            reset(stream);
        }
        Some(FaultKind::Delay(wait)) => {
            tokio::time::sleep(wait).await;
            send(stream, &shared.answer(&req)).await;
        }
        Some(FaultKind::Hang) => {
            // Hold the connection without answering until the client gives up.
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
    }
}

/// Writes the whole response, half-closes, and waits briefly for the client to close.
async fn send(mut stream: TcpStream, response: &Response) {
    let written = async {
        stream.write_all(&response.head_bytes()).await?;
        stream.write_all(&response.body).await?;
        stream.flush().await?;
        stream.shutdown().await
    };
    if written.await.is_err() {
        return;
    }
    let mut sink = [0u8; 1024];
    let drain = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Closes with RST (SO_LINGER 0).
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
