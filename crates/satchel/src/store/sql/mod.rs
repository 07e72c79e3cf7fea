//! [`SqlStore`] (features `sqlite`, `postgres`, `mysql`): sessions in one SQL table, written
//! once over sqlx; the three dialect modules hold only what differs (placeholders, the clock
//! expression, the DDL).
//!
//! The schema and every statement are documented on [`SqlStore`]; this is the map of the code.
//!
//! # Layout
//!
//! Each file imports only files listed after it:
//!
//! | file | what it holds |
//! |---|---|
//! | `open.rs` | `SqlStore::open`: which dialect serves a URL, each behind its feature |
//! | `mod.rs` | [`SqlStore`], the public type: its docs, builders, and the forwarding [`Store`] and [`SessionIndex`] impls |
//! | `sqlite.rs`, `postgres.rs`, `mysql.rs` | the dialects: each one's `Dialect` impl and its URL's connect options |
//! | `lazy.rs` | `Lazy<D>`, a dialect's store before and after it connects, and `ErasedSql`, the same with its dialect erased |
//! | `sweep.rs` | a sweep pass, and the background task that runs one every interval |
//! | `schema.rs` | the table and its indexes, created on first use; the upgrade of a table made by an earlier version |
//! | `failure.rs` | what a failed connection or schema setup means, in an operator's words |
//! | `engine.rs` | `Engine<D>`: the store operations over a connected pool; rows back to records |
//! | `statements.rs` | `Statements`: every statement a store runs, written once over the dialects' differences |
//! | `dialect.rs` | the `Dialect` trait (what differs between the databases) and the executor macros |
//! | `template.rs` | the templater: named parameters to each dialect's placeholders, and the values they bind |
//! | `settings.rs` | `Settings` and their defaults, the table-name check, the settings a URL's query carries |
//!
//! # One call, from `SqlStore` to the database
//!
//! `SqlStore` → `Box<dyn ErasedSql>` → `Lazy<D>` → `Engine<D>`:
//!
//! - `SqlStore` is one public type for three databases, picked at run time from a URL, so it
//!   holds its dialect's store as a trait object. `ErasedSql` has [`Store`] and
//!   [`SessionIndex`] as supertraits: each of `SqlStore`'s session methods is one virtual call
//!   that lands in `Lazy<D>`'s implementation and returns its boxed future as it is (not boxed
//!   again). No accessor hands out a `&dyn Store` in between, which would be a second virtual
//!   call per operation.
//! - `Lazy<D>` is where the dialect is known and where a call waits for the engine: the first
//!   call opens the pool, creates the schema and starts the sweep. It boxes each operation's
//!   future, the one allocation per call that the [`Store`] trait asks of every store.
//! - `Engine<D>` runs the statements, in plain `async fn`s.
//!
//! Why not fewer: `SqlStore` generic over its dialect would change the public type, and its
//! users would name the database in a type where today the URL decides at run time; an enum of
//! the dialects in place of the trait object would make this layer name every dialect behind
//! its feature, to save one indirect call next to a database round trip.

use std::time::Duration;

mod dialect;
mod engine;
mod failure;
mod lazy;
#[cfg(feature = "mysql")]
mod mysql;
mod open;
#[cfg(feature = "postgres")]
mod postgres;
mod schema;
mod settings;
#[cfg(feature = "sqlite")]
mod sqlite;
mod statements;
mod sweep;
mod template;

use self::lazy::ErasedSql;
use self::settings::checked_table;
use crate::store::{
    Commit, IdHash, Lease, LeaseToken, Loaded, Record, SessionEntry, SessionIndex, Store,
    StoreError, StoreFuture,
};
use crate::Clock;

