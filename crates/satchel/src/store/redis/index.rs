//! The per-user index: listing a user's sessions (or every user's) from their sorted sets, and
//! ending them. The sets are kept in step by the scripts that write records (`index.lua`).

use super::connection::{command, NUMBER};
use super::record::decode_with_seen;
use super::RedisStore;
use crate::store::{
    ordered, IdHash, SessionEntry, SessionIndex, StoreError, StoreFuture, MAX_LISTED,
};

impl RedisStore {
    /// The live entries among the records of one user's set (`user_id`: only that user's).
    async fn entries_of(
        &self,
        set: &str,
        user_id: Option<&str>,
        now: u64,
        out: &mut Vec<SessionEntry>,
    ) -> Result<(), StoreError> {
        let mut range = command("ZRANGEBYSCORE", 6, set.len() + 2 * NUMBER + 10);
        range
            .arg(set)
            .arg(format!("({now}"))
            .arg("+inf")
            .arg("LIMIT")
            .arg(0)
            .arg(MAX_LISTED);
        let members: Vec<String> = self.query(&range).await?;
        if members.is_empty() {
            return Ok(());
        }
        let mut read = command("MGET", members.len(), members.len() * 80);
        read.arg(&members);
        let values: Vec<Option<Vec<u8>>> = self.query(&read).await?;
        for (member, value) in members.iter().zip(values) {
            let (Some(id), Some(value)) = (self.id_of(member), value) else {
                continue;
            };
            let (record, last_seen) = decode_with_seen(&value)?;
            let Some(login) = record.login.clone() else {
                continue;
            };
            if record.is_expired(now) || user_id.is_some_and(|u| u != login.user_id) {
                continue;
            }
            let times = [record.created_at, last_seen, record.expires_at()];
            out.push(SessionEntry::new(id, login, times));
        }
        Ok(())
    }

    async fn sessions_async(
        &self,
        user_id: Option<&str>,
        now: u64,
    ) -> Result<Vec<SessionEntry>, StoreError> {
        let mut entries = Vec::new();
        if let Some(user) = user_id {
            self.entries_of(&self.user_set(user), user_id, now, &mut entries)
                .await?;
            return Ok(ordered(entries));
        }
        // Every user: walk the user sets (SCAN), until a listing's worth is found.
        let pattern = format!("{}user:*", self.index_prefix());
        let mut cursor: u64 = 0;
        loop {
            let mut scan = command("SCAN", 5, pattern.len() + 2 * NUMBER);
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, sets): (u64, Vec<String>) = self.query(&scan).await?;
            for set in sets {
                self.entries_of(&set, None, now, &mut entries).await?;
            }
            cursor = next;
            if cursor == 0 || entries.len() >= MAX_LISTED {
                return Ok(ordered(entries));
            }
        }
    }
}

/// The index: a sorted set per user (`<p>v2:user:<SHA-256 of the user id>`) of that user's
/// record keys, scored by their expiry, kept in step by the scripts that write records (create,
/// commit, touch) in the same atomic step; expired members are trimmed whenever one is added,
/// and the set expires with its longest-lived member. Listing every user's sessions walks the
/// sets with `SCAN`.
impl SessionIndex for RedisStore {
    fn sessions<'a>(
        &'a self,
        user_id: Option<&'a str>,
        now: u64,
    ) -> StoreFuture<'a, Vec<SessionEntry>> {
        Box::pin(self.sessions_async(user_id, now))
    }

    fn revoke<'a>(&'a self, id: &'a IdHash) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.record_key(id);
            let prefix = self.index_prefix();
            let ended: i64 = self
                .eval(
                    &self.scripts.revoke,
                    &[&key],
                    (1, prefix.len()),
                    |command| {
                        command.arg(prefix.as_str());
                    },
                )
                .await?;
            Ok(ended > 0)
        })
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let set = self.user_set(user_id);
            let ended: i64 = self
                .eval(&self.scripts.revoke_user, &[&set], (0, 0), |_| {})
                .await?;
            Ok(u64::try_from(ended).unwrap_or(0))
        })
    }
}
