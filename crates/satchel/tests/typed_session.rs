//! `TypedSession<T>`: a struct as the session, through the real tower stack (axum Router, in
//! process) on every backend — sealed and flask cookies, the memory store, SQLite, and Redis and
//! PostgreSQL when they answer — plus schema changes, a session that no longer loads, a typed
//! view kept past its response, and the Flask interop against REAL Flask (`typed_flask.py`).

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::{Extension, Router};
use http::StatusCode;
use satchel_session::store::{
    Commit, IdHash, Lease, LeaseToken, Loaded, Record, Store, StoreFuture,
};
use satchel_session::{CookieFormat, Session, SessionConfig, SessionLayer, TypedSession, Value};
use satchel_testkit::in_process::{self, Reply};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

const KEY: &str = "a long test secret key for the typed session tests";

/// The struct the tutorial-style routes use.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
struct Visit {
    counter: u64,
    username: Option<String>,
}

/// Who is logged in: a struct of `Option`s only, so it can empty the session.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(default)]
struct Login {
    username: Option<String>,
}

/// A typed view kept past its response, handed to the test.
type Handoff = Arc<Mutex<Option<oneshot::Sender<TypedSession<Visit>>>>>;

fn routes() -> Router {
    Router::new()
        .route(
            "/typed/counter",
            get(|mut visit: TypedSession<Visit>| async move {
                visit.counter += 1;
                visit.counter.to_string()
            }),
        )
        .route(
            "/typed/read",
            get(|visit: TypedSession<Visit>| async move {
                format!("{}/{:?}", visit.counter, visit.username)
            }),
        )
        .route(
            // Borrowed mutably, changed, changed back: nothing to save.
            "/typed/changed_back",
            get(|mut visit: TypedSession<Visit>| async move {
                visit.counter += 1;
                visit.counter -= 1;
                visit.counter.to_string()
            }),
        )
        .route(
            "/typed/login",
            get(|mut login: TypedSession<Login>| async move {
                login.username = Some("Kimi".into());
            }),
        )
        .route(
            "/typed/logout",
            get(|mut login: TypedSession<Login>| async move {
                login.username = None;
            }),
        )
        .route(
            // A typed change, then the whole session cleared through the dict.
            "/typed/logout_and_clear",
            get(
                |session: Session, mut visit: TypedSession<Visit>| async move {
                    visit.username = None;
                    session.clear();
                },
            ),
        )
        .route(
            "/typed/reset",
            get(|mut visit: TypedSession<Visit>| async move {
                *visit = Visit::default();
            }),
        )
        .route(
            // A Flask app's own keys, set through the dict session.
            "/dict/flask_keys",
            get(|session: Session| async move {
                session.insert(
                    "_flashes",
                    Value::List(vec![Value::Tuple(vec![
                        "success".into(),
                        "Welcome back!".into(),
                    ])]),
                );
                session.insert("_user_id", "42");
                session.insert("csrf_token", "0f1e2d3c");
            }),
        )
        .route(
            "/dict/dump",
            get(|session: Session| async move { Value::Dict(session.to_dict()).to_string() }),
        )
        .route(
            // Both extractors in one handler: one load, one state.
            "/both",
            get(
                |session: Session, mut visit: TypedSession<Visit>| async move {
                    let typed = visit.update(|v| {
                        v.counter += 1;
                        v.counter
                    });
                    let seen_by_dict: u64 = session.get_or("counter", 0);
                    session.insert("note", "from the dict");
                    format!("{typed}/{seen_by_dict}")
                },
            ),
        )
        .route(
            "/late",
            get(
                |visit: TypedSession<Visit>, Extension(handoff): Extension<Handoff>| async move {
                    let tx = handoff.lock().unwrap().take().expect("one handoff");
                    assert!(tx.send(visit).is_ok(), "the test waits for the typed view");
                    "handed off"
                },
            ),
        )
}

/// How many loads and data-saving commits a store saw.
#[derive(Default)]
struct Counts {
    loads: AtomicU64,
    saves: AtomicU64,
}

/// A store that counts what the layer asks of it.
struct Counting {
    inner: Arc<dyn Store>,
    counts: Arc<Counts>,
}

