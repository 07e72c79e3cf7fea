//! Helpers shared by the store tests: finding the shared Redis, per-test key prefixes, a
//! fault-injecting TCP proxy, and a tiny HTTP/1.1 client for tests that run real servers.
#![allow(dead_code)] // each test binary uses its own subset

#[cfg(all(feature = "axum", feature = "actix"))]
pub mod adapters;
pub mod contract;
#[cfg(feature = "axum")]
pub mod outage;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod sql;

use std::net::SocketAddr;
use std::time::Duration;

use rand::RngExt as _;
#[cfg(feature = "redis")]
use satchel_session::store::{RedisStore, Store};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The shared Redis that CI starts. Never stopped or flushed by a test: tests use their own
/// key prefix and give every key a TTL.
pub const REDIS_ADDR: &str = "127.0.0.1:6379";

/// `Some(url)` if the shared Redis answers. Without it: a panic under `CI`, else one line
/// saying how to run the test, and `None`.
pub fn redis_url() -> Option<String> {
    let up = satchel_testkit::listening(REDIS_ADDR);
    let how = "start redis-server on 127.0.0.1:6379";
    satchel_testkit::require_or_skip(up, &format!("Redis on {REDIS_ADDR}"), how)
        .then(|| format!("redis://{REDIS_ADDR}"))
}

/// Increments each client sends in the lost-update tests: 8, or `SATCHEL_TEST_ROUNDS` for a
/// longer measurement.
pub fn rounds() -> usize {
    std::env::var("SATCHEL_TEST_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

/// A key prefix no other test (or test run) uses.
pub fn prefix() -> String {
    format!("satchel-test:{:016x}:", rand::rng().random::<u64>())
}

/// A Redis store on `url` under a fresh prefix.
#[cfg(feature = "redis")]
pub fn redis_store(url: &str) -> std::sync::Arc<dyn Store> {
    std::sync::Arc::new(
        RedisStore::open(url)
            .unwrap()
            .with_prefix(prefix())
            .with_timeout(Duration::from_millis(500)),
    )
}

/// What a [`FaultProxy`] does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    Up,
    /// Drop every connection and close new ones at once (Redis down: connection refused).
    Cut,
    /// Keep connections open but forward nothing (Redis hung: only a timeout ends a call).
    Stall,
}

/// A TCP proxy in front of `upstream` that the test can cut, stall and restore, to play a Redis
/// outage without touching the shared Redis.
pub struct FaultProxy {
    pub addr: SocketAddr,
    fault: watch::Sender<Fault>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (fault, _) = watch::channel(Fault::Up);
        let state = fault.clone();
        let upstream = upstream.to_owned();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream.clone(), state.subscribe()));
            }
        });
        FaultProxy { addr, fault }
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }
}

/// One client connection, for as long as the fault allows.
async fn relay(mut client: TcpStream, upstream: String, mut fault: watch::Receiver<Fault>) {
    let now = *fault.borrow_and_update();
    if now == Fault::Up {
        let Ok(mut server) = TcpStream::connect(&upstream).await else {
            return;
        };
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
            _ = fault.wait_for(|f| *f != Fault::Up) => {}
        }
    }
    if *fault.borrow_and_update() == Fault::Stall {
        // Hold the socket silently until the fault changes; then it is dropped.
        let _ = fault.changed().await;
    }
}

/// A bare HTTP/1.1 GET to a real server: (status, session cookie value if set, body). The
/// shared raw client runs on the blocking pool, so a server on this test's runtime keeps
/// answering.
pub async fn http_get(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
) -> (u16, Option<String>, String) {
    let path = path.to_owned();
    let cookie = cookie.map(|c| format!("session={c}"));
    let response = tokio::task::spawn_blocking(move || {
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
        satchel_testkit::http::request(addr, "GET", &path, &headers, b"")
    })
    .await
    .unwrap();
    let set = response
        .set_cookie("session")
        .and_then(|v| v.split(';').next())
        .and_then(|pair| pair.strip_prefix("session="))
        .map(str::to_owned);
    (response.status, set, response.text())
}
