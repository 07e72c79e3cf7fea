//! Server-side sessions: the [`Store`] contract every backend obeys, and what it stores.
//!
//! With a store, the cookie carries only a [`SessionId`] (32 bytes from the OS CSPRNG); the
//! store keys on its SHA-256, an [`IdHash`], so a leaked table gives no live ids. An id the
//! store does not know is never adopted (strict mode): the request gets a fresh session and a
//! fresh id.
//!
//! One line of setup per store; handlers do not change:
//!
//! ```
//! use axum::{routing::get, Router};
//! use satchel_session::{store, Session, SessionConfig, SessionLayer};
//!
//! async fn counter(session: Session) -> String {
//!     let n = session.get_or("n", 0) + 1;
//!     session.insert("n", n);
//!     n.to_string()
//! }
//!
//! let store = store::store_from_url("memory")?; // or "redis://127.0.0.1:6379" (feature `redis`)
//! let layer = SessionLayer::builder(SessionConfig::default()).store(store).build().expect("valid settings");
//! let app: Router = Router::new().route("/counter", get(counter)).layer(layer);
//! # Ok::<(), satchel_session::store::StoreError>(())
//! ```
//!
//! # No lost updates
//!
//! A request that writes (the [`Session`](crate::Session) extractor) holds a *lease* on its
//! session from the load to the commit. The lease is taken in the same atomic step as the load
//! ([`Store::load`] with a [`Lease`]), renewed while the handler runs, and every commit is
//! fenced by its token ([`Store::commit`]): a request whose lease expired or whose session was
//! deleted or rotated meanwhile is refused, never allowed to overwrite. Requests that only read
//! ([`ReadOnlySession`](crate::extract::ReadOnlySession)) take no lease. The layer adds an
//! in-process keyed mutex in front of the lease, so writers of one session in one process queue
//! instead of polling the store; the lease alone is what makes several processes safe.
//!
//! # The contract, and why it is this small
//!
//! Five methods, each one atomic on its own: `load` (optionally acquiring the lease), `create`
//! (insert-only), `commit` (save / delete / release / rotate, fenced by the lease), `renew` and
//! `touch`. Everything else (timeouts, waiting, cookies) lives in the layer, once, for every
//! store. The per-user index (list or revoke a user's sessions) is a trait of its own,
//! [`SessionIndex`], fed by the [`Login`] on each [`Record`].
//! The behavioural suite in `tests/store_contract.rs` is written once over this trait and run
//! against every backend.
//!
//! Times: records carry Unix seconds from the layer's [`Clock`](crate::Clock) (`now` is passed
//! in, so tests move a manual clock); lease lifetimes are durations measured by the store
//! itself (Redis: the server's `PX`; memory: a monotonic clock), so a lease never depends on
//! two machines agreeing on the time.
//!
//! # Settings: two places, one precedence
//!
//! - **The store's own settings** (how it connects, where and how it keeps records): the URL's
//!   query when the store is opened from a URL ([`store_from_url`], `--store`): `table`,
//!   `sweep_interval`, `pool_size`, `lease_commit` and the driver's TLS parameters for SQL,
//!   `ca`, `cert`, `key` for `rediss://`, `max_sessions` and `max_record_bytes` for `memory`.
//!   In code, the same settings are the store type's `with_*` methods ([`SqlStore`]'s,
//!   [`RedisStore`]'s), which take effect over the URL's: a `with_*` call after `open(url)` is
//!   applied last, so it wins.
//! - **The layer's settings** (how a request waits for and holds a lease): [`StoreOptions`],
//!   given to [`SessionLayerBuilder::store_options`](crate::SessionLayerBuilder::store_options).
//!   They are not in the URL: they describe the app's requests, not the store, and are the same
//!   whichever store is behind them.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::SysRng;
use rand::RngExt as _;
use rand::TryRng as _;
use sha2::{Digest, Sha256};

use crate::value::Dict;

#[cfg(any(
    feature = "redis",
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql"
))]
mod connect_error;
mod from_url;
mod id_map;
mod index;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod sql;

