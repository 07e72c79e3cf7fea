//! The HTTP/1.1 accept loop of `satchel serve`, with the limits a hostile client meets:
//!
//! | limit | default | flag | what happens |
//! |---|---|---|---|
//! | connections at once | 1024 | `--max-connections` | further connections wait in the kernel's accept queue until one closes |
//! | connections at once from one address | 64 | `--max-connections-per-address` | a further connection from that address is closed at once, so one client cannot hold the slots every other client waits for; IPv6 addresses count per /64 (what one client is usually given); trusted proxies (`--trusted-proxies`) are not capped |
//! | request head | 10 s | `--header-timeout` | a connection that has not sent a whole request head in time is closed; the clock starts whenever the connection waits for a head, so it is also the idle keep-alive timeout |
//! | request body and handling | 30 s | `--request-timeout` | `408 Request Timeout` with `Connection: close` (a slow body, read by the handler, is inside this) |
//!
//! Request heads are limited in size by hyper (about 400 KB of buffer, 100 headers), bodies by
//! the app's [`MAX_BODY`](crate::app::MAX_BODY). On shutdown the loop stops accepting and gives
//! connections in flight [`SHUTDOWN_GRACE`] to finish.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use satchel_session::client_addr::{ClientAddr, TrustedProxies};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::app::throttle::address_group;
use crate::app::AppService;

/// How long connections in flight may take to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The per-connection limits (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    /// Connections at once from one address (IPv6: one /64), trusted proxies excepted.
    pub max_per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_per_address: 64,
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; requests reach
/// it with the peer's [`ClientAddr`] and the [`TrustedProxies`] as extensions.
pub async fn serve(
    listener: TcpListener,
    app: impl AppService,
    limits: ConnectionLimits,
    proxies: TrustedProxies,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = PerAddress::default();
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
        let peer_ip = peer.ip().to_canonical();
        let address_slot = if proxies.is_trusted(peer_ip) {
            None
        } else {
            match per_address.take(peer_ip, limits.max_per_address) {
                Some(taken) => Some(taken),
                None => {
                    metrics::counter!("satchel_connections_refused_total").increment(1);
                    tracing::debug!(%peer, "connection closed: too many from this address");
                    continue;
                }
            }
        };
        let app = app.clone();
        let limit = limits.request_timeout;
        let proxies = proxies.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // The peer's address and who may forward another: for the log line, the login
            // throttle and the login's recorded address (`SessionIdentifier::from_request`).
            request.extensions_mut().insert(ClientAddr(peer_ip));
            request.extensions_mut().insert(proxies.clone());
            within_time_limit(limit, app.clone().oneshot(request.map(Body::new)))
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _slots = (slot, address_slot);
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

/// Connections open per address group ([`address_group`]).
#[derive(Clone, Default)]
struct PerAddress(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection counted for its address group; uncounted when dropped.
struct AddressSlot {
    counts: PerAddress,
    group: IpAddr,
}

impl PerAddress {
    /// Counts one more connection from `ip`, unless its group already has `max`.
    fn take(&self, ip: IpAddr, max: usize) -> Option<AddressSlot> {
        let group = address_group(ip);
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(group).or_default();
        if *count >= max.max(1) {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            counts: self.clone(),
            group,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.group) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.group);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_group_holds_at_most_its_cap_and_gets_its_slots_back() {
        let counts = PerAddress::default();
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let first = counts.take(v6("2001:db8::1"), 2).unwrap();
        // Another address of the same /64 is the same client.
        let _second = counts.take(v6("2001:db8::ffff"), 2).unwrap();
        assert!(counts.take(v6("2001:db8::2"), 2).is_none());
        assert!(counts.take(v6("2001:db8:0:1::1"), 2).is_some());
        drop(first);
        assert!(counts.take(v6("2001:db8::3"), 2).is_some());
        assert!(counts.take([192, 0, 2, 1].into(), 2).is_some());
    }
}
