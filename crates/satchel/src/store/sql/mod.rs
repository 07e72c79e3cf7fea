//! [`SqlStore`] (features `sqlite`, `postgres`, `mysql`): sessions in one SQL table, written
//! once over sqlx; the three dialect modules hold only what differs (placeholders, the clock
//! expression, the DDL).
//!
//! The schema and every statement are documented on [`SqlStore`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::OnceCell;

#[cfg(feature = "mysql")]
mod mysql;
mod open;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use super::{
    ordered, user_key, Commit, IdHash, Lease, LeaseToken, Loaded, Login, Record, SessionEntry,
    SessionIndex, Store, StoreError, StoreFuture, MAX_LISTED,
};
use crate::codec::flask_json;
use crate::Clock;

/// At most this many `DELETE` batches run in one sweep pass.
pub(crate) const MAX_BATCHES_PER_PASS: u32 = 100;

const DEFAULT_TABLE: &str = "satchel_sessions";
const MAX_TABLE_LEN: usize = 48;

/// The settings every SQL store shares, with their defaults.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) table: String,
    pub(crate) sweep_interval: Option<Duration>,
    pub(crate) sweep_batch: u32,
    pub(crate) pool_size: u32,
    pub(crate) timeout: Duration,
    pub(crate) max_record_bytes: usize,
    pub(crate) clock: Clock,
    /// Whether the lease-only statements (take, renew, release) wait for their commit to be
    /// flushed, as the data writes always do (PostgreSQL; default `false`).
    pub(crate) synchronous_leases: bool,
}

impl Settings {
    fn new(pool_size: u32) -> Self {
        Settings {
            table: DEFAULT_TABLE.to_owned(),
            sweep_interval: Some(Duration::from_secs(60)),
            sweep_batch: 1000,
            pool_size,
            timeout: Duration::from_secs(2),
            max_record_bytes: 64 * 1024,
            clock: Clock::system(),
            synchronous_leases: false,
        }
    }
}

/// Whether `name` may be a table name: 1 to 48 of `[a-z0-9_]`, not starting with a digit (so
/// it needs no quoting, means the same in all three databases, and leaves room for the index
/// name beside it).
fn valid_table(name: &str) -> bool {
    (1..=MAX_TABLE_LEN).contains(&name.len())
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Splits satchel's own settings (`table`, `sweep_interval`, `pool_size`, `lease_commit`) off a
/// store URL's query; the rest of the URL goes to the driver as it is.
pub(crate) fn split_url(url: &str, pool_size: u32) -> Result<(String, Settings), StoreError> {
    let mut settings = Settings::new(pool_size);
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), settings));
    };
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || {
            value.parse::<u32>().map_err(|_| {
                StoreError::Config(format!("{name} must be a whole number, not {value:?}"))
            })
        };
        match name {
            "table" => settings.table = checked_table(value)?,
            "sweep_interval" => {
                settings.sweep_interval =
                    Some(Duration::from_secs(number()?.into())).filter(|d| !d.is_zero());
            }
            "pool_size" => settings.pool_size = number()?.max(1),
            "lease_commit" => {
                settings.synchronous_leases = match value {
                    "sync" => true,
                    "async" => false,
                    _ => {
                        return Err(StoreError::Config(format!(
                            "lease_commit must be sync or async, not {value:?}"
                        )))
                    }
                }
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, settings))
}

fn checked_table(name: &str) -> Result<String, StoreError> {
    if valid_table(name) {
        Ok(name.to_owned())
    } else {
        Err(StoreError::Config(format!(
            "table name {name:?} is not 1 to {MAX_TABLE_LEN} of [a-z0-9_] (not starting with a digit)"
        )))
    }
}

/// A value bound to a statement, by name in the templates below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    Id,
    NewId,
    Token,
    TtlMs,
    Now,
    Data,
    Created,
    Idle,
    Absolute,
    Expires,
    Limit,
    Login,
    UserKey,
}

impl Param {
    fn named(name: &str) -> Option<Param> {
        Some(match name {
            "id" => Param::Id,
            "new_id" => Param::NewId,
            "token" => Param::Token,
            "ttl" => Param::TtlMs,
            "now" => Param::Now,
            "data" => Param::Data,
            "created" => Param::Created,
            "idle" => Param::Idle,
            "absolute" => Param::Absolute,
            "expires" => Param::Expires,
            "limit" => Param::Limit,
            "login" => Param::Login,
            "user_key" => Param::UserKey,
            _ => return None,
        })
    }
}

/// How a dialect writes placeholders.
#[derive(Debug, Clone, Copy)]
// A build with one database uses one of these (the tests build every one).
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]
pub(crate) enum Placeholders {
    /// `$1`, `$2`, … (PostgreSQL): a name used twice keeps its number.
    Dollar,
    /// `?1`, `?2`, … (SQLite): likewise.
    QuestionNumbered,
    /// `?` (MySQL): one per use, bound in order.
    Question,
}

/// A statement: its text for the driver and the values it binds, in order.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) sql: sqlx::SqlStr,
    pub(crate) params: Vec<Param>,
}

impl Statement {
    /// `template` with every `:name` replaced by the dialect's placeholder (`::` is left alone).
    fn new(template: &str, style: Placeholders) -> Statement {
        let mut sql = String::with_capacity(template.len());
        let mut params: Vec<Param> = Vec::new();
        let mut distinct: Vec<Param> = Vec::new();
        let mut rest = template;
        while let Some(at) = rest.find(':') {
            sql.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
                .count();
            let param = (len > 0).then(|| Param::named(&after[..len])).flatten();
            let Some(param) = param else {
                // Not a parameter (`::`, or a colon in text): copied as it is.
                let colons = 1 + after.bytes().take_while(|b| *b == b':').count();
                sql.push_str(&rest[at..at + colons]);
                rest = &rest[at + colons..];
                continue;
            };
            let number = match distinct.iter().position(|p| *p == param) {
                Some(i) => i + 1,
                None => {
                    distinct.push(param);
                    distinct.len()
                }
            };
            match style {
                Placeholders::Dollar => sql.push_str(&format!("${number}")),
                Placeholders::QuestionNumbered => sql.push_str(&format!("?{number}")),
                Placeholders::Question => {
                    sql.push('?');
                    params.push(param);
                }
            }
            rest = &after[len..];
        }
        sql.push_str(rest);
        if !matches!(style, Placeholders::Question) {
            params = distinct;
        }
        Statement {
            sql: sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql)),
            params,
        }
    }
}