#[cfg(feature = "redis")]
pub use self::redis::{FlaskSessionStore, RedisStore};
pub use from_url::{indexed_store_from_url, store_from_url};
pub(crate) use id_map::IdMap;
pub(crate) use index::end_oldest_logins;
pub(crate) use index::ordered;
#[cfg(any(
    feature = "redis",
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql"
))]
pub(crate) use index::user_key;
pub use index::{
    revoke_prefix, IndexedStore, Login, Revoked, SessionEntry, SessionIndex, MAX_ADDRESS,
    MAX_LISTED, MAX_USER_AGENT, MAX_USER_ID,
};
pub use memory::{MemoryStore, MemoryStoreLimits};
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use sql::SqlStore;

/// A session id: 256 random bits from the operating system's CSPRNG, base64url in the cookie.
/// Its `Debug` output is redacted: ids are bearer secrets and must not reach the logs.
///
/// ```
/// use satchel_session::store::SessionId;
/// let id = SessionId::generate();
/// let text = id.encode();
/// assert_eq!(text.len(), 43);
/// assert_eq!(SessionId::parse(&text), Some(id.clone()));
/// assert_eq!(format!("{id:?}"), "SessionId(..)");
/// assert_eq!(SessionId::parse("not an id"), None);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId([u8; 32]);

impl SessionId {
    /// A fresh random id.
    ///
    /// ```
    /// use satchel_session::store::SessionId;
    /// assert_ne!(SessionId::generate(), SessionId::generate());
    /// ```
    pub fn generate() -> Self {
        let mut bytes = [0; 32];
        SysRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random generator failed");
        SessionId(bytes)
    }

    /// The id in a cookie value, or `None` if the text is not one (never an error: a bad
    /// cookie is simply no session).
    ///
    /// ```
    /// assert!(satchel_session::store::SessionId::parse("").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        bytes.try_into().ok().map(SessionId)
    }

    /// The cookie value: 43 base64url characters.
    ///
    /// ```
    /// let id = satchel_session::store::SessionId::generate();
    /// assert!(id.encode().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    /// ```
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The id's own bytes as the key, for a store whose layout names the id itself
    /// ([`CookieIds::FlaskSession`]).
    pub(crate) fn raw_key(&self) -> IdHash {
        IdHash(self.0)
    }

    /// What stores key on: the SHA-256 of the id.
    ///
    /// ```
    /// let id = satchel_session::store::SessionId::generate();
    /// assert_eq!(id.hash(), id.hash());
    /// assert_eq!(id.hash().to_hex().len(), 64);
    /// ```
    pub fn hash(&self) -> IdHash {
        IdHash(Sha256::digest(self.0).into())
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// The SHA-256 of a [`SessionId`]: the key a store files a session under. Knowing it does not
/// let anyone present the session, so it may be logged and stored.
///
/// ```
/// let hash = satchel_session::store::SessionId::generate().hash();
/// assert!(format!("{hash:?}").starts_with("IdHash("));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdHash([u8; 32]);

impl IdHash {
    /// Lowercase hex, 64 characters.
    ///
    /// ```
    /// let hash = satchel_session::store::SessionId::generate().hash();
    /// assert!(hash.to_hex().bytes().all(|b| b.is_ascii_hexdigit()));
    /// ```
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(2 * self.0.len());
        for &b in &self.0 {
            hex.push(char::from(DIGITS[usize::from(b >> 4)]));
            hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        hex
    }
}

impl std::fmt::Debug for IdHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdHash({})", &self.to_hex()[..12])
    }
}

/// What a store keeps for one session. Times are Unix seconds.
///
/// ```
/// use satchel_session::store::Record;
/// let record = Record::new(Default::default(), 100, 160, 1_000);
/// assert_eq!(record.expires_at(), 160);
/// assert!(!record.is_expired(159) && record.is_expired(160));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The session's data.
    pub data: Dict,
    /// When the session began (the start of its absolute timeout).
    pub created_at: u64,
    /// Unused past this instant, the session is dead (moved forward by use).
    pub idle_deadline: u64,
    /// Past this instant the session is dead however active it is (never moves).
    pub absolute_deadline: u64,
    /// Who is logged in with it, for the per-user index ([`SessionIndex`]); `None` for an
    /// anonymous session. A store without an index may ignore it.
    pub login: Option<Login>,
}

