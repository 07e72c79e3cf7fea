//! Helpers shared by the store tests: finding the shared Redis, per-test key prefixes, a
//! fault-injecting TCP proxy, and a tiny HTTP/1.1 client for tests that run real servers.
#![allow(dead_code)] // each test binary uses its own subset

pub mod contract;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod sql;

use std::net::SocketAddr;
use std::time::Duration;

use rand::Rng;
#[cfg(feature = "redis")]
use satchel::store::{RedisStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The shared Redis that CI starts. Never stopped or flushed by a test: tests use their own
/// key prefix and give every key a TTL.
pub const REDIS_ADDR: &str = "127.0.0.1:6379";

/// `Some(url)` if the shared Redis answers. Without it: a panic under `CI`, else one line
/// saying how to run the test, and `None`.
pub fn redis_url() -> Option<String> {
    let addr: SocketAddr = REDIS_ADDR.parse().unwrap();
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
        return Some(format!("redis://{REDIS_ADDR}"));
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but Redis is not running on {REDIS_ADDR}: start redis-server");
    }
    println!("skipped: no Redis on {REDIS_ADDR} (start redis-server to run this test; under CI=1 it is required)");
    None
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
    format!("satchel-test:{:016x}:", rand::thread_rng().gen::<u64>())
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

/// A bare HTTP/1.1 GET to a real server: (status, session cookie value if set, body).
pub async fn http_get(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: session={c}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{cookie}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let set = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.eq_ignore_ascii_case("set-cookie") {
            return None;
        }
        let pair = value.trim().split(';').next()?;
        pair.strip_prefix("session=").map(str::to_owned)
    });
    (status, set, body.to_owned())
}