/// The values a statement may bind; each statement takes the ones it names.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Values<'a> {
    pub(crate) id: &'a [u8],
    pub(crate) new_id: &'a [u8],
    pub(crate) token: [u8; 16],
    pub(crate) ttl_ms: i64,
    pub(crate) now: i64,
    pub(crate) data: &'a str,
    pub(crate) created: i64,
    pub(crate) idle: i64,
    pub(crate) absolute: i64,
    pub(crate) expires: i64,
    pub(crate) limit: i64,
    /// The record's [`Login`] as JSON; `None` for an anonymous session.
    pub(crate) login: Option<&'a str>,
    /// The logged-in user's key (SHA-256 hex of the user id).
    pub(crate) user_key: Option<&'a str>,
}

/// One value to bind, typed as the database sees it.
pub(crate) enum Bound<'a> {
    Bytes(&'a [u8]),
    Text(&'a str),
    Int(i64),
    /// Text or `NULL`.
    OptText(Option<&'a str>),
}

impl<'a> Values<'a> {
    pub(crate) fn get(&'a self, param: Param) -> Bound<'a> {
        match param {
            Param::Id => Bound::Bytes(self.id),
            Param::NewId => Bound::Bytes(self.new_id),
            Param::Token => Bound::Bytes(&self.token),
            Param::TtlMs => Bound::Int(self.ttl_ms),
            Param::Now => Bound::Int(self.now),
            Param::Data => Bound::Text(self.data),
            Param::Created => Bound::Int(self.created),
            Param::Idle => Bound::Int(self.idle),
            Param::Absolute => Bound::Int(self.absolute),
            Param::Expires => Bound::Int(self.expires),
            Param::Limit => Bound::Int(self.limit),
            Param::Login => Bound::OptText(self.login),
            Param::UserKey => Bound::OptText(self.user_key),
        }
    }

    fn for_record(id: &'a IdHash, encoded: &'a Encoded, record: &Record, now: u64) -> Self {
        Values {
            id: &id.0,
            data: &encoded.data,
            login: encoded.login.as_deref(),
            user_key: encoded.user_key.as_deref(),
            now: db_time(now),
            created: db_time(record.created_at),
            idle: db_time(record.idle_deadline),
            absolute: db_time(record.absolute_deadline),
            expires: db_time(record.expires_at()),
            ..Values::default()
        }
    }
}

/// A record as written: its data and login as text.
struct Encoded {
    data: String,
    login: Option<String>,
    user_key: Option<String>,
}

/// A row as read: data, created at, idle deadline, absolute deadline, login, and (MySQL's
/// leased read) whether the lease on it is ours.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) data: String,
    pub(crate) times: [i64; 3],
    pub(crate) login: Option<String>,
    pub(crate) ours: bool,
}

/// An index row as read: id, login, created at, last seen, expires at.
#[derive(Debug)]
pub(crate) struct IndexRow {
    pub(crate) id: Vec<u8>,
    pub(crate) login: String,
    pub(crate) times: [i64; 3],
}

/// A boxed driver future.
pub(crate) type DbFuture<'e, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'e>>;

/// What differs between the databases. Implemented by the dialect modules; the executor
/// methods are written once by [`sql_executor!`].
pub(crate) trait Dialect: Send + Sync + Sized + 'static {
    type Db: sqlx::Database;
    /// The database's name, for messages.
    const NAME: &'static str;
    const PLACEHOLDERS: Placeholders;
    /// Whether `UPDATE … RETURNING` exists (else the leased load reads after its `UPDATE`).
    const RETURNING: bool;
    /// The statement that opens the rotate transaction.
    const BEGIN: &'static str;
    /// The database server's clock, in milliseconds since the epoch, as an SQL expression.
    const NOW_MS: &'static str;
    /// The smaller of two integers, as an SQL function name.
    const LEAST: &'static str;

    /// `INSERT … VALUES (…)` is followed by this (`ON CONFLICT DO NOTHING`, or nothing).
    const ON_CONFLICT: &'static str;

    /// A condition, always true, that lets the statement's own transaction commit without
    /// waiting for its log flush (PostgreSQL: `set_config('synchronous_commit', 'off', true)`,
    /// which lasts until that commit); put before the lease-only statements' `WHERE`
    /// conditions. Empty where the database has no per-transaction switch.
    const UNFLUSHED_COMMIT: &'static str = "";

    /// The statements that create the table and its index, idempotently, run in order.
    fn schema(table: &str) -> Vec<String>;

    /// A statement deleting at most `:limit` rows with `expires_at <= :now`.
    fn sweep(table: &str) -> String;

    /// Runs before the schema statements in one transaction with them (PostgreSQL: a
    /// transaction-scoped advisory lock, so two processes never race their DDL).
    fn schema_lock(table: &str) -> Option<String>;

    /// Done once before the schema (SQLite: switch the file to WAL).
    fn prepare(pool: &sqlx::Pool<Self::Db>) -> DbFuture<'_, ()> {
        let _ = pool;
        Box::pin(async { Ok(()) })
    }

    fn execute<'e>(
        on: On<'e, Self::Db>,
        statement: &Statement,
        values: &Values<'_>,
    ) -> DbFuture<'e, u64>;

    fn fetch<'e>(
        on: On<'e, Self::Db>,
        statement: &Statement,
        values: &Values<'_>,
    ) -> DbFuture<'e, Option<Fetched>>;

    /// The first column of `statement`'s one row, an integer (a `COUNT(*)`).
    fn count<'e>(on: On<'e, Self::Db>, statement: &Statement) -> DbFuture<'e, i64>;

    /// Every row of an index listing (`id, login, created_at, last_seen, expires_at`).
    fn fetch_index<'e>(
        on: On<'e, Self::Db>,
        statement: &Statement,
        values: &Values<'_>,
    ) -> DbFuture<'e, Vec<IndexRow>>;

    /// A statement counting the columns named `column` of `table` (0 or 1).
    fn has_column(table: &str, column: &str) -> String {
        format!(
            "SELECT COUNT(*) FROM information_schema.columns \
             WHERE table_name = '{table}' AND column_name = '{column}' \
             AND table_schema = current_schema()"
        )
    }

    /// The per-user index, for a dialect whose [`schema`](Dialect::schema) cannot create it
    /// with the table: run after [`upgrade`](Dialect::upgrade) (so the column exists), on
    /// every start, idempotently. Partial (`WHERE user_key IS NOT NULL`) where the database
    /// allows it, so an anonymous session's row has no entry to update.
    fn user_key_index(_table: &str) -> Option<String> {
        None
    }

    /// The columns of the per-user index that a table made by an earlier version lacks, with
    /// the statements that add each (and the index with the `user_key` column, unless
    /// [`user_key_index`](Dialect::user_key_index) makes it).
    fn upgrade(table: &str) -> Vec<(&'static str, Vec<String>)> {
        let add = |column: &str| format!("ALTER TABLE {table} ADD COLUMN {column}");
        let index = Self::user_key_index(table)
            .is_none()
            .then(|| format!("CREATE INDEX {table}_user_key ON {table} (user_key)"));
        vec![
            ("login", vec![add("login TEXT NULL")]),
            (
                "user_key",
                std::iter::once(add("user_key CHAR(64) NULL"))
                    .chain(index)
                    .collect(),
            ),
            (
                "last_seen",
                vec![add("last_seen BIGINT NOT NULL DEFAULT 0")],
            ),
        ]
    }

    /// Whether `error` is a duplicate primary key.
    fn is_duplicate(error: &sqlx::Error) -> bool {
        matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
    }
}