impl Record {
    /// A record with these fields.
    ///
    /// ```
    /// let r = satchel_session::store::Record::new(Default::default(), 1, 2, 3);
    /// assert_eq!((r.created_at, r.idle_deadline, r.absolute_deadline), (1, 2, 3));
    /// ```
    pub fn new(data: Dict, created_at: u64, idle_deadline: u64, absolute_deadline: u64) -> Self {
        Record {
            data,
            created_at,
            idle_deadline,
            absolute_deadline,
            login: None,
        }
    }

    /// The record with `login` on it.
    ///
    /// ```
    /// use satchel_session::store::{Login, Record};
    /// let r = Record::new(Default::default(), 1, 2, 3).with_login(Login::new("alice", None, None));
    /// assert_eq!(r.login.unwrap().user_id, "alice");
    /// ```
    pub fn with_login(mut self, login: Login) -> Self {
        self.login = Some(login);
        self
    }

    /// When the session dies: the earlier of its two deadlines.
    ///
    /// ```
    /// assert_eq!(satchel_session::store::Record::new(Default::default(), 0, 9, 5).expires_at(), 5);
    /// ```
    pub fn expires_at(&self) -> u64 {
        self.idle_deadline.min(self.absolute_deadline)
    }

    /// Whether the session is dead at `now`. Stores check this on every load: a record past
    /// its deadline is never returned, whatever the backend's own TTL says.
    ///
    /// ```
    /// assert!(satchel_session::store::Record::new(Default::default(), 0, 9, 5).is_expired(5));
    /// ```
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at()
    }

    /// Seconds left at `now` (0 once expired): the TTL a backend gives the record.
    ///
    /// ```
    /// assert_eq!(satchel_session::store::Record::new(Default::default(), 0, 9, 5).remaining(3), 2);
    /// ```
    pub fn remaining(&self, now: u64) -> u64 {
        self.expires_at().saturating_sub(now)
    }
}

/// The secret that proves a request holds a session's lease.
///
/// ```
/// let token = satchel_session::store::LeaseToken::generate();
/// assert_ne!(token, satchel_session::store::LeaseToken::generate());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken(pub u128);

impl LeaseToken {
    /// A fresh random token, from the thread-local CSPRNG (reseeded from the OS): a token
    /// never leaves the server, so it needs no system call per request, unlike session ids.
    ///
    /// ```
    /// let _ = satchel_session::store::LeaseToken::generate();
    /// ```
    pub fn generate() -> Self {
        LeaseToken(rand::rng().random())
    }
}

/// A lease to acquire or renew: the token, and how long it holds from now (measured by the
/// store: its expiry is what lets another process in after a crash).
///
/// ```
/// use std::time::Duration;
/// let lease = satchel_session::store::Lease::new(Duration::from_secs(3));
/// assert_eq!(lease.ttl, Duration::from_secs(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it.
    pub token: LeaseToken,
    /// How long it holds once acquired or renewed.
    pub ttl: Duration,
}

impl Lease {
    /// A lease with a fresh token.
    ///
    /// ```
    /// let a = satchel_session::store::Lease::new(std::time::Duration::from_secs(1));
    /// assert_ne!(a.token, satchel_session::store::Lease::new(a.ttl).token);
    /// ```
    pub fn new(ttl: Duration) -> Self {
        Lease {
            token: LeaseToken::generate(),
            ttl,
        }
    }
}

/// What [`Store::load`] found.
///
/// ```
/// use satchel_session::store::Loaded;
/// assert_eq!(Loaded::Missing, Loaded::Missing);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// The live record (and, if a lease was asked for, the lease is now held).
    Found(Record),
    /// No live record under that id (never stored, deleted, or past a deadline).
    Missing,
    /// A lease was asked for and someone else holds it: try again later.
    Busy,
    /// A record is there but not in a form this store reads (a foreign writer's value, such
    /// as a pickle under Flask-Session's key). The request gets a fresh, empty session under a
    /// new id, the rejection is counted by `reason`, no lease is held, and the record is left
    /// as it is (never adopted, never overwritten).
    Unreadable(crate::codec::RejectReason),
}

