//! [`SqlStore::open`]: which SQL dialect serves a URL (`sqlite:`, `postgres://` or
//! `mysql://`), each behind its cargo feature. The one file that names every dialect; no other
//! file of the SQL store imports it.

use super::lazy::ErasedSql;
use super::SqlStore;
use crate::store::StoreError;

impl SqlStore {
    /// A store for `url`: `sqlite:PATH` (the file is created if missing), `postgres://…` /
    /// `postgresql://…`, or `mysql://…` / `mariadb://…`, each needing its feature. Does not
    /// connect yet.
    ///
    /// ```
    /// assert!(satchel_session::store::SqlStore::open("oracle://db").is_err());
    /// assert!(satchel_session::store::SqlStore::open("postgres://h/db?table=Bad-Name").is_err());
    /// # #[cfg(feature = "sqlite")]
    /// assert!(satchel_session::store::SqlStore::open("sqlite::memory:").is_err()); // one per connection
    /// ```
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let lower = url.to_ascii_lowercase();
        let missing = |feature: &str| {
            StoreError::Config(format!(
                "this build has no {feature} store (enable satchel's `{feature}` feature)"
            ))
        };
        let inner: Box<dyn ErasedSql> = if lower.starts_with("sqlite:") {
            #[cfg(feature = "sqlite")]
            {
                super::sqlite::open(url)?
            }
            #[cfg(not(feature = "sqlite"))]
            return Err(missing("sqlite"));
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                super::postgres::open(url)?
            }
            #[cfg(not(feature = "postgres"))]
            return Err(missing("postgres"));
        } else if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
            #[cfg(feature = "mysql")]
            {
                super::mysql::open(url)?
            }
            #[cfg(not(feature = "mysql"))]
            return Err(missing("mysql"));
        } else {
            let _ = missing;
            return Err(StoreError::Config(
                "an SQL store URL starts with sqlite:, postgres:// or mysql://".into(),
            ));
        };
        Ok(SqlStore::from_erased(inner))
    }
}