/// Sessions in an SQL table: SQLite (feature `sqlite`), PostgreSQL (`postgres`) or MySQL /
/// MariaDB (`mysql`), through sqlx.
///
/// - **SQLite** (`sqlite:PATH`): one file, WAL, `busy_timeout` 5 s. Several processes on one
///   machine may share the file (SQLite's locks serialize the writes and the lease lives on the
///   row); not on a network file system, where SQLite's locking is unreliable.
/// - **PostgreSQL** (`postgres://user@host/db`) and **MySQL / MariaDB** (`mysql://user@host/db`):
///   a pool (default 10 connections), shared by every process pointing at the database.
///
/// The lease and its fence are plain SQL on the session's row (every statement and the schema
/// are below); no transaction or lock is held across a handler. The table is created on first
/// use, idempotently, also when several processes start at once on an empty database
/// (PostgreSQL: the DDL runs in a transaction holding `pg_advisory_xact_lock`, because two
/// concurrent `CREATE TABLE IF NOT EXISTS` can collide in its catalog; MySQL: one `CREATE TABLE
/// IF NOT EXISTS` with the index inline, atomic under the server's metadata lock; SQLite: under
/// `BEGIN IMMEDIATE`). Expired rows are deleted by a background sweep in short batches.
///
/// Connecting is lazy: a database that is down at startup, or goes away later, costs a 503 per
/// request (every call is bounded by the timeout, 2 s by default, waiting for a pooled
/// connection included) and recovers by itself when it is back. Settings can also ride on the
/// URL: `?table=NAME&sweep_interval=SECONDS&pool_size=N&lease_commit=sync|async`
/// (`sweep_interval=0`: no sweep; `lease_commit`: see [Durability](#durability)).
///
/// # Schema
///
/// One table (default `satchel_sessions`; any name of 1 to 48 lowercase ASCII letters, digits
/// and `_`, not starting with a digit), created on first use with `CREATE TABLE IF NOT EXISTS`:
///
/// | column | type (PostgreSQL / SQLite / MySQL) | meaning |
/// |---|---|---|
/// | `id` | `BYTEA` / `BLOB` / `BINARY(32)`, primary key | the SHA-256 of the session id ([`IdHash`]) |
/// | `data` | `TEXT` / `TEXT` / `MEDIUMTEXT` | the session's data as Flask's tagged JSON |
/// | `created_at` | `BIGINT` | Unix seconds |
/// | `idle_deadline` | `BIGINT` | Unix seconds |
/// | `absolute_deadline` | `BIGINT` | Unix seconds |
/// | `expires_at` | `BIGINT`, indexed | the earlier deadline (what the sweep and loads compare) |
/// | `lease` | `BYTEA` / `BLOB` / `BINARY(16)`, null when free | the writer's lease token |
/// | `lease_until` | `BIGINT`, null when free | milliseconds since the epoch, the **database server's** clock |
/// | `login` | `TEXT`, null when anonymous | who is logged in and from where ([`Login`](crate::store::Login) as JSON) |
/// | `user_key` | `CHAR(64)`, indexed, null when anonymous | SHA-256 hex of the user id: the per-user index ([`SessionIndex`]) |
/// | `last_seen` | `BIGINT` | Unix seconds of the last write or refresh |
///
/// A table made by an earlier version gets the last three columns (and the index) by `ALTER
/// TABLE` on first use.
///
/// Record times are the Unix seconds the layer passes in (its [`Clock`]); times past
/// `i64::MAX` (no deadline) are stored as `i64::MAX`. Lease times are measured by the database
/// server alone, so a lease never depends on the app servers' clocks agreeing.
///
/// # Statements, per operation
///
/// - `load` without a lease: `SELECT … WHERE id = $h`; the deadlines are checked in Rust.
/// - `load` with a lease: `UPDATE … SET lease = $token, lease_until = <now ms> + $ttl WHERE
///   id = $h AND expires_at > $now AND (lease IS NULL OR lease = $token OR lease_until <= <now
///   ms>) RETURNING …`: the lease and the read are one statement on one row. No row back: a
///   plain `SELECT` tells `Missing` from `Busy`. MySQL has no `RETURNING`: there the `UPDATE`
///   is followed by `SELECT …, lease = $token`. That is still safe: once the `UPDATE` has put
///   our token on the row, every other commit is fenced out, so the row the `SELECT` reads is
///   exactly the one our lease protects (the same argument as the Redis store's `SET NX` before
///   its `GET`); if the `SELECT` shows another token, we did not get the lease: `Busy`.
/// - `create`: `INSERT` (`ON CONFLICT DO NOTHING`; MySQL: a duplicate-key error): insert-only.
/// - `commit` save / release / delete: one `UPDATE` / `DELETE … WHERE id = $h AND lease =
///   $token AND lease_until > <now ms>`; zero rows means the lease was lost or the session is
///   gone, and the commit is refused. Rotate: one short transaction inside the call, the fenced
///   `DELETE` of the old row then the `INSERT` of the new one.
/// - `renew`: the fenced `UPDATE` of `lease_until`; `touch`: `UPDATE … SET idle_deadline =
///   least($idle, absolute_deadline) WHERE … idle_deadline < that` (forward only).
///
/// No transaction, lock or connection is held across a handler: a lease is a value on the row.
///
/// On PostgreSQL a request that changes its session is two statements, two round trips: the
/// leased load and the fenced save, each its own implicit transaction, both prepared once per
/// connection (sqlx's statement cache).
///
/// # Durability
///
/// Every statement that writes session data (create, save, rotate, delete, touch, revoke, the
/// sweep) commits as the server is configured to (with PostgreSQL's default
/// `synchronous_commit = on`: flushed to disk before the call returns). On PostgreSQL the
/// statements that write only a lease (the leased load, renew, release) carry
/// `set_config('synchronous_commit', 'off', true)`, which makes that one statement's commit
/// skip the wait for its log flush (it does not change the connection or any other
/// statement). Nothing depends on a lease surviving a crash of the database server: a lease
/// lost with its unflushed commit is a lease never taken (its holder's fenced commit is
/// refused, and the next writer takes the row afresh); a lost release leaves a lease that
/// expires after its TTL. A save is flushed with everything logged before
/// it, its own lease included. This halves the flushes of a read-modify-write request (one
/// instead of two). `?lease_commit=sync` (or
/// [`with_synchronous_leases`](Self::with_synchronous_leases)) flushes the lease statements
/// too. MySQL / MariaDB and SQLite have no per-transaction switch and are unaffected.
///
/// # The sweep
///
/// A background task (started with the first request, stopped when the store is dropped)
/// deletes expired rows every `sweep_interval` (default 60 s): one `DELETE` of at most
/// `sweep_batch` rows (default 1000) at a time, through the `expires_at` index, repeated until
/// a batch comes back short or 100 batches have run (PostgreSQL skips rows a writer holds:
/// `FOR UPDATE SKIP LOCKED`). Each statement is short, so the sweep never holds long locks; a
/// stream of one-request visitors is removed as fast as it expires.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use satchel_session::store::SqlStore;
/// use satchel_session::{SessionConfig, SessionLayer};
///
/// # #[cfg(feature = "sqlite")] {
/// let dir = std::env::temp_dir().join(format!("satchel-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let store = SqlStore::open(&format!("sqlite:{}", dir.join("sessions.db").display()))?
///     .with_table("web_sessions")?;
/// assert_eq!(store.table(), "web_sessions");
/// let layer = SessionLayer::builder(SessionConfig::default()).store(Arc::new(store)).build();
/// assert!(layer.is_ok());
/// # }
/// # Ok::<(), satchel_session::store::StoreError>(())
/// ```
pub struct SqlStore {
    inner: Box<dyn ErasedSql>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("table", &self.table())
            .finish()
    }
}

