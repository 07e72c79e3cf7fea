//! Logout that really logs out, in every mode: cookie sessions (sealed, flask) with a login
//! ledger, and every server-side store (memory, Redis, SQLite, PostgreSQL, MySQL). Each
//! behaviour is written once and run over the table of modes, through the real tower stack
//! (an axum Router), against the real servers (Redis, PostgreSQL, MariaDB, SQLite files).
#![cfg(all(
    feature = "redis",
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql"
))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{header, HeaderMap, Request};
use http_body_util::BodyExt;
use satchel_session::login::{current_user_id, login, logout, SessionIdentifier};
use satchel_session::store::{
    revoke_prefix, IndexedStore, MemoryStore, RedisStore, Revoked, SqlStore,
};
use satchel_session::{Clock, CookieFormat, ManualClock, Session, SessionConfig, SessionLayer};
use tower::ServiceExt;

use common::sql::{url_for, Scratch};

const LIFETIME: u64 = 3600;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The modes: how sessions are kept, and where logins are recorded.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Sealed,
    Flask,
    Memory,
    Redis,
    Sqlite,
    Postgres,
    Mysql,
}

const MODES: [Mode; 7] = [
    Mode::Sealed,
    Mode::Flask,
    Mode::Memory,
    Mode::Redis,
    Mode::Sqlite,
    Mode::Postgres,
    Mode::Mysql,
];

/// A running app in one mode: its router, the index it records logins in, and its clock.
struct App {
    router: Router,
    index: Arc<dyn IndexedStore>,
    hands: ManualClock,
    _scratch: Option<Arc<Scratch>>,
}

/// An SQL store of `kind` on a fresh table (dropped after the test), or `None` if its server
/// is not running (a skip outside CI).
fn sql(kind: &str, clock: &Clock) -> Option<(Arc<dyn IndexedStore>, Arc<Scratch>)> {
    let url = url_for(kind)?;
    let scratch = Arc::new(Scratch::on(&url, &common::sql::table(), None));
    let store = SqlStore::open(&scratch.url)
        .unwrap()
        .with_table(&scratch.table)
        .unwrap()
        .with_sweep_interval(None)
        .with_clock(clock.clone());
    Some((Arc::new(store), scratch))
}

fn config(format: CookieFormat) -> SessionConfig {
    SessionConfig {
        format,
        permanent_session_lifetime: Duration::from_secs(LIFETIME),
        ..SessionConfig::default().with_secret_key(satchel_session::generate_secret_key())
    }
}

fn app(mode: Mode) -> Option<App> {
    let (clock, hands) = Clock::manual(unix_now());
    let mut scratch = None;
    let index: Arc<dyn IndexedStore> = match mode {
        Mode::Sealed | Mode::Flask => {
            // The ledger the app uses by default: an SQLite file.
            let (store, s) = sql("sqlite", &clock)?;
            scratch = Some(s);
            store
        }
        Mode::Memory => Arc::new(MemoryStore::default()),
        Mode::Redis => {
            let url = common::redis_url()?;
            Arc::new(
                RedisStore::open(&url)
                    .unwrap()
                    .with_prefix(common::prefix()),
            )
        }
        Mode::Sqlite | Mode::Postgres | Mode::Mysql => {
            let kind = match mode {
                Mode::Sqlite => "sqlite",
                Mode::Postgres => "postgres",
                _ => "mysql",
            };
            let (store, s) = sql(kind, &clock)?;
            scratch = Some(s);
            store
        }
    };
    let builder = match mode {
        Mode::Sealed => {
            SessionLayer::builder(config(CookieFormat::Sealed)).login_ledger(index.clone())
        }
        Mode::Flask => {
            SessionLayer::builder(config(CookieFormat::Flask)).login_ledger(index.clone())
        }
        _ => SessionLayer::builder(config(CookieFormat::Sealed)).store(index.clone()),
    };
    let layer = builder.clock(clock).build().unwrap();
    let router = Router::new()
        .route(
            "/login/{user}",
            get(
                |session: Session,
                 headers: HeaderMap,
                 axum::extract::Path(user): axum::extract::Path<String>| async move {
                    let agent = headers
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok());
                    let client = SessionIdentifier::new(Some([10, 0, 0, 1].into()), agent);
                    login(&session, &user, &client);
                    session.set_permanent(true);
                    "ok"
                },
            ),
        )
        .route(
            "/me",
            get(|session: Session| async move {
                current_user_id(&session).unwrap_or_else(|| "anonymous".into())
            }),
        )
        .route(
            "/logout",
            get(|session: Session| async move {
                logout(&session);
                "bye"
            }),
        )
        .route(
            "/clear",
            get(|session: Session| async move {
                session.clear();
            }),
        )
        .layer(layer);
    Some(App {
        router,
        index,
        hands,
        _scratch: scratch,
    })
}

