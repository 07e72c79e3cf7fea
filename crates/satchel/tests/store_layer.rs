//! Server-side sessions through the real tower stack (axum Router, in process): no lost
//! updates, fencing, expiry, rotation, outages. Every behaviour runs on every store (one module
//! per store); synchronisation is by oneshot channels, never by sleeping.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::{Extension, Router};
use http::StatusCode;
use satchel_session::extract::ReadOnlySession;
use satchel_session::store::{
    Commit, IdHash, Lease, LeaseToken, Loaded, Record, Store, StoreFuture, StoreOptions,
};
use satchel_session::{Clock, LoginRequired, Session, SessionConfig, SessionLayer};
use satchel_testkit::in_process;
use tokio::sync::oneshot;

pub const START: u64 = 1_800_000_000;

/// A handler parked inside its request: it tells `entered`, then waits for `go`.
#[derive(Clone, Default)]
pub struct Gate(Arc<Mutex<Option<Parked>>>);

/// The parked handler's ends: it signals the first, then waits on the second.
type Parked = (oneshot::Sender<()>, oneshot::Receiver<()>);

impl Gate {
    /// Arms the gate: (the "handler entered" signal, the "let it finish" trigger).
    pub fn arm(&self) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (entered_tx, entered_rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel();
        *self.0.lock().unwrap() = Some((entered_tx, go_rx));
        (entered_rx, go_tx)
    }
}

async fn counter(session: Session) -> String {
    let n = session.get_or("n", 0) + 1;
    session.insert("n", n);
    n.to_string()
}

async fn crash(session: Session) -> &'static str {
    session.insert("n", -1);
    panic!("a handler bug")
}

async fn park(session: Session, Extension(gate): Extension<Gate>) -> String {
    let n = session.get_or("n", 0) + 1;
    session.insert("n", n);
    let (entered, go) = gate.0.lock().unwrap().take().expect("armed gate");
    entered.send(()).unwrap();
    go.await.unwrap();
    n.to_string()
}

pub struct App {
    pub router: Router,
    pub layer: SessionLayer,
    pub gate: Gate,
}

pub fn config() -> SessionConfig {
    SessionConfig {
        idle_timeout: Some(Duration::from_secs(600)),
        ..SessionConfig::default()
    }
}

pub fn app_with(
    store: Arc<dyn Store>,
    config: SessionConfig,
    options: StoreOptions,
    clock: Clock,
) -> App {
    let layer = SessionLayer::builder(config)
        .store(store)
        .store_options(options)
        .clock(clock)
        .build()
        .unwrap();
    let gate = Gate::default();
    let router = Router::new()
        .route("/counter", get(counter))
        .route("/park", get(park))
        .route(
            "/read",
            get(|s: ReadOnlySession| async move { s.get_or("n", 0).to_string() }),
        )
        .route(
            "/public",
            get(|s: Option<Session>| async move {
                s.map_or("anonymous".to_string(), |s| s.get_or("n", 0).to_string())
            }),
        )
        .route("/cycle", get(|s: Session| async move { s.cycle_id() }))
        .route("/panic", get(crash))
        .route("/logout", get(|s: Session| async move { s.clear() }))
        .route(
            "/big",
            get(|s: Session| async move {
                s.insert("blob", "x".repeat(100));
            }),
        )
        .route(
            "/both",
            get(|r: ReadOnlySession, a: Session, b: Session| async move {
                let n = r.get_or("n", 0) + 1;
                a.insert("n", n);
                assert_eq!(b.get_or("n", 0), n);
                n.to_string()
            }),
        )
        .route(
            "/login_as_kimi",
            get(|s: Session| async move {
                satchel_session::login(
                    &s,
                    "kimi",
                    &satchel_session::login::SessionIdentifier::new(None, None),
                );
            }),
        )
        .route(
            "/guarded",
            get(|user: LoginRequired, s: Session| async move {
                let n = s.get_or("n", 0) + 1;
                s.insert("n", n);
                format!("{}:{n}", user.user_id)
            }),
        )
        .layer(Extension(gate.clone()))
        .layer(layer.clone());
    App {
        router,
        layer,
        gate,
    }
}

pub fn app(store: Arc<dyn Store>) -> App {
    app_with(store, config(), StoreOptions::default(), Clock::system())
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    /// The session cookie's value if the response set one ("" for a deletion).
    pub cookie: Option<String>,
    pub body: String,
}