/// Where a statement runs: the pool, or the connection of an open transaction.
pub(crate) enum On<'e, DB: sqlx::Database> {
    Pool(&'e sqlx::Pool<DB>),
    Tx(&'e mut DB::Connection),
}

/// Binds `values` to `query` in the order `statement` names them.
macro_rules! bind {
    ($query:expr, $statement:expr, $values:expr) => {{
        let mut query = $query;
        for param in &$statement.params {
            query = match $values.get(*param) {
                $crate::store::sql::Bound::Bytes(b) => query.bind(b.to_vec()),
                $crate::store::sql::Bound::Text(t) => query.bind(t.to_owned()),
                $crate::store::sql::Bound::Int(i) => query.bind(i),
                $crate::store::sql::Bound::OptText(t) => query.bind(t.map(str::to_owned)),
            };
        }
        query
    }};
}

/// Runs `query.method` on whichever executor `on` holds (the pool, or an open transaction),
/// and awaits it; `?` passes a database error on.
macro_rules! run_on {
    ($on:expr, $query:ident . $method:ident) => {
        match $on {
            $crate::store::sql::On::Pool(pool) => $query.$method(pool).await?,
            $crate::store::sql::On::Tx(tx) => $query.$method(tx).await?,
        }
    };
}

/// Writes a dialect's `execute`, `fetch` and `count` for its concrete database type (binding
/// by [`Values::get`], reading the columns of [`Fetched`]).
macro_rules! sql_executor {
    ($db:ty) => {
        fn execute<'e>(
            on: $crate::store::sql::On<'e, $db>,
            statement: &$crate::store::sql::Statement,
            values: &$crate::store::sql::Values<'_>,
        ) -> $crate::store::sql::DbFuture<'e, u64> {
            let query = $crate::store::sql::bind!(
                sqlx::query::<$db>(statement.sql.clone()),
                statement,
                values
            );
            Box::pin(
                async move { Ok($crate::store::sql::run_on!(on, query.execute).rows_affected()) },
            )
        }

        fn fetch<'e>(
            on: $crate::store::sql::On<'e, $db>,
            statement: &$crate::store::sql::Statement,
            values: &$crate::store::sql::Values<'_>,
        ) -> $crate::store::sql::DbFuture<'e, Option<$crate::store::sql::Fetched>> {
            let query = $crate::store::sql::bind!(
                sqlx::query::<$db>(statement.sql.clone()),
                statement,
                values
            );
            Box::pin(async move {
                let row = $crate::store::sql::run_on!(on, query.fetch_optional);
                row.map(|row| $crate::store::sql::fetched(&row)).transpose()
            })
        }

        fn count<'e>(
            on: $crate::store::sql::On<'e, $db>,
            statement: &$crate::store::sql::Statement,
        ) -> $crate::store::sql::DbFuture<'e, i64> {
            use sqlx::Row as _;
            let query = sqlx::query::<$db>(statement.sql.clone());
            Box::pin(async move {
                let row = $crate::store::sql::run_on!(on, query.fetch_one);
                row.try_get(0)
            })
        }

        fn fetch_index<'e>(
            on: $crate::store::sql::On<'e, $db>,
            statement: &$crate::store::sql::Statement,
            values: &$crate::store::sql::Values<'_>,
        ) -> $crate::store::sql::DbFuture<'e, Vec<$crate::store::sql::IndexRow>> {
            use sqlx::Row as _;
            let query = $crate::store::sql::bind!(
                sqlx::query::<$db>(statement.sql.clone()),
                statement,
                values
            );
            Box::pin(async move {
                let rows = $crate::store::sql::run_on!(on, query.fetch_all);
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::sql::IndexRow {
                            id: row.try_get(0)?,
                            login: row.try_get(1)?,
                            times: [row.try_get(2)?, row.try_get(3)?, row.try_get(4)?],
                        })
                    })
                    .collect()
            })
        }
    };
}

pub(crate) use {bind, run_on, sql_executor};