/// What [`Store::commit`] does with a leased session; every variant releases the lease.
///
/// ```
/// use satchel_session::store::{Commit, Record, SessionId};
/// let rotate = Commit::Rotate { new_id: SessionId::generate().hash(), record: Record::new(Default::default(), 0, 1, 1) };
/// assert!(matches!(rotate, Commit::Rotate { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Commit {
    /// Replace the record.
    Save(Record),
    /// Delete the session (logout, or emptied).
    Delete,
    /// Leave the record as it is.
    Release,
    /// Insert `record` under `new_id` and delete the old id, in one atomic step (`cycle_id`).
    Rotate {
        /// The new id's hash (a fresh random id: it cannot exist yet).
        new_id: IdHash,
        /// The record to file under it.
        record: Record,
    },
}

/// A store that could not answer. The layer turns it into a 503 with a readable body (traced
/// and counted), never into an empty session that would then overwrite the real one.
///
/// ```
/// let e = satchel_session::store::StoreError::Unavailable("connection refused".into());
/// assert!(e.to_string().contains("connection refused"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend is down or the connection failed.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The backend did not answer in time.
    #[error("session store timed out after {0:?}")]
    Timeout(Duration),
    /// The store is at its session limit and cannot make room for a new session.
    #[error("session store is full ({0} sessions); no new session can be started")]
    Full(usize),
    /// The session is larger than the store accepts.
    #[error("session is {size} bytes, over the store's {limit}-byte limit")]
    TooLarge {
        /// The serialized size.
        size: usize,
        /// The store's limit.
        limit: usize,
    },
    /// A stored record could not be read back.
    #[error("session record is corrupt: {0}")]
    Corrupt(String),
    /// The store URL or settings are not usable.
    #[error("session store configuration: {0}")]
    Config(String),
    /// The session holds a value this store's format cannot keep (for
    /// [`FlaskSessionStore`]: `Markup`, an integer beyond 64
    /// bits). Refused before anything is written: a 500, like a session too large.
    #[error("session cannot be stored: {0}")]
    Unstorable(String),
}

/// What a session id looks like in the cookie, and what a store keys on: satchel's own
/// layout, or Flask-Session's (whose store key names the id itself).
///
/// ```
/// use satchel_session::store::{CookieIds, MemoryStore, Store};
/// assert_eq!(MemoryStore::default().cookie_ids(), CookieIds::Satchel);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieIds {
    /// The cookie holds the 43-character id; the store is given its SHA-256 ([`IdHash`]).
    Satchel,
    /// Flask-Session's: the cookie holds the id (`secrets.token_urlsafe(32)`, the same 43
    /// characters), followed with `signed` by `.` and its itsdangerous signature (salt
    /// `flask-session`, the layer's `SECRET_KEY`); the store is given the id's own 32 bytes
    /// (in an [`IdHash`]), because Flask-Session's key is the prefix and the id.
    FlaskSession {
        /// Whether ids are signed (`SESSION_USE_SIGNER`).
        signed: bool,
    },
}