impl App {
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let header = cookie.map(|c| format!("session={c}"));
        let reply = in_process::get(&self.router, path, header.as_deref()).await;
        Reply {
            status: reply.status,
            cookie: reply.cookie("session"),
            body: reply.body,
        }
    }

    /// A new session with `n` = 1; its cookie.
    pub async fn session(&self) -> String {
        let reply = self.get("/counter", None).await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.cookie.expect("a new session sets its id")
    }

    pub async fn n(&self, cookie: &str) -> i64 {
        let reply = self.get("/read", Some(cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body.parse().unwrap()
    }
}

/// `tasks` clients each send `rounds` increments, one after another, on ONE session:
/// returns (200s, 503s).
pub async fn hammer(app: &Arc<App>, cookie: &str, tasks: usize, rounds: usize) -> (u64, u64) {
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (app, cookie) = (app.clone(), cookie.to_owned());
        handles.push(tokio::spawn(async move {
            let (mut ok, mut busy) = (0, 0);
            for _ in 0..rounds {
                match app.get("/counter", Some(&cookie)).await.status {
                    StatusCode::OK => ok += 1,
                    StatusCode::SERVICE_UNAVAILABLE => busy += 1,
                    other => panic!("unexpected {other}"),
                }
            }
            (ok, busy)
        }));
    }
    let mut totals = (0, 0);
    for handle in handles {
        let (ok, busy) = handle.await.unwrap();
        totals.0 += ok;
        totals.1 += busy;
    }
    totals
}

/// Where [`Stalling`] stops a writer's request for good.
#[derive(Clone, Copy)]
pub enum StallAt {
    /// After the store took the lease and loaded the record.
    Load,
    /// Before the store sees the commit.
    Commit,
}

/// The real store, except that once armed, one writer's request stops at `at` (it signals,
/// then waits forever): what a client that goes away mid-request leaves behind.
pub struct Stalling {
    inner: Arc<dyn Store>,
    at: StallAt,
    armed: Mutex<Option<oneshot::Sender<()>>>,
}

impl Stalling {
    pub fn new(inner: Arc<dyn Store>, at: StallAt) -> Self {
        Stalling {
            inner,
            at,
            armed: Mutex::new(None),
        }
    }

    /// Arms the stall; the receiver fires when a request reaches it.
    pub fn arm(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        *self.armed.lock().unwrap() = Some(tx);
        rx
    }

    async fn stall_if(&self, at: StallAt) {
        if std::mem::discriminant(&at) != std::mem::discriminant(&self.at) {
            return;
        }
        let armed = self.armed.lock().unwrap().take();
        if let Some(entered) = armed {
            entered.send(()).unwrap();
            std::future::pending::<()>().await;
        }
    }
}

impl Store for Stalling {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        Box::pin(async move {
            let loaded = self.inner.load(id, now, lease).await?;
            if lease.is_some() {
                self.stall_if(StallAt::Load).await;
            }
            Ok(loaded)
        })
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        self.inner.create(id, record, now)
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.stall_if(StallAt::Commit).await;
            self.inner.commit(id, token, commit, now).await
        })
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        self.inner.renew(id, lease)
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        self.inner.touch(id, idle_deadline, now)
    }
}

pub mod behaviours {
    use super::*;
    use satchel_session::store::SessionId;

    pub async fn concurrent_increments_on_one_session_lose_nothing(store: Arc<dyn Store>) {
        let app = Arc::new(app(store));
        let cookie = app.session().await;
        let rounds = crate::common::rounds();
        let (ok, busy) = hammer(&app, &cookie, 32, rounds).await;
        let n = app.n(&cookie).await;
        println!(
            "lost-update: 32 tasks x {rounds} increments: {ok} ok, {busy} busy (503), n = {n} (expected {})",
            1 + ok
        );
        assert_eq!(n, 1 + ok as i64, "an acknowledged increment was lost");
        assert_eq!(busy, app.layer.stats().busy());
        assert!(
            busy as usize <= rounds,
            "{busy} of {} requests were turned away busy",
            32 * rounds
        );
    }