/// A row of `data, created_at, idle_deadline, absolute_deadline, login[, ours]` read.
pub(crate) fn fetched<R>(row: &R) -> Result<Fetched, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let ours = if row.len() > 5 {
        row.try_get::<Option<i64>, _>(5)?.unwrap_or(0) != 0
    } else {
        true
    };
    Ok(Fetched {
        data: row.try_get(0)?,
        times: [row.try_get(1)?, row.try_get(2)?, row.try_get(3)?],
        login: row.try_get(4)?,
        ours,
    })
}

/// Every statement a store runs, built once for its table.
struct Statements {
    read: Statement,
    take: Statement,
    read_leased: Statement,
    create: Statement,
    save: Statement,
    release: Statement,
    delete: Statement,
    renew: Statement,
    touch: Statement,
    sweep: Statement,
    count: Statement,
    list_user: Statement,
    list_all: Statement,
    revoke: Statement,
    revoke_user: Statement,
}

const COLUMNS: &str = "data, created_at, idle_deadline, absolute_deadline, login";
const INDEX_COLUMNS: &str = "id, login, created_at, last_seen, expires_at";

impl Statements {
    fn new<D: Dialect>(table: &str, synchronous_leases: bool) -> Self {
        let now = D::NOW_MS;
        let fence = format!("id = :id AND lease = :token AND lease_until > {now}");
        // The lease-only writes (take, renew, release) need no flush of their own: see
        // `SqlStore`'s "Durability".
        let unflushed = if synchronous_leases {
            ""
        } else {
            D::UNFLUSHED_COMMIT
        };
        let build = |text: String| Statement::new(&text, D::PLACEHOLDERS);
        let returning = if D::RETURNING {
            format!(" RETURNING {COLUMNS}")
        } else {
            String::new()
        };
        let least = D::LEAST;
        Statements {
            read: build(format!("SELECT {COLUMNS} FROM {table} WHERE id = :id")),
            take: build(format!(
                "UPDATE {table} SET lease = :token, lease_until = {now} + :ttl \
                 WHERE {unflushed}id = :id AND expires_at > :now \
                 AND (lease IS NULL OR lease = :token OR lease_until <= {now}){returning}"
            )),
            read_leased: build(format!(
                "SELECT {COLUMNS}, COALESCE(lease = :token, 0) FROM {table} WHERE id = :id"
            )),
            create: build(format!(
                "INSERT INTO {table} (id, {COLUMNS}, expires_at, user_key, last_seen) \
                 VALUES (:id, :data, :created, :idle, :absolute, :login, :expires, :user_key, \
                 :now){}",
                D::ON_CONFLICT
            )),
            save: build(format!(
                "UPDATE {table} SET data = :data, created_at = :created, idle_deadline = :idle, \
                 absolute_deadline = :absolute, expires_at = :expires, login = :login, \
                 user_key = :user_key, last_seen = :now, lease = NULL, \
                 lease_until = NULL WHERE {fence}"
            )),
            release: build(format!(
                "UPDATE {table} SET lease = NULL, lease_until = NULL WHERE {unflushed}{fence}"
            )),
            delete: build(format!("DELETE FROM {table} WHERE {fence}")),
            renew: build(format!(
                "UPDATE {table} SET lease_until = {now} + :ttl WHERE {unflushed}{fence}"
            )),
            touch: build(format!(
                "UPDATE {table} SET idle_deadline = {least}(:idle, absolute_deadline), \
                 expires_at = {least}(:idle, absolute_deadline), last_seen = :now \
                 WHERE id = :id AND expires_at > :now \
                 AND idle_deadline < {least}(:idle, absolute_deadline)"
            )),
            sweep: build(D::sweep(table)),
            count: build(format!("SELECT COUNT(*) FROM {table}")),
            list_user: build(format!(
                "SELECT {INDEX_COLUMNS} FROM {table} WHERE user_key = :user_key \
                 AND expires_at > :now ORDER BY last_seen DESC LIMIT :limit"
            )),
            list_all: build(format!(
                "SELECT {INDEX_COLUMNS} FROM {table} WHERE user_key IS NOT NULL \
                 AND expires_at > :now ORDER BY last_seen DESC LIMIT :limit"
            )),
            revoke: build(format!("DELETE FROM {table} WHERE id = :id")),
            revoke_user: build(format!("DELETE FROM {table} WHERE user_key = :user_key")),
        }
    }
}

