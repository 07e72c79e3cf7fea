//! The HTTP/1.1 accept loop of `satchel serve`, with the limits a hostile client meets:
//!
//! | limit | default | flag | what happens |
//! |---|---|---|---|
//! | connections at once | 1024 | `--max-connections` | further connections wait in the kernel's accept queue until one closes |
//! | request head | 10 s | `--header-timeout` | a connection that has not sent a whole request head in time is closed; the clock starts whenever the connection waits for a head, so it is also the idle keep-alive timeout |
//! | request body and handling | 30 s | `--request-timeout` | `408 Request Timeout` with `Connection: close` (a slow body, read by the handler, is inside this) |
//!
//! Request heads are limited in size by hyper (about 400 KB of buffer, 100 headers), bodies by
//! the app's [`MAX_BODY`](crate::app::MAX_BODY). On shutdown the loop stops accepting and gives
//! connections in flight [`SHUTDOWN_GRACE`] to finish.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use satchel::login::ClientAddr;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::app::AppService;

/// How long connections in flight may take to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The per-connection limits (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: impl AppService,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let limit = limits.request_timeout;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // The client's address, for the log line and the login identifier.
            request.extensions_mut().insert(ClientAddr(peer.ip()));
            within_time_limit(limit, app.clone().oneshot(request.map(Body::new)))
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open {SHUTDOWN_GRACE:?} after shutdown began; closing");
    }
}

/// `answer`, or `408` (and the connection closed) when reading the body and handling the
/// request take longer than `limit`.
async fn within_time_limit(
    limit: Duration,
    answer: impl Future<Output = Result<Response, Infallible>>,
) -> Result<Response, Infallible> {
    match tokio::time::timeout(limit, answer).await {
        Ok(response) => response,
        Err(_) => Ok((
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            format!(
                "408 Request Timeout: the request was not received and answered within {} s\n",
                limit.as_secs_f64()
            ),
        )
            .into_response()),
    }
}
