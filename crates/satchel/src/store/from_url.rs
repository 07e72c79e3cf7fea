//! Opening a store from a URL (`memory`, `redis://…`, `sqlite:…`, `postgres://…`,
//! `mysql://…`): the one place that knows every built-in store, kept apart from the `Store`
//! contract so the contract depends on no store.

use std::sync::Arc;

#[cfg(feature = "redis")]
use super::RedisStore;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
use super::SqlStore;
use super::{IndexedStore, MemoryStore, MemoryStoreLimits, Store, StoreError};

/// [`store_from_url`], with the per-user index: every built-in store has one.
///
/// ```
/// let store = satchel_session::store::indexed_store_from_url("memory").unwrap();
/// let _as_store: std::sync::Arc<dyn satchel_session::store::Store> = store.clone();
/// ```
pub fn indexed_store_from_url(url: &str) -> Result<Arc<dyn IndexedStore>, StoreError> {
    if let Some(rest) = url.strip_prefix("memory") {
        let query = rest.strip_prefix("://").unwrap_or(rest);
        return Ok(Arc::new(MemoryStore::with_limits(memory_limits(query)?)));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        #[cfg(feature = "redis")]
        return Ok(Arc::new(RedisStore::open(url)?));
        #[cfg(not(feature = "redis"))]
        return Err(StoreError::Config(
            "this build has no Redis support (enable satchel's `redis` feature)".into(),
        ));
    }
    if url.starts_with(FLASK_SESSION) {
        return Err(StoreError::Config(
            "a Flask-Session store keeps no per-user index (no session listing or revocation)"
                .into(),
        ));
    }
    if is_sql_url(url) {
        #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
        return Ok(Arc::new(SqlStore::open(url)?));
        #[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
        return Err(StoreError::Config(
            "this build has no SQL stores (enable satchel's `sqlite`, `postgres` or `mysql` feature)"
                .into(),
        ));
    }
    // The URL may hold a password: name only its scheme.
    let scheme = url.split("://").next().unwrap_or_default();
    Err(StoreError::Config(format!(
        "unknown store kind {scheme:?}: use `memory`, `redis://host:port`, `sqlite:PATH`, \
         `postgres://…` or `mysql://…`"
    )))
}

/// A store from a URL: `memory` (bounded, this process only; `memory?max_sessions=N&max_record_bytes=N`
/// sets the bounds), `redis://host:port/db` (`rediss://` for TLS; needs the `redis` feature),
/// or an SQL database ([`SqlStore`]: `sqlite:PATH`, `postgres://…`, `mysql://…`; features
/// `sqlite`, `postgres`, `mysql`), or a Flask-Session app's Redis
/// (`flask-session+redis://host:port/db?prefix=session:&signer=on`: a
/// [`FlaskSessionStore`](super::FlaskSessionStore), feature `redis`). Connecting is lazy: a server that is down at startup is a
/// 503 per request until it comes up, not a failed start.
///
/// ```
/// assert!(satchel_session::store::store_from_url("memory").is_ok());
/// assert!(satchel_session::store::store_from_url("memory?max_sessions=1000000").is_ok());
/// assert!(satchel_session::store::store_from_url("memory?max_sessions=lots").is_err());
/// assert!(satchel_session::store::store_from_url("carrier-pigeon://").is_err());
/// ```
pub fn store_from_url(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(redis_url) = url.strip_prefix(FLASK_SESSION) {
        return flask_session_store(redis_url);
    }
    Ok(indexed_store_from_url(url)?)
}

/// The scheme prefix of a [`FlaskSessionStore`](super::FlaskSessionStore) URL:
/// `flask-session+redis://host:port/db?prefix=session:&signer=on` (it keeps no per-user
/// index, so only [`store_from_url`] opens it).
const FLASK_SESSION: &str = "flask-session+";

#[cfg_attr(not(feature = "redis"), allow(unused_variables))]
fn flask_session_store(redis_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    #[cfg(feature = "redis")]
    return Ok(Arc::new(super::FlaskSessionStore::from_url(redis_url)?));
    #[cfg(not(feature = "redis"))]
    return Err(StoreError::Config(
        "this build has no Redis support (enable satchel's `redis` feature)".into(),
    ));
}

/// Whether `url` names one of the SQL stores.
fn is_sql_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    [
        "sqlite:",
        "postgres://",
        "postgresql://",
        "mysql://",
        "mariadb://",
    ]
    .iter()
    .any(|scheme| lower.starts_with(scheme))
}

/// The bounds in a `memory?max_sessions=N&max_record_bytes=N` query (either may be left out).
fn memory_limits(query: &str) -> Result<MemoryStoreLimits, StoreError> {
    let mut limits = MemoryStoreLimits::default();
    let pairs = query.strip_prefix('?').unwrap_or(query);
    for pair in pairs.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = value.parse::<usize>().ok().filter(|&n| n > 0);
        let field = match name {
            "max_sessions" => &mut limits.max_sessions,
            "max_record_bytes" => &mut limits.max_record_bytes,
            _ => {
                return Err(StoreError::Config(format!(
                    "unknown memory store setting {name:?} (max_sessions, max_record_bytes)"
                )))
            }
        };
        *field = number.ok_or_else(|| {
            StoreError::Config(format!(
                "{name} must be a positive whole number, not {value:?}"
            ))
        })?;
    }
    Ok(limits)
}
