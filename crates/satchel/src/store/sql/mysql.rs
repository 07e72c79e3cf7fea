//! The MySQL / MariaDB dialect of [`SqlStore`](super::SqlStore) (feature `mysql`).
//!
//! Neither has `UPDATE … RETURNING`, so the leased load is two statements: the `UPDATE` that
//! puts the token on the row, then `SELECT …, lease = token`. Once the token is on the row every
//! other commit is fenced out, so the row read is the one the lease protects. Lease times come
//! from `NOW(3)` on the server (sqlx sets the session's `time_zone` to UTC). `CREATE TABLE IF
//! NOT EXISTS` (index included) is one atomic statement under the server's metadata lock, so
//! two processes starting at once both find one table. The sweep is `DELETE … ORDER BY
//! expires_at LIMIT n`, through the index.

use std::str::FromStr;

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};

use super::dialect::{sql_executor, Dialect};
use super::lazy::{lazy, ErasedSql};
use super::settings::{split_url, verify_by_default};
use super::template::Placeholders;
use crate::store::connect_error::Trust;
use crate::store::StoreError;

/// MySQL or MariaDB, through sqlx.
pub(crate) struct MySql;

impl Dialect for MySql {
    type Db = sqlx::MySql;
    const NAME: &'static str = "MySQL";
    const PLACEHOLDERS: Placeholders = Placeholders::Question;
    const RETURNING: bool = false;
    const BEGIN: &'static str = "BEGIN";
    const NOW_MS: &'static str = "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)";
    const LEAST: &'static str = "LEAST";
    // A duplicate key is an error here, which the store reads as "exists".
    const ON_CONFLICT: &'static str = "";

    fn user_key_index(table: &str) -> String {
        // With the table for a fresh one (then this finds it there); added to an older one.
        format!("CREATE INDEX {table}_user_seen ON {table} (user_key, last_seen)")
    }

    fn schema(table: &str) -> Vec<String> {
        vec![format!(
            "CREATE TABLE IF NOT EXISTS {table} (\
             id BINARY(32) NOT NULL PRIMARY KEY, \
             data MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, \
             created_at BIGINT NOT NULL, \
             idle_deadline BIGINT NOT NULL, \
             absolute_deadline BIGINT NOT NULL, \
             expires_at BIGINT NOT NULL, \
             lease BINARY(16) NULL, \
             lease_until BIGINT NULL, \
             login TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, \
             user_key CHAR(64) CHARACTER SET ascii NULL, \
             last_seen BIGINT NOT NULL DEFAULT 0, \
             INDEX {table}_expires_at (expires_at), \
             INDEX {table}_user_seen (user_key, last_seen)) ENGINE = InnoDB"
        )]
    }

    fn schema_lock(_table: &str) -> Option<String> {
        None
    }

    fn has_column(table: &str, column: &str) -> String {
        format!(
            "SELECT COUNT(*) FROM information_schema.columns \
             WHERE table_name = '{table}' AND column_name = '{column}' \
             AND table_schema = DATABASE()"
        )
    }

    fn sweep(table: &str) -> String {
        format!("DELETE FROM {table} WHERE expires_at <= :now ORDER BY expires_at LIMIT :limit")
    }

    sql_executor!(sqlx::MySql);
}

/// A MySQL store for `mysql://…` or `mariadb://…` (satchel's own settings taken off the query).
/// The driver's TLS settings ride on the query (`ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key`);
/// without `ssl-mode`, a host that is not this machine gets `VERIFY_IDENTITY`.
pub(crate) fn open(url: &str) -> Result<Box<dyn ErasedSql>, StoreError> {
    let (url, mut settings) = split_url(url, 10)?;
    settings.trust = Trust::from_url(&url, &["ssl-ca", "sslca"]);
    let url = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url,
    };
    let mut options = MySqlConnectOptions::from_str(&url)
        .map_err(|e| StoreError::Config(format!("bad MySQL URL: {e}")))?;
    if verify_by_default(&url, &["ssl-mode", "sslmode"], None, options.get_host()) {
        options = options.ssl_mode(MySqlSslMode::VerifyIdentity);
    }
    Ok(lazy::<MySql>(options, settings))
}
