//! The satchel peers' routes and session settings, one file for both frameworks: the handlers
//! take `satchel_session::Session`, an extractor on axum and on actix-web alike, so
//! `bench/peers/satchel-axum` and `bench/peers/satchel-actix` serve the same code
//! (each includes this file with `#[path]`; it is not a crate of its own).
//!
//! Routes (the tower-sessions peer's, plus a few for measuring): `/set_session`, `/get_session`,
//! `/counter`, `/set_permanent`, `/login`, and `/untouched` (inside the session layer, never
//! extracts the session); each peer adds `/plain` outside the layer.
use std::sync::Arc;

use satchel_session::store::{self, Store};
use satchel_session::{CookieFormat, Session, SessionConfig, SessionLayer};

pub async fn set_session(s: Session) -> &'static str {
    s.insert("username", "Kimi");
    s.insert("age", 25);
    "Session data set!"
}

// `Session`, not `ReadOnlySession`: the same extractor as `satchel serve`'s handler, and the
// tower-sessions peer's handler also loads the session as for writing.
pub async fn get_session(s: Session) -> String {
    let username: String = s.get_or("username", "Guest".to_owned());
    let age: i64 = s.get_or("age", 0);
    format!("Hello, {username}! Your age is {age}.")
}

pub async fn counter(s: Session) -> String {
    let n = s.get_or::<i64>("n", 0).saturating_add(1);
    s.insert("n", n);
    n.to_string()
}

// A permanent session (the cookie outlives the browser session): minted for measuring Flask's
// refresh-each-request rule on `/untouched`.
pub async fn set_permanent(s: Session) -> &'static str {
    s.set_permanent(true);
    s.insert("username", "Kimi");
    s.insert("age", 25);
    "Session data set!"
}

// A login as `satchel_session::login` makes it (with a ledger: recorded there).
pub async fn login(s: Session) -> &'static str {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let client = satchel_session::login::SessionIdentifier::new(None, Some("wrk"));
    satchel_session::login(&s, &format!("user{n}"), &client);
    "logged in"
}

/// `/untouched` and `/plain` answer what `/get_session` answers without a session.
pub async fn guest() -> &'static str {
    "Hello, Guest! Your age is 0."
}

/// The settings both peers use: `SECRET_KEY` from the environment, Secure off (wrk talks plain
/// http on loopback, as the tower-sessions peer's `with_secure(false)`).
pub fn config() -> SessionConfig {
    let secret = std::env::var("SECRET_KEY").expect("SECRET_KEY in the environment");
    let mut config = SessionConfig::default().with_secret_key(secret);
    config.cookie_secure = false;
    config
}

/// The sessions for `kind`: `sealed` / `flask` cookie sessions, `sealed+ledger=STORE_URL`
/// (sealed cookies with a login ledger), else a store URL (`memory?max_sessions=N`,
/// `redis://…`, and the SQL stores where the peer's build has them); with a store, that store.
pub fn layer(kind: &str) -> (SessionLayer, Option<Arc<dyn Store>>) {
    let config = config();
    let (built, store) = match kind {
        "sealed" => (SessionLayer::new(config), None),
        "flask" => (
            SessionLayer::new(SessionConfig {
                format: CookieFormat::Flask,
                ..config
            }),
            None,
        ),
        ledger if ledger.starts_with("sealed+ledger=") => {
            let url = &ledger["sealed+ledger=".len()..];
            let built = SessionLayer::builder(config)
                .login_ledger(store::indexed_store_from_url(url).expect("a ledger URL"))
                .build();
            (built, None)
        }
        url => {
            let store = store::store_from_url(url).expect("a store URL");
            let built = SessionLayer::builder(config).store(store.clone()).build();
            (built, Some(store))
        }
    };
    (built.expect("valid session settings"), store)
}