struct Reply {
    status: u16,
    body: String,
    cookie: Option<String>,
}

impl App {
    async fn get(&self, path: &str, cookie: Option<&str>, agent: &str) -> Reply {
        let mut request = Request::get(path).header(header::USER_AGENT, agent);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, format!("session={cookie}"));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|pair| pair.strip_prefix("session="))
            .map(str::to_owned)
            .next_back();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            cookie,
        }
    }

    /// Logs `user` in from a device named `agent`: the session cookie it got.
    async fn login(&self, user: &str, agent: &str) -> String {
        let reply = self.get(&format!("/login/{user}"), None, agent).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.cookie.expect("a login sets the cookie")
    }

    async fn who(&self, cookie: &str) -> String {
        let reply = self.get("/me", Some(cookie), "any").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    fn now(&self) -> u64 {
        self.hands.get()
    }

    async fn listed(&self, user: &str) -> Vec<satchel_session::store::SessionEntry> {
        self.index.sessions(Some(user), self.now()).await.unwrap()
    }
}

/// Runs `test` once per mode (each skipped, with a line, when its server is absent).
macro_rules! every_mode {
    ($name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for mode in MODES {
                let Some(app) = app(mode) else { continue };
                println!("{mode:?}");
                super::$name(mode, app).await;
            }
        }
    };
}

mod every {
    use super::*;
    every_mode!(a_copied_cookie_is_not_logged_in_after_logout);
    every_mode!(a_copied_cookie_is_not_logged_in_after_the_session_is_cleared);
    every_mode!(logging_out_everywhere_ends_the_other_device_and_a_new_login_works);
    every_mode!(revoking_one_session_leaves_the_others);
    every_mode!(the_index_lists_logins_with_their_device_and_drops_logged_out_ones);
    every_mode!(index_entries_expire_with_their_sessions);
    every_mode!(no_request_started_after_revoke_user_returned_is_logged_in);
}

async fn a_copied_cookie_is_not_logged_in_after_logout(mode: Mode, app: App) {
    let cookie = app.login("alice", "laptop").await;
    assert_eq!(app.who(&cookie).await, "alice", "{mode:?}");
    let copy = cookie.clone();
    let out = app.get("/logout", Some(&cookie), "laptop").await;
    assert_eq!(out.status, 200, "{mode:?}: {}", out.body);
    assert_eq!(
        app.who(&copy).await,
        "anonymous",
        "{mode:?}: the copy replayed"
    );
    // The cookie the logout sent (if any) is not logged in either.
    if let Some(after) = out.cookie.filter(|c| !c.is_empty()) {
        assert_eq!(app.who(&after).await, "anonymous", "{mode:?}");
    }
}

async fn a_copied_cookie_is_not_logged_in_after_the_session_is_cleared(mode: Mode, app: App) {
    let cookie = app.login("alice", "laptop").await;
    let out = app.get("/clear", Some(&cookie), "laptop").await;
    assert_eq!(out.status, 200, "{mode:?}");
    assert_eq!(app.who(&cookie).await, "anonymous", "{mode:?}");
}

async fn logging_out_everywhere_ends_the_other_device_and_a_new_login_works(mode: Mode, app: App) {
    let laptop = app.login("alice", "laptop").await;
    let phone = app.login("alice", "phone").await;
    let bob = app.login("bob", "desktop").await;
    assert_eq!(app.who(&phone).await, "alice", "{mode:?}");
    let ended = app.index.revoke_user("alice").await.unwrap();
    assert_eq!(ended, 2, "{mode:?}");
    assert_eq!(app.who(&phone).await, "anonymous", "{mode:?}");
    assert_eq!(app.who(&laptop).await, "anonymous", "{mode:?}");
    assert_eq!(
        app.who(&bob).await,
        "bob",
        "{mode:?}: another user was logged out"
    );
    let again = app.login("alice", "tablet").await;
    assert_eq!(app.who(&again).await, "alice", "{mode:?}");
    assert_eq!(app.listed("alice").await.len(), 1);
}