/// A record time as stored: Unix seconds, `i64::MAX` standing for anything later.
fn db_time(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// A stored time back.
fn record_time(t: i64) -> Result<u64, StoreError> {
    match t {
        i64::MAX => Ok(u64::MAX),
        t => {
            u64::try_from(t).map_err(|_| StoreError::Corrupt(format!("negative session time {t}")))
        }
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// The store's view of a driver error: a row it cannot read is corrupt (a 500 for that
/// session); anything else means the database is not answering as it should (a 503).
fn store_error(error: sqlx::Error, timeout: Duration) -> StoreError {
    match error {
        sqlx::Error::PoolTimedOut => StoreError::Timeout(timeout),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(error.to_string())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// The connected half of a store: its pool and statements.
struct Engine<D: Dialect> {
    pool: sqlx::Pool<D::Db>,
    statements: Statements,
    settings: Settings,
}

impl<D: Dialect> Engine<D> {
    fn error(&self, error: sqlx::Error) -> StoreError {
        store_error(error, self.settings.timeout)
    }

    /// `call`, bounded by the store's timeout.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.settings.timeout, call).await {
            Ok(result) => result.map_err(|e| self.error(e)),
            Err(_) => Err(StoreError::Timeout(self.settings.timeout)),
        }
    }

    async fn execute(&self, statement: &Statement, values: &Values<'_>) -> Result<u64, StoreError> {
        self.bounded(D::execute(On::Pool(&self.pool), statement, values))
            .await
    }

    async fn fetch(
        &self,
        statement: &Statement,
        values: &Values<'_>,
    ) -> Result<Option<Fetched>, StoreError> {
        self.bounded(D::fetch(On::Pool(&self.pool), statement, values))
            .await
    }

    fn encode(&self, record: &Record) -> Result<Encoded, StoreError> {
        let mut text = String::with_capacity(128);
        flask_json::write_dict(&record.data, &mut text);
        if text.len() > self.settings.max_record_bytes {
            return Err(StoreError::TooLarge {
                size: text.len(),
                limit: self.settings.max_record_bytes,
            });
        }
        let login = record.login.as_ref().filter(|login| login.is_indexed());
        Ok(Encoded {
            data: text,
            login: login.map(Login::to_json),
            user_key: login.map(Login::user_key),
        })
    }

    async fn load(
        &self,
        id: &IdHash,
        now: u64,
        lease: Option<&Lease>,
    ) -> Result<Loaded, StoreError> {
        let mut values = Values {
            id: &id.0,
            now: db_time(now),
            ..Values::default()
        };
        let Some(lease) = lease else {
            return live(self.fetch(&self.statements.read, &values).await?, now);
        };
        values.token = lease.token.0.to_be_bytes();
        values.ttl_ms = ttl_ms(lease.ttl);
        let took = if D::RETURNING {
            self.fetch(&self.statements.take, &values).await?
        } else {
            self.execute(&self.statements.take, &values).await?;
            self.fetch(&self.statements.read_leased, &values)
                .await?
                .filter(|row| row.ours)
        };
        if let Some(row) = took {
            return live(Some(row), now);
        }
        // Not ours: a live record someone else holds is busy; anything else is missing.
        match live(self.fetch(&self.statements.read, &values).await?, now)? {
            Loaded::Found(_) => Ok(Loaded::Busy),
            other => Ok(other),
        }
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<bool, StoreError> {
        let encoded = self.encode(record)?;
        let values = Values::for_record(id, &encoded, record, now);
        match tokio::time::timeout(
            self.settings.timeout,
            D::execute(On::Pool(&self.pool), &self.statements.create, &values),
        )
        .await
        {
            Ok(Ok(rows)) => Ok(rows == 1),
            Ok(Err(error)) if D::is_duplicate(&error) => Ok(false),
            Ok(Err(error)) => Err(self.error(error)),
            Err(_) => Err(StoreError::Timeout(self.settings.timeout)),
        }
    }

    async fn commit(
        &self,
        id: &IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> Result<bool, StoreError> {
        let token = token.0.to_be_bytes();
        match commit {
            Commit::Save(record) => {
                let encoded = self.encode(&record)?;
                let mut values = Values::for_record(id, &encoded, &record, now);
                values.token = token;
                Ok(self.execute(&self.statements.save, &values).await? == 1)
            }
            Commit::Release | Commit::Delete => {
                let statement = match commit {
                    Commit::Release => &self.statements.release,
                    _ => &self.statements.delete,
                };
                let values = Values {
                    id: &id.0,
                    token,
                    ..Values::default()
                };
                Ok(self.execute(statement, &values).await? == 1)
            }
            Commit::Rotate { new_id, record } => {
                let encoded = self.encode(&record)?;
                self.bounded(self.rotate(id, token, &new_id, &encoded, &record, now))
                    .await
            }
        }
    }

    /// The fenced delete of `old` and the insert under `new`, in one transaction.
    async fn rotate(
        &self,
        old: &IdHash,
        token: [u8; 16],
        new: &IdHash,
        encoded: &Encoded,
        record: &Record,
        now: u64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin_with(D::BEGIN).await?;
        let fence = Values {
            id: &old.0,
            token,
            ..Values::default()
        };
        if D::execute(On::Tx(&mut *tx), &self.statements.delete, &fence).await? != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        let values = Values::for_record(new, encoded, record, now);
        let inserted = D::execute(On::Tx(&mut *tx), &self.statements.create, &values).await?;
        if inserted != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn renew(&self, id: &IdHash, lease: &Lease) -> Result<bool, StoreError> {
        let values = Values {
            id: &id.0,
            token: lease.token.0.to_be_bytes(),
            ttl_ms: ttl_ms(lease.ttl),
            ..Values::default()
        };
        Ok(self.execute(&self.statements.renew, &values).await? == 1)
    }

    async fn touch(&self, id: &IdHash, idle_deadline: u64, now: u64) -> Result<(), StoreError> {
        let values = Values {
            id: &id.0,
            idle: db_time(idle_deadline),
            now: db_time(now),
            ..Values::default()
        };
        self.execute(&self.statements.touch, &values).await?;
        Ok(())
    }

    /// One sweep pass at `now`: batches until one comes back short (or the pass's cap).
    async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        let values = Values {
            now: db_time(now),
            limit: i64::from(self.settings.sweep_batch),
            ..Values::default()
        };
        let mut removed = 0;
        for _ in 0..MAX_BATCHES_PER_PASS {
            let rows = self.execute(&self.statements.sweep, &values).await?;
            removed += rows;
            if rows < u64::from(self.settings.sweep_batch) {
                break;
            }
        }
        Ok(removed)
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let rows = self
            .bounded(D::count(On::Pool(&self.pool), &self.statements.count))
            .await?;
        Ok(u64::try_from(rows).unwrap_or(0))
    }

    async fn sessions(
        &self,
        user_id: Option<&str>,
        now: u64,
    ) -> Result<Vec<SessionEntry>, StoreError> {
        let key = user_id.map(user_key);
        let values = Values {
            user_key: key.as_deref(),
            now: db_time(now),
            limit: MAX_LISTED as i64,
            ..Values::default()
        };
        let statement = match user_id {
            Some(_) => &self.statements.list_user,
            None => &self.statements.list_all,
        };
        let rows = self
            .bounded(D::fetch_index(On::Pool(&self.pool), statement, &values))
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let id: [u8; 32] = row
                .id
                .try_into()
                .map_err(|_| StoreError::Corrupt("a session id hash is not 32 bytes".into()))?;
            let login = Login::from_json(&row.login)?;
            if user_id.is_some_and(|user| user != login.user_id) {
                continue;
            }
            let [created, seen, expires] = row.times;
            let times = [
                record_time(created)?,
                record_time(seen)?,
                record_time(expires)?,
            ];
            entries.push(SessionEntry::new(IdHash(id), login, times));
        }
        Ok(ordered(entries))
    }

    async fn revoke(&self, id: &IdHash) -> Result<bool, StoreError> {
        let values = Values {
            id: &id.0,
            ..Values::default()
        };
        Ok(self.execute(&self.statements.revoke, &values).await? > 0)
    }

    async fn revoke_user(&self, user_id: &str) -> Result<u64, StoreError> {
        let key = user_key(user_id);
        let values = Values {
            user_key: Some(&key),
            ..Values::default()
        };
        self.execute(&self.statements.revoke_user, &values).await
    }
}

/// A row read without a lease (or through one): found if live at `now`.
fn live(row: Option<Fetched>, now: u64) -> Result<Loaded, StoreError> {
    let Some(row) = row else {
        return Ok(Loaded::Missing);
    };
    let data = flask_json::from_str(&row.data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let [created, idle, absolute] = row.times;
    let mut record = Record::new(
        data,
        record_time(created)?,
        record_time(idle)?,
        record_time(absolute)?,
    );
    record.login = row.login.as_deref().map(Login::from_json).transpose()?;
    if record.is_expired(now) {
        Ok(Loaded::Missing)
    } else {
        Ok(Loaded::Found(record))
    }
}

/// A dialect's connect options (what its URL parses to).
pub(crate) type ConnectOptions<D> =
    <<<D as Dialect>::Db as sqlx::Database>::Connection as sqlx::Connection>::Options;

/// A store not yet connected: its settings, and the engine once the first call built it.
struct Lazy<D: Dialect> {
    options: ConnectOptions<D>,
    settings: Settings,
    engine: OnceCell<Arc<Engine<D>>>,
}

impl<D: Dialect> Lazy<D> {
    /// The engine; the first call opens the pool, creates the schema and starts the sweep. A
    /// failure there is that call's error, and the next call tries again.
    async fn engine(&self) -> Result<&Arc<Engine<D>>, StoreError> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        self.engine.get_or_try_init(|| Box::pin(self.start())).await
    }

    async fn start(&self) -> Result<Arc<Engine<D>>, StoreError> {
        let settings = self.settings.clone();
        let pool = sqlx::pool::PoolOptions::<D::Db>::new()
            .max_connections(settings.pool_size)
            .acquire_timeout(settings.timeout)
            // A ping per checkout would double the round trips; a broken connection fails
            // its one call instead (a 503) and is not returned to the pool.
            .test_before_acquire(false)
            .connect_lazy_with(self.options.clone());
        let engine = Arc::new(Engine {
            statements: Statements::new::<D>(&settings.table, settings.synchronous_leases),
            pool,
            settings,
        });
        // Creating the schema may wait for another process's DDL: a longer bound.
        let setup = Duration::from_secs(5).max(engine.settings.timeout);
        tokio::time::timeout(
            setup,
            create_schema::<D>(&engine.pool, &engine.settings.table),
        )
        .await
        .map_err(|_| StoreError::Timeout(setup))?
        .map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create the {} session table {:?}: {e}",
                D::NAME,
                engine.settings.table
            ))
        })?;
        if let Some(interval) = engine.settings.sweep_interval {
            tokio::spawn(sweep_forever(Arc::downgrade(&engine), interval));
        }
        Ok(engine)
    }
}

