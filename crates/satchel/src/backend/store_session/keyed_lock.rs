//! An in-process mutex per session: writers of one session in one process queue here (first
//! come, first served) before asking the store for the lease, instead of polling the store.
//! Writers of different sessions never share a lock. Entries are removed when the last holder
//! or waiter leaves, so the map holds only sessions in use.

use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::store::{IdHash, IdMap};

type Entries = Arc<Mutex<IdMap<Arc<AsyncMutex<()>>>>>;

/// The keyed mutex.
#[derive(Default)]
pub(crate) struct KeyedLocks {
    entries: Entries,
}

/// Holding the lock of one session.
pub(crate) struct KeyedGuard {
    entries: Entries,
    key: IdHash,
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyedLocks {
    /// Waits for `key`'s lock (the tests' shorthand for `try_lock`, then `wait`).
    #[cfg(test)]
    async fn lock(&self, key: IdHash) -> KeyedGuard {
        match self.try_lock(key) {
            Ok(guard) => guard,
            Err(waiting) => waiting.wait().await,
        }
    }

    /// `key`'s lock if nobody holds it, else the place in its queue to wait at: the common,
    /// uncontended case takes no future at all.
    pub fn try_lock(&self, key: IdHash) -> Result<KeyedGuard, Waiting> {
        let mutex = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.entry(key).or_default().clone()
        };
        // If a `Waiting` is dropped unawaited or while waiting, `mutex` goes with it; the entry
        // is then removed by the next holder's release (it sees no waiters left).
        match mutex.clone().try_lock_owned() {
            Ok(guard) => Ok(KeyedGuard::new(self.entries.clone(), key, guard)),
            Err(_) => Err(Waiting {
                entries: self.entries.clone(),
                key,
                mutex,
            }),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

/// A writer queued for a session's lock ([`KeyedLocks::try_lock`] found it held).
pub(crate) struct Waiting {
    entries: Entries,
    key: IdHash,
    mutex: Arc<AsyncMutex<()>>,
}

impl Waiting {
    /// Waits for the lock (first come, first served).
    pub async fn wait(self) -> KeyedGuard {
        let Waiting {
            entries,
            key,
            mutex,
        } = self;
        KeyedGuard::new(entries, key, mutex.lock_owned().await)
    }
}

impl KeyedGuard {
    fn new(entries: Entries, key: IdHash, guard: OwnedMutexGuard<()>) -> Self {
        KeyedGuard {
            entries,
            key,
            guard: Some(guard),
        }
    }
}

impl Drop for KeyedGuard {
    fn drop(&mut self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mutex) = entries.get(&self.key) {
            // The map's reference and this guard's: nobody else waits.
            if Arc::strong_count(mutex) <= 2 {
                entries.remove(&self.key);
            }
        }
        self.guard.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SessionId;

    #[tokio::test]
    async fn entries_are_removed_when_the_last_holder_leaves() {
        let locks = KeyedLocks::default();
        let a = SessionId::generate().hash();
        let b = SessionId::generate().hash();
        let guard_a = locks.lock(a).await;
        let guard_b = locks.lock(b).await; // another session: does not wait
        assert_eq!(locks.len(), 2);
        drop(guard_a);
        drop(guard_b);
        assert_eq!(locks.len(), 0);
    }

    #[tokio::test]
    async fn a_second_writer_of_one_session_waits_for_the_first() {
        let locks = Arc::new(KeyedLocks::default());
        let key = SessionId::generate().hash();
        let first = locks.lock(key).await;
        let waiter = tokio::spawn({
            let locks = locks.clone();
            async move { drop(locks.lock(key).await) }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(first);
        waiter.await.unwrap();
        assert_eq!(locks.len(), 0);
    }
}