async fn revoking_one_session_leaves_the_others(mode: Mode, app: App) {
    let laptop = app.login("alice", "laptop").await;
    let phone = app.login("alice", "phone").await;
    let sessions = app.listed("alice").await;
    let entry = sessions
        .iter()
        .find(|e| e.user_agent.as_deref() == Some("phone"))
        .unwrap_or_else(|| panic!("{mode:?}: no phone in {sessions:?}"));
    let revoked = revoke_prefix(&*app.index, Some("alice"), &entry.short_id(), app.now())
        .await
        .unwrap();
    assert!(matches!(revoked, Revoked::One(_)), "{mode:?}: {revoked:?}");
    assert_eq!(app.who(&phone).await, "anonymous", "{mode:?}");
    assert_eq!(app.who(&laptop).await, "alice", "{mode:?}");
    // Another user cannot end alice's session by its prefix.
    let left = app.listed("alice").await;
    assert_eq!(left.len(), 1, "{mode:?}");
    let other = revoke_prefix(&*app.index, Some("bob"), &left[0].short_id(), app.now())
        .await
        .unwrap();
    assert_eq!(other, Revoked::NoMatch, "{mode:?}");
    assert_eq!(app.who(&laptop).await, "alice", "{mode:?}");
}

async fn the_index_lists_logins_with_their_device_and_drops_logged_out_ones(mode: Mode, app: App) {
    let before = app.now();
    let laptop = app.login("alice", "laptop").await;
    let _phone = app.login("alice", "phone").await;
    let mut agents: Vec<_> = app
        .index
        .sessions(Some("alice"), app.now())
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            assert_eq!(e.user_id, "alice");
            assert_eq!(e.address.as_deref(), Some("10.0.0.1"), "{mode:?}");
            assert!(
                e.created_at >= before && e.last_seen >= before,
                "{mode:?}: {e:?}"
            );
            assert!(e.expires_at > app.now(), "{mode:?}: {e:?}");
            e.user_agent.unwrap()
        })
        .collect();
    agents.sort();
    assert_eq!(agents, ["laptop", "phone"], "{mode:?}");
    app.get("/logout", Some(&laptop), "laptop").await;
    let left = app.listed("alice").await;
    assert_eq!(left.len(), 1, "{mode:?}: {left:?}");
    assert_eq!(left[0].user_agent.as_deref(), Some("phone"));
    // Listing everyone includes her one session.
    let all = app.index.sessions(None, app.now()).await.unwrap();
    assert!(all.iter().any(|e| e.id == left[0].id), "{mode:?}");
}

async fn index_entries_expire_with_their_sessions(mode: Mode, app: App) {
    let cookie = app.login("alice", "laptop").await;
    assert_eq!(app.listed("alice").await.len(), 1);
    // Past the session's lifetime (and the ledger's slack of a tenth of it) nothing is listed,
    // and the cookie is not logged in.
    app.hands.advance(LIFETIME + LIFETIME / 10 + 1);
    assert_eq!(app.who(&cookie).await, "anonymous", "{mode:?}");
    let listed = app.listed("alice").await;
    assert!(listed.is_empty(), "{mode:?}: {listed:?}");
}