impl Store for Counting {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        self.counts.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(id, now, lease)
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        self.counts.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.create(id, record, now)
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        if !matches!(commit, Commit::Release) {
            self.counts.saves.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.commit(id, token, commit, now)
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        self.inner.renew(id, lease)
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        self.inner.touch(id, idle_deadline, now)
    }
}

/// Where the sessions of one test app live.
enum Kind {
    Sealed,
    Flask,
    Store(Arc<dyn Store>),
}

struct App {
    router: Router,
    layer: SessionLayer,
    /// A store's counts (cookie backends have none).
    counts: Option<Arc<Counts>>,
    handoff: Handoff,
}

fn app(kind: Kind) -> App {
    let config = SessionConfig::default().with_secret_key(KEY);
    let mut counts = None;
    let layer = match kind {
        Kind::Sealed => SessionLayer::new(config),
        Kind::Flask => SessionLayer::new(SessionConfig {
            format: CookieFormat::Flask,
            ..config
        }),
        Kind::Store(inner) => {
            let shared = Arc::new(Counts::default());
            counts = Some(shared.clone());
            let store = Counting {
                inner,
                counts: shared,
            };
            SessionLayer::builder(config).store(Arc::new(store)).build()
        }
    }
    .expect("valid settings");
    let handoff = Handoff::default();
    App {
        router: routes()
            .merge(schema_routes())
            .layer(Extension(handoff.clone()))
            .layer(layer.clone()),
        layer,
        counts,
        handoff,
    }
}

/// One browser: it keeps the session cookie the responses set.
struct Browser<'a> {
    app: &'a App,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a App) -> Self {
        Browser { app, cookie: None }
    }

    async fn get(&mut self, path: &str) -> Reply {
        let header = self.cookie.as_ref().map(|c| format!("session={c}"));
        let reply = in_process::get(&self.app.router, path, header.as_deref()).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        if let Some(value) = reply.cookie("session") {
            self.cookie = (!value.is_empty()).then_some(value);
        }
        reply
    }

    async fn body(&mut self, path: &str) -> String {
        self.get(path).await.body
    }
}

impl App {
    fn loads(&self) -> Option<u64> {
        self.counts.as_ref().map(|c| c.loads.load(Ordering::SeqCst))
    }

    fn saves(&self) -> Option<u64> {
        self.counts.as_ref().map(|c| c.saves.load(Ordering::SeqCst))
    }
}

/// The behaviours every backend must show.
mod behaviours {
    use super::*;

    pub async fn the_typed_counter_counts_across_requests(app: App) {
        let mut browser = Browser::new(&app);
        for expected in ["1", "2", "3"] {
            assert_eq!(browser.body("/typed/counter").await, expected);
        }
        assert_eq!(browser.body("/typed/read").await, "3/None");
    }

    pub async fn an_unchanged_typed_session_saves_nothing(app: App) {
        let mut browser = Browser::new(&app);
        browser.get("/typed/counter").await;
        // A store files a new session for a short while until it returns (one save, whoever
        // reads it): the dict session's read pays it here.
        browser.get("/dict/dump").await;
        let saves = app.saves();
        for path in ["/typed/read", "/typed/changed_back"] {
            let reply = browser.get(path).await;
            assert!(
                reply.set_cookies().is_empty(),
                "{path} sent {:?}",
                reply.set_cookies()
            );
            assert_eq!(reply.vary(), ["Cookie"], "{path} read the session");
        }
        assert_eq!(
            app.saves(),
            saves,
            "an unchanged typed session commits nothing"
        );
        // A fresh visitor who only reads gets no session at all.
        let mut newcomer = Browser::new(&app);
        let reply = newcomer.get("/typed/read").await;
        assert_eq!(reply.body, "0/None");
        assert!(reply.set_cookies().is_empty());
    }

    pub async fn keys_the_struct_does_not_know_survive_a_typed_write(app: App) {
        let mut browser = Browser::new(&app);
        browser.get("/dict/flask_keys").await;
        assert_eq!(browser.body("/typed/counter").await, "1");
        browser.get("/typed/login").await;
        assert_eq!(
            browser.body("/dict/dump").await,
            "{'_flashes': [('success', 'Welcome back!')], '_user_id': '42', 'counter': 1, \
             'csrf_token': '0f1e2d3c', 'username': 'Kimi'}"
        );
    }