/// The future every [`Store`] method returns (boxed, so the trait is object-safe: the layer
/// holds an `Arc<dyn Store>`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A server-side session backend. Each method is one atomic step on the backend; each says
/// what it guarantees. `Err` always means "unknown outcome, do not proceed as if empty".
///
/// ```
/// use satchel_session::store::{Loaded, MemoryStore, Record, SessionId, Store};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::default();
/// let id = SessionId::generate().hash();
/// assert!(store.create(&id, &Record::new(Default::default(), 0, 60, 60), 0).await.unwrap());
/// assert!(matches!(store.load(&id, 1, None).await.unwrap(), Loaded::Found(_)));
/// # });
/// ```
pub trait Store: Send + Sync + 'static {
    /// The live record under `id` at `now`. A record past either deadline is `Missing` (and may
    /// be deleted). With `lease`: acquire it in the same atomic step — `Found` then means the
    /// caller holds the lease for `lease.ttl`; `Busy` means another unexpired lease exists and
    /// nothing changed. `Missing` never takes a lease.
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded>;

    /// Files a new session: insert-only. `Ok(false)` if `id` already exists (nothing changed).
    /// A store at its limit makes room by its documented policy (the memory store evicts
    /// never-returned sessions first) or answers [`StoreError::Full`]; it never lets one
    /// client's flood refuse everyone else.
    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool>;

    /// Applies `commit` and releases the lease, atomically, only if the lease held under `id`
    /// is still `token` and the record still exists. `Ok(false)` (nothing changed) when the
    /// lease expired or was taken over, or the session was deleted or rotated meanwhile: the
    /// caller must refuse, never retry as an overwrite.
    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool>;

    /// Extends the lease to `lease.ttl` from now if `lease.token` still holds it. `Ok(false)` if
    /// it does not (the lease was lost: the coming commit will be refused).
    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool>;

    /// A reader's refresh: moves the idle deadline forward to `idle_deadline` (never back, never
    /// past the absolute deadline) if the record exists, without touching its data or lease.
    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()>;

    /// This store's per-user index, if it keeps one (every built-in store does): the layer
    /// uses it to keep each user's live logins within
    /// [`SessionConfig::max_logins_per_user`](crate::SessionConfig::max_logins_per_user). A
    /// store without one (the default) has no such cap.
    ///
    /// ```
    /// use satchel_session::store::{MemoryStore, Store};
    /// assert!(MemoryStore::default().as_index().is_some());
    /// ```
    fn as_index(&self) -> Option<&dyn SessionIndex> {
        None
    }

    /// How ids look in the cookie and what this store is given as an [`IdHash`]: satchel's
    /// own (the default) unless the store shares another framework's layout.
    ///
    /// ```
    /// use satchel_session::store::{CookieIds, MemoryStore, Store};
    /// assert_eq!(MemoryStore::default().cookie_ids(), CookieIds::Satchel);
    /// ```
    fn cookie_ids(&self) -> CookieIds {
        CookieIds::Satchel
    }

    /// Whether this store can serve now: connects if it has not yet (the network stores
    /// connect lazily) and reads one unknown id. Call it at startup to refuse to start on a
    /// store that cannot work:
    ///
    /// - [`StoreError::Config`]: what will not mend by itself — TLS refused or not offered,
    ///   a certificate not trusted or not naming the host, bad credentials, an unknown host or
    ///   database, a table the store may not create. Stop, and show the message.
    /// - [`StoreError::Unavailable`] or [`StoreError::Timeout`]: the store is down or
    ///   unreachable ("connection refused"). Worth a warning, not a failed start: requests get
    ///   a 503 until it answers, then everything works.
    ///
    /// ```
    /// use satchel_session::store::{store_from_url, StoreError};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store = store_from_url("memory")?;
    /// match store.check().await {
    ///     Ok(()) => {}
    ///     Err(error @ StoreError::Config(_)) => panic!("refusing to start: {error}"),
    ///     Err(outage) => eprintln!("warning: {outage}; serving 503s until the store answers"),
    /// }
    /// # Ok::<(), StoreError>(())
    /// # }).unwrap();
    /// ```
    fn check(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let probe = SessionId::generate().hash();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            self.load(&probe, now, None).await.map(drop)
        })
    }
}

/// How the layer waits for and holds leases.
///
/// ```
/// let options = satchel_session::store::StoreOptions::default();
/// assert!(options.lock_wait > options.lease_ttl);
/// ```
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a lease holds without renewal: a process that dies holding one blocks that
    /// session for at most this long. Default 3 s.
    pub lease_ttl: Duration,
    /// How long a writer waits for a session's lock and lease before a 503 "busy". Default 5 s.
    pub lock_wait: Duration,
    /// Renew leases (every `lease_ttl / 3`) while a handler runs. Default on; tests turn it off
    /// to see a long handler's commit refused.
    pub renew_leases: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            lease_ttl: Duration::from_secs(3),
            lock_wait: Duration::from_secs(5),
            renew_leases: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IdHash;

    #[test]
    fn id_hash_hex_is_lowercase_two_digits_per_byte() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0xa5;
        }
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(IdHash(bytes).to_hex(), expected);
        assert_eq!(IdHash([0xff; 32]).to_hex(), "ff".repeat(32));
        assert_eq!(IdHash([0; 32]).to_hex(), "00".repeat(32));
    }
}
