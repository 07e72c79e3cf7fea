//! [`RedisStore`] (feature `redis`): sessions in Redis, shared by every process using it. The
//! key layout and the commands each operation sends are documented once, on [`RedisStore`];
//! this is the map of the code.
//!
//! # Files
//!
//! `mod.rs` defines [`RedisStore`]; each other file adds the methods of one concern to it, or
//! serves those that do. A file imports only `mod.rs` and the files listed after it:
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`RedisStore`]: its docs, `open` and the builders |
//! | `ops.rs` | the session operations ([`Store`](crate::store::Store)): the leased load, `create`, and the fenced scripts of `commit`, `renew` and `touch` |
//! | `index.rs` | the per-user index ([`SessionIndex`](crate::store::SessionIndex)): listing and ending a user's sessions |
//! | `connection.rs` | the connection, every call bounded by the timeout, commands built to size, scripts run by their SHA-1, what an error means |
//! | `keys.rs` | key names, and the id hash back from a record key |
//! | `record.rs` | the record's string and the TTLs of its keys |
//! | `tls.rs` | a `rediss://` URL's TLS settings (`ca`, `cert`, `key`), and the client built with them |
//! | `sweep.rs` | the background pass that deletes expired logged-in sessions (they carry no TTL) |
//! | `scripts.rs`, `scripts/*.lua` | the Lua scripts, hashed once per store |
//! | `flask_session/` | [`FlaskSessionStore`]: Flask-Session 0.8's layout on the same connection code |

use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

mod connection;
mod flask_session;
mod index;
mod keys;
mod ops;
mod record;
mod scripts;
mod sweep;
mod tls;

pub use self::flask_session::FlaskSessionStore;
use self::scripts::Scripts;
use crate::store::connect_error::Trust;
use crate::store::StoreError;