    pub async fn session_and_typed_session_in_one_handler_share_one_load_and_one_state(app: App) {
        let mut browser = Browser::new(&app);
        browser.get("/typed/counter").await;
        let loads = app.loads();
        // The typed change is in the dict at once; the dict's own key is kept by the merge.
        assert_eq!(browser.body("/both").await, "2/2");
        if let (Some(before), Some(after)) = (loads, app.loads()) {
            assert_eq!(after - before, 1, "two extractors, one load");
        }
        assert_eq!(
            browser.body("/dict/dump").await,
            "{'counter': 2, 'note': 'from the dict'}"
        );
    }

    pub async fn a_field_set_to_none_removes_its_key_and_an_emptied_session_is_deleted(app: App) {
        let mut browser = Browser::new(&app);
        browser.get("/typed/login").await;
        assert_eq!(browser.body("/dict/dump").await, "{'username': 'Kimi'}");
        let reply = browser.get("/typed/logout").await;
        assert_eq!(
            reply.cookie("session").as_deref(),
            Some(""),
            "the only key went: Flask's rules delete the session"
        );
        assert_eq!(browser.body("/typed/read").await, "0/None");
        browser.get("/typed/login").await;
        browser.get("/typed/counter").await;
        assert_eq!(browser.body("/typed/read").await, "1/Some(\"Kimi\")");
        browser.get("/typed/logout").await;
        assert_eq!(browser.body("/dict/dump").await, "{'counter': 1}");
        browser.get("/typed/login").await;
        browser.get("/dict/flask_keys").await;
        browser.get("/typed/reset").await;
        assert_eq!(
            browser.body("/dict/dump").await,
            "{'_flashes': [('success', 'Welcome back!')], '_user_id': '42', 'counter': 0, \
             'csrf_token': '0f1e2d3c'}",
            "resetting T writes its values and removes its None fields, never Flask's keys"
        );
    }

    pub async fn a_session_cleared_after_a_typed_change_stays_cleared(app: App) {
        let mut browser = Browser::new(&app);
        browser.get("/typed/login").await;
        browser.get("/typed/counter").await;
        browser.get("/dict/flask_keys").await;
        let reply = browser.get("/typed/logout_and_clear").await;
        assert_eq!(
            reply.cookie("session").as_deref(),
            Some(""),
            "the typed view's unchanged fields are not written back into the cleared session"
        );
        assert_eq!(browser.body("/dict/dump").await, "{}");
    }

    /// 8 tasks x 4 typed increments on one store session: every acknowledged one counts.
    pub async fn concurrent_typed_writers_lose_no_update(app: App) {
        let app = Arc::new(app);
        let mut browser = Browser::new(&app);
        browser.get("/typed/counter").await;
        let cookie = format!("session={}", browser.cookie.clone().unwrap());
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (app, cookie) = (app.clone(), cookie.clone());
            tasks.push(tokio::spawn(async move {
                let mut ok = 0;
                for _ in 0..4 {
                    let reply = in_process::get(&app.router, "/typed/counter", Some(&cookie)).await;
                    match reply.status {
                        StatusCode::OK => ok += 1,
                        StatusCode::SERVICE_UNAVAILABLE => {}
                        other => panic!("unexpected {other}: {}", reply.body),
                    }
                }
                ok
            }));
        }
        let mut ok = 0;
        for task in tasks {
            ok += task.await.unwrap();
        }
        let mut browser = Browser::new(&app);
        browser.cookie = cookie.strip_prefix("session=").map(str::to_owned);
        assert_eq!(
            browser.body("/typed/read").await,
            format!("{}/None", 1 + ok),
            "{ok} increments acknowledged"
        );
        assert!(ok > 0);
    }
}

