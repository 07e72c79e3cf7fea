//! [`MemoryStore`]: sessions in this process's memory, bounded.

use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::id_map::IdMap;
use super::{
    ordered, Commit, IdHash, Lease, LeaseToken, Loaded, Login, Record, SessionEntry, SessionIndex,
    Store, StoreError, StoreFuture,
};
use crate::codec::flask_json;
use crate::Value;

/// The bounds of a [`MemoryStore`].
///
/// ```
/// let limits = satchel_session::store::MemoryStoreLimits::default();
/// assert_eq!((limits.max_sessions, limits.max_record_bytes), (10_000, 16 * 1024));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MemoryStoreLimits {
    /// Most sessions held at once. Default 10 000.
    pub max_sessions: usize,
    /// Largest record accepted, in bytes of its Flask-JSON form. Default 16 KiB.
    pub max_record_bytes: usize,
}

impl Default for MemoryStoreLimits {
    fn default() -> Self {
        MemoryStoreLimits {
            max_sessions: 10_000,
            max_record_bytes: 16 * 1024,
        }
    }
}

/// Sessions in memory, for one process.
///
/// One map behind one `std` mutex (never held across an `.await`): every [`Store`] method is a
/// few map operations, so each is trivially atomic. Leases live in the map beside the records,
/// timed by a monotonic clock. Bounded two ways, so an anonymous flood can neither exhaust
/// memory nor lock new visitors out: at most `max_sessions` records, and at most
/// `max_record_bytes` per record (its Flask-JSON size).
///
/// When a new session finds the store full, expired records are swept; if it is still full,
/// the store *evicts* to make room rather than refusing the newcomer, in batches of 1% of
/// `max_sessions`: **anonymous sessions only** — first those that never came back (created,
/// and no request has loaded them since: what a cookieless crawler leaves), then the others,
/// each group least recently used first (last loaded, written or refreshed). A logged-in session is never evicted, nor is one with a writer in
/// flight (a lease): when only those are left, a new session is refused with
/// [`StoreError::Full`] (a 503 for that newcomer), and everyone already logged in carries on.
///
/// So no pattern of requests from one client can log anyone out: a flood of new sessions
/// used once pushes out only its own, and one whose sessions are each used again pushes out
/// the least recently used anonymous sessions — its own, as soon as it makes more than it
/// uses. An anonymous visitor survives such a flood as long as it comes back at least once in
/// the time the flood takes to create `max_sessions` sessions. How many logged-in sessions one account can hold is the per-user cap's business
/// ([`MemoryStoreLimits`] has none of its own; size `max_sessions` above the logged-in
/// population you expect).
///
/// Sessions die with the process and are not shared between processes: use Redis for that.
///
/// ```
/// use std::sync::Arc;
/// use satchel_session::store::{MemoryStore, MemoryStoreLimits};
/// use satchel_session::{SessionConfig, SessionLayer};
///
/// let store = MemoryStore::with_limits(MemoryStoreLimits { max_sessions: 1_000, ..Default::default() });
/// let layer = SessionLayer::builder(SessionConfig::default()).store(Arc::new(store)).build();
/// assert!(layer.is_ok());
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    limits: MemoryStoreLimits,
    map: Mutex<Sessions>,
}

/// Records and leases. Leases sit in a map of their own: only sessions with a writer in
/// flight have one, so a stored session does not carry room for it.
#[derive(Debug, Default)]
struct Sessions {
    records: IdMap<Stored>,
    leases: IdMap<(LeaseToken, Instant)>,
}

/// A record as kept: the data as a sorted boxed slice, not the `BTreeMap` it is handed out as
/// (a map node has room for eleven entries however few it holds; this roughly halves what a
/// small session costs).
#[derive(Debug)]
struct Stored {
    data: Box<[(String, Value)]>,
    created_at: u64,
    idle_deadline: u64,
    absolute_deadline: u64,
    /// Who is logged in with it (the per-user index scans these).
    login: Option<Box<Login>>,
    /// When a request last loaded, wrote or refreshed it (eviction takes the least recent).
    last_seen: u64,
    /// Whether a request has loaded it since it was created: a session that never came back
    /// (what a cookieless crawler leaves) is evicted before one that did.
    returned: bool,
}

impl Stored {
    fn new(record: Record, now: u64) -> Self {
        Stored {
            data: record.data.into_iter().collect(),
            created_at: record.created_at,
            idle_deadline: record.idle_deadline,
            absolute_deadline: record.absolute_deadline,
            login: record.login.map(Box::new),
            last_seen: now,
            returned: false,
        }
    }

