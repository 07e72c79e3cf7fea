//! [`FlaskSessionStore`]: sessions in Flask-Session 0.8's Redis layout, so that satchel and a
//! live Flask app using Flask-Session serve the same users from one Redis.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`FlaskSessionStore`]: its docs (the layout, the fence, what differs), `open` and the builders |
//! | `ops.rs` | the [`Store`](crate::store::Store) operations on that layout |
//! | `commit.lua` | the fenced commit |
//!
//! The value's encoding (MessagePack, and the type table) is `value/msgpack.rs`; the cookie's
//! id (raw or signed) is `backend/store_session/cookie_id.rs`.

use super::scripts::Lua;
use super::RedisStore;
use crate::store::StoreError;

mod ops;

/// KEYS: lease, record, [new record]. ARGV: token, op, [value, ttl s].
const COMMIT: &str = include_str!("commit.lua");

/// Sessions shared with a Flask app that uses Flask-Session 0.8 (`SESSION_TYPE = "redis"`,
/// its default MessagePack serialization) on the same Redis: a login, a flash, a logout on
/// either side is seen by the other. URL: `flask-session+redis://host:port/db?prefix=session:&signer=on`
/// ([`store_from_url`](crate::store::store_from_url)); the layer's `SECRET_KEY`, cookie name
/// and cookie settings must be the Flask app's (`SessionConfig::flask_defaults()` has
/// Flask's).
///
/// # Layout (Flask-Session's, exactly)
///
/// - Key `<prefix><sid>` (`SESSION_KEY_PREFIX`, default `session:`), where `sid` is
///   `secrets.token_urlsafe(32)`: 43 base64url characters, which is also what a satchel
///   [`SessionId`](crate::store::SessionId) looks like, so one id serves both.
/// - Value: the session dict as MessagePack (msgspec's), with no satchel metadata; see the
///   type table in the crate's `docs/migrating-from-flask.md` (and `value/msgpack.rs`).
/// - TTL: every save is `SET … EX <lifetime>`, the lifetime being the record's remaining life
///   (satchel's idle timeout, `PERMANENT_SESSION_LIFETIME` unless `SESSION_IDLE_TIMEOUT` is
///   set — Flask-Session uses `PERMANENT_SESSION_LIFETIME` for every save, permanent or not).
///   A session created by satchel lives `SESSION_NEW_TIMEOUT` (30 minutes) until its second
///   request, unless that setting is off (`SESSION_NEW_TIMEOUT=null`).
/// - Cookie: the sid (`signer=off`, Flask-Session's default) or `sid.signature`
///   (`signer=on`, `SESSION_USE_SIGNER = True`: itsdangerous' `Signer`, salt `flask-session`,
///   HMAC-SHA1 of the key derived from `SECRET_KEY`).
///
/// # The fence, beside Flask's key
///
/// satchel's writers still take a lease, in a key of its own beside Flask's:
/// `<prefix><sid>:lease` (a Flask-Session key never holds `:` after the prefix, so the two
/// cannot meet). The load takes it in the same round trip (`SET <lease> <token> NX GET PX`,
/// `GET <key>`, `PTTL <key>`), and every commit is one script fenced by the token; a save is
/// `SET … XX`, so a session Flask deleted (a logout) is not brought back. Among satchel's own
/// requests this gives what [`RedisStore`] gives: no lost updates. Flask-Session knows nothing
/// of the lease and overwrites without a check, so a write made by Flask between satchel's
/// load and commit is lost, and the other way round (see `docs/migrating-from-flask.md` for
/// the measurement and the advice).
///
/// # What differs from satchel's own stores
///
/// - The Redis key names the id itself (Flask-Session's layout), not its SHA-256: a copy of
///   the keys is a copy of live ids, as with Flask-Session. The store is handed the id's own
///   bytes as its [`IdHash`](crate::store::IdHash), whose `Debug` shows 6 of the 32 bytes.
/// - Deadlines come from the key's TTL: there is no absolute timeout
///   (`SESSION_ABSOLUTE_TIMEOUT` has no effect) and no per-user index (no "log out
///   everywhere", no `max_logins_per_user`).
/// - Reading is strict: a value that is not MessagePack, or not a map, opens an empty session
///   (counted as [`RejectReason::Malformed`](crate::codec::RejectReason::Malformed)) under a
///   new id; the key is left as it is. satchel never unpickles (Flask-Session falls back to
///   JSON, then pickle).
/// - A session holding what Flask-Session could not read back (`Markup`, an integer beyond
///   64 bits) is refused at save ([`StoreError::Unstorable`]), never written.
///
/// ```no_run
/// use std::sync::Arc;
/// use satchel_session::store::FlaskSessionStore;
/// use satchel_session::{SessionConfig, SessionLayer};
///
/// let store = FlaskSessionStore::open("redis://127.0.0.1:6379/0")?.with_signer(true);
/// let config = SessionConfig::flask_defaults().with_secret_key("the Flask app's SECRET_KEY");
/// let layer = SessionLayer::builder(config).store(Arc::new(store)).build();
/// # Ok::<(), satchel_session::store::StoreError>(())
/// ```
pub struct FlaskSessionStore {
    redis: RedisStore,
    prefix: String,
    signed: bool,
    commit: Lua,
}