/// Runs every behaviour on the backend `$kind()` gives (`None`: not available here); a store
/// also runs concurrent writers.
macro_rules! on_backend {
    ($kind:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(kind) = ($kind)() {
                    $crate::behaviours::$name($crate::app(kind)).await;
                }
            }
        )*
    };
    (cookie $kind:expr) => {
        on_backend!($kind;
            the_typed_counter_counts_across_requests,
            an_unchanged_typed_session_saves_nothing,
            keys_the_struct_does_not_know_survive_a_typed_write,
            session_and_typed_session_in_one_handler_share_one_load_and_one_state,
            a_field_set_to_none_removes_its_key_and_an_emptied_session_is_deleted,
            a_session_cleared_after_a_typed_change_stays_cleared,
        );
    };
    (store $kind:expr) => {
        on_backend!(cookie $kind);
        on_backend!($kind; concurrent_typed_writers_lose_no_update);
    };
}

mod sealed {
    on_backend!(cookie || Some(crate::Kind::Sealed));
}

mod flask {
    on_backend!(cookie || Some(crate::Kind::Flask));
}

mod memory {
    use satchel_session::store::MemoryStore;
    use std::sync::Arc;

    on_backend!(store || Some(crate::Kind::Store(Arc::new(MemoryStore::default()))));
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use crate::common::sql::Scratch;

    on_backend!(store || Scratch::shared("sqlite").map(crate::Kind::Store));
}

#[cfg(feature = "postgres")]
mod postgres {
    use crate::common::sql::Scratch;

    on_backend!(store || Scratch::shared("postgres").map(crate::Kind::Store));
}

#[cfg(feature = "redis")]
mod redis {
    use crate::common::{redis_store, redis_url};

    on_backend!(store || redis_url().map(|url| crate::Kind::Store(redis_store(&url))));
}

// ---- Schema changes: one cookie, read by the struct's versions over an app's life ----

/// Version 1 of an app's session.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct V1 {
    counter: u64,
    colour: String,
    legacy: Option<String>,
}

/// V1 with a field added (with a default).
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Added {
    counter: u64,
    colour: String,
    legacy: Option<String>,
    visits_today: u32,
}

/// V1 with `colour` and `legacy` removed.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Removed {
    counter: u64,
}

/// V1 with `colour` renamed.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Renamed {
    counter: u64,
    #[serde(alias = "colour")]
    color: String,
    legacy: Option<String>,
}

/// V1 with `colour`'s type changed: a stored string no longer deserializes.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Retyped {
    counter: u64,
    colour: Vec<String>,
}

fn schema_routes() -> Router {
    Router::new()
        .route(
            "/v1/set",
            get(|mut v: TypedSession<V1>| async move {
                v.counter = 1;
                v.colour = "blue".into();
                v.legacy = Some("old".into());
            }),
        )
        .route(
            "/v1/read_back",
            get(|v: TypedSession<V1>| async move {
                format!("{}/{}/{:?}", v.counter, v.colour, v.legacy)
            }),
        )
        .route(
            "/added/read",
            get(|v: TypedSession<Added>| async move {
                format!(
                    "{}/{}/{}/{:?}",
                    v.counter,
                    v.colour,
                    v.visits_today,
                    v.rejected()
                )
            }),
        )
        .route(
            "/removed/counter",
            get(|mut v: TypedSession<Removed>| async move {
                v.counter += 1;
                v.counter.to_string()
            }),
        )
        .route(
            "/renamed/read",
            get(|v: TypedSession<Renamed>| async move { format!("{}/{}", v.counter, v.color) }),
        )
        .route(
            "/renamed/counter",
            get(|mut v: TypedSession<Renamed>| async move {
                v.counter += 1;
            }),
        )
        .route(
            "/retyped/read",
            get(|v: TypedSession<Retyped>| async move {
                let reason = v.rejected().map(ToString::to_string).unwrap_or_default();
                format!("{}/{:?}/{reason}", v.counter, v.colour)
            }),
        )
        .route(
            "/retyped/counter",
            get(|mut v: TypedSession<Retyped>| async move {
                v.counter += 1;
                v.counter.to_string()
            }),
        )
}

const V1_DUMP: &str = "{'colour': 'blue', 'counter': 1, 'legacy': 'old'}";

