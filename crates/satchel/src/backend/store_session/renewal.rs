//! Lease renewal for writers whose handlers run long: one background task per layer, not one
//! per request.
//!
//! A writer registers its lease here when it acquires it and deregisters when it commits or
//! is dropped (two map operations under a short mutex). A single task wakes every sixth of the
//! lease lifetime and renews each lease that has gone a third of its lifetime without renewal,
//! so a lease is renewed at most half-way through its term, as long as the store answers.
//! Most handlers finish long before that and are never renewed at all; the earlier design (a
//! task spawned and aborted per request) cost every request a spawn, a timer and a cancel.
//!
//! The task holds the registry weakly and ends when its layer is dropped; it is started on
//! the first registration and restarted if its runtime went away (a layer used from a second
//! runtime, as tests do).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::store::{IdHash, Lease, Store};

/// The leases held by the requests of one layer.
pub(crate) struct Renewals {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<dyn Store>,
    /// Renew a lease once this long has passed since it was taken or last renewed.
    every: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_ticket: u64,
    /// By ticket: tickets only grow, so new ones go at the end and nothing is hashed.
    held: BTreeMap<u64, Held>,
    task: Option<JoinHandle<()>>,
}

#[derive(Clone, Copy)]
struct Held {
    hash: IdHash,
    lease: Lease,
    renewed_at: Instant,
}

/// A registered lease; dropping it stops its renewal.
pub(crate) struct Registration {
    shared: Weak<Shared>,
    ticket: u64,
}

impl Renewals {
    /// Renewals of leases of `ttl` in `store`.
    pub fn new(store: Arc<dyn Store>, ttl: Duration) -> Self {
        Renewals {
            shared: Arc::new(Shared {
                store,
                every: ttl / 3,
                state: Mutex::default(),
            }),
        }
    }

    /// Keeps `lease` on `hash` renewed until the returned registration is dropped.
    pub fn register(&self, hash: IdHash, lease: Lease) -> Registration {
        let mut state = self.shared.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        let renewed_at = Instant::now();
        state.held.insert(
            ticket,
            Held {
                hash,
                lease,
                renewed_at,
            },
        );
        if !matches!(&state.task, Some(task) if !task.is_finished()) {
            state.task = tokio::runtime::Handle::try_current()
                .ok()
                .map(|runtime| runtime.spawn(renew_loop(Arc::downgrade(&self.shared))));
        }
        Registration {
            shared: Arc::downgrade(&self.shared),
            ticket,
        }
    }

    #[cfg(test)]
    fn registered(&self) -> usize {
        self.shared.lock().held.len()
    }
}

impl Drop for Renewals {
    fn drop(&mut self) {
        if let Some(task) = self.shared.lock().task.take() {
            task.abort();
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.lock().held.remove(&self.ticket);
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The leases due for renewal at `now`, marked as renewed so the next tick skips them.
    fn take_due(&self, now: Instant) -> Vec<(u64, Held)> {
        let mut state = self.lock();
        let mut due = Vec::new();
        for (&ticket, held) in state.held.iter_mut() {
            if now.duration_since(held.renewed_at) >= self.every {
                due.push((ticket, *held));
                held.renewed_at = now;
            }
        }
        due
    }

    fn forget(&self, ticket: u64) {
        self.lock().held.remove(&ticket);
    }
}

/// Every `every / 2`, renews the leases that are due, each in its own task so one slow
/// renewal does not hold up the others.
async fn renew_loop(shared: Weak<Shared>) {
    let tick = match shared.upgrade() {
        Some(shared) => (shared.every / 2).max(Duration::from_millis(1)),
        None => return,
    };
    loop {
        tokio::time::sleep(tick).await;
        let Some(strong) = shared.upgrade() else {
            return;
        };
        for (ticket, held) in strong.take_due(Instant::now()) {
            let shared = shared.clone();
            let store = strong.store.clone();
            tokio::spawn(async move {
                match store.renew(&held.hash, &held.lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(session = ?held.hash, "lost a session lease while the handler ran; its commit will be refused");
                        if let Some(shared) = shared.upgrade() {
                            shared.forget(ticket);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, session = ?held.hash, "could not renew a session lease")
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Loaded, MemoryStore, Record, SessionId};

    async fn leased(store: &Arc<dyn Store>, ttl: Duration) -> (IdHash, Lease) {
        let hash = SessionId::generate().hash();
        let record = Record::new(Default::default(), 0, u64::MAX, u64::MAX);
        assert_eq!(store.create(&hash, &record, 0).await, Ok(true));
        let lease = Lease::new(ttl);
        assert!(matches!(
            store.load(&hash, 0, Some(&lease)).await,
            Ok(Loaded::Found(_))
        ));
        (hash, lease)
    }

    #[tokio::test]
    async fn a_registered_lease_is_kept_alive_and_a_dropped_one_is_not() {
        let ttl = Duration::from_millis(300);
        let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let renewals = Renewals::new(store.clone(), ttl);
        let (kept, kept_lease) = leased(&store, ttl).await;
        let (dropped, dropped_lease) = leased(&store, ttl).await;
        let registration = renewals.register(kept, kept_lease);
        drop(renewals.register(dropped, dropped_lease));
        assert_eq!(renewals.registered(), 1);

        // Three lease terms pass (time passing is the point here, not synchronisation).
        tokio::time::sleep(3 * ttl).await;
        let other = Lease::new(ttl);
        assert_eq!(store.load(&kept, 0, Some(&other)).await, Ok(Loaded::Busy));
        assert!(matches!(
            store.load(&dropped, 0, Some(&other)).await,
            Ok(Loaded::Found(_))
        ));
        drop(registration);
        assert_eq!(renewals.registered(), 0);
    }
}