    /// A record written back by a request that loaded it (a commit): it has returned.
    fn came_back(record: Record, now: u64) -> Self {
        Stored {
            returned: true,
            ..Stored::new(record, now)
        }
    }

    /// Whether `user_id` (any user for `None`) is logged in with it.
    fn logged_in(&self, user_id: Option<&str>) -> bool {
        match (&self.login, user_id) {
            (Some(login), Some(user)) => login.user_id == user,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Whether it may be evicted to make room: anonymous sessions only.
    fn evictable(&self) -> bool {
        self.login.is_none()
    }

    fn to_record(&self) -> Record {
        let mut record = Record::new(
            self.data.iter().cloned().collect(),
            self.created_at,
            self.idle_deadline,
            self.absolute_deadline,
        );
        record.login = self.login.as_deref().cloned();
        record
    }

    fn is_expired(&self, now: u64) -> bool {
        now >= self.idle_deadline.min(self.absolute_deadline)
    }
}

/// Whether `id` has a live lease under another token than `token`.
fn leased_by_other(
    leases: &IdMap<(LeaseToken, Instant)>,
    id: &IdHash,
    token: LeaseToken,
    at: Instant,
) -> bool {
    leases
        .get(id)
        .is_some_and(|&(t, until)| t != token && until > at)
}

impl Sessions {
    fn holds(&self, id: &IdHash, token: LeaseToken, at: Instant) -> bool {
        self.leases
            .get(id)
            .is_some_and(|&(t, until)| t == token && until > at)
    }

    fn remove(&mut self, id: &IdHash) {
        self.records.remove(id);
        self.leases.remove(id);
    }

    /// Frees room for one more record under `max` (see [`MemoryStore`] for the order);
    /// `false` when every record left is logged in or leased.
    fn make_room(&mut self, max: usize, now: u64) -> bool {
        let Sessions { records, leases } = self;
        records.retain(|_, stored| !stored.is_expired(now));
        leases.retain(|id, _| records.contains_key(id));
        if records.len() < max {
            return true;
        }
        let mut ranked: Vec<((bool, u64), IdHash)> = records
            .iter()
            .filter(|(id, stored)| stored.evictable() && !leases.contains_key(*id))
            .map(|(id, stored)| ((stored.returned, stored.last_seen), *id))
            .collect();
        if ranked.is_empty() {
            return false;
        }
        let batch = (max / 100).clamp(1, ranked.len());
        ranked.select_nth_unstable_by_key(batch - 1, |(rank, _)| *rank);
        for (_, id) in &ranked[..batch] {
            records.remove(id);
        }
        true
    }
}

impl MemoryStore {
    /// A store with these bounds.
    ///
    /// ```
    /// let store = satchel_session::store::MemoryStore::with_limits(Default::default());
    /// assert_eq!(store.len(), 0);
    /// ```
    pub fn with_limits(limits: MemoryStoreLimits) -> Self {
        MemoryStore {
            limits,
            map: Mutex::default(),
        }
    }

    /// How many records are held (live or not yet swept).
    ///
    /// ```
    /// assert!(satchel_session::store::MemoryStore::default().is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether no record is held.
    ///
    /// ```
    /// assert!(satchel_session::store::MemoryStore::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_size(&self, record: &Record) -> Result<(), StoreError> {
        // A bound within the limit settles it without writing the text out.
        if flask_json::len_bound(&record.data) <= self.limits.max_record_bytes {
            return Ok(());
        }
        thread_local! {
            // Measuring a record writes it out: into a buffer reused across requests.
            static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
        }
        let size = SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            flask_json::write_dict(&record.data, scratch);
            scratch.len()
        });
        if size > self.limits.max_record_bytes {
            return Err(StoreError::TooLarge {
                size,
                limit: self.limits.max_record_bytes,
            });
        }
        Ok(())
    }

    fn load_now(&self, id: &IdHash, now: u64, lease: Option<&Lease>) -> Loaded {
        let mut sessions = self.lock();
        let Sessions { records, leases } = &mut *sessions;
        let Some(stored) = records.get_mut(id) else {
            return Loaded::Missing;
        };
        if stored.is_expired(now) {
            sessions.remove(id);
            return Loaded::Missing;
        }
        let record = match lease {
            Some(lease) if leased_by_other(leases, id, lease.token, Instant::now()) => {
                return Loaded::Busy;
            }
            _ => stored.to_record(),
        };
        stored.last_seen = stored.last_seen.max(now);
        stored.returned = true;
        if let Some(lease) = lease {
            let until = Instant::now() + lease.ttl;
            sessions.leases.insert(*id, (lease.token, until));
        }
        Loaded::Found(record)
    }

    fn create_now(&self, id: &IdHash, record: &Record, now: u64) -> Result<bool, StoreError> {
        self.check_size(record)?;
        let mut sessions = self.lock();
        if sessions.records.contains_key(id) {
            return Ok(false);
        }
        if sessions.records.len() >= self.limits.max_sessions
            && !sessions.make_room(self.limits.max_sessions, now)
        {
            return Err(StoreError::Full(self.limits.max_sessions));
        }
        sessions
            .records
            .insert(*id, Stored::new(record.clone(), now));
        Ok(true)
    }

    fn commit_now(
        &self,
        id: &IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> Result<bool, StoreError> {
        if let Commit::Save(record) | Commit::Rotate { record, .. } = &commit {
            self.check_size(record)?;
        }
        let mut sessions = self.lock();
        if !sessions.records.contains_key(id) || !sessions.holds(id, token, Instant::now()) {
            return Ok(false);
        }
        sessions.leases.remove(id);
        match commit {
            Commit::Save(record) => {
                sessions.records.insert(*id, Stored::came_back(record, now));
            }
            Commit::Release => {}
            Commit::Delete => sessions.remove(id),
            Commit::Rotate { new_id, record } => {
                sessions.remove(id);
                sessions.records.insert(new_id, Stored::new(record, now));
            }
        }
        Ok(true)
    }

    fn renew_now(&self, id: &IdHash, lease: &Lease) -> bool {
        let at = Instant::now();
        let mut sessions = self.lock();
        if !sessions.records.contains_key(id) || !sessions.holds(id, lease.token, at) {
            return false;
        }
        sessions.leases.insert(*id, (lease.token, at + lease.ttl));
        true
    }

    fn touch_now(&self, id: &IdHash, idle_deadline: u64, now: u64) {
        if let Some(stored) = self.lock().records.get_mut(id) {
            if !stored.is_expired(now) {
                stored.last_seen = stored.last_seen.max(now);
                stored.returned = true;
                stored.idle_deadline = stored
                    .idle_deadline
                    .max(idle_deadline.min(stored.absolute_deadline));
            }
        }
    }
}