/// The table and its index, idempotently, in one transaction behind the dialect's lock.
async fn create_schema<D: Dialect>(
    pool: &sqlx::Pool<D::Db>,
    table: &str,
) -> Result<(), sqlx::Error> {
    D::prepare(pool).await?;
    let mut tx = pool.begin_with(D::BEGIN).await?;
    let lock = D::schema_lock(table);
    for ddl in lock.iter().cloned().chain(D::schema(table)) {
        let statement = Statement::new(&ddl, D::PLACEHOLDERS);
        D::execute(On::Tx(&mut *tx), &statement, &Values::default()).await?;
    }
    tx.commit().await?;
    // A table made before the per-user index existed gets its columns. Two processes doing
    // this at once: the second's ALTER fails with "duplicate column" / "already exists",
    // which is the answer it wanted.
    for (column, statements) in D::upgrade(table) {
        let check = Statement::new(&D::has_column(table, column), D::PLACEHOLDERS);
        if D::count(On::Pool(pool), &check).await? > 0 {
            continue;
        }
        for ddl in statements {
            execute_unless_done::<D>(pool, &ddl).await?;
        }
    }
    if let Some(ddl) = D::user_key_index(table) {
        execute_unless_done::<D>(pool, &ddl).await?;
    }
    Ok(())
}

/// Runs a schema change that another process may be making at the same moment: its
/// "duplicate column" / "already exists" is the answer this one wanted.
async fn execute_unless_done<D: Dialect>(
    pool: &sqlx::Pool<D::Db>,
    ddl: &str,
) -> Result<(), sqlx::Error> {
    let statement = Statement::new(ddl, D::PLACEHOLDERS);
    match D::execute(On::Pool(pool), &statement, &Values::default()).await {
        Err(error) => {
            let text = error.to_string().to_ascii_lowercase();
            if text.contains("duplicate") || text.contains("already exists") {
                Ok(())
            } else {
                Err(error)
            }
        }
        Ok(_) => Ok(()),
    }
}

/// The background sweep: a pass every `interval` until the store is dropped.
async fn sweep_forever<D: Dialect>(engine: Weak<Engine<D>>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(engine) = engine.upgrade() else {
            return;
        };
        match engine.sweep(engine.settings.clock.now()).await {
            Ok(0) => {}
            Ok(removed) => {
                tracing::debug!(removed, table = %engine.settings.table, "swept expired sessions")
            }
            Err(error) => tracing::warn!(%error, "session sweep failed; retrying next interval"),
        }
    }
}