impl std::fmt::Debug for FlaskSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlaskSessionStore")
            .field("prefix", &self.prefix)
            .field("signed", &self.signed)
            .finish()
    }
}

impl FlaskSessionStore {
    /// A store for the Redis at `url` (`redis://[:password@]host:port[/db]`), with
    /// Flask-Session's defaults: prefix `session:`, unsigned ids. Does not connect yet.
    ///
    /// ```no_run
    /// let store = satchel_session::store::FlaskSessionStore::open("redis://127.0.0.1:6379/0")?;
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Ok(FlaskSessionStore {
            redis: RedisStore::open(url)?.with_sweep_interval(None),
            prefix: "session:".to_owned(),
            signed: false,
            commit: Lua::new(COMMIT),
        })
    }

    /// Flask-Session's `SESSION_KEY_PREFIX` (default `session:`).
    ///
    /// ```no_run
    /// let store = satchel_session::store::FlaskSessionStore::open("redis://127.0.0.1")?.with_prefix("app:");
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Flask-Session's `SESSION_USE_SIGNER` (default off): cookies hold `sid.signature`.
    ///
    /// ```no_run
    /// let store = satchel_session::store::FlaskSessionStore::open("redis://127.0.0.1")?.with_signer(true);
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_signer(mut self, signed: bool) -> Self {
        self.signed = signed;
        self
    }

    /// Bounds every call by `timeout` (default 2 s), as [`RedisStore::with_timeout`].
    ///
    /// ```no_run
    /// let store = satchel_session::store::FlaskSessionStore::open("redis://127.0.0.1")?
    ///     .with_timeout(std::time::Duration::from_millis(500));
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.redis = self.redis.with_timeout(timeout);
        self
    }

    /// The store a `flask-session+redis://…?prefix=…&signer=on|off` URL names: the two
    /// Flask-Session settings come out of the query, the rest is the Redis URL.
    pub(crate) fn from_url(url: &str) -> Result<Self, StoreError> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let (mut prefix, mut signed, mut rest) = (None, false, Vec::new());
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("prefix", value) => prefix = Some(value.to_owned()),
                ("signer", "on" | "true" | "1") => signed = true,
                ("signer", "off" | "false" | "0") => signed = false,
                ("signer", other) => {
                    return Err(StoreError::Config(format!(
                        "signer must be on or off, not {other:?}"
                    )))
                }
                _ => rest.push(pair),
            }
        }
        let redis_url = match rest.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", rest.join("&")),
        };
        let store = FlaskSessionStore::open(&redis_url)?.with_signer(signed);
        Ok(match prefix {
            Some(prefix) => store.with_prefix(prefix),
            None => store,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::FlaskSessionStore;

    #[test]
    fn the_url_query_sets_prefix_and_signer_and_passes_the_rest_on() {
        let store =
            FlaskSessionStore::from_url("redis://127.0.0.1:6379/2?prefix=app:&signer=on").unwrap();
        assert_eq!((store.prefix.as_str(), store.signed), ("app:", true));
        let store = FlaskSessionStore::from_url("redis://127.0.0.1:6379").unwrap();
        assert_eq!((store.prefix.as_str(), store.signed), ("session:", false));
        assert!(FlaskSessionStore::from_url("redis://127.0.0.1?signer=maybe").is_err());
    }
}
