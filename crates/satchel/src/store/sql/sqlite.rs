//! The SQLite dialect of [`SqlStore`](super::SqlStore) (feature `sqlite`).
//!
//! The file is switched to WAL once (readers never wait for the writer) and every connection
//! waits up to 5 s for the write lock (`busy_timeout`); `synchronous = NORMAL` (with WAL, a
//! crash of the process loses nothing; a power cut may lose the last commits). `UPDATE …
//! RETURNING` (SQLite 3.35+) takes the lease and reads the row in one statement, under
//! SQLite's write lock; the rotate transaction is `BEGIN IMMEDIATE`, so it takes the write lock
//! up front instead of failing to upgrade a read lock. Lease times are the host's clock
//! (`julianday('now')`), which every process sharing the file reads alike.
//!
//! Several processes on one machine may share one file; a network file system may not
//! (SQLite's locks are not reliable there). `:memory:` databases are refused: each pooled
//! connection would get its own (use [`MemoryStore`](crate::store::MemoryStore)).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};

use super::dialect::{sql_executor, DbFuture, Dialect};
use super::lazy::{lazy, ErasedSql};
use super::settings::split_url;
use super::template::Placeholders;
use crate::store::StoreError;

/// How often, at most, switching a new file to WAL is retried while another process holds it.
const WAL_ATTEMPTS: u32 = 100;

/// SQLite, through sqlx.
pub(crate) struct Sqlite;

impl Dialect for Sqlite {
    type Db = sqlx::Sqlite;
    const NAME: &'static str = "SQLite";
    const PLACEHOLDERS: Placeholders = Placeholders::QuestionNumbered;
    const RETURNING: bool = true;
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    const NOW_MS: &'static str = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
    const LEAST: &'static str = "MIN";
    const ON_CONFLICT: &'static str = " ON CONFLICT (id) DO NOTHING";

    fn schema(table: &str) -> Vec<String> {
        vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (\
                 id BLOB PRIMARY KEY NOT NULL, \
                 data TEXT NOT NULL, \
                 created_at INTEGER NOT NULL, \
                 idle_deadline INTEGER NOT NULL, \
                 absolute_deadline INTEGER NOT NULL, \
                 expires_at INTEGER NOT NULL, \
                 lease BLOB, \
                 lease_until INTEGER, \
                 login TEXT, \
                 user_key TEXT, \
                 last_seen INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID"
            ),
            format!("CREATE INDEX IF NOT EXISTS {table}_expires_at ON {table} (expires_at)"),
        ]
    }

    fn user_key_index(table: &str) -> String {
        format!(
            "CREATE INDEX IF NOT EXISTS {table}_user_seen ON {table} (user_key, last_seen) \
             WHERE user_key IS NOT NULL"
        )
    }

    fn schema_lock(_table: &str) -> Option<String> {
        None
    }

    fn has_column(table: &str, column: &str) -> String {
        format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'")
    }

    fn sweep(table: &str) -> String {
        format!(
            "DELETE FROM {table} WHERE id IN \
             (SELECT id FROM {table} WHERE expires_at <= :now LIMIT :limit)"
        )
    }

    /// WAL is a property of the file: set once. Switching needs the file to itself, which the
    /// busy timeout does not wait for, so a process starting beside another retries (bounded).
    fn prepare(pool: &sqlx::Pool<sqlx::Sqlite>) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let mut attempt = 0;
            loop {
                match sqlx::query("PRAGMA journal_mode = WAL").execute(pool).await {
                    Ok(_) => return Ok(()),
                    Err(sqlx::Error::Database(e))
                        if attempt < WAL_ATTEMPTS && e.message().contains("locked") =>
                    {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }

    sql_executor!(sqlx::Sqlite);
}

/// A SQLite store for `sqlite:PATH` (the file is created if missing).
pub(crate) fn open(url: &str) -> Result<Box<dyn ErasedSql>, StoreError> {
    let (url, settings) = split_url(url, 4)?;
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Err(StoreError::Config(
            "an in-memory SQLite database is one per connection: use `memory` or a file".into(),
        ));
    }
    let options = SqliteConnectOptions::from_str(&url)
        .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?
        .create_if_missing(true)
        .busy_timeout(Duration::from_secs(5))
        .synchronous(SqliteSynchronous::Normal);
    Ok(lazy::<Sqlite>(options, settings))
}