    pub async fn a_parked_writer_blocks_neither_readers_nor_other_sessions(store: Arc<dyn Store>) {
        let app = Arc::new(app(store));
        let one = app.session().await;
        let two = app.session().await;
        let (entered, go) = app.gate.arm();
        let parked = tokio::spawn({
            let (app, one) = (app.clone(), one.clone());
            async move { app.get("/park", Some(&one)).await }
        });
        entered.await.unwrap();
        // The writer of `one` holds its lock and lease now. A reader of `one` and a writer of
        // `two` both complete while it is parked.
        assert_eq!(app.n(&one).await, 1);
        let other = app.get("/counter", Some(&two)).await;
        assert_eq!((other.status, other.body.as_str()), (StatusCode::OK, "2"));
        go.send(()).unwrap();
        assert_eq!(parked.await.unwrap().status, StatusCode::OK);
        assert_eq!(app.n(&one).await, 2);
    }

    /// A session (n = 1) whose writer is parked inside its handler on a 300 ms lease that is
    /// never renewed: the app, the cookie, the sender that lets the writer go on, and its reply.
    async fn parked_past_its_lease(
        store: Arc<dyn Store>,
    ) -> (
        Arc<App>,
        String,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<Reply>,
    ) {
        let options = StoreOptions {
            lease_ttl: Duration::from_millis(300),
            renew_leases: false,
            ..StoreOptions::default()
        };
        let app = Arc::new(app_with(store, config(), options, Clock::system()));
        let cookie = app.session().await;
        let (entered, go) = app.gate.arm();
        let parked = tokio::spawn({
            let (app, cookie) = (app.clone(), cookie.clone());
            async move { app.get("/park", Some(&cookie)).await }
        });
        entered.await.unwrap();
        (app, cookie, go, parked)
    }

