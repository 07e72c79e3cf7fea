//! Redis faults on a private `redis-server` this test starts (never the shared one): an
//! append-only file fsynced on every write (`appendfsync always`), on a free loopback port, in
//! a fresh directory.
//!
//! - a fault-injecting proxy cut in the middle of a load, and the server itself killed with
//!   SIGKILL and restarted from its append-only file: 503s with a body, no panic, recovery
//!   without restarting the app, no acknowledged write lost;
//! - an anonymous flood against the documented bound (`maxmemory` with
//!   `maxmemory-policy volatile-ttl`, see SECURITY.md): Redis stays within its memory, every
//!   new visitor still gets a session, and returning sessions are not the ones evicted.
#![cfg(all(feature = "redis", feature = "axum"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use http::{header, Request, StatusCode};
use satchel::store::{RedisStore, Store};
use satchel::SessionConfig;
use tower::ServiceExt as _;

use common::outage::{counter_app_with, load_through_outage};
use common::{prefix, Fault, FaultProxy};

/// A `redis-server` of this test's own, killed when dropped.
struct PrivateRedis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
}

impl PrivateRedis {
    /// `redis-server` with `args` on a free port in a fresh directory, or `None` (skipped, a
    /// failure under CI) if there is no `redis-server` binary.
    fn start(args: &[&str]) -> Option<Self> {
        let present = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !satchel_testkit::require_or_skip(present, "redis-server binary", "install redis-server")
        {
            return None;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("redis-{port}-{}", prefix()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = PrivateRedis {
            child: None,
            port,
            dir,
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        redis.spawn();
        Some(redis)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", "", "--protected-mode", "yes"])
            .args(&self.args)
            .stdout(std::fs::File::create(self.dir.join("redis.log")).unwrap())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        // Up once it answers PING (it loads the append-only file before that).
        while self.ping().is_err() {
            assert!(
                Instant::now() < deadline,
                "the private redis-server did not come up"
            );
            std::thread::park_timeout(Duration::from_millis(20));
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn url(&self) -> String {
        format!("redis://{}", self.addr())
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(2))
    }

    fn ping(&self) -> redis::RedisResult<String> {
        redis::cmd("PING").query(&mut self.connection()?)
    }

    /// One field of `INFO section`.
    fn info(&self, section: &str, field: &str) -> u64 {
        let text: String = redis::cmd("INFO")
            .arg(section)
            .query(&mut self.connection().unwrap())
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("INFO {section} has no {field}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// SIGKILL: no shutdown, no final fsync; what survives is what the append-only file holds.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

const DURABLE: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];

fn store_on(url: &str) -> Arc<dyn Store> {
    Arc::new(
        RedisStore::open(url)
            .unwrap()
            .with_prefix(prefix())
            .with_timeout(Duration::from_millis(500)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_in_front_of_a_durable_redis_gives_503s_and_loses_no_acknowledged_write() {
    let Some(redis) = PrivateRedis::start(DURABLE) else {
        return;
    };
    let proxy = FaultProxy::start(&redis.addr()).await;
    let outcome = load_through_outage(
        "redis proxy cut",
        store_on(&proxy.url()),
        || proxy.set(Fault::Cut),
        || proxy.set(Fault::Up),
    )
    .await;
    assert!(outcome.unavailable >= 20, "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_killed_mid_load_and_restarted_from_its_append_only_file_loses_no_acknowledged_write(
) {
    let Some(mut redis) = PrivateRedis::start(DURABLE) else {
        return;
    };
    let url = redis.url();
    let redis = std::sync::Mutex::new(&mut redis);
    let outcome = load_through_outage(
        "redis SIGKILL + restart",
        store_on(&url),
        || redis.lock().unwrap().kill(),
        || redis.lock().unwrap().spawn(),
    )
    .await;
    assert!(outcome.n >= outcome.acknowledged + 2, "{outcome:?}");
}

/// One in-process request: (status, body, the `session=…` pair it set).
async fn counter(app: &Router, cookie: Option<&str>) -> (StatusCode, String, Option<String>) {
    let mut request = Request::get("/counter");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let set = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned(), set)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_maxmemory_and_volatile_ttl_an_anonymous_flood_stays_bounded_and_spares_returning_sessions(
) {
    let Some(redis) = PrivateRedis::start(&["--maxmemory-policy", "volatile-ttl"]) else {
        return;
    };
    // The default settings: a new session lives 30 minutes until its second request, then the
    // full lifetime.
    let app = counter_app_with(SessionConfig::default(), store_on(&redis.url()));
    // Twenty visitors who came back (promoted to the full lifetime).
    let mut returning = Vec::new();
    for _ in 0..20 {
        let (_, _, cookie) = counter(&app, None).await;
        let cookie = cookie.expect("a new session");
        assert_eq!(counter(&app, Some(&cookie)).await.1, "2");
        returning.push(cookie);
    }
    // Room for a few thousand more sessions, no more.
    let baseline = redis.info("memory", "used_memory");
    let limit = baseline + 1024 * 1024;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(limit)
        .query(&mut redis.connection().unwrap())
        .unwrap();
    let flood = 20_000;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let app = app.clone();
        tasks.spawn(async move {
            for _ in (worker..flood).step_by(8) {
                let (status, body, cookie) = counter(&app, None).await;
                assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
                assert!(cookie.is_some(), "every new visitor gets a session");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let (used, evicted) = (
        redis.info("memory", "used_memory"),
        redis.info("stats", "evicted_keys"),
    );
    let keys: u64 = redis::cmd("DBSIZE")
        .query(&mut redis.connection().unwrap())
        .unwrap();
    println!(
        "flood of {flood}: used_memory {baseline} -> {used} (maxmemory {limit}), {keys} keys, {evicted} evicted"
    );
    assert!(evicted > 0, "the flood reached the bound");
    assert!((keys as usize) < flood, "{keys} keys: not bounded");
    // Redis checks the bound before each write; one write may overshoot it a little.
    assert!(
        used <= limit + 64 * 1024,
        "used_memory {used} > maxmemory {limit}"
    );
    for cookie in &returning {
        assert_eq!(
            counter(&app, Some(cookie)).await.1,
            "3",
            "a returning session was evicted"
        );
    }
    let (status, body, cookie) = counter(&app, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    assert_eq!(counter(&app, cookie.as_deref()).await.1, "2");
}