impl Store for MemoryStore {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        let loaded = self.load_now(id, now, lease);
        Box::pin(async move { Ok(loaded) })
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        let created = self.create_now(id, record, now);
        Box::pin(async move { created })
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        let committed = self.commit_now(id, token, commit, now);
        Box::pin(async move { committed })
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        let renewed = self.renew_now(id, lease);
        Box::pin(async move { Ok(renewed) })
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        self.touch_now(id, idle_deadline, now);
        Box::pin(async move { Ok(()) })
    }

    fn as_index(&self) -> Option<&dyn SessionIndex> {
        Some(self)
    }
}

/// The index is a scan of the map (at most `max_sessions` records, under the one mutex): a
/// listing or a revocation costs time in proportion to the sessions held.
impl SessionIndex for MemoryStore {
    fn sessions<'a>(
        &'a self,
        user_id: Option<&'a str>,
        now: u64,
    ) -> StoreFuture<'a, Vec<SessionEntry>> {
        let entries = self
            .lock()
            .records
            .iter()
            .filter(|(_, stored)| stored.logged_in(user_id) && !stored.is_expired(now))
            .filter_map(|(id, stored)| {
                let login = stored.login.as_deref()?.clone();
                let expires = stored.idle_deadline.min(stored.absolute_deadline);
                Some(SessionEntry::new(
                    *id,
                    login,
                    [stored.created_at, stored.last_seen, expires],
                ))
            })
            .collect();
        Box::pin(async move { Ok(ordered(entries)) })
    }

    fn revoke<'a>(&'a self, id: &'a IdHash) -> StoreFuture<'a, bool> {
        let mut sessions = self.lock();
        let found = sessions.records.contains_key(id);
        sessions.remove(id);
        drop(sessions);
        Box::pin(async move { Ok(found) })
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str) -> StoreFuture<'a, u64> {
        let mut sessions = self.lock();
        let Sessions { records, leases } = &mut *sessions;
        let before = records.len();
        records.retain(|_, stored| !stored.logged_in(Some(user_id)));
        let ended = (before - records.len()) as u64;
        leases.retain(|id, _| records.contains_key(id));
        drop(sessions);
        Box::pin(async move { Ok(ended) })
    }
}

#[cfg(test)]
mod tests;