/// What [`SqlStore`] needs of its (type-erased) dialect store.
pub(crate) trait Backend: Send + Sync + 'static {
    fn settings(&mut self) -> &mut Settings;
    fn table(&self) -> &str;
    fn store(&self) -> &dyn Store;
    fn index(&self) -> &dyn SessionIndex;
    fn sweep(&self) -> StoreFuture<'_, u64>;
    fn count(&self) -> StoreFuture<'_, u64>;
}

impl<D: Dialect> Backend for Lazy<D> {
    fn settings(&mut self) -> &mut Settings {
        &mut self.settings
    }

    fn table(&self) -> &str {
        &self.settings.table
    }

    fn store(&self) -> &dyn Store {
        self
    }

    fn index(&self) -> &dyn SessionIndex {
        self
    }

    fn sweep(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let engine = self.engine().await?;
            engine.sweep(engine.settings.clock.now()).await
        })
    }

    fn count(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move { self.engine().await?.count().await })
    }
}

impl<D: Dialect> Store for Lazy<D> {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        Box::pin(async move { self.engine().await?.load(id, now, lease).await })
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.engine().await?.create(id, record, now).await })
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.engine().await?.commit(id, token, commit, now).await })
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.engine().await?.renew(id, lease).await })
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.engine().await?.touch(id, idle_deadline, now).await })
    }
}

impl<D: Dialect> SessionIndex for Lazy<D> {
    fn sessions<'a>(
        &'a self,
        user_id: Option<&'a str>,
        now: u64,
    ) -> StoreFuture<'a, Vec<SessionEntry>> {
        Box::pin(async move { self.engine().await?.sessions(user_id, now).await })
    }

    fn revoke<'a>(&'a self, id: &'a IdHash) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.engine().await?.revoke(id).await })
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str, _now: u64) -> StoreFuture<'a, u64> {
        Box::pin(async move { self.engine().await?.revoke_user(user_id).await })
    }
}

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
/// | `login` | `TEXT`, null when anonymous | who is logged in and from where ([`Login`] as JSON) |
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
/// use satchel::store::SqlStore;
/// use satchel::{SessionConfig, SessionLayer};
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
/// # Ok::<(), satchel::store::StoreError>(())
/// ```
pub struct SqlStore {
    backend: Box<dyn Backend>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("table", &self.table())
            .finish()
    }
}

impl SqlStore {
    /// A store over `backend` (one database's dialect; `sql_url.rs` picks it from a URL).
    pub(super) fn from_backend(backend: Box<dyn Backend>) -> Self {
        SqlStore { backend }
    }

    /// Keeps sessions in table `name` (default `satchel_sessions`): 1 to 48 of `[a-z0-9_]`,
    /// not starting with a digit; anything else is a [`StoreError::Config`].
    ///
    /// ```
    /// # #[cfg(feature = "postgres")] {
    /// let store = satchel::store::SqlStore::open("postgres://127.0.0.1/test")?;
    /// assert!(store.with_table("robert'); DROP TABLE students;--").is_err());
    /// # }
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_table(mut self, name: &str) -> Result<Self, StoreError> {
        self.backend.settings().table = checked_table(name)?;
        Ok(self)
    }

    /// Sweeps expired rows every `interval` (default 60 s); `None`: never (call
    /// [`sweep`](Self::sweep) yourself, or leave the rows).
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// let store = satchel::store::SqlStore::open("sqlite:sessions.db")?.with_sweep_interval(None);
    /// # }
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_sweep_interval(mut self, interval: Option<Duration>) -> Self {
        self.backend.settings().sweep_interval = interval.filter(|d| !d.is_zero());
        self
    }

    /// Deletes at most `rows` rows per sweep statement (default 1000, at least 1).
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// let store = satchel::store::SqlStore::open("sqlite:sessions.db")?.with_sweep_batch(500);
    /// # }
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_sweep_batch(mut self, rows: u32) -> Self {
        self.backend.settings().sweep_batch = rows.max(1);
        self
    }

    /// Bounds every call, waiting for a pooled connection included (default 2 s); past it the
    /// request gets a 503.
    ///
    /// ```
    /// # #[cfg(feature = "mysql")] {
    /// let store = satchel::store::SqlStore::open("mysql://root@127.0.0.1/test")?
    ///     .with_timeout(std::time::Duration::from_millis(500));
    /// # }
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.backend.settings().timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// At most `connections` pooled connections (default 10; SQLite 4).
    ///
    /// ```
    /// # #[cfg(feature = "postgres")] {
    /// let store = satchel::store::SqlStore::open("postgres://127.0.0.1/test")?.with_pool_size(32);
    /// # }
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_pool_size(mut self, connections: u32) -> Self {
        self.backend.settings().pool_size = connections.max(1);
        self
    }

    /// Refuses records larger than `bytes` of Flask-JSON (default 64 KiB) with
    /// [`StoreError::TooLarge`].
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// let store = satchel::store::SqlStore::open("sqlite:sessions.db")?.with_max_record_bytes(4096);
    /// # }
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.backend.settings().max_record_bytes = bytes;
        self
    }

    /// PostgreSQL: whether the lease-only statements wait for their commit's log flush like
    /// the data writes do (default `false`: they do not; see [Durability](#durability)).
    /// Other databases ignore it.
    ///
    /// ```
    /// # #[cfg(feature = "postgres")] {
    /// let store = satchel::store::SqlStore::open("postgres://127.0.0.1/test")?
    ///     .with_synchronous_leases(true);
    /// # }
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_synchronous_leases(mut self, synchronous: bool) -> Self {
        self.backend.settings().synchronous_leases = synchronous;
        self
    }

    /// The clock the sweep asks for "now" (default the system clock); give it the layer's.
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// let (clock, _hands) = satchel::Clock::manual(1_800_000_000);
    /// let store = satchel::store::SqlStore::open("sqlite:sessions.db")?.with_clock(clock);
    /// # }
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.backend.settings().clock = clock;
        self
    }

    /// The table's name.
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// assert_eq!(satchel::store::SqlStore::open("sqlite:s.db")?.table(), "satchel_sessions");
    /// # }
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn table(&self) -> &str {
        self.backend.table()
    }

    /// One sweep pass now: deletes expired rows in batches; returns how many.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), satchel::store::StoreError> {
    /// let store = satchel::store::SqlStore::open("postgres://127.0.0.1/test")?;
    /// println!("{} expired sessions removed", store.sweep().await?);
    /// # Ok(()) }
    /// ```
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        self.backend.sweep().await
    }

    /// How many rows the table holds (live, or expired and not yet swept).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), satchel::store::StoreError> {
    /// let store = satchel::store::SqlStore::open("postgres://127.0.0.1/test")?;
    /// println!("{} rows", store.row_count().await?);
    /// # Ok(()) }
    /// ```
    pub async fn row_count(&self) -> Result<u64, StoreError> {
        self.backend.count().await
    }
}

