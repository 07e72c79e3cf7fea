//! What differs between the databases: the [`Dialect`] trait that `sqlite.rs`, `postgres.rs`
//! and `mysql.rs` implement, where a statement runs ([`On`]), what a row reads back as
//! ([`Fetched`], [`IndexRow`]), and the executor methods written once for every database by
//! [`sql_executor!`].

use std::future::Future;
use std::pin::Pin;

use super::template::{Placeholders, Statement, Values};

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

    /// The per-user index, on `(user_key, last_seen)`: a user's sessions are found and listed
    /// most recently seen first by walking it, with no sort. Run after
    /// [`upgrade`](Dialect::upgrade) (so the columns exist), on every start, idempotently (an
    /// "already exists" is the answer wanted), so a table made by an earlier version gets it
    /// too. Partial (`WHERE user_key IS NOT NULL`) where the database allows it, so an
    /// anonymous session's row has no entry to update.
    fn user_key_index(table: &str) -> String;

    /// The columns of the per-user index that a table made by an earlier version lacks, with
    /// the statements that add each.
    fn upgrade(table: &str) -> Vec<(&'static str, Vec<String>)> {
        let add = |column: &str| format!("ALTER TABLE {table} ADD COLUMN {column}");
        vec![
            ("login", vec![add("login TEXT NULL")]),
            ("user_key", vec![add("user_key CHAR(64) NULL")]),
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
                $crate::store::sql::template::Bound::Bytes(b) => query.bind(b.to_vec()),
                $crate::store::sql::template::Bound::Text(t) => query.bind(t.to_owned()),
                $crate::store::sql::template::Bound::Int(i) => query.bind(i),
                $crate::store::sql::template::Bound::OptText(t) => query.bind(t.map(str::to_owned)),
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
            $crate::store::sql::dialect::On::Pool(pool) => $query.$method(pool).await?,
            $crate::store::sql::dialect::On::Tx(tx) => $query.$method(tx).await?,
        }
    };
}

/// Writes a dialect's `execute`, `fetch` and `count` for its concrete database type (binding
/// by [`Values::get`], reading the columns of [`Fetched`]).
macro_rules! sql_executor {
    ($db:ty) => {
        fn execute<'e>(
            on: $crate::store::sql::dialect::On<'e, $db>,
            statement: &$crate::store::sql::template::Statement,
            values: &$crate::store::sql::template::Values<'_>,
        ) -> $crate::store::sql::dialect::DbFuture<'e, u64> {
            let query = $crate::store::sql::dialect::bind!(
                sqlx::query::<$db>(statement.sql.clone()),
                statement,
                values
            );
            Box::pin(async move {
                Ok($crate::store::sql::dialect::run_on!(on, query.execute).rows_affected())
            })
        }

        fn fetch<'e>(
            on: $crate::store::sql::dialect::On<'e, $db>,
            statement: &$crate::store::sql::template::Statement,
            values: &$crate::store::sql::template::Values<'_>,
        ) -> $crate::store::sql::dialect::DbFuture<'e, Option<$crate::store::sql::dialect::Fetched>>
        {
            let query = $crate::store::sql::dialect::bind!(
                sqlx::query::<$db>(statement.sql.clone()),
                statement,
                values
            );
            Box::pin(async move {
                let row = $crate::store::sql::dialect::run_on!(on, query.fetch_optional);
                row.map(|row| $crate::store::sql::dialect::fetched(&row))
                    .transpose()
            })
        }

        fn count<'e>(
            on: $crate::store::sql::dialect::On<'e, $db>,
            statement: &$crate::store::sql::template::Statement,
        ) -> $crate::store::sql::dialect::DbFuture<'e, i64> {
            use sqlx::Row as _;
            let query = sqlx::query::<$db>(statement.sql.clone());
            Box::pin(async move {
                let row = $crate::store::sql::dialect::run_on!(on, query.fetch_one);
                row.try_get(0)
            })
        }

        fn fetch_index<'e>(
            on: $crate::store::sql::dialect::On<'e, $db>,
            statement: &$crate::store::sql::template::Statement,
            values: &$crate::store::sql::template::Values<'_>,
        ) -> $crate::store::sql::dialect::DbFuture<'e, Vec<$crate::store::sql::dialect::IndexRow>> {
            use sqlx::Row as _;
            let query = $crate::store::sql::dialect::bind!(
                sqlx::query::<$db>(statement.sql.clone()),
                statement,
                values
            );
            Box::pin(async move {
                let rows = $crate::store::sql::dialect::run_on!(on, query.fetch_all);
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::sql::dialect::IndexRow {
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
