//! Benchmark peer: the satchel peers' routes and responses on actix-web 4 + actix-session 0.11,
//! plus `/plain`, a handler outside the session middleware (the ceiling for this stack).
//!
//! ```text
//! SECRET_KEY=... actix-session-peer ADDR cookie                     # CookieSessionStore
//! SECRET_KEY=... actix-session-peer ADDR redis://127.0.0.1:6390     # RedisSessionStore
//! ```
//!
//! actix-session's defaults otherwise: the cookie is private (AES-GCM, with a key derived from
//! `SECRET_KEY`; for Redis it holds the session key), a browser session, and the state saved
//! only when a handler changed it. Secure is off: wrk talks plain http on loopback. Like the
//! satchel-actix peer, one worker per CPU (actix-web's default); the Redis connection is opened
//! at startup on the main thread's runtime, as actix-session's docs do it.
use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
use actix_session::{Session, SessionMiddleware};
use actix_web::{cookie::Key, web, App, HttpServer};

async fn set_session(s: Session) -> &'static str {
    s.insert("username", "Kimi").unwrap();
    s.insert("age", 25).unwrap();
    "Session data set!"
}

async fn get_session(s: Session) -> String {
    let username: String = s.get("username").unwrap().unwrap_or_else(|| "Guest".into());
    let age: i64 = s.get("age").unwrap().unwrap_or(0);
    format!("Hello, {username}! Your age is {age}.")
}

async fn counter(s: Session) -> String {
    let n: i64 = s.get::<i64>("n").unwrap().unwrap_or(0) + 1;
    s.insert("n", n).unwrap();
    n.to_string()
}

async fn guest() -> &'static str {
    "Hello, Guest! Your age is 0."
}

/// Serves the app, each worker's middleware on the store `store()` makes (CookieSessionStore is
/// not `Clone`).
async fn serve<S, F>(addr: &str, store: F, key: Key) -> std::io::Result<()>
where
    S: SessionStore + 'static,
    F: Fn() -> S + Clone + Send + 'static,
{
    HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(store(), key.clone())
            .cookie_secure(false)
            .build();
        App::new().route("/plain", web::get().to(guest)).service(
            web::scope("")
                .wrap(sessions)
                .route("/set_session", web::get().to(set_session))
                .route("/get_session", web::get().to(get_session))
                .route("/counter", web::get().to(counter)),
        )
    })
    .bind(addr)?
    .run()
    .await
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5007".into());
    let kind = args.next().unwrap_or_else(|| "cookie".into());
    let secret = std::env::var("SECRET_KEY").expect("SECRET_KEY in the environment");
    // At least 32 bytes (the bench's key has 48): the signing and encryption keys derive from it.
    let key = Key::derive_from(secret.as_bytes());
    if kind == "cookie" {
        serve(&addr, CookieSessionStore::default, key).await
    } else {
        let store = RedisSessionStore::new(kind)
            .await
            .expect("Redis is reachable");
        serve(&addr, move || store.clone(), key).await
    }
}