    pub async fn a_handler_outliving_its_lease_has_its_commit_refused(store: Arc<dyn Store>) {
        let (app, cookie, go, parked) = parked_past_its_lease(store).await;
        // This writer gets the lease only once the parked one's has expired (the store says
        // when), and commits n = 2.
        let next = app.get("/counter", Some(&cookie)).await;
        assert_eq!((next.status, next.body.as_str()), (StatusCode::OK, "2"));
        go.send(()).unwrap();
        let late = parked.await.unwrap();
        assert_eq!(late.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(late.body.contains("not saved"), "{}", late.body);
        assert_eq!(
            app.n(&cookie).await,
            2,
            "the late commit must not overwrite"
        );
        assert_eq!(app.layer.stats().commit_refused(), 1);
    }

    /// A writer parks past its (unrenewed) lease while `path` ends the session's id; the
    /// writer's late commit is refused and the old id stays dead.
    async fn late_commit_after(store: Arc<dyn Store>, path: &str) {
        let (app, cookie, go, parked) = parked_past_its_lease(store).await;
        let ended = app.get(path, Some(&cookie)).await;
        assert_eq!(ended.status, StatusCode::OK);
        go.send(()).unwrap();
        assert_eq!(
            parked.await.unwrap().status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(app.n(&cookie).await, 0, "the old id must stay dead");
    }

    pub async fn a_late_commit_cannot_resurrect_a_logged_out_session(store: Arc<dyn Store>) {
        late_commit_after(store, "/logout").await;
    }

    pub async fn a_late_commit_cannot_resurrect_a_rotated_id(store: Arc<dyn Store>) {
        late_commit_after(store, "/cycle").await;
    }

    pub async fn a_renewed_lease_outlives_its_first_term(store: Arc<dyn Store>) {
        let options = StoreOptions {
            lease_ttl: Duration::from_millis(300),
            ..StoreOptions::default()
        };
        let app = Arc::new(app_with(store, config(), options, Clock::system()));
        let cookie = app.session().await;
        let (entered, go) = app.gate.arm();
        let parked = tokio::spawn({
            let (app, cookie) = (app.clone(), cookie.clone());
            async move { app.get("/park", Some(&cookie)).await }
        });
        entered.await.unwrap();
        // Three lease terms pass (time passing is the point here, not synchronisation).
        tokio::time::sleep(Duration::from_millis(900)).await;
        go.send(()).unwrap();
        assert_eq!(parked.await.unwrap().status, StatusCode::OK);
        assert_eq!(app.n(&cookie).await, 2);
    }

    pub async fn a_panicking_handler_releases_its_lease(store: Arc<dyn Store>) {
        // A lease long enough that only an explicit release lets the next writer in in time.
        let options = StoreOptions {
            lease_ttl: Duration::from_secs(60),
            lock_wait: Duration::from_secs(3),
            ..StoreOptions::default()
        };
        let app = Arc::new(app_with(store, config(), options, Clock::system()));
        let cookie = app.session().await;
        let crashed = tokio::spawn({
            let (app, cookie) = (app.clone(), cookie.clone());
            async move { app.get("/panic", Some(&cookie)).await }
        });
        assert!(crashed.await.unwrap_err().is_panic());
        let next = app.get("/counter", Some(&cookie)).await;
        assert_eq!((next.status, next.body.as_str()), (StatusCode::OK, "2"));
    }

    pub async fn a_request_dropped_mid_load_gives_its_lease_back(store: Arc<dyn Store>) {
        dropped_mid_request(store, StallAt::Load).await;
    }

    pub async fn a_request_dropped_mid_commit_gives_its_lease_back(store: Arc<dyn Store>) {
        dropped_mid_request(store, StallAt::Commit).await;
    }

    /// A client goes away while its writer waits on the store; with a lease far longer than
    /// the next writer's patience, only a release lets the next writer in.
    async fn dropped_mid_request(store: Arc<dyn Store>, at: StallAt) {
        let options = StoreOptions {
            lease_ttl: Duration::from_secs(60),
            lock_wait: Duration::from_secs(3),
            ..StoreOptions::default()
        };
        let stalling = Arc::new(Stalling::new(store, at));
        let app = Arc::new(app_with(
            stalling.clone(),
            config(),
            options,
            Clock::system(),
        ));
        let cookie = app.session().await;
        let entered = stalling.arm();
        let gone = tokio::spawn({
            let (app, cookie) = (app.clone(), cookie.clone());
            async move { app.get("/counter", Some(&cookie)).await }
        });
        entered.await.unwrap();
        gone.abort();
        assert!(gone.await.unwrap_err().is_cancelled());
        let next = app.get("/counter", Some(&cookie)).await;
        assert_eq!((next.status, next.body.as_str()), (StatusCode::OK, "2"));
    }

    pub async fn unknown_ids_are_never_adopted(store: Arc<dyn Store>) {
        let app = app(store);
        let planted = SessionId::generate().encode();
        let reply = app.get("/counter", Some(&planted)).await;
        assert_eq!(reply.body, "1");
        let issued = reply.cookie.expect("a fresh id");
        assert_ne!(issued, planted);
        assert_eq!(app.n(&planted).await, 0);
        assert_eq!(app.get("/counter", Some("garbage;;")).await.body, "1");
    }

    pub async fn the_cookie_carries_only_an_id(store: Arc<dyn Store>) {
        let app = app(store);
        let cookie = app.session().await;
        assert!(SessionId::parse(&cookie).is_some(), "{cookie}");
        // Unchanged sessions are not re-sent.
        assert_eq!(app.get("/read", Some(&cookie)).await.cookie, None);
        assert_eq!(app.get("/counter", Some(&cookie)).await.cookie, None);
    }

    pub async fn cycle_id_issues_a_new_id_and_kills_the_old(store: Arc<dyn Store>) {
        let app = app(store);
        let old = app.session().await;
        let reply = app.get("/cycle", Some(&old)).await;
        assert_eq!(reply.status, StatusCode::OK);
        let new = reply.cookie.expect("a new id");
        assert_ne!(new, old);
        assert_eq!(app.n(&new).await, 1);
        assert_eq!(app.n(&old).await, 0);
    }

    pub async fn logout_deletes_the_session_for_good(store: Arc<dyn Store>) {
        let app = app(store);
        let cookie = app.session().await;
        let reply = app.get("/logout", Some(&cookie)).await;
        assert_eq!(reply.cookie.as_deref(), Some(""));
        assert_eq!(app.n(&cookie).await, 0);
    }

    pub async fn extractors_in_one_handler_share_one_slot(store: Arc<dyn Store>) {
        let app = app(store);
        let cookie = app.session().await;
        let reply = app.get("/both", Some(&cookie)).await;
        assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "2"));
        assert_eq!(app.n(&cookie).await, 2);
    }