/// Sessions in Redis, shared by every process that points at one Redis.
///
/// # Layout (version 2)
///
/// Per session (`<p>` is the key prefix, `<h>` the id's SHA-256 in lowercase hex):
/// - `<p>v2:<h>`: the record, one string: three times as 20-digit zero-padded decimal Unix
///   seconds (created at, idle deadline, absolute deadline: 60 bytes); for a logged-in session,
///   its login (the tag `L`, the SHA-256 of the user id in hex, the last-seen time, the login's
///   JSON with its length); then the data as Flask's tagged JSON. An anonymous record's TTL
///   (`PX`) is its remaining life; a logged-in record has none (see Eviction): the deadlines
///   are checked on every load either way (a TTL is a janitor, not the rule). The fixed-width header lets `touch` rewrite the idle deadline in
///   place (`SETRANGE`) without reading the data.
/// - `<p>v2:<h>:lease`: the lease token (decimal), with `PX` = the lease's time.
///
/// Per logged-in user, `<p>v2:user:<SHA-256 of the user id>`: the per-user index (see the
/// [`SessionIndex`](crate::store::SessionIndex) implementation below), without a TTL.
///
/// # Eviction
///
/// Run Redis with `maxmemory` and **`maxmemory-policy volatile-lru`**. Redis then evicts only
/// keys with a TTL, least recently used first: anonymous sessions and leases. Logged-in records
/// and the user indexes carry no TTL, so no flood of new sessions, however it uses them, can
/// log anyone out or make "log out everywhere" miss a session; an anonymous visitor who keeps
/// coming back is younger than the flood's older sessions, and a lease (set a moment ago) is
/// never the least recently used. Expired logged-in sessions are deleted by a background pass
/// (`with_sweep_interval`, default every 60 s) and whenever their user's sessions are written.
/// `crates/satchel/tests/redis_faults.rs` checks this on a private server at a 1 MiB
/// allowance. Under `volatile-ttl` (the advice before) a flood whose sessions are used twice
/// evicts the users' sessions and the leases first; under `noeviction` every write fails once
/// memory is full; `allkeys-*` policies evict logged-in sessions too.
///
/// The `v2:` tag names this layout: records of the first layout (a hash under `<p><h>`) are
/// never read as version 2; they expire by their own TTL. A key of the wrong type under a
/// version 2 name is a [`StoreError::Corrupt`] (a 500 for that session, never a panic).
///
/// # Commands, per operation
///
/// - `load`, read-only: `GET <record>`.
/// - `load` with a lease: one round trip, a pipeline of `SET <lease> <token> NX GET PX <ttl>`
///   then `GET <record>`. The lease is set *before* the record is read, so no commit can land
///   between the two: once the lease is ours every other commit is fenced out, and the record
///   read is the one the lease protects (a pipeline, not `MULTI`: nothing that slips in
///   between can change what is read). `SET … GET` returns the previous holder: none → the
///   lease is now ours; our own token → a retry of ours (the lease is renewed); another token →
///   `Busy`, nothing changed. A missing record is `Missing` whatever the lease said, and a
///   lease taken on it is released at once (fenced), so it never blocks the id; an expired
///   record is deleted through the lease just taken.
/// - `create`: `SET <record> <value> NX PX <ttl>` (insert-only).
/// - `commit`: one Lua script, fenced by the token: `GET <lease>`, compare, `DEL <lease>`, then
///   - save: `SET <record> <value> XX PX <ttl>` (`XX`: a record that died meanwhile is not
///     brought back; the commit then reports `false`);
///   - delete: `DEL <record>`;
///   - rotate: `DEL <record>` (must have existed) and `SET <new record> <value> PX <ttl>`;
///   - release: `EXISTS <record>`.
/// - `renew`: a script, `GET <lease>`, compare, `PEXPIRE <lease>`.
/// - `touch`: a script, `GETRANGE` of the 60-byte header, then (if the deadline moves forward)
///   `SETRANGE` of the idle deadline and `PEXPIRE`.
///
/// So a read-modify-write request costs Redis two round trips and three commands (`SET`, `GET`,
/// then `EVALSHA`, whose script runs `GET`, `DEL`, `SET`), with no hash encoding; the first
/// layout needed two scripts running eight commands. A late or lease-less commit never
/// overwrites, and never brings back a deleted or rotated session. Standalone Redis (or a
/// primary): a rotate writes two keys that Redis Cluster would place in different slots.
///
/// # Connection
///
/// The connection is a [`ConnectionManager`], opened on first use and re-opened by itself after
/// a failure, so a Redis that restarts (or is down when the app starts) costs 503s while it is
/// away and nothing after. Every call is bounded by a timeout. Needs Redis 7.0 or later
/// (`SET … NX GET`).
///
/// ```no_run
/// use std::sync::Arc;
/// use satchel_session::store::RedisStore;
/// use satchel_session::{SessionConfig, SessionLayer};
///
/// let store = RedisStore::open("redis://127.0.0.1:6379")?.with_prefix("myapp:session:");
/// let layer = SessionLayer::builder(SessionConfig::default()).store(Arc::new(store)).build();
/// # Ok::<(), satchel_session::store::StoreError>(())
/// ```
pub struct RedisStore {
    client: redis::Client,
    /// Where the server's certificate is checked against, for the messages.
    trust: Trust,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    scripts: Scripts,
    /// How often expired logged-in sessions are swept (`None`: never; see `sweep.rs`).
    sweep_interval: Option<Duration>,
    /// Dropped with the store: the background sweep stops when it is gone.
    alive: std::sync::Arc<()>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://[:password@]host:port[/db]`). Does not connect
    /// yet: the first request does, and a failure there is that request's 503
    /// ([`Store::check`](crate::store::Store::check) connects at once).
    ///
    /// TLS: `rediss://…` verifies the server's certificate against the system's trust roots,
    /// or against the CA file in `?ca=PATH`; `&cert=PATH&key=PATH` (PEM) present a client
    /// certificate to a server that asks for one.
    ///
    /// ```no_run
    /// let store = satchel_session::store::RedisStore::open("redis://127.0.0.1:6379/0")?;
    /// let tls = satchel_session::store::RedisStore::open("rediss://cache.internal:6380/0?ca=/etc/ssl/cache-ca.pem")?;
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let (client, trust) = tls::client(url)?;
        Ok(RedisStore {
            client,
            trust,
            connection: OnceCell::new(),
            prefix: "satchel:session:".to_owned(),
            timeout: Duration::from_secs(2),
            scripts: Scripts::new(),
            sweep_interval: Some(sweep::SWEEP_INTERVAL),
            alive: std::sync::Arc::new(()),
        })
    }

    /// Files keys under `prefix` (default `satchel:session:`), so apps can share a Redis. The
    /// store adds its layout tag (`v2:`) after it.
    ///
    /// ```no_run
    /// let store = satchel_session::store::RedisStore::open("redis://127.0.0.1")?.with_prefix("app2:");
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bounds every call (connecting included) by `timeout` (default 2 s); past it the request
    /// gets a 503.
    ///
    /// ```no_run
    /// let store = satchel_session::store::RedisStore::open("redis://127.0.0.1")?
    ///     .with_timeout(std::time::Duration::from_millis(500));
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How often the background pass deletes expired logged-in sessions (default 60 s;
    /// `None`: never — then an abandoned logged-in session stays in Redis, unreadable, until
    /// its user's next login sweeps it). Logged-in sessions carry no TTL so that Redis never
    /// evicts them (see "Eviction" above).
    ///
    /// ```no_run
    /// let store = satchel_session::store::RedisStore::open("redis://127.0.0.1")?
    ///     .with_sweep_interval(Some(std::time::Duration::from_secs(300)));
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_sweep_interval(mut self, interval: Option<Duration>) -> Self {
        self.sweep_interval = interval.filter(|interval| !interval.is_zero());
        self
    }
}
