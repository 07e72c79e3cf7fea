//! The session operations: the leased load (one pipeline), `create`, and the fenced scripts
//! for `commit`, `renew` and `touch`.

use super::connection::{command, store_error, NUMBER};
use super::keys::Keys;
use super::record::{decode, encode, live, record_ttl_ms, ttl_ms, MAX_TTL_MS};
use super::RedisStore;
use crate::store::{
    Commit, IdHash, Lease, LeaseToken, Loaded, Login, Record, SessionIndex, Store, StoreError,
    StoreFuture,
};

impl RedisStore {
    async fn load_async(
        &self,
        id: &IdHash,
        now: u64,
        lease: Option<&Lease>,
    ) -> Result<Loaded, StoreError> {
        let keys = self.keys(id);
        let Some(lease) = lease else {
            let mut read = command("GET", 1, keys.record().len());
            read.arg(keys.record());
            let value: Option<Vec<u8>> = self.query(&read).await?;
            return match value {
                Some(value) => Ok(live(decode(&value)?, now)),
                None => Ok(Loaded::Missing),
            };
        };
        let token = lease.token.0;
        let mut acquire = command("SET", 6, keys.lease().len() + 9 + 2 * NUMBER);
        acquire
            .arg(keys.lease())
            .arg(token)
            .arg("NX")
            .arg("GET")
            .arg("PX")
            .arg(ttl_ms(lease.ttl));
        let mut read = command("GET", 1, keys.record().len());
        read.arg(keys.record());
        let mut pipe = redis::Pipeline::with_capacity(2);
        pipe.add_command(acquire).add_command(read);
        let reply: Result<(Option<u128>, Option<Vec<u8>>), _> = self
            .bounded(async {
                let mut connection = self.connection().await?;
                pipe.query_async(&mut connection).await.map_err(store_error)
            })
            .await;
        let (holder, value) = match reply {
            Ok(reply) => reply,
            Err(error @ StoreError::Corrupt(_)) => {
                // The lease may be ours (the record's key had the wrong type): give it back.
                self.give_back(&keys, lease.token, now).await;
                return Err(error);
            }
            Err(error) => return Err(error),
        };
        // No previous holder: the lease is now ours. Our own token: a retry of ours whose
        // first reply was lost.
        let retry = holder == Some(token);
        let ours = holder.is_none() || retry;
        let Some(value) = value else {
            if ours {
                // `Missing` never takes a lease: give back the one just taken.
                self.give_back(&keys, lease.token, now).await;
            }
            return Ok(Loaded::Missing);
        };
        // A retry holds, but its time runs from the first attempt: renew it (fenced), as a
        // fresh acquisition would have set it.
        if !ours || (retry && !self.renew_async(&keys, lease).await?) {
            return Ok(Loaded::Busy);
        }
        let record = match decode(&value) {
            Ok(record) => record,
            Err(error) => {
                self.give_back(&keys, lease.token, now).await;
                return Err(error);
            }
        };
        if record.is_expired(now) {
            self.commit_keys(&keys, None, lease.token, &Commit::Delete, now)
                .await?;
            return Ok(Loaded::Missing);
        }
        Ok(Loaded::Found(record))
    }

    /// Releases a lease `load` took but must not keep (fenced by `token`). Best effort: if it
    /// fails, the lease expires by itself after its time, blocking nothing but that id's writers
    /// meanwhile; the answer the caller gets does not depend on it.
    async fn give_back(&self, keys: &Keys, token: LeaseToken, now: u64) {
        if let Err(error) = self
            .commit_keys(keys, None, token, &Commit::Release, now)
            .await
        {
            tracing::warn!(%error, "could not release a session lease taken by a load");
        }
    }

    async fn commit_keys(
        &self,
        keys: &Keys,
        new_record: Option<&str>,
        token: LeaseToken,
        commit: &Commit,
        now: u64,
    ) -> Result<bool, StoreError> {
        let (op, record) = commit_op(commit);
        let value = record.map(|r| encode(r, now));
        let ttl = record.map(|r| record_ttl_ms(r, now));
        let prefix = self.index_prefix();
        let mut names = [keys.lease(), keys.record(), ""];
        let names = match new_record {
            Some(new_record) => {
                names[2] = new_record;
                &names[..]
            }
            None => &names[..2],
        };
        let room = (
            6,
            3 * NUMBER + 1 + prefix.len() + value.as_ref().map_or(0, String::len),
        );
        let done: i64 = self
            .eval(&self.scripts.commit, names, room, |command| {
                command.arg(token.0).arg(op).arg(prefix.as_str()).arg(now);
                if let (Some(value), Some(ttl)) = (&value, ttl) {
                    command.arg(value.as_str()).arg(ttl);
                }
            })
            .await?;
        Ok(done == 1)
    }

    pub(super) async fn renew_async(&self, keys: &Keys, lease: &Lease) -> Result<bool, StoreError> {
        let renewed: i64 = self
            .eval(
                &self.scripts.renew,
                &[keys.lease()],
                (2, 2 * NUMBER),
                |command| {
                    command.arg(lease.token.0).arg(ttl_ms(lease.ttl));
                },
            )
            .await?;
        Ok(renewed == 1)
    }
}

/// A commit as the commit scripts take it: the op letter (`s` save, `d` delete, `e` release,
/// `r` rotate) and the record to write, if any.
pub(super) fn commit_op(commit: &Commit) -> (&'static str, Option<&Record>) {
    match commit {
        Commit::Save(record) => ("s", Some(record)),
        Commit::Delete => ("d", None),
        Commit::Release => ("e", None),
        Commit::Rotate { record, .. } => ("r", Some(record)),
    }
}

impl Store for RedisStore {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        Box::pin(self.load_async(id, now, lease))
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.record_key(id);
            let value = encode(record, now);
            let ttl = record_ttl_ms(record, now);
            if record.login.as_ref().is_some_and(Login::is_indexed) {
                let prefix = self.index_prefix();
                let room = (4, value.len() + prefix.len() + 2 * NUMBER);
                let created: i64 = self
                    .eval(&self.scripts.create, &[&key], room, |command| {
                        command
                            .arg(value.as_str())
                            .arg(ttl)
                            .arg(prefix.as_str())
                            .arg(now);
                    })
                    .await?;
                return Ok(created == 1);
            }
            let mut insert = command("SET", 5, key.len() + value.len() + 4 + NUMBER);
            insert.arg(key).arg(value).arg("NX").arg("PX").arg(ttl);
            let reply: redis::Value = self.query(&insert).await?;
            Ok(reply != redis::Value::Nil)
        })
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let keys = self.keys(id);
            let new_record = match &commit {
                Commit::Rotate { new_id, .. } => Some(self.record_key(new_id)),
                _ => None,
            };
            self.commit_keys(&keys, new_record.as_deref(), token, &commit, now)
                .await
        })
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.renew_async(&self.keys(id), lease).await })
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = self.record_key(id);
            let prefix = self.index_prefix();
            let room = (4, 3 * NUMBER + prefix.len());
            let _: i64 = self
                .eval(&self.scripts.touch, &[&key], room, |command| {
                    command
                        .arg(format!("{idle_deadline:020}"))
                        .arg(now)
                        .arg(MAX_TTL_MS)
                        .arg(prefix.as_str());
                })
                .await?;
            Ok(())
        })
    }

    fn as_index(&self) -> Option<&dyn SessionIndex> {
        Some(self)
    }
}