async fn no_request_started_after_revoke_user_returned_is_logged_in(mode: Mode, app: App) {
    let cookie = app.login("alice", "laptop").await;
    let app = Arc::new(app);
    let logged_in = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (app, cookie, stop) = (app.clone(), cookie.clone(), stop.clone());
        let (logged_in, answered) = (logged_in.clone(), answered.clone());
        clients.spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let reply = app.get("/me", Some(&cookie), "laptop").await;
                if reply.body == "alice" {
                    logged_in.fetch_add(1, Ordering::Relaxed);
                }
                answered.fetch_add(1, Ordering::Relaxed);
                seen.push((started, reply.status, reply.body));
            }
            seen
        });
    }
    let wait_for = |counter: &AtomicUsize, target: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while counter.load(Ordering::Relaxed) < target {
            assert!(Instant::now() < deadline, "{mode:?}: the clients stalled");
            std::thread::yield_now();
        }
    };
    // Requests are in flight, logged in, when the revocation starts.
    tokio::task::block_in_place(|| wait_for(&logged_in, 20));
    assert_eq!(app.index.revoke_user("alice").await.unwrap(), 1);
    let revoked_at = Instant::now();
    let answered_then = answered.load(Ordering::Relaxed);
    tokio::task::block_in_place(|| wait_for(&answered, answered_then + 40));
    stop.store(true, Ordering::Relaxed);
    let (mut before, mut after) = (0, 0);
    while let Some(seen) = clients.join_next().await {
        for (started, status, body) in seen.unwrap() {
            if started > revoked_at {
                after += 1;
                assert_ne!(
                    body, "alice",
                    "{mode:?}: a request started after the revocation was logged in ({status})"
                );
            } else if body == "alice" {
                before += 1;
            }
        }
    }
    assert!(
        before > 0 && after > 0,
        "{mode:?}: before {before}, after {after}"
    );
}

/// A table made by the version before the per-user index (its exact DDL) gets the index's
/// columns on first use, and its sessions are listed and revoked like any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sql_table_made_before_the_index_gets_its_columns() {
    for kind in ["sqlite", "postgres", "mysql"] {
        let Some(url) = url_for(kind) else { continue };
        let name = common::sql::table();
        let (blob, text, int) = match kind {
            "sqlite" => ("BLOB", "TEXT", "INTEGER"),
            "postgres" => ("BYTEA", "TEXT", "BIGINT"),
            _ => ("BINARY(32)", "MEDIUMTEXT", "BIGINT"),
        };
        // The raw connection creates the SQLite file (the store would, on first use).
        let raw = match kind {
            "sqlite" => format!("{url}?mode=rwc"),
            _ => url.clone(),
        };
        common::sql::scalar(
            &raw,
            &format!(
                "CREATE TABLE {name} (id {blob} PRIMARY KEY NOT NULL, data {text} NOT NULL, \
                 created_at {int} NOT NULL, idle_deadline {int} NOT NULL, \
                 absolute_deadline {int} NOT NULL, expires_at {int} NOT NULL, \
                 lease {blob}, lease_until {int})"
            ),
        );
        let scratch = Scratch::on(&url, &name, None);
        let now = unix_now();
        let id = satchel_session::store::SessionId::generate().hash();
        let login = satchel_session::store::Login::new("alice", Some("laptop"), None);
        let record =
            satchel_session::store::Record::new(Default::default(), now, now + 60, now + 60)
                .with_login(login);
        use satchel_session::store::{SessionIndex as _, Store as _};
        assert!(
            scratch.store.create(&id, &record, now).await.unwrap(),
            "{kind}"
        );
        let listed = scratch.store.sessions(Some("alice"), now).await.unwrap();
        assert_eq!(listed.len(), 1, "{kind}");
        assert_eq!(listed[0].user_agent.as_deref(), Some("laptop"), "{kind}");
        // A second store on the same table finds the columns there (no second ALTER).
        let again = SqlStore::open(&url).unwrap().with_table(&name).unwrap();
        assert_eq!(again.revoke_user("alice").await.unwrap(), 1, "{kind}");
        assert_eq!(common::sql::user_key_indexes(&url, &name), 1, "{kind}");
    }
}

/// A table the store creates has the per-user index: listing or ending a user's sessions is
/// an index lookup, not a scan of every session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_sql_table_indexes_its_users() {
    for kind in ["sqlite", "postgres", "mysql"] {
        let Some(url) = url_for(kind) else { continue };
        let name = common::sql::table();
        let scratch = Scratch::on(&url, &name, None);
        use satchel_session::store::SessionIndex as _;
        assert!(scratch
            .store
            .sessions(Some("bob"), unix_now())
            .await
            .unwrap()
            .is_empty());
        assert_eq!(common::sql::user_key_indexes(&url, &name), 1, "{kind}");
    }
}
