//! The app's users: names and argon2id password hashes in a SQLite file, through sqlx's
//! SQLite driver (the one the library's SQLite store uses).
//!
//! No credentials live in code: users are added with `satchel users add NAME`, and the first
//! start creates `admin` (see [`ensure_admin`]).
//!
//! **Names** are unique regardless of case and Unicode compatibility forms: each has a key
//! ([`name_key`]: NFKC, case-folded, NFKC again) that no two users share, and a login, `users
//! passwd` or `users disable` finds the user by it (`ADMIN` logs in as `admin`, the
//! session then naming `admin`). `users add` also refuses a name that looks like an existing
//! one (Unicode's confusables, UTS #39: `adrnin`, `Iouis` and `r00t` beside `admin`, `louis`
//! and `root`). A file made before names had keys gets them when opened; users whose names
//! already collide there keep working by their exact names (a warning lists them).
//!
//! The file is in WAL mode (readers never wait for a writer such as `satchel users add`
//! beside the server) and a call waits up to [`DB_TIMEOUT`] for the write lock or a pooled
//! connection; past that it is a [`UserError::Db`] (a 503 in the app), never a panic.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use unicode_normalization::UnicodeNormalization as _;

/// Longest accepted user name and password, in bytes (longer input is refused before hashing).
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_PASSWORD_LEN: usize = 1024;

/// How long a call waits for SQLite's write lock (`busy_timeout`) or a pooled connection.
pub const DB_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections to the file: WAL lets readers run side by side; SQLite takes writes one at a
/// time whatever the number.
const POOL_SIZE: u32 = 4;

/// The user table, shared by request handlers.
#[derive(Clone)]
pub struct Users {
    pool: SqlitePool,
    /// A hash verified when the user does not exist, so timing does not tell who exists.
    dummy_hash: Arc<str>,
}

/// What creating a user can run into.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user {name:?} already exists{}", same_as(name, existing))]
    Exists { name: String, existing: String },
    #[error("user name {name:?} looks like the existing user {existing:?}: pick another")]
    LooksLike { name: String, existing: String },
    #[error("invalid user name {0:?}: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-'")]
    BadName(String),
    #[error("the password must be 8 to {MAX_PASSWORD_LEN} bytes")]
    BadPassword,
    #[error("user database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("password hashing: {0}")]
    Hash(String),
}

/// `" (as NAME)"` when the existing user is spelt otherwise.
fn same_as(name: &str, existing: &str) -> String {
    if name == existing {
        String::new()
    } else {
        format!(" (as {existing:?})")
    }
}

/// The key a user name is unique by: NFKC, then Unicode's full case folding, then NFKC again
/// (Unicode's `NFKC_Casefold`, less its removal of default-ignorable characters, which no
/// valid name has). `Admin`, `ADMIN` and the full-width `ａｄｍｉｎ` are all `admin`.
pub fn name_key(name: &str) -> String {
    let compatible: String = name.nfkc().collect();
    caseless::default_case_fold_str(&compatible)
        .nfkc()
        .collect()
}

/// What a name looks like: the [`name_key`] of UTS #39's skeleton of it (`rn` for `m`, `l`
/// for `I` and `1`, `O` for `0`, …), so names a reader could take for one another share it.
fn look_alike_key(name: &str) -> String {
    let compatible: String = name.nfkc().collect();
    let skeleton: String = unicode_security::skeleton(&compatible).collect();
    name_key(&skeleton)
}

/// A user's stored hash, read for a login check (see [`Users::stored_hash`]).
pub struct StoredHash {
    /// The user's name and hash; `None`: no such user, or disabled.
    stored: Option<(String, String)>,
    dummy: Arc<str>,
}

impl StoredHash {
    /// The user's name (as stored) if `password` is theirs, hashing in `memory` (argon2's
    /// working memory, grown to the stored hash's cost and kept by the caller for the next
    /// check, so a check allocates nothing). Slow on purpose (argon2): call it off the async
    /// threads. Costs the same whether or not the user exists (an unknown user's check
    /// hashes the dummy).
    pub fn verify_with(
        &self,
        password: &str,
        memory: &mut Vec<Block>,
    ) -> Result<Option<String>, UserError> {
        let hash = self.stored.as_ref().map_or(&*self.dummy, |(_, hash)| hash);
        let matches = check_password(hash, password, memory)?;
        Ok(self
            .stored
            .as_ref()
            .filter(|_| matches)
            .map(|(name, _)| name.clone()))
    }
}

