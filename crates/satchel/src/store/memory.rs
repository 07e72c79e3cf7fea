//! [`MemoryStore`]: sessions in this process's memory, bounded.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::{Commit, IdHash, Lease, LeaseToken, Loaded, Record, Store, StoreError, StoreFuture};
use crate::codec::flask_json;

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
/// timed by a monotonic clock. Bounded two ways, so an anonymous flood cannot exhaust memory
/// or push real users out: at most `max_sessions` records (when full, expired records are swept
/// and, if still full, *new* sessions are refused with [`StoreError::Full`] — existing ones are
/// never evicted), and at most `max_record_bytes` per record (its Flask-JSON size).
///
/// Sessions die with the process and are not shared between processes: use Redis for that.
///
/// ```
/// use std::sync::Arc;
/// use satchel::store::{MemoryStore, MemoryStoreLimits};
/// use satchel::{SessionConfig, SessionLayer};
///
/// let store = MemoryStore::with_limits(MemoryStoreLimits { max_sessions: 1_000, ..Default::default() });
/// let layer = SessionLayer::with_store(SessionConfig::default(), Arc::new(store));
/// assert!(layer.is_ok());
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    limits: MemoryStoreLimits,
    map: Mutex<Map>,
}

type Map = HashMap<IdHash, Entry, BuildHasherDefault<IdHasher>>;

/// The map's hasher: the key is already a SHA-256 output, so its bytes are a uniform hash.
/// Only ids the server generated are ever inserted (lookups of a client's id insert nothing),
/// so a client cannot choose keys that collide.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(word);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Debug)]
struct Entry {
    record: Record,
    lease: Option<(LeaseToken, Instant)>,
}

impl Entry {
    fn leased_by_other(&self, token: LeaseToken, at: Instant) -> bool {
        self.lease
            .is_some_and(|(t, until)| t != token && until > at)
    }

    fn holds(&self, token: LeaseToken, at: Instant) -> bool {
        self.lease
            .is_some_and(|(t, until)| t == token && until > at)
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
        self.lock().len()
    }

    /// Whether no record is held.
    ///
    /// ```
    /// assert!(satchel::store::MemoryStore::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Map> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_size(&self, record: &Record) -> Result<(), StoreError> {
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
        let mut map = self.lock();
        let Some(entry) = map.get_mut(id) else {
            return Loaded::Missing;
        };
        if entry.record.is_expired(now) {
            map.remove(id);
            return Loaded::Missing;
        }
        if let Some(lease) = lease {
            let at = Instant::now();
            if entry.leased_by_other(lease.token, at) {
                return Loaded::Busy;
            }
            entry.lease = Some((lease.token, at + lease.ttl));
        }
        Loaded::Found(entry.record.clone())
    }

    fn create_now(&self, id: &IdHash, record: &Record, now: u64) -> Result<bool, StoreError> {
        self.check_size(record)?;
        let mut map = self.lock();
        if map.contains_key(id) {
            return Ok(false);
        }
        if map.len() >= self.limits.max_sessions {
            map.retain(|_, entry| !entry.record.is_expired(now));
            if map.len() >= self.limits.max_sessions {
                return Err(StoreError::Full(self.limits.max_sessions));
            }
        }
        map.insert(
            *id,
            Entry {
                record: record.clone(),
                lease: None,
            },
        );
        Ok(true)
    }

    fn commit_now(
        &self,
        id: &IdHash,
        token: LeaseToken,
        commit: Commit,
    ) -> Result<bool, StoreError> {
        if let Commit::Save(record) | Commit::Rotate { record, .. } = &commit {
            self.check_size(record)?;
        }
        let mut map = self.lock();
        let Some(entry) = map.get_mut(id) else {
            return Ok(false);
        };
        if !entry.holds(token, Instant::now()) {
            return Ok(false);
        }
        entry.lease = None;
        match commit {
            Commit::Save(record) => entry.record = record,
            Commit::Release => {}
            Commit::Delete => {
                map.remove(id);
            }
            Commit::Rotate { new_id, record } => {
                map.remove(id);
                map.insert(
                    new_id,
                    Entry {
                        record,
                        lease: None,
                    },
                );
            }
        }
        Ok(true)
    }

    fn renew_now(&self, id: &IdHash, lease: &Lease) -> bool {
        let at = Instant::now();
        match self.lock().get_mut(id) {
            Some(entry) if entry.holds(lease.token, at) => {
                entry.lease = Some((lease.token, at + lease.ttl));
                true
            }
            _ => false,
        }
    }

    fn touch_now(&self, id: &IdHash, idle_deadline: u64, now: u64) {
        if let Some(entry) = self.lock().get_mut(id) {
            let record = &mut entry.record;
            if !record.is_expired(now) {
                record.idle_deadline = record
                    .idle_deadline
                    .max(idle_deadline.min(record.absolute_deadline));
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
        _now: u64,
    ) -> StoreFuture<'a, bool> {
        let committed = self.commit_now(id, token, commit);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SessionId;
    use crate::value::Dict;

    fn record(expires_at: u64) -> Record {
        Record::new(Dict::default(), 0, expires_at, expires_at)
    }

    #[test]
    fn a_full_store_sweeps_expired_sessions_before_refusing() {
        let store = MemoryStore::with_limits(MemoryStoreLimits {
            max_sessions: 2,
            ..MemoryStoreLimits::default()
        });
        let (a, b, c) = (
            SessionId::generate().hash(),
            SessionId::generate().hash(),
            SessionId::generate().hash(),
        );
        assert_eq!(store.create_now(&a, &record(10), 0), Ok(true));
        assert_eq!(store.create_now(&b, &record(100), 0), Ok(true));
        assert_eq!(
            store.create_now(&c, &record(100), 5),
            Err(StoreError::Full(2))
        );
        // At 20, `a` is dead: swept to make room; `b` is never evicted.
        assert_eq!(store.create_now(&c, &record(100), 20), Ok(true));
        assert!(matches!(store.load_now(&b, 20, None), Loaded::Found(_)));
        assert_eq!(store.len(), 2);
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
}