    pub async fn a_login_guard_and_a_session_share_one_slot(store: Arc<dyn Store>) {
        let app = app(store);
        let anonymous = app.get("/guarded", None).await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "{anonymous:?}");
        let cookie = app.session().await;
        let login = app.get("/login_as_kimi", Some(&cookie)).await;
        let cookie = login.cookie.expect("login rotates the id");
        // Both extractors in one handler: one load and one lease, or this would wait for itself
        // (and end in 503 "busy") instead of answering.
        let reply = app.get("/guarded", Some(&cookie)).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "kimi:2")
        );
        assert_eq!(app.n(&cookie).await, 2, "the write was saved");
    }

    pub async fn idle_timeout_expires_unused_sessions(store: Arc<dyn Store>) {
        let (clock, hands) = Clock::manual(START);
        let mut config = config();
        config.idle_timeout = Some(Duration::from_secs(60));
        let app = app_with(store, config, StoreOptions::default(), clock);
        let cookie = app.session().await;
        hands.advance(50);
        assert_eq!(app.n(&cookie).await, 1); // a read refreshes the idle deadline...
        hands.advance(50);
        assert_eq!(app.n(&cookie).await, 1); // ...so 100 s after the start it still lives
        hands.advance(60);
        assert_eq!(app.n(&cookie).await, 0);
    }

    /// A one-request visitor's session lives `new_session_timeout`; one that comes back is
    /// promoted to the full idle lifetime by its second request (a read or a write).
    pub async fn a_one_request_session_expires_soon_unless_it_returns(store: Arc<dyn Store>) {
        let (clock, hands) = Clock::manual(START);
        let mut config = config();
        config.new_session_timeout = Some(Duration::from_secs(120));
        let app = app_with(store, config, StoreOptions::default(), clock);
        let gone = app.session().await;
        let back_by_read = app.session().await;
        let back_by_write = app.session().await;
        hands.advance(60);
        assert_eq!(app.n(&back_by_read).await, 1);
        assert_eq!(app.get("/counter", Some(&back_by_write)).await.body, "2");
        hands.advance(61); // 121 s after the first request: past the new-session timeout
        assert_eq!(
            app.n(&gone).await,
            0,
            "a visitor who never came back is gone"
        );
        hands.advance(300); // 421 s: within the 600 s idle timeout of the second request
        assert_eq!(
            app.n(&back_by_read).await,
            1,
            "a returning reader was promoted"
        );
        assert_eq!(
            app.n(&back_by_write).await,
            2,
            "a returning writer was promoted"
        );
    }

    pub async fn absolute_timeout_expires_even_busy_sessions(store: Arc<dyn Store>) {
        let (clock, hands) = Clock::manual(START);
        let mut config = config();
        config.idle_timeout = Some(Duration::from_secs(60));
        config.absolute_timeout = Some(Duration::from_secs(200));
        let app = app_with(store, config, StoreOptions::default(), clock);
        let cookie = app.session().await;
        for expected in 2..=5 {
            hands.advance(40);
            assert_eq!(
                app.get("/counter", Some(&cookie)).await.body,
                expected.to_string()
            );
        }
        hands.advance(40); // 200 s after the start
        assert_eq!(app.n(&cookie).await, 0);
    }
}

/// Runs every behaviour against the store `$factory().await` gives.
macro_rules! layer_behaviours {
    ($factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(store) = $factory().await {
                    $crate::behaviours::$name(store).await;
                }
            }
        )*
    };
    ($factory:expr) => {
        layer_behaviours!($factory;
            concurrent_increments_on_one_session_lose_nothing,
            a_parked_writer_blocks_neither_readers_nor_other_sessions,
            a_handler_outliving_its_lease_has_its_commit_refused,
            a_late_commit_cannot_resurrect_a_logged_out_session,
            a_late_commit_cannot_resurrect_a_rotated_id,
            a_renewed_lease_outlives_its_first_term,
            a_panicking_handler_releases_its_lease,
            a_request_dropped_mid_load_gives_its_lease_back,
            a_request_dropped_mid_commit_gives_its_lease_back,
            unknown_ids_are_never_adopted,
            the_cookie_carries_only_an_id,
            cycle_id_issues_a_new_id_and_kills_the_old,
            logout_deletes_the_session_for_good,
            extractors_in_one_handler_share_one_slot,
            a_login_guard_and_a_session_share_one_slot,
            idle_timeout_expires_unused_sessions,
            a_one_request_session_expires_soon_unless_it_returns,
            absolute_timeout_expires_even_busy_sessions,
        );
    };
}

mod memory {
    use super::*;
    use satchel_session::store::{MemoryStore, MemoryStoreLimits};

