//! satchel: Flask's session management, done right, for tower and axum.
//!
//! Flask keeps per-user state in `session`, a dict stored in a signed cookie. satchel is that
//! system in Rust: a [`SessionLayer`] opens the session before your handler and saves it after
//! (Flask's `open_session` / `save_session`); the [`Session`] extractor hands your handler a dict
//! with Flask's API, synchronous after extraction. `docs/architecture.md` follows one request
//! through the code, file by file.
//!
//! # Quick start: the Flask tutorial's routes
//!
//! ```
//! use axum::{routing::get, Router};
//! use satchel_session::{Session, SessionConfig, SessionLayer};
//!
//! async fn set_session(session: Session) -> &'static str {
//!     session.insert("username", "Kimi");
//!     session.insert("age", 25);
//!     "Session data set!"
//! }
//!
//! async fn get_session(session: Session) -> String {
//!     let username: String = session.get_or("username", "Guest".into());
//!     let age: i64 = session.get_or("age", 0);
//!     format!("Hello, {username}! Your age is {age}.")
//! }
//!
//! async fn delete_session(session: Session) -> &'static str {
//!     session.remove("username");
//!     "Session data deleted!"
//! }
//!
//! async fn clear_session(session: Session) -> &'static str {
//!     session.clear();
//!     "All session data cleared!"
//! }
//!
//! # fn main() -> Result<(), satchel_session::ConfigError> {
//! // In an app: SessionConfig::default().with_env()? reads SECRET_KEY and Flask's other keys.
//! // A long random key: `satchel keygen` prints one; SessionLayer refuses short or known keys.
//! let config = SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
//! let app: Router = Router::new()
//!     .route("/set_session", get(set_session))
//!     .route("/get_session", get(get_session))
//!     .route("/delete_session", get(delete_session))
//!     .route("/clear_session", get(clear_session))
//!     .layer(SessionLayer::new(config)?);
//! # Ok(())
//! # }
//! ```
//!
//! # Typed sessions: a struct as the session
//!
//! [`TypedSession<T>`](TypedSession) hands the handler the session as a struct of yours, so a
//! misspelt key or a wrong type is a compile error. The same routes, typed:
//!
//! ```
//! use axum::{routing::get, Router};
//! use satchel_session::{Session, SessionConfig, SessionLayer, TypedSession};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Default)]
//! #[serde(default)] // a field added later still loads older sessions
//! struct Visit {
//!     username: Option<String>,
//!     age: Option<i64>,
//!     counter: u64,
//! }
//!
//! async fn set_session(mut visit: TypedSession<Visit>) -> &'static str {
//!     visit.username = Some("Kimi".into());
//!     visit.age = Some(25);
//!     "Session data set!"
//! }
//!
//! async fn get_session(visit: TypedSession<Visit>) -> String {
//!     let username = visit.username.as_deref().unwrap_or("Guest");
//!     format!("Hello, {username}! Your age is {}.", visit.age.unwrap_or(0))
//! }
//!
//! async fn delete_session(mut visit: TypedSession<Visit>) -> &'static str {
//!     visit.username = None; // removes the key, as session.pop("username")
//!     "Session data deleted!"
//! }
//!
//! async fn clear_session(session: Session) -> &'static str {
//!     session.clear(); // the whole session, keys outside the struct included
//!     "All session data cleared!"
//! }
//!
//! async fn counter(mut visit: TypedSession<Visit>) -> String {
//!     visit.counter += 1;
//!     format!("You have visited this page {} times.", visit.counter)
//! }
//!
//! # fn main() -> Result<(), satchel_session::ConfigError> {
//! let config = SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
//! let app: Router = Router::new()
//!     .route("/set_session", get(set_session))
//!     .route("/get_session", get(get_session))
//!     .route("/delete_session", get(delete_session))
//!     .route("/clear_session", get(clear_session))
//!     .route("/counter", get(counter))
//!     .layer(SessionLayer::new(config)?);
//! # Ok(())
//! # }
//! ```
//!
//! Only a change is saved (the struct is compared, serialized, with what was loaded), keys the
//! struct does not know (a Flask app's `_flashes`, `_user_id`, `csrf_token`) are kept, and a
//! stored session that no longer deserializes into the struct gives `T::default()`, counted in
//! [`SessionStats::typed_rejected`] and logged, never an error page. A `Session` and a
//! `TypedSession` in one handler share one load. [`TypedSession`] documents every rule;
//! `examples/typed.rs` runs these routes.
//!
//! # Where the session lives
//!
//! - **Sealed cookie** (the default, [`SealedCodec`](codec::SealedCodec)): the data travels in the cookie,
//!   encrypted and authenticated (AES-256-GCM-SIV), bound to the cookie's name, with its expiry
//!   inside.
//! - **Flask cookie** ([`FlaskCodec`](codec::FlaskCodec), [`SessionConfig::flask_defaults`]): byte-compatible with
//!   Flask 3.1's signed cookies, so a Flask app sharing `SECRET_KEY` reads the same sessions —
//!   and logins, through [`login()`] (Flask-Login's keys) and [`flash()`] (Flask's `_flashes`).
//! - **Server-side** ([`SessionLayerBuilder::store`], [`store`]): the cookie holds only a random
//!   id; the data lives in memory, Redis (feature `redis`) or SQL ([`store::SqlStore`] with
//!   features `sqlite`, `postgres`, `mysql`). Concurrent writers of one session never lose an
//!   update (a fenced lease per session), and a store outage is a 503, never an empty session
//!   saved over the real one.
//!
//! ```
//! use std::sync::Arc;
//! use satchel_session::{store::MemoryStore, SessionConfig, SessionLayer};
//!
//! let layer = SessionLayer::builder(SessionConfig::default())
//!     .store(Arc::new(MemoryStore::default()))
//!     .build()
//!     .expect("valid settings");
//! ```
//!
//! The network stores connect lazily. To refuse to start on a store that can never work (TLS
//! or a certificate refused, bad credentials, an unknown host or database) while starting
//! anyway on one that is merely down, check it first ([`store::Store::check`]):
//!
//! ```
//! use satchel_session::store::{store_from_url, StoreError};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), StoreError> {
//! // e.g. "rediss://cache.internal:6380/0?ca=/etc/ssl/cache-ca.pem"
//! //  or  "postgres://app@db.internal/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem"
//! let store = store_from_url("memory")?;
//! match store.check().await {
//!     Ok(()) => {}
//!     Err(error @ StoreError::Config(_)) => return Err(error), // stop: fix the URL
//!     Err(outage) => eprintln!("warning: {outage}; 503s until the store answers"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! TLS to the network stores goes through rustls (no OpenSSL) and is verified: `rediss://`
//! (`?ca=PATH`, `&cert=PATH&key=PATH`), PostgreSQL's `sslmode` / `sslrootcert` (a host other
//! than this machine, with no `sslmode`, gets `verify-full`), MySQL's `ssl-mode` / `ssl-ca`.
//!
//! # Values
//!
//! A session holds [`Value`]s: everything a Flask session can (tuples, bytes, `Markup`, UUIDs,
//! datetimes, big integers, NaN), so a Flask cookie round-trips losslessly. Plain Rust data goes
//! in with [`Session::insert`] (anything `Into<Value>`) or [`Session::insert_serde`] (anything
//! `Serialize`) and comes out with [`Session::get`] (anything `Deserialize`).
//!
//! # Bad input
//!
//! A cookie that does not verify — tampered, expired, malformed, under an unknown key, too
//! large — gives an empty session, counted by reason in [`SessionStats`] and logged with
//! `tracing`; never a 5xx.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

