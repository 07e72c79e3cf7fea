//! The [`Store`] operations on Flask-Session's layout: the leased load (one pipeline, the TTL
//! read with the value), `create`, the fenced commit, and `renew` and `touch`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::FlaskSessionStore;
use crate::codec::RejectReason;
use crate::store::redis::connection::{command, store_error, NUMBER};
use crate::store::redis::keys::Keys;
use crate::store::redis::ops::commit_op;
use crate::store::redis::record::ttl_ms;
use crate::store::{
    Commit, CookieIds, IdHash, Lease, LeaseToken, Loaded, Record, Store, StoreError, StoreFuture,
};
use crate::value::msgpack;

/// What one load read: the lease's previous holder (when one was asked for), the value and its
/// TTL in milliseconds (negative: no TTL, or no key).
type Read = (Option<u128>, Option<Vec<u8>>, i64);

impl FlaskSessionStore {
    /// The key pair for an id (whose 32 bytes the backend hands over as they are).
    fn keys(&self, id: &IdHash) -> Keys {
        Keys::flask_session(&self.prefix, &URL_SAFE_NO_PAD.encode(id.0))
    }

    /// The value Flask-Session reads, or the error that says why it could not.
    fn value(record: &Record) -> Result<Vec<u8>, StoreError> {
        msgpack::encode(&record.data).map_err(|e| {
            StoreError::Unstorable(format!("Flask-Session cannot read it back: {}", e.0))
        })
    }

    /// One pipeline: the lease if asked for (`SET … NX GET PX`), then `GET` and `PTTL`.
    async fn read(&self, keys: &Keys, lease: Option<&Lease>) -> Result<Read, StoreError> {
        let mut pipe = redis::Pipeline::with_capacity(3);
        if let Some(lease) = lease {
            let mut acquire = command("SET", 6, keys.lease().len() + 9 + 2 * NUMBER);
            acquire
                .arg(keys.lease())
                .arg(lease.token.0)
                .arg("NX")
                .arg("GET")
                .arg("PX")
                .arg(ttl_ms(lease.ttl));
            pipe.add_command(acquire);
        }
        pipe.cmd("GET").arg(keys.record());
        pipe.cmd("PTTL").arg(keys.record());
        self.redis
            .bounded(async {
                let mut connection = self.redis.connection().await?;
                if lease.is_some() {
                    pipe.query_async(&mut connection).await.map_err(store_error)
                } else {
                    let (value, ttl): (Option<Vec<u8>>, i64) = pipe
                        .query_async(&mut connection)
                        .await
                        .map_err(store_error)?;
                    Ok((None, value, ttl))
                }
            })
            .await
    }

    async fn load_async(
        &self,
        id: &IdHash,
        now: u64,
        lease: Option<&Lease>,
    ) -> Result<Loaded, StoreError> {
        let keys = self.keys(id);
        let (holder, value, ttl) = self.read(&keys, lease).await?;
        // Without a lease asked for, `ours` is moot; with one: no previous holder, or our own
        // token (a retry whose first reply was lost, renewed below).
        let token = lease.map(|lease| lease.token);
        let retry = token.is_some() && holder == token.map(|t| t.0);
        let ours = lease.is_some() && (holder.is_none() || retry);
        let loaded = match value {
            None => Loaded::Missing,
            Some(_) if lease.is_some() && !ours => return Ok(Loaded::Busy),
            Some(value) => match msgpack::decode(&value) {
                Ok(data) => {
                    // Flask-Session's TTL is the session's remaining life; no TTL, no deadline.
                    let idle = match u64::try_from(ttl) {
                        Ok(ms) => now.saturating_add(ms.div_ceil(1000)),
                        Err(_) => u64::MAX,
                    };
                    Loaded::Found(Record::new(data, now, idle, u64::MAX))
                }
                Err(msgpack::Foreign) => Loaded::Unreadable(RejectReason::Malformed),
            },
        };
        match (lease, &loaded) {
            // A retry holds, but its time runs from the first attempt: renew it (fenced).
            (Some(lease), Loaded::Found(_))
                if retry && !self.redis.renew_async(&keys, lease).await? =>
            {
                return Ok(Loaded::Busy);
            }
            // Only `Found` keeps the lease: give back one taken on anything else.
            (Some(lease), Loaded::Missing | Loaded::Unreadable(_)) if ours => {
                if let Err(error) = self
                    .commit_keys(&keys, None, lease.token, &Commit::Release, now)
                    .await
                {
                    tracing::warn!(%error, "could not release a session lease taken by a load");
                }
            }
            _ => {}
        }
        Ok(loaded)
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
        // Encoded before anything is sent: a value Flask could not read is never written.
        let value = record.map(Self::value).transpose()?;
        let ttl = record.map(|record| record.remaining(now).max(1));
        let mut names = vec![keys.lease(), keys.record()];
        names.extend(new_record);
        let room = (4, 2 * NUMBER + 1 + value.as_ref().map_or(0, Vec::len));
        let done: i64 = self
            .redis
            .eval(&self.commit, &names, room, |command| {
                command.arg(token.0).arg(op);
                if let (Some(value), Some(ttl)) = (&value, ttl) {
                    command.arg(value.as_slice()).arg(ttl);
                }
            })
            .await?;
        Ok(done == 1)
    }
}

impl Store for FlaskSessionStore {
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
            let value = Self::value(record)?;
            let keys = self.keys(id);
            let mut insert = command("SET", 5, keys.record().len() + value.len() + 4 + NUMBER);
            insert
                .arg(keys.record())
                .arg(value)
                .arg("NX")
                .arg("EX")
                .arg(record.remaining(now).max(1));
            let reply: redis::Value = self.redis.query(&insert).await?;
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
                Commit::Rotate { new_id, .. } => Some(self.keys(new_id)),
                _ => None,
            };
            let new_record = new_record.as_ref().map(Keys::record);
            self.commit_keys(&keys, new_record, token, &commit, now)
                .await
        })
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.redis.renew_async(&self.keys(id), lease).await })
    }

    /// `EXPIRE … GT`: the TTL only ever grows, and a key that is gone stays gone.
    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let keys = self.keys(id);
            let mut expire = command("EXPIRE", 3, keys.record().len() + NUMBER + 2);
            expire
                .arg(keys.record())
                .arg(idle_deadline.saturating_sub(now).max(1))
                .arg("GT");
            let _: i64 = self.redis.query(&expire).await?;
            Ok(())
        })
    }

    fn cookie_ids(&self) -> CookieIds {
        CookieIds::FlaskSession {
            signed: self.signed,
        }
    }
}