    async fn store() -> Option<Arc<dyn Store>> {
        Some(Arc::new(MemoryStore::default()))
    }

    layer_behaviours!(store);

    #[tokio::test]
    async fn a_cookieless_flood_neither_locks_out_new_visitors_nor_evicts_returning_ones() {
        let limits = MemoryStoreLimits {
            max_sessions: 5,
            ..MemoryStoreLimits::default()
        };
        let app = app(Arc::new(MemoryStore::with_limits(limits)));
        let cookie = app.session().await;
        assert_eq!(app.get("/counter", Some(&cookie)).await.body, "2");
        for _ in 0..50 {
            let newcomer = app.get("/counter", None).await;
            assert_eq!(newcomer.status, StatusCode::OK, "{}", newcomer.body);
            assert_eq!(newcomer.body, "1");
        }
        assert_eq!(app.get("/counter", Some(&cookie)).await.body, "3");
    }

    #[tokio::test]
    async fn an_oversized_session_is_a_500_and_the_old_one_stays() {
        let limits = MemoryStoreLimits {
            max_record_bytes: 64,
            ..MemoryStoreLimits::default()
        };
        let app = app_with(
            Arc::new(MemoryStore::with_limits(limits)),
            config(),
            StoreOptions::default(),
            Clock::system(),
        );
        let cookie = app.session().await;
        let reply = app.get("/big", Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(app.n(&cookie).await, 1);
    }
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use crate::common::{redis_store, redis_url, Fault, FaultProxy, REDIS_ADDR};
    use satchel_session::store::RedisStore;

    async fn store() -> Option<Arc<dyn Store>> {
        redis_url().map(|url| redis_store(&url))
    }

    layer_behaviours!(store);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_outage_is_a_503_and_the_session_survives_it() {
        if redis_url().is_none() {
            return;
        }
        let proxy = FaultProxy::start(REDIS_ADDR).await;
        let store = RedisStore::open(&proxy.url())
            .unwrap()
            .with_prefix(crate::common::prefix())
            .with_timeout(Duration::from_millis(500));
        let app = app(Arc::new(store));
        let cookie = app.session().await;
        assert_eq!(app.get("/counter", Some(&cookie)).await.body, "2");

        proxy.set(Fault::Cut);
        let down = app.get("/counter", Some(&cookie)).await;
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            down.body.contains("session store is not answering"),
            "{}",
            down.body
        );
        assert_eq!(down.cookie, None, "no cookie may replace the real session");
        let public = app.get("/public", Some(&cookie)).await;
        assert_eq!(
            (public.status, public.body.as_str()),
            (StatusCode::OK, "anonymous")
        );
        let reader = app.get("/read", Some(&cookie)).await;
        assert_eq!(reader.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(app.layer.stats().store_errors() >= 3);

        proxy.set(Fault::Up);
        // The connection manager reconnects by itself: within a few attempts, no restart.
        let mut back = None;
        for _ in 0..50 {
            let reply = app.get("/counter", Some(&cookie)).await;
            if reply.status == StatusCode::OK {
                back = Some(reply);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let back = back.expect("requests succeed again once Redis is back");
        assert_eq!(
            back.body, "3",
            "the session was neither lost nor overwritten"
        );
    }

    /// Redis hangs (accepts, never answers): the store's timeout bounds each request.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_store_is_a_503_within_the_timeout() {
        if redis_url().is_none() {
            return;
        }
        let proxy = FaultProxy::start(REDIS_ADDR).await;
        let store = RedisStore::open(&proxy.url())
            .unwrap()
            .with_prefix(crate::common::prefix())
            .with_timeout(Duration::from_millis(300));
        let app = app(Arc::new(store));
        let cookie = app.session().await;
        proxy.set(Fault::Stall);
        let started = std::time::Instant::now();
        let hung = app.get("/counter", Some(&cookie)).await;
        println!("a hung Redis answered 503 after {:?}", started.elapsed());
        assert_eq!(hung.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(hung.body.contains("not answering"), "{}", hung.body);
        proxy.set(Fault::Up);
        let mut back = None;
        for _ in 0..50 {
            let reply = app.get("/counter", Some(&cookie)).await;
            if reply.status == StatusCode::OK {
                back = Some(reply);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(back.expect("recovers without a restart").body, "2");
    }
}