#[tokio::test]
async fn a_field_added_with_serde_default_loads_old_sessions() {
    let app = app(Kind::Sealed);
    let mut browser = Browser::new(&app);
    browser.get("/v1/set").await;
    assert_eq!(browser.body("/added/read").await, "1/blue/0/None");
    assert_eq!(app.layer.stats().typed_rejected(), 0);
    assert_eq!(
        browser.body("/dict/dump").await,
        V1_DUMP,
        "a read writes nothing"
    );
}

#[tokio::test]
async fn a_field_removed_from_the_struct_keeps_its_key_in_the_session() {
    let app = app(Kind::Sealed);
    let mut browser = Browser::new(&app);
    browser.get("/v1/set").await;
    assert_eq!(browser.body("/removed/counter").await, "2");
    assert_eq!(
        browser.body("/dict/dump").await,
        "{'colour': 'blue', 'counter': 2, 'legacy': 'old'}"
    );
}

#[tokio::test]
async fn a_field_renamed_with_alias_loads_the_old_key_and_moves_to_the_new_one_on_a_change() {
    let app = app(Kind::Sealed);
    let mut browser = Browser::new(&app);
    browser.get("/v1/set").await;
    assert_eq!(browser.body("/renamed/read").await, "1/blue");
    assert_eq!(
        browser.body("/dict/dump").await,
        V1_DUMP,
        "a read writes nothing"
    );
    // Only the counter changes; the renamed field moves with the write.
    browser.get("/renamed/counter").await;
    assert_eq!(
        browser.body("/dict/dump").await,
        "{'color': 'blue', 'counter': 2, 'legacy': 'old'}"
    );
    assert_eq!(browser.body("/renamed/read").await, "2/blue");
    assert_eq!(app.layer.stats().typed_rejected(), 0);
}

#[tokio::test]
async fn a_session_that_no_longer_loads_is_an_empty_struct_counted_logged_and_kept() {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let app = app(Kind::Sealed);
    let mut browser = Browser::new(&app);
    browser.get("/v1/set").await;
    let reply = browser.get("/retyped/read").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        "0/[]/invalid type: string \"blue\", expected a sequence"
    );
    assert!(reply.set_cookies().is_empty(), "nothing is written over it");
    assert_eq!(app.layer.stats().typed_rejected(), 1);
    let warning = logs.find("does not load as its typed view");
    assert!(
        warning.starts_with("WARN")
            && warning.contains("typed_session::Retyped")
            && warning.contains("reason=invalid type: string \"blue\", expected a sequence"),
        "{warning}"
    );
    assert_eq!(
        browser.body("/dict/dump").await,
        V1_DUMP,
        "the stored data is kept"
    );
    assert_eq!(browser.body("/v1/read_back").await, "1/blue/Some(\"old\")");
}

#[tokio::test]
async fn a_write_after_a_failed_load_overwrites_only_the_structs_own_keys() {
    let app = app(Kind::Sealed);
    let mut browser = Browser::new(&app);
    browser.get("/v1/set").await;
    browser.get("/dict/flask_keys").await;
    assert_eq!(browser.body("/retyped/counter").await, "1");
    assert_eq!(
        browser.body("/dict/dump").await,
        "{'_flashes': [('success', 'Welcome back!')], '_user_id': '42', 'colour': [], \
         'counter': 1, 'csrf_token': '0f1e2d3c', 'legacy': 'old'}"
    );
    // Healed: it loads again.
    assert_eq!(browser.body("/retyped/read").await, "1/[]/");
    assert_eq!(app.layer.stats().typed_rejected(), 1);
}

#[tokio::test]
async fn a_typed_session_kept_past_its_response_is_not_saved_and_says_so() {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let app = app(Kind::Sealed);
    let mut browser = Browser::new(&app);
    browser.get("/typed/counter").await;
    let (tx, rx) = oneshot::channel();
    *app.handoff.lock().unwrap() = Some(tx);
    let reply = browser.get("/late").await;
    assert!(reply.set_cookies().is_empty());
    let mut late = rx.await.unwrap();
    late.counter = 99;
    drop(late);
    let error = logs.find("changed after its response was saved");
    assert!(error.starts_with("ERROR"), "{error}");
    assert_eq!(browser.body("/typed/read").await, "1/None");
}