/// A dialect's store for its parsed URL (the dialect modules call this).
pub(crate) fn lazy<D: Dialect>(options: ConnectOptions<D>, settings: Settings) -> Box<dyn Backend> {
    Box::new(Lazy::<D> {
        options,
        settings,
        engine: OnceCell::new(),
    })
}

impl Store for SqlStore {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        self.backend.store().load(id, now, lease)
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        self.backend.store().create(id, record, now)
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        self.backend.store().commit(id, token, commit, now)
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        self.backend.store().renew(id, lease)
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        self.backend.store().touch(id, idle_deadline, now)
    }
}

/// The index is the `user_key` column (indexed): listing a user is one indexed `SELECT`,
/// ending all of a user's sessions one `DELETE … WHERE user_key = $k`, ending one a `DELETE …
/// WHERE id = $h`. Listing every user's sessions (`None`) scans the logged-in rows.
impl SessionIndex for SqlStore {
    fn sessions<'a>(
        &'a self,
        user_id: Option<&'a str>,
        now: u64,
    ) -> StoreFuture<'a, Vec<SessionEntry>> {
        self.backend.index().sessions(user_id, now)
    }

    fn revoke<'a>(&'a self, id: &'a IdHash) -> StoreFuture<'a, bool> {
        self.backend.index().revoke(id)
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str, now: u64) -> StoreFuture<'a, u64> {
        self.backend.index().revoke_user(user_id, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_each_dialects_placeholders() {
        let text =
            "UPDATE t SET a = :token, b = CAST(x AS int)::bigint WHERE id = :id AND c = :token";
        let pg = Statement::new(text, Placeholders::Dollar);
        assert_eq!(
            pg.sql.as_str(),
            "UPDATE t SET a = $1, b = CAST(x AS int)::bigint WHERE id = $2 AND c = $1"
        );
        assert_eq!(pg.params, [Param::Token, Param::Id]);
        let lite = Statement::new(text, Placeholders::QuestionNumbered);
        assert!(lite.sql.as_str().ends_with("id = ?2 AND c = ?1"));
        let my = Statement::new(text, Placeholders::Question);
        assert!(my.sql.as_str().ends_with("id = ? AND c = ?"));
        assert_eq!(my.params, [Param::Token, Param::Id, Param::Token]);
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn only_the_lease_statements_skip_the_flush_and_lease_commit_sync_keeps_it() {
        use super::postgres::Postgres;
        let unflushed = |s: &Statement| s.sql.as_str().contains("synchronous_commit");
        let fast = Statements::new::<Postgres>("t", false);
        for lease_only in [&fast.take, &fast.renew, &fast.release] {
            assert!(unflushed(lease_only), "{}", lease_only.sql.as_str());
        }
        for data in [
            &fast.create,
            &fast.save,
            &fast.delete,
            &fast.touch,
            &fast.sweep,
            &fast.revoke,
            &fast.revoke_user,
        ] {
            assert!(!unflushed(data), "{}", data.sql.as_str());
        }
        let durable = Statements::new::<Postgres>("t", true);
        assert!(!unflushed(&durable.take) && !unflushed(&durable.release));
        let (_, s) = split_url("postgres://h/db?lease_commit=sync", 10).unwrap();
        assert!(s.synchronous_leases);
        let (_, s) = split_url("postgres://h/db", 10).unwrap();
        assert!(!s.synchronous_leases);
        assert!(split_url("postgres://h/db?lease_commit=off", 10).is_err());
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["satchel_sessions", "s", "_x1", &"a".repeat(48)] {
            assert!(valid_table(good), "{good}");
        }
        for bad in [
            "",
            "1abc",
            "Sessions",
            "a-b",
            "a b",
            "a;drop",
            "\"x\"",
            &"a".repeat(49),
        ] {
            assert!(!valid_table(bad), "{bad}");
        }
    }

    #[test]
    fn satchels_settings_are_taken_off_the_url_and_the_rest_kept() {
        let (url, s) = split_url(
            "postgres://u@h/db?sslmode=disable&table=t1&sweep_interval=5&pool_size=3",
            10,
        )
        .unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=disable");
        assert_eq!(
            (s.table.as_str(), s.sweep_interval, s.pool_size),
            ("t1", Some(Duration::from_secs(5)), 3)
        );
        let (url, s) = split_url("sqlite:x.db?sweep_interval=0", 4).unwrap();
        assert_eq!((url.as_str(), s.sweep_interval), ("sqlite:x.db", None));
        assert!(split_url("mysql://h/db?pool_size=many", 10).is_err());
        assert!(split_url("mysql://h/db?table=x%3Bdrop", 10).is_err());
    }

    #[test]
    fn times_past_i64_mean_never_and_negative_times_are_corrupt() {
        assert_eq!(db_time(u64::MAX), i64::MAX);
        assert_eq!(record_time(i64::MAX), Ok(u64::MAX));
        assert_eq!(record_time(db_time(1_800_000_000)), Ok(1_800_000_000));
        assert!(matches!(record_time(-1), Err(StoreError::Corrupt(_))));
    }
}