impl SqlStore {
    /// A store over `inner` (one database's dialect; `open.rs` picks it from a URL).
    fn from_erased(inner: Box<dyn ErasedSql>) -> Self {
        SqlStore { inner }
    }

    /// Keeps sessions in table `name` (default `satchel_sessions`): 1 to 48 of `[a-z0-9_]`,
    /// not starting with a digit; anything else is a [`StoreError::Config`].
    ///
    /// ```
    /// # #[cfg(feature = "postgres")] {
    /// let store = satchel_session::store::SqlStore::open("postgres://127.0.0.1/test")?;
    /// assert!(store.with_table("robert'); DROP TABLE students;--").is_err());
    /// # }
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_table(mut self, name: &str) -> Result<Self, StoreError> {
        self.inner.settings().table = checked_table(name)?;
        Ok(self)
    }

    /// Sweeps expired rows every `interval` (default 60 s); `None`: never (call
    /// [`sweep`](Self::sweep) yourself, or leave the rows).
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// let store = satchel_session::store::SqlStore::open("sqlite:sessions.db")?.with_sweep_interval(None);
    /// # }
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_sweep_interval(mut self, interval: Option<Duration>) -> Self {
        self.inner.settings().sweep_interval = interval.filter(|d| !d.is_zero());
        self
    }

    /// Deletes at most `rows` rows per sweep statement (default 1000, at least 1).
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// let store = satchel_session::store::SqlStore::open("sqlite:sessions.db")?.with_sweep_batch(500);
    /// # }
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_sweep_batch(mut self, rows: u32) -> Self {
        self.inner.settings().sweep_batch = rows.max(1);
        self
    }