#[tokio::test]
async fn option_typed_session_is_none_without_a_layer() {
    let router: Router = Router::new().route(
        "/maybe",
        get(|visit: Option<TypedSession<Visit>>| async move {
            if visit.is_some() {
                "some"
            } else {
                "none"
            }
        }),
    );
    assert_eq!(in_process::get(&router, "/maybe", None).await.body, "none");
    let router: Router = Router::new().route(
        "/must",
        get(|_: TypedSession<Visit>| async { "unreachable" }),
    );
    let reply = in_process::get(&router, "/must", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
}

// ---- Flask interop, against real Flask ----

/// What the Flask side of the interop test uses: a shop's session in a struct.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Shop {
    counter: u64,
    cart: Vec<String>,
    username: Option<String>,
}

fn flask_app() -> (Router, SessionLayer) {
    let config = SessionConfig {
        format: CookieFormat::Flask,
        ..SessionConfig::flask_defaults().with_secret_key(KEY)
    };
    let layer = SessionLayer::new(config).unwrap();
    let router = Router::new()
        .route(
            "/shop/visit",
            get(|mut shop: TypedSession<Shop>| async move {
                shop.counter += 1;
                shop.username = Some("Kimi".into());
                format!("{}/{}", shop.counter, shop.cart.join("+"))
            }),
        )
        .route(
            "/shop/add",
            get(|mut shop: TypedSession<Shop>| async move {
                shop.cart.push("sugar".into());
            }),
        )
        .layer(layer.clone());
    (router, layer)
}

/// Runs `typed_flask.py KEY args...` and gives what it prints.
fn flask(python: &Path, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/typed_flask.py");
    let out = Command::new(python)
        .arg(script)
        .arg(KEY)
        .args(args)
        .output()
        .expect("run typed_flask.py");
    assert!(
        out.status.success(),
        "typed_flask.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn flasks_own_keys_survive_a_typed_write_and_flask_reads_the_typed_fields() {
    let Some(python) = satchel_testkit::python_with("flask") else {
        return;
    };
    // Flask makes the session: a flash, Flask-Login's keys, a CSRF token, a tuple, a counter.
    let made_by_flask = flask(&python, &["prepare"]);
    let (router, layer) = flask_app();
    let reply = in_process::get(
        &router,
        "/shop/visit",
        Some(&format!("session={made_by_flask}")),
    )
    .await;
    assert_eq!(
        reply.body, "6/tea+milk",
        "the typed view read Flask's session"
    );
    let written = reply.cookie("session").expect("a change is saved");
    let seen: serde_json::Value =
        serde_json::from_str(&flask(&python, &["dump", &written])).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({
            "_flashes": "[('success', 'Welcome back!')]",
            "_fresh": "True",
            "_user_id": "'42'",
            "csrf_token": "'0f1e2d3c4b5a69788796a5b4c3d2e1f0'",
            "cart": "('tea', 'milk')",
            "counter": "6",
            "username": "'Kimi'",
        }),
        "Flask sees its own keys untouched (the unchanged cart still a tuple) and the typed fields"
    );
    // A changed field is written as the struct has it (a list), the rest untouched.
    let reply = in_process::get(&router, "/shop/add", Some(&format!("session={written}"))).await;
    let written = reply.cookie("session").expect("a change is saved");
    let seen: serde_json::Value =
        serde_json::from_str(&flask(&python, &["dump", &written])).unwrap();
    assert_eq!(seen["cart"], "['tea', 'milk', 'sugar']");
    assert_eq!(seen["_flashes"], "[('success', 'Welcome back!')]");
    assert_eq!(layer.stats().typed_rejected(), 0);
}

// ---- A log capture for the tests that pin what is logged ----

/// Every event logged on this thread while set as the default subscriber, one line each:
/// `LEVEL field=value ...`.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<String>>>);

impl Logs {
    /// The first line containing `text` (panics, listing all, if none does).
    fn find(&self, text: &str) -> String {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .find(|line| line.contains(text))
            .cloned()
            .unwrap_or_else(|| panic!("no log line contains {text:?}: {lines:#?}"))
    }
}

struct Line<'a>(&'a mut String);

impl tracing::field::Visit for Line<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = event.metadata().level().to_string();
        event.record(&mut Line(&mut line));
        self.0.lock().unwrap().push(line);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
