//! Benchmark peer: the tower-sessions peer's routes and responses on bare axum + the satchel
//! library, plus `/plain`, a handler outside any session layer (the ceiling for this stack).
//! Library against library, where `satchel serve` is the whole app (metrics, CSRF, headers).
//!
//! ```text
//! SECRET_KEY=... satchel-axum-peer ADDR memory?max_sessions=N | redis://127.0.0.1:6390 | sealed | flask
//! SECRET_KEY=... satchel-axum-peer ADDR sealed+ledger=STORE_URL   # cookie sessions with a login ledger
//! ```
//!
//! `/login` logs a fresh user in (mint with it to measure logged-in requests).
//! `/typed/counter` is `/counter` through `TypedSession<Counter>` (a struct with the one field
//! `n`); `/dict/counter` is `/counter` itself on a path of the same shape (two segments, as
//! long but one byte), so the pair shows what the typed view costs over the dict alone.
//! `/floor/counter` (sealed and store kinds) is `/counter` done by hand without the layer
//! (`floor.rs`): what the contract costs on these crates, against which the layer's share shows.
use axum::{routing::get, Router};
use satchel::{
    store, CookieFormat, KeyRing, SealedCodec, Session, SessionConfig, SessionLayer, TypedSession,
};
use serde::{Deserialize, Serialize};

mod floor;
use floor::Floor;

async fn set_session(s: Session) -> &'static str {
    s.insert("username", "Kimi");
    s.insert("age", 25);
    "Session data set!"
}

// `Session`, not `ReadOnlySession`: the same extractor as `satchel serve`'s handler, and the
// tower-sessions peer's handler also loads the session as for writing.
async fn get_session(s: Session) -> String {
    let username: String = s.get_or("username", "Guest".to_owned());
    let age: i64 = s.get_or("age", 0);
    format!("Hello, {username}! Your age is {age}.")
}

async fn counter(s: Session) -> String {
    let n = s.get_or::<i64>("n", 0).saturating_add(1);
    s.insert("n", n);
    n.to_string()
}

/// `/counter`'s session as a struct: the key `n` (other keys, such as `/set_session`'s, are
/// left as they are).
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Counter {
    n: i64,
}

async fn typed_counter(mut counter: TypedSession<Counter>) -> String {
    counter.n = counter.n.saturating_add(1);
    counter.n.to_string()
}

// A permanent session (the cookie outlives the browser session): minted for measuring Flask's
// refresh-each-request rule on `/untouched`.
async fn set_permanent(s: Session) -> &'static str {
    s.set_permanent(true);
    s.insert("username", "Kimi");
    s.insert("age", 25);
    "Session data set!"
}

// A login as `satchel::login` makes it (with a ledger: recorded there).
async fn login(s: Session) -> &'static str {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let client = satchel::login::SessionIdentifier::new(None, Some("wrk"));
    satchel::login(&s, &format!("user{n}"), &client);
    "logged in"
}

fn app(layer: SessionLayer, floor: Option<Floor>) -> Router {
    let floor = floor.map_or_else(Router::new, |floor| {
        Router::new()
            .route("/floor/counter", get(floor::counter))
            .with_state(floor)
    });
    Router::new()
        .route("/login", get(login))
        .route("/set_session", get(set_session))
        .route("/get_session", get(get_session))
        .route("/counter", get(counter))
        .route("/typed/counter", get(typed_counter))
        .route("/dict/counter", get(counter))
        .route("/set_permanent", get(set_permanent))
        // Inside the layer, never extracts the session: what the layer costs a route that
        // ignores the session (a permanent one is still refreshed, as Flask does).
        .route(
            "/untouched",
            get(|| async { "Hello, Guest! Your age is 0." }),
        )
        .layer(layer)
        .route("/plain", get(|| async { "Hello, Guest! Your age is 0." }))
        .merge(floor)
}

/// The layer for `kind`: `sealed` / `flask` cookie sessions, else a store URL; and for
/// `sealed` or a store, the floor route's codec or store (the layer's own).
fn layer(kind: &str) -> (SessionLayer, Option<Floor>) {
    let secret = std::env::var("SECRET_KEY").expect("SECRET_KEY in the environment");
    let mut config = SessionConfig::default().with_secret_key(secret.clone());
    // wrk talks plain http on loopback (the tower-sessions peer's `with_secure(false)`).
    config.cookie_secure = false;
    let mut floor = None;
    let built = match kind {
        "sealed" => {
            let keys = KeyRing::new(secret, [""; 0]);
            let codec = SealedCodec::new(&keys, &config.cookie_name);
            floor = Some(Floor::Sealed(std::sync::Arc::new(codec)));
            SessionLayer::new(config)
        }
        "flask" => SessionLayer::new(SessionConfig {
            format: CookieFormat::Flask,
            ..config
        }),
        ledger if ledger.starts_with("sealed+ledger=") => {
            let url = &ledger["sealed+ledger=".len()..];
            SessionLayer::builder(config)
                .login_ledger(store::indexed_store_from_url(url).expect("a ledger URL"))
                .build()
        }
        url => {
            let store = store::store_from_url(url).expect("a store URL");
            floor = Some(Floor::Store(store.clone()));
            SessionLayer::builder(config).store(store).build()
        }
    };
    (built.expect("valid session settings"), floor)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5003".into());
    let kind = args.next().unwrap_or_else(|| "memory".into());
    let (layer, floor) = layer(&kind);
    let app = app(layer, floor);
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
