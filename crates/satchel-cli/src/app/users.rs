//! The app's users: names and argon2id password hashes in a SQLite file.
//!
//! No credentials live in code: users are added with `satchel users add NAME`, and the first
//! start creates `admin` (see [`ensure_admin`]).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
use rusqlite::{params, Connection, OptionalExtension};

/// Longest accepted user name and password, in bytes (longer input is refused before hashing).
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_PASSWORD_LEN: usize = 1024;

/// The user table, shared by request handlers.
#[derive(Clone)]
pub struct Users {
    conn: Arc<Mutex<Connection>>,
    /// A hash verified when the user does not exist, so timing does not tell who exists.
    dummy_hash: Arc<str>,
}

/// What creating a user can run into.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user {0:?} already exists")]
    Exists(String),
    #[error("invalid user name {0:?}: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-'")]
    BadName(String),
    #[error("the password must be 8 to {MAX_PASSWORD_LEN} bytes")]
    BadPassword,
    #[error("user database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("password hashing: {0}")]
    Hash(String),
}

impl Users {
    /// Opens (creating if needed) `users.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let path = data_dir.join("users.sqlite3");
        let conn = Connection::open(&path)
            .and_then(|conn| {
                conn.execute_batch(
                    "CREATE TABLE IF NOT EXISTS users (
                         name TEXT PRIMARY KEY NOT NULL,
                         password_hash TEXT NOT NULL,
                         created_at INTEGER NOT NULL DEFAULT (unixepoch())
                     );",
                )?;
                Ok(conn)
            })
            .map_err(|e| format!("cannot open the user database {}: {e}", path.display()))?;
        let dummy_hash = hash_password("not a real password").map_err(|e| e.to_string())?;
        Ok(Users {
            conn: Arc::new(Mutex::new(conn)),
            dummy_hash: dummy_hash.into(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many users there are.
    pub fn count(&self) -> Result<i64, UserError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))?)
    }

    /// Whether `name` is a user.
    pub fn exists(&self, name: &str) -> Result<bool, UserError> {
        Ok(self
            .conn()
            .query_row("SELECT 1 FROM users WHERE name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Adds a user; an existing name is an error.
    pub fn add(&self, name: &str, password: &str) -> Result<(), UserError> {
        if !valid_name(name) {
            return Err(UserError::BadName(name.to_owned()));
        }
        if !(8..=MAX_PASSWORD_LEN).contains(&password.len()) {
            return Err(UserError::BadPassword);
        }
        let hash = hash_password(password)?;
        let inserted = self.conn().execute(
            "INSERT INTO users (name, password_hash) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![name, hash],
        )?;
        if inserted == 0 {
            return Err(UserError::Exists(name.to_owned()));
        }
        Ok(())
    }

    /// Whether `password` is `name`'s, hashing in `memory` (argon2's working memory, grown
    /// to the stored hash's cost and kept by the caller for the next check, so a check
    /// allocates nothing). Slow on purpose (argon2): call it off the async threads. Costs the
    /// same whether or not the user exists.
    pub fn verify_with(
        &self,
        name: &str,
        password: &str,
        memory: &mut Vec<Block>,
    ) -> Result<bool, UserError> {
        let stored: Option<String> = self
            .conn()
            .query_row(
                "SELECT password_hash FROM users WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()?;
        let hash = stored.as_deref().unwrap_or(&self.dummy_hash);
        let matches = check_password(hash, password, memory)?;
        Ok(stored.is_some() && matches)
    }

    /// [`Users::verify_with`] with a working memory of its own (for one-off checks).
    #[cfg(test)]
    pub fn verify(&self, name: &str, password: &str) -> Result<bool, UserError> {
        self.verify_with(name, password, &mut Vec::new())
    }
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
pub fn ensure_admin(
    users: &Users,
    admin_password: Option<String>,
) -> Result<Option<String>, UserError> {
    if users.count()? > 0 {
        return Ok(None);
    }
    match admin_password.filter(|p| !p.is_empty()) {
        Some(password) => {
            users.add("admin", &password)?;
            Ok(None)
        }
        None => {
            let password = crate::keygen::random_token(18);
            users.add("admin", &password)?;
            Ok(Some(password))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "satchel-users-{name}-{}-{}",
            std::process::id(),
            crate::keygen::random_token(6)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn added_users_verify_and_others_do_not() {
        let users = Users::open(&temp_dir("verify")).unwrap();
        users.add("alice", "correct horse").unwrap();
        assert!(users.verify("alice", "correct horse").unwrap());
        assert!(!users.verify("alice", "wrong password").unwrap());
        assert!(!users.verify("bob", "correct horse").unwrap());
        let mut memory = Vec::new();
        assert!(users
            .verify_with("alice", "correct horse", &mut memory)
            .unwrap());
        assert!(!users.verify_with("alice", "wrong", &mut memory).unwrap());
        assert_eq!(memory.len(), Params::default().block_count());
        assert!(matches!(
            users.add("alice", "another one"),
            Err(UserError::Exists(_))
        ));
    }

    #[test]
    fn bad_names_and_passwords_are_refused() {
        let users = Users::open(&temp_dir("bad")).unwrap();
        assert!(matches!(
            users.add("a b", "password1"),
            Err(UserError::BadName(_))
        ));
        assert!(matches!(
            users.add("ok", "short"),
            Err(UserError::BadPassword)
        ));
    }

    #[test]
    fn first_start_creates_admin_once() {
        let users = Users::open(&temp_dir("admin")).unwrap();
        let generated = ensure_admin(&users, None).unwrap().expect("a password");
        assert!(users.verify("admin", &generated).unwrap());
        assert_eq!(ensure_admin(&users, None).unwrap(), None);
    }
}