    /// Bounds every call, waiting for a pooled connection included (default 2 s); past it the
    /// request gets a 503.
    ///
    /// ```
    /// # #[cfg(feature = "mysql")] {
    /// let store = satchel_session::store::SqlStore::open("mysql://root@127.0.0.1/test")?
    ///     .with_timeout(std::time::Duration::from_millis(500));
    /// # }
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.inner.settings().timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// At most `connections` pooled connections (default 10; SQLite 4).
    ///
    /// ```
    /// # #[cfg(feature = "postgres")] {
    /// let store = satchel_session::store::SqlStore::open("postgres://127.0.0.1/test")?.with_pool_size(32);
    /// # }
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_pool_size(mut self, connections: u32) -> Self {
        self.inner.settings().pool_size = connections.max(1);
        self
    }

    /// Refuses records larger than `bytes` of Flask-JSON (default 64 KiB) with
    /// [`StoreError::TooLarge`].
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// let store = satchel_session::store::SqlStore::open("sqlite:sessions.db")?.with_max_record_bytes(4096);
    /// # }
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.inner.settings().max_record_bytes = bytes;
        self
    }

    /// PostgreSQL: whether the lease-only statements wait for their commit's log flush like
    /// the data writes do (default `false`: they do not; see [Durability](#durability)).
    /// Other databases ignore it.
    ///
    /// ```
    /// # #[cfg(feature = "postgres")] {
    /// let store = satchel_session::store::SqlStore::open("postgres://127.0.0.1/test")?
    ///     .with_synchronous_leases(true);
    /// # }
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_synchronous_leases(mut self, synchronous: bool) -> Self {
        self.inner.settings().synchronous_leases = synchronous;
        self
    }

    /// The clock the sweep asks for "now" (default the system clock); give it the layer's.
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// let (clock, _hands) = satchel_session::Clock::manual(1_800_000_000);
    /// let store = satchel_session::store::SqlStore::open("sqlite:sessions.db")?.with_clock(clock);
    /// # }
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.inner.settings().clock = clock;
        self
    }

    /// The table's name.
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// assert_eq!(satchel_session::store::SqlStore::open("sqlite:s.db")?.table(), "satchel_sessions");
    /// # }
    /// # Ok::<(), satchel_session::store::StoreError>(())
    /// ```
    pub fn table(&self) -> &str {
        self.inner.table()
    }

    /// One sweep pass now: deletes expired rows in batches; returns how many.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), satchel_session::store::StoreError> {
    /// let store = satchel_session::store::SqlStore::open("postgres://127.0.0.1/test")?;
    /// println!("{} expired sessions removed", store.sweep().await?);
    /// # Ok(()) }
    /// ```
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        self.inner.sweep().await
    }

    /// How many rows the table holds (live, or expired and not yet swept).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), satchel_session::store::StoreError> {
    /// let store = satchel_session::store::SqlStore::open("postgres://127.0.0.1/test")?;
    /// println!("{} rows", store.row_count().await?);
    /// # Ok(()) }
    /// ```
    pub async fn row_count(&self) -> Result<u64, StoreError> {
        self.inner.count().await
    }
}

impl Store for SqlStore {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        self.inner.load(id, now, lease)
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        self.inner.create(id, record, now)
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        self.inner.commit(id, token, commit, now)
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        self.inner.renew(id, lease)
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        self.inner.touch(id, idle_deadline, now)
    }

    fn as_index(&self) -> Option<&dyn SessionIndex> {
        Some(self)
    }
}

/// The index is on `(user_key, last_seen)`: listing a user walks it, most recently seen first,
/// ending all of a user's sessions one `DELETE … WHERE user_key = $k`, ending one a `DELETE …
/// WHERE id = $h`. Listing every user's sessions (`None`) scans the logged-in rows.
impl SessionIndex for SqlStore {
    fn sessions<'a>(
        &'a self,
        user_id: Option<&'a str>,
        now: u64,
    ) -> StoreFuture<'a, Vec<SessionEntry>> {
        self.inner.sessions(user_id, now)
    }

    fn revoke<'a>(&'a self, id: &'a IdHash) -> StoreFuture<'a, bool> {
        self.inner.revoke(id)
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str) -> StoreFuture<'a, u64> {
        self.inner.revoke_user(user_id)
    }
}