impl Users {
    /// Opens (creating if needed) `users.sqlite3` in `data_dir`, adding the `disabled`
    /// column to a file made before accounts could be disabled.
    pub async fn open(data_dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let path = data_dir.join("users.sqlite3");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(DB_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(DB_TIMEOUT)
            .connect_with(options)
            .await;
        let pool = match pool {
            Ok(pool) => create_schema(&pool).await.map(|()| pool),
            Err(e) => Err(e),
        }
        .map_err(|e| format!("cannot open the user database {}: {e}", path.display()))?;
        let dummy_hash = hash_off_thread("not a real password".into())
            .await
            .map_err(|e| e.to_string())?;
        Ok(Users {
            pool,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Closes the pool's connections (SQLite then folds the WAL back into the file).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// How many users there are.
    pub async fn count(&self) -> Result<i64, UserError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Whether `name` is a user (disabled or not).
    #[cfg(test)]
    pub async fn exists(&self, name: &str) -> Result<bool, UserError> {
        self.has_row("SELECT 1 FROM users WHERE name = ?1", name)
            .await
    }

    /// Whether `query` (one `?1`, bound to `name`) finds a row.
    async fn has_row(&self, query: &'static str, name: &str) -> Result<bool, UserError> {
        let row: Option<i64> = sqlx::query_scalar(query)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Runs `query` with `values` bound to `?1`, `?2`, … and says whether it changed a row.
    async fn change_row(&self, query: &'static str, values: &[&str]) -> Result<bool, UserError> {
        let mut query = sqlx::query(query);
        for value in values {
            query = query.bind(*value);
        }
        Ok(query.execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Adds a user; a name whose [`name_key`] or look is an existing user's is an error.
    pub async fn add(&self, name: &str, password: &str) -> Result<(), UserError> {
        if !valid_name(name) {
            return Err(UserError::BadName(name.to_owned()));
        }
        let (key, look) = (name_key(name), look_alike_key(name));
        let hash = checked_hash(password).await?;
        // One statement: two `users add` at once cannot both pass the check.
        let inserted = self
            .change_row(
                "INSERT INTO users (name, name_key, look_alike, password_hash) \
                 SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS \
                 (SELECT 1 FROM users WHERE name = ?1 OR name_key = ?2 OR look_alike = ?3)",
                &[name, &key, &look, &hash],
            )
            .await?;
        if inserted {
            return Ok(());
        }
        let (existing, same): (String, bool) = sqlx::query_as(
            "SELECT name, name = ?1 OR name_key = ?2 FROM users \
             WHERE name = ?1 OR name_key = ?2 OR look_alike = ?3 \
             ORDER BY name = ?1 OR name_key = ?2 DESC LIMIT 1",
        )
        .bind(name)
        .bind(&key)
        .bind(&look)
        .fetch_one(&self.pool)
        .await?;
        let name = name.to_owned();
        Err(if same {
            UserError::Exists { name, existing }
        } else {
            UserError::LooksLike { name, existing }
        })
    }

    /// The stored name of the user `name` designates: the user of that exact name, else the
    /// one user with its [`name_key`] (`None`: no such user, or a file made before name keys
    /// that holds several).
    pub async fn resolve(&self, name: &str) -> Result<Option<String>, UserError> {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM users WHERE name = ?1 OR name_key = ?2 LIMIT 8")
                .bind(name)
                .bind(name_key(name))
                .fetch_all(&self.pool)
                .await?;
        if names.iter().any(|n| n == name) {
            return Ok(Some(name.to_owned()));
        }
        Ok(match <[String; 1]>::try_from(names) {
            Ok([only]) => Some(only),
            Err(_) => None,
        })
    }

    /// The hash of the user `name` designates ([`resolve`](Self::resolve)) for a login check
    /// ([`StoredHash::verify_with`], the slow part, is the caller's to run off the async
    /// threads): the dummy if there is no such active user.
    pub async fn stored_hash(&self, name: &str) -> Result<StoredHash, UserError> {
        let stored = match self.resolve(name).await? {
            Some(name) => sqlx::query_scalar(
                "SELECT password_hash FROM users WHERE name = ?1 AND disabled = 0",
            )
            .bind(&name)
            .fetch_optional(&self.pool)
            .await?
            .map(|hash: String| (name, hash)),
            None => None,
        };
        Ok(StoredHash {
            stored,
            dummy: self.dummy_hash.clone(),
        })
    }

    /// Whether `name` is a user who may log in (exists and is not disabled).
    pub async fn is_active(&self, name: &str) -> Result<bool, UserError> {
        self.has_row("SELECT 1 FROM users WHERE name = ?1 AND disabled = 0", name)
            .await
    }

    /// Sets the password of the user `name` designates ([`resolve`](Self::resolve)): their
    /// stored name, or `None` if there is no such user.
    pub async fn set_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<String>, UserError> {
        let hash = checked_hash(password).await?;
        let Some(name) = self.resolve(name).await? else {
            return Ok(None);
        };
        let changed = self
            .change_row(
                "UPDATE users SET password_hash = ?2 WHERE name = ?1",
                &[&name, &hash],
            )
            .await?;
        Ok(changed.then_some(name))
    }

    /// Disables the user `name` designates (their password no longer logs in): their stored
    /// name, or `None` if there is no such user.
    pub async fn disable(&self, name: &str) -> Result<Option<String>, UserError> {
        let Some(name) = self.resolve(name).await? else {
            return Ok(None);
        };
        let changed = self
            .change_row("UPDATE users SET disabled = 1 WHERE name = ?1", &[&name])
            .await?;
        Ok(changed.then_some(name))
    }

    /// Whether `password` is `name`'s, checked with a working memory of its own (for one-off
    /// checks; on the calling thread).
    #[cfg(test)]
    pub async fn verify(&self, name: &str, password: &str) -> Result<bool, UserError> {
        Ok(self
            .stored_hash(name)
            .await?
            .verify_with(password, &mut Vec::new())?
            .is_some())
    }
}

/// The table, and on a file made before them, the `disabled` column and the name keys (the
/// same statements, so the same schema, as every earlier version ran).
async fn create_schema(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS users (
             name TEXT PRIMARY KEY NOT NULL,
             password_hash TEXT NOT NULL,
             created_at INTEGER NOT NULL DEFAULT (unixepoch())
         )",
    )
    .execute(pool)
    .await?;
    for column in [
        "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE users ADD COLUMN name_key TEXT",
        "ALTER TABLE users ADD COLUMN look_alike TEXT",
    ] {
        add_column(pool, column).await?;
    }
    let unkeyed: Vec<String> =
        sqlx::query_scalar("SELECT name FROM users WHERE name_key IS NULL OR look_alike IS NULL")
            .fetch_all(pool)
            .await?;
    for name in unkeyed {
        sqlx::query("UPDATE users SET name_key = ?2, look_alike = ?3 WHERE name = ?1")
            .bind(&name)
            .bind(name_key(&name))
            .bind(look_alike_key(&name))
            .execute(pool)
            .await?;
    }
    sqlx::raw_sql(
        "CREATE INDEX IF NOT EXISTS users_name_key ON users (name_key);
         CREATE INDEX IF NOT EXISTS users_look_alike ON users (look_alike);",
    )
    .execute(pool)
    .await?;
    let colliding: Vec<String> = sqlx::query_scalar(
        "SELECT group_concat(name, ', ') FROM users GROUP BY name_key HAVING count(*) > 1",
    )
    .fetch_all(pool)
    .await?;
    for names in colliding {
        tracing::warn!(
            %names,
            "users whose names differ only in case or Unicode form (made before names had \
             keys): each logs in by its exact name only; disable all but one"
        );
    }
    Ok(())
}

/// `alter` (an `ALTER TABLE users ADD COLUMN`), unless the column is there.
async fn add_column(pool: &SqlitePool, alter: &'static str) -> Result<(), sqlx::Error> {
    match sqlx::query(alter).execute(pool).await {
        Err(sqlx::Error::Database(e)) if e.message().contains("duplicate column") => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// `password`'s hash once its length is checked, computed on the blocking threads.
async fn checked_hash(password: &str) -> Result<String, UserError> {
    if !(8..=MAX_PASSWORD_LEN).contains(&password.len()) {
        return Err(UserError::BadPassword);
    }
    hash_off_thread(password.to_owned()).await
}

/// [`hash_password`] on the blocking threads (argon2 is slow on purpose).
async fn hash_off_thread(password: String) -> Result<String, UserError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(hash_error)?
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn hash_password(password: &str) -> Result<String, UserError> {
    // The salt comes from the OS CSPRNG (argon2's `getrandom` feature).
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h: PasswordHash| h.to_string())
        .map_err(hash_error)
}

/// A hashing or PHC-parsing error, as the user-facing error.
fn hash_error(e: impl std::fmt::Display) -> UserError {
    UserError::Hash(e.to_string())
}

/// Stored hashes costing more memory than this are refused rather than computed.
const MAX_HASH_MEMORY_KIB: u32 = 256 * 1024;

/// Whether `password` hashes to the PHC string `hash` (argon2 only), computed in `memory`;
/// the outputs are compared in constant time ([`Output`]'s `==`).
fn check_password(hash: &str, password: &str, memory: &mut Vec<Block>) -> Result<bool, UserError> {
    let parsed = PasswordHash::new(hash).map_err(hash_error)?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(hash_error)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(hash_error)?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(hash_error)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(UserError::Hash(
            "the stored hash has no salt or output".into(),
        ));
    };
    if params.m_cost() > MAX_HASH_MEMORY_KIB {
        return Err(UserError::Hash(format!(
            "the stored hash needs {} KiB, over the {MAX_HASH_MEMORY_KIB} KiB allowed",
            params.m_cost()
        )));
    }
    memory.resize(params.block_count(), Block::default());
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    argon2
        .hash_password_into_with_memory(password.as_bytes(), &salt, out, &mut memory[..])
        .map_err(hash_error)?;
    Ok(Output::new(out).map_err(hash_error)? == expected)
}

/// On first start (no users): creates `admin` with `ADMIN_PASSWORD` if set, else with a random
/// password returned so the caller prints it once.
pub async fn ensure_admin(
    users: &Users,
    admin_password: Option<String>,
) -> Result<Option<String>, UserError> {
    if users.count().await? > 0 {
        return Ok(None);
    }
    match admin_password.filter(|p| !p.is_empty()) {
        Some(password) => {
            users.add("admin", &password).await?;
            Ok(None)
        }
        None => {
            let password = crate::keygen::random_token(18);
            users.add("admin", &password).await?;
            Ok(Some(password))
        }
    }
}

#[cfg(test)]
mod tests;
