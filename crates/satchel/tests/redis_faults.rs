//! Redis faults on a private `redis-server` this test starts (never the shared one): an
//! append-only file fsynced on every write (`appendfsync always`), on a free loopback port, in
//! a fresh directory.
//!
//! - a fault-injecting proxy cut in the middle of a load, and the server itself killed with
//!   SIGKILL and restarted from its append-only file: 503s with a body, no panic, recovery
//!   without restarting the app, no acknowledged write lost;
//! - an anonymous flood against the documented bound (`maxmemory` with
//!   `maxmemory-policy volatile-lru`, see SECURITY.md), each of its sessions used twice (the
//!   attack that defeated `volatile-ttl`): Redis stays within its memory, every new visitor
//!   still gets a session, no logged-in session is evicted, an anonymous visitor who keeps
//!   coming back is not either, and none of its requests meets a 503 (its lease is not evicted).
#![cfg(all(feature = "redis", feature = "axum"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use http::{header, Request, StatusCode};
use satchel_session::store::{RedisStore, Store};
use satchel_session::SessionConfig;
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

/// One in-process request to `path`: (status, body, the `session=…` pair it set).
async fn get(
    app: &Router,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, String, Option<String>) {
    let mut request = Request::get(path);
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

async fn counter(app: &Router, cookie: Option<&str>) -> (StatusCode, String, Option<String>) {
    get(app, "/counter", cookie).await
}

/// `/counter`, plus `/login` (logs in as `admin`, permanent or not) and `/whoami`.
fn app_with_logins(store: Arc<dyn Store>) -> Router {
    use axum::routing::get as route;
    use satchel_session::login::SessionIdentifier;
    use satchel_session::Session;
    counter_app_with(SessionConfig::default(), store.clone()).merge(
        Router::new()
            .route(
                "/login",
                route(|s: Session| async move {
                    satchel_session::login(&s, "admin", &SessionIdentifier::new(None, None));
                    "in"
                }),
            )
            .route(
                "/login_permanent",
                route(|s: Session| async move {
                    satchel_session::login(&s, "admin", &SessionIdentifier::new(None, None));
                    s.set_permanent(true);
                    "in"
                }),
            )
            .route(
                "/whoami",
                route(|s: Session| async move {
                    satchel_session::current_user_id(&s).unwrap_or_else(|| "nobody".into())
                }),
            )
            .layer(
                satchel_session::SessionLayer::builder(SessionConfig::default())
                    .store(store)
                    .build()
                    .unwrap(),
            ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_maxmemory_and_volatile_lru_a_flood_of_sessions_used_twice_logs_no_one_out() {
    let Some(redis) = PrivateRedis::start(&["--maxmemory-policy", "volatile-lru"]) else {
        return;
    };
    let app = app_with_logins(store_on(&redis.url()));
    // Logged-in admins: one session-only, one "keep me signed in"; neither is used during
    // the flood.
    let mut admins = Vec::new();
    for path in ["/login", "/login_permanent"] {
        let (_, _, cookie) = get(&app, path, None).await;
        let cookie = cookie.expect("a login cookie");
        assert_eq!(get(&app, "/whoami", Some(&cookie)).await.1, "admin");
        admins.push(cookie);
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
    // The attack of issue 24: each new session used twice, so none looks like a one-request
    // visitor, and each is promoted to the full lifetime (volatile-ttl evicted the users').
    // Redis's LRU clock counts whole seconds, and a real flood runs for many: sessions from
    // earlier seconds are older than anything a returning visitor touches now. This one is
    // compressed into two bursts two seconds apart, so that during the second (and the
    // pause), while a visitor keeps coming back, the first burst's sessions are the older.
    let first = flood_of(&app, 6_000);
    first.await.unwrap();
    // An anonymous visitor who arrives now and keeps coming back while the flood goes on.
    let (_, _, visitor) = counter(&app, None).await;
    let visitor = visitor.expect("a new session");
    let mut visits = 1;
    let quiet = Instant::now() + Duration::from_millis(2_100);
    while Instant::now() < quiet {
        visits += 1;
        assert_eq!(counter(&app, Some(&visitor)).await.1, visits.to_string());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = flood_of(&app, 1_500);
    while !second.is_finished() {
        let (status, body, _) = counter(&app, Some(&visitor)).await;
        visits += 1;
        assert_eq!(
            status,
            StatusCode::OK,
            "the returning visitor got {status}: {body}"
        );
        assert_eq!(
            body,
            visits.to_string(),
            "the returning visitor's session survived"
        );
    }
    second.await.unwrap();
    let flood = 7_500;
    let (used, evicted) = (
        redis.info("memory", "used_memory"),
        redis.info("stats", "evicted_keys"),
    );
    let keys: u64 = redis::cmd("DBSIZE")
        .query(&mut redis.connection().unwrap())
        .unwrap();
    println!(
        "flood of {flood} x 2: used_memory {baseline} -> {used} (maxmemory {limit}), {keys} keys, {evicted} evicted, visitor {visits} visits"
    );
    assert!(evicted > 0, "the flood reached the bound");
    assert!((keys as usize) < flood, "{keys} keys: not bounded");
    // Redis checks the bound before each write; one write may overshoot it a little.
    assert!(
        used <= limit + 64 * 1024,
        "used_memory {used} > maxmemory {limit}"
    );
    for cookie in &admins {
        assert_eq!(
            get(&app, "/whoami", Some(cookie)).await.1,
            "admin",
            "a logged-in session was evicted"
        );
    }
    let (status, body, cookie) = counter(&app, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    assert_eq!(counter(&app, cookie.as_deref()).await.1, "2");
}

/// `sessions` new visitors, each using its session twice, from 8 tasks at once.
fn flood_of(app: &Router, sessions: usize) -> tokio::task::JoinHandle<()> {
    let app = app.clone();
    tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let app = app.clone();
            tasks.spawn(async move {
                for _ in (worker..sessions).step_by(8) {
                    let (status, body, cookie) = counter(&app, None).await;
                    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
                    let cookie = cookie.expect("every new visitor gets a session");
                    assert_eq!(counter(&app, Some(&cookie)).await.0, StatusCode::OK);
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    })
}

/// Logged-in sessions carry no TTL (so Redis never evicts them): the background pass deletes
/// them once their deadline passes, with their index entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_logged_in_sessions_are_swept_from_redis() {
    let Some(redis) = PrivateRedis::start(&[]) else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::open(&redis.url())
            .unwrap()
            .with_prefix(prefix())
            .with_sweep_interval(Some(Duration::from_millis(200))),
    );
    let now = satchel_session::Clock::system().now();
    let user_keys = || -> (u64, u64) {
        let mut connection = redis.connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut connection).unwrap();
        let ttls: Vec<i64> = keys
            .iter()
            .map(|key| redis::cmd("PTTL").arg(key).query(&mut connection).unwrap())
            .collect();
        (
            keys.len() as u64,
            ttls.iter().filter(|&&ttl| ttl == -1).count() as u64,
        )
    };
    // One session expiring in 1 s, one in an hour, both logged in.
    for (user, life) in [("soon", 1), ("later", 3600)] {
        let id = satchel_session::store::SessionId::generate().hash();
        let record =
            satchel_session::store::Record::new(Default::default(), now, now + life, now + life)
                .with_login(satchel_session::store::Login::new(user, None, None));
        assert!(store.create(&id, &record, now).await.unwrap());
    }
    let (keys, persistent) = user_keys();
    assert_eq!(
        (keys, persistent),
        (4, 4),
        "two records and two indexes, none with a TTL"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while user_keys().0 > 2 {
        assert!(
            Instant::now() < deadline,
            "the expired session was not swept: {:?}",
            user_keys()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let index = store.as_index().unwrap();
    let now = satchel_session::Clock::system().now();
    assert!(index.sessions(Some("soon"), now).await.unwrap().is_empty());
    assert_eq!(index.sessions(Some("later"), now).await.unwrap().len(), 1);
}