/// The README's code, compiled and run as doc tests (the quick start must work as written).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

mod adapter;
mod backend;
pub mod client_addr;
mod clock;
pub mod codec;
mod config;
mod cookie_header;
mod error;
pub mod flash;
mod key_audit;
mod keys;
pub mod login;
mod session;
mod stats;
pub mod store;
pub mod value;

#[cfg(feature = "actix")]
pub use adapter::actix;
#[cfg(feature = "axum")]
pub use adapter::axum as extract;

pub use adapter::tower::{SessionFuture, SessionLayer, SessionLayerBuilder, SessionService};
pub use clock::{Clock, ManualClock};
pub use codec::{CookieFormat, BROWSER_COOKIE_LIMIT};
pub use config::{
    ConfigError, SameSite, SessionConfig, DEFAULT_MAX_LOGINS_PER_USER, DEFAULT_NEW_SESSION_TIMEOUT,
    FLASK_PERMANENT_SESSION_LIFETIME,
};
pub use cookie_header::varies_on_cookie;
pub use error::SessionError;
pub use flash::{flash, take_flashes, Flash};
pub use key_audit::{audit_secret_key, generate_secret_key, WeakKey, MIN_SECRET_KEY_LEN};
pub use keys::{KeyRing, SecretKey};
pub use login::LoginRequired;
pub use login::{current_user_id, login, logout};
pub use session::read_only::ReadOnlySession;
pub use session::state::PERMANENT_KEY;
pub use session::typed::TypedSession;
pub use session::{Session, SessionTimes};
pub use stats::SessionStats;
pub use value::{Value, ValueError};
