//! The PostgreSQL dialect of [`SqlStore`](super::SqlStore) (feature `postgres`).
//!
//! `UPDATE … RETURNING` takes the lease and reads the row in one statement. Lease times come
//! from `clock_timestamp()` on the server. `CREATE TABLE IF NOT EXISTS` is not safe against a
//! concurrent twin (both may pass the check and one then fails on the catalog's unique index),
//! so the DDL runs in a transaction holding `pg_advisory_xact_lock` on a key derived from the
//! table name: a second process starting at the same moment waits for the first and then finds
//! the table. The lock is released with that transaction, never held across a request. The
//! sweep's `FOR UPDATE SKIP LOCKED` passes over rows a writer holds instead of waiting. The
//! lease-only statements commit without waiting for their log flush (`set_config(
//! 'synchronous_commit', 'off', true)` in their `WHERE`, for that statement's transaction only;
//! why that loses nothing: `SqlStore`'s "Durability").

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use super::dialect::{sql_executor, Dialect};
use super::lazy::{lazy, ErasedSql};
use super::settings::{split_url, verify_by_default};
use super::template::Placeholders;
use crate::store::connect_error::Trust;
use crate::store::StoreError;

/// PostgreSQL, through sqlx.
pub(crate) struct Postgres;

impl Dialect for Postgres {
    type Db = sqlx::Postgres;
    const NAME: &'static str = "PostgreSQL";
    const PLACEHOLDERS: Placeholders = Placeholders::Dollar;
    const RETURNING: bool = true;
    const BEGIN: &'static str = "BEGIN";
    const NOW_MS: &'static str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";
    const LEAST: &'static str = "LEAST";
    const ON_CONFLICT: &'static str = " ON CONFLICT (id) DO NOTHING";
    const UNFLUSHED_COMMIT: &'static str =
        "set_config('synchronous_commit', 'off', true) IS NOT NULL AND ";

    fn schema(table: &str) -> Vec<String> {
        vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (\
                 id BYTEA PRIMARY KEY, \
                 data TEXT NOT NULL, \
                 created_at BIGINT NOT NULL, \
                 idle_deadline BIGINT NOT NULL, \
                 absolute_deadline BIGINT NOT NULL, \
                 expires_at BIGINT NOT NULL, \
                 lease BYTEA, \
                 lease_until BIGINT, \
                 login TEXT, \
                 user_key CHAR(64), \
                 last_seen BIGINT NOT NULL DEFAULT 0)"
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

    fn schema_lock(table: &str) -> Option<String> {
        Some(format!(
            "SELECT pg_advisory_xact_lock(hashtext('satchel.schema.{table}'))"
        ))
    }

    fn sweep(table: &str) -> String {
        format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} \
             WHERE expires_at <= :now LIMIT :limit FOR UPDATE SKIP LOCKED)"
        )
    }

    sql_executor!(sqlx::Postgres);
}

/// A PostgreSQL store for `postgres://…` (satchel's own settings taken off the query). libpq's
/// TLS settings ride on the query (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`); without
/// `sslmode` (and without `PGSSLMODE`), a host that is not this machine gets `verify-full`.
pub(crate) fn open(url: &str) -> Result<Box<dyn ErasedSql>, StoreError> {
    let (url, mut settings) = split_url(url, 10)?;
    settings.trust = Trust::from_url(&url, &["sslrootcert", "ssl-root-cert", "ssl-ca"]);
    let mut options = PgConnectOptions::from_str(&url)
        .map_err(|e| StoreError::Config(format!("bad PostgreSQL URL: {e}")))?;
    if verify_by_default(
        &url,
        &["sslmode", "ssl-mode"],
        Some("PGSSLMODE"),
        options.get_host(),
    ) {
        options = options.ssl_mode(PgSslMode::VerifyFull);
    }
    Ok(lazy::<Postgres>(options, settings))
}
