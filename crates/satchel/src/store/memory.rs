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
/// let limits = satchel::store::MemoryStoreLimits::default();
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
/// `max_sessions`, in this order:
/// 1. sessions that never came back (created, but no request has loaded them since) — what a
///    cookieless flood leaves — the ones closest to expiry first;
/// 2. then any session, closest to expiry first (idle or absolute deadline, whichever is
///    sooner).
///
/// A session with a writer in flight (a lease) is never evicted; only when every record is
/// leased is a new one refused with [`StoreError::Full`]. So one client sending cookieless
/// requests pushes out its own never-returned sessions, not the users who came back.
///
/// Sessions die with the process and are not shared between processes: use Redis for that.
///
/// ```
/// use std::sync::Arc;
/// use satchel::store::{MemoryStore, MemoryStoreLimits};
/// use satchel::{SessionConfig, SessionLayer};
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
    /// When a request last wrote or refreshed it.
    last_seen: u64,
    /// Whether a request has loaded it since it was created (eviction spares these first).
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

    /// Eviction order: never-returned before returned, then the soonest deadline.
    fn eviction_rank(&self) -> (bool, u64) {
        (
            self.returned,
            self.idle_deadline.min(self.absolute_deadline),
        )
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
    /// `false` when every record is leased.
    fn make_room(&mut self, max: usize, now: u64) -> bool {
        let Sessions { records, leases } = self;
        records.retain(|_, stored| !stored.is_expired(now));
        leases.retain(|id, _| records.contains_key(id));
        if records.len() < max {
            return true;
        }
        let mut ranked: Vec<((bool, u64), IdHash)> = records
            .iter()
            .filter(|(id, _)| !leases.contains_key(*id))
            .map(|(id, stored)| (stored.eviction_rank(), *id))
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
    /// let store = satchel::store::MemoryStore::with_limits(Default::default());
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
    /// assert!(satchel::store::MemoryStore::default().is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether no record is held.
    ///
    /// ```
    /// assert!(satchel::store::MemoryStore::default().is_empty());
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
        stored.returned = true;
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
                sessions
                    .records
                    .insert(new_id, Stored::came_back(record, now));
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

    fn revoke_user<'a>(&'a self, user_id: &'a str, _now: u64) -> StoreFuture<'a, u64> {
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
mod tests {
    use super::*;
    use crate::store::SessionId;
    use crate::value::Dict;

    fn record(expires_at: u64) -> Record {
        Record::new(Dict::default(), 0, expires_at, expires_at)
    }

    fn limited(max_sessions: usize) -> MemoryStore {
        MemoryStore::with_limits(MemoryStoreLimits {
            max_sessions,
            ..MemoryStoreLimits::default()
        })
    }

    #[test]
    fn a_full_store_sweeps_expired_sessions_first() {
        let store = limited(2);
        let (a, b, c) = (
            SessionId::generate().hash(),
            SessionId::generate().hash(),
            SessionId::generate().hash(),
        );
        assert_eq!(store.create_now(&a, &record(10), 0), Ok(true));
        assert_eq!(store.create_now(&b, &record(100), 0), Ok(true));
        // At 20, `a` is dead: swept to make room, and `b` stays.
        assert_eq!(store.create_now(&c, &record(100), 20), Ok(true));
        assert!(matches!(store.load_now(&b, 20, None), Loaded::Found(_)));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn a_cookieless_flood_evicts_its_own_sessions_not_returning_users_nor_refuses_newcomers() {
        let store = limited(100);
        let users: Vec<IdHash> = (0..10).map(|_| SessionId::generate().hash()).collect();
        for id in &users {
            assert_eq!(store.create_now(id, &record(1_000_000), 0), Ok(true));
            assert!(matches!(store.load_now(id, 1, None), Loaded::Found(_)));
        }
        // 10,000 sessions created by one request each and never seen again, expiring later
        // than the users' sessions do.
        for _ in 0..10_000 {
            let flood = SessionId::generate().hash();
            assert_eq!(store.create_now(&flood, &record(2_000_000), 2), Ok(true));
        }
        assert!(store.len() <= 100);
        for id in &users {
            assert!(matches!(store.load_now(id, 3, None), Loaded::Found(_)));
        }
        let newcomer = SessionId::generate().hash();
        assert_eq!(store.create_now(&newcomer, &record(2_000_000), 3), Ok(true));
    }

    #[test]
    fn when_everyone_has_returned_the_soonest_to_expire_goes_first_and_leased_never() {
        let store = limited(2);
        let (soon, late, next) = (
            SessionId::generate().hash(),
            SessionId::generate().hash(),
            SessionId::generate().hash(),
        );
        store.create_now(&soon, &record(50), 0).unwrap();
        store.create_now(&late, &record(500), 0).unwrap();
        let lease = Lease::new(std::time::Duration::from_secs(60));
        assert!(matches!(
            store.load_now(&soon, 1, Some(&lease)),
            Loaded::Found(_)
        ));
        assert!(matches!(store.load_now(&late, 1, None), Loaded::Found(_)));
        // `soon` is leased, so `late` goes although it expires later.
        assert_eq!(store.create_now(&next, &record(500), 2), Ok(true));
        assert_eq!(store.load_now(&late, 2, None), Loaded::Missing);
        // Both remaining leased: only then is a newcomer refused.
        assert!(matches!(
            store.load_now(&next, 2, Some(&lease)),
            Loaded::Found(_)
        ));
        let last = SessionId::generate().hash();
        assert_eq!(
            store.create_now(&last, &record(500), 2),
            Err(StoreError::Full(2))
        );
    }

    #[test]
    fn data_comes_back_as_stored_and_a_deleted_sessions_lease_goes_with_it() {
        let store = MemoryStore::default();
        let mut kept = record(100);
        kept.data
            .insert("z".into(), Value::List(vec![1.into(), "a".into()]));
        kept.data.insert("a".into(), Value::Bytes(b"hi".to_vec()));
        kept.data.insert("m".into(), Value::Float(f64::INFINITY));
        let id = SessionId::generate().hash();
        assert_eq!(store.create_now(&id, &kept, 0), Ok(true));
        let lease = Lease::new(std::time::Duration::from_secs(60));
        assert_eq!(store.load_now(&id, 1, Some(&lease)), Loaded::Found(kept));
        assert_eq!(store.lock().leases.len(), 1);
        assert_eq!(
            store.commit_now(&id, lease.token, Commit::Delete, 0),
            Ok(true)
        );
        let sessions = store.lock();
        assert!(sessions.records.is_empty() && sessions.leases.is_empty());
    }

    #[test]
    fn records_over_the_size_cap_are_refused() {
        let store = MemoryStore::with_limits(MemoryStoreLimits {
            max_record_bytes: 16,
            ..MemoryStoreLimits::default()
        });
        let mut big = record(100);
        big.data.insert("k".into(), "x".repeat(32).into());
        let id = SessionId::generate().hash();
        assert!(matches!(
            store.create_now(&id, &big, 0),
            Err(StoreError::TooLarge { limit: 16, .. })
        ));
        assert!(store.is_empty());
    }

    #[test]
    fn a_record_within_the_cap_is_kept_even_when_the_quick_bound_is_over_it() {
        // 30 ASCII bytes: the bound counts each as a 6-byte escape (over 100), the text is 38.
        let limit = 100;
        let store = MemoryStore::with_limits(MemoryStoreLimits {
            max_record_bytes: limit,
            ..MemoryStoreLimits::default()
        });
        let mut data = Dict::new();
        data.insert("k".into(), "x".repeat(30).into());
        assert!(flask_json::len_bound(&data) > limit);
        assert!(flask_json::to_string(&data).len() <= limit);
        let id = SessionId::generate().hash();
        assert_eq!(
            store.create_now(&id, &Record::new(data, 0, 10, 10), 0),
            Ok(true)
        );
    }
}
