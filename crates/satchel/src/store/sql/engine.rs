//! The store operations over a connected pool: an [`Engine`] runs its [`Statements`] for
//! `load`, `create`, `commit`, `renew`, `touch`, the row count and the per-user index, each call
//! bounded by the store's timeout, and turns rows back into records.

use std::future::Future;
use std::time::Duration;

use super::dialect::{Dialect, Fetched, On};
use super::settings::Settings;
use super::statements::Statements;
use super::template::{Statement, Values};
use crate::codec::flask_json;
use crate::store::{
    ordered, user_key, Commit, IdHash, Lease, LeaseToken, Loaded, Login, Record, SessionEntry,
    StoreError, MAX_LISTED,
};

/// A record time as stored: Unix seconds, `i64::MAX` standing for anything later.
pub(super) fn db_time(t: u64) -> i64 {
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
pub(super) struct Engine<D: Dialect> {
    pub(super) pool: sqlx::Pool<D::Db>,
    pub(super) statements: Statements,
    pub(super) settings: Settings,
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

    pub(super) async fn execute(
        &self,
        statement: &Statement,
        values: &Values<'_>,
    ) -> Result<u64, StoreError> {
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

    pub(super) async fn load(
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

    pub(super) async fn create(
        &self,
        id: &IdHash,
        record: &Record,
        now: u64,
    ) -> Result<bool, StoreError> {
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

    pub(super) async fn commit(
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

    pub(super) async fn renew(&self, id: &IdHash, lease: &Lease) -> Result<bool, StoreError> {
        let values = Values {
            id: &id.0,
            token: lease.token.0.to_be_bytes(),
            ttl_ms: ttl_ms(lease.ttl),
            ..Values::default()
        };
        Ok(self.execute(&self.statements.renew, &values).await? == 1)
    }

    pub(super) async fn touch(
        &self,
        id: &IdHash,
        idle_deadline: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let values = Values {
            id: &id.0,
            idle: db_time(idle_deadline),
            now: db_time(now),
            ..Values::default()
        };
        self.execute(&self.statements.touch, &values).await?;
        Ok(())
    }

    pub(super) async fn count(&self) -> Result<u64, StoreError> {
        let rows = self
            .bounded(D::count(On::Pool(&self.pool), &self.statements.count))
            .await?;
        Ok(u64::try_from(rows).unwrap_or(0))
    }

    pub(super) async fn sessions(
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

    pub(super) async fn revoke(&self, id: &IdHash) -> Result<bool, StoreError> {
        let values = Values {
            id: &id.0,
            ..Values::default()
        };
        Ok(self.execute(&self.statements.revoke, &values).await? > 0)
    }

    pub(super) async fn revoke_user(&self, user_id: &str) -> Result<u64, StoreError> {
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

impl<'a> Values<'a> {
    /// The values of `record`'s row, as `encoded`, written at `now`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_past_i64_mean_never_and_negative_times_are_corrupt() {
        assert_eq!(db_time(u64::MAX), i64::MAX);
        assert_eq!(record_time(i64::MAX), Ok(u64::MAX));
        assert_eq!(record_time(db_time(1_800_000_000)), Ok(1_800_000_000));
        assert!(matches!(record_time(-1), Err(StoreError::Corrupt(_))));
    }
}
