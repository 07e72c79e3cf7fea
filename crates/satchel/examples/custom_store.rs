//! A store of your own in one small file: the whole [`Store`] contract over a `HashMap`.
//!
//! ```sh
//! cargo run -p satchel-session --example custom_store     # then curl -c j -b j http://127.0.0.1:3000/
//! ```
//!
//! Five methods, each one atomic step: `load` (taking the lease in the same step when asked),
//! `create` (insert-only), `commit` (fenced by the lease token), `renew` and `touch`. Waiting,
//! retries, cookies and timeouts are the layer's; a store only keeps these promises. Check a
//! real one against `tests/store_contract.rs`, which runs the same suite on every store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::{routing::get, Router};
use satchel_session::store::{
    Commit, IdHash, Lease, LeaseToken, Loaded, Record, Store, StoreError, StoreFuture,
};
use satchel_session::{Session, SessionConfig, SessionLayer};

/// One session: its record and, while a writer holds it, the lease.
struct Entry {
    record: Record,
    lease: Option<(LeaseToken, Instant)>,
}

#[derive(Default)]
struct HashMapStore(Mutex<HashMap<IdHash, Entry>>);

impl HashMapStore {
    /// Runs `step` under the lock; the lock is never held across an await, so every method is
    /// atomic and the futures are ready at once.
    fn with<T>(
        &self,
        step: impl FnOnce(&mut HashMap<IdHash, Entry>) -> T,
    ) -> Result<T, StoreError> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| StoreError::Unavailable("poisoned".into()))?;
        Ok(step(&mut map))
    }
}

fn held_by_other(entry: &Entry, token: Option<LeaseToken>) -> bool {
    entry
        .lease
        .is_some_and(|(holder, until)| Some(holder) != token && until > Instant::now())
}

impl Store for HashMapStore {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        Box::pin(async move {
            self.with(|map| {
                if map.get(id).is_some_and(|e| e.record.is_expired(now)) {
                    map.remove(id);
                }
                let Some(entry) = map.get_mut(id) else {
                    return Loaded::Missing;
                };
                if let Some(lease) = lease {
                    if held_by_other(entry, None) {
                        return Loaded::Busy;
                    }
                    entry.lease = Some((lease.token, Instant::now() + lease.ttl));
                }
                Loaded::Found(entry.record.clone())
            })
        })
    }

    fn create<'a>(
        &'a self,
        id: &'a IdHash,
        record: &'a Record,
        _now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.with(|map| {
                if map.contains_key(id) {
                    return false;
                }
                map.insert(
                    *id,
                    Entry {
                        record: record.clone(),
                        lease: None,
                    },
                );
                true
            })
        })
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        _now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.with(|map| {
                // The fence: only the lease's holder, and only while it holds it.
                let ours = map.get(id).is_some_and(|e| {
                    e.lease
                        .is_some_and(|(holder, until)| holder == token && until > Instant::now())
                });
                if !ours {
                    return false;
                }
                match commit {
                    Commit::Save(record) => map
                        .insert(
                            *id,
                            Entry {
                                record,
                                lease: None,
                            },
                        )
                        .is_some(),
                    Commit::Delete => map.remove(id).is_some(),
                    Commit::Release => map.get_mut(id).map(|e| e.lease = None).is_some(),
                    Commit::Rotate { new_id, record } => {
                        map.remove(id);
                        map.insert(
                            new_id,
                            Entry {
                                record,
                                lease: None,
                            },
                        );
                        true
                    }
                }
            })
        })
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.with(|map| match map.get_mut(id) {
                Some(entry) if entry.lease.is_some_and(|(holder, _)| holder == lease.token) => {
                    entry.lease = Some((lease.token, Instant::now() + lease.ttl));
                    true
                }
                _ => false,
            })
        })
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, _now: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.with(|map| {
                if let Some(entry) = map.get_mut(id) {
                    let record = &mut entry.record;
                    let wanted = idle_deadline.min(record.absolute_deadline);
                    record.idle_deadline = record.idle_deadline.max(wanted);
                }
            })
        })
    }
}

async fn counter(session: Session) -> String {
    let n = session.get_or("n", 0) + 1;
    session.insert("n", n);
    format!("{n}\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = SessionConfig {
        cookie_secure: false, // plain http on loopback; keep it on in production
        ..SessionConfig::default()
    };
    let layer = SessionLayer::builder(config)
        .store(Arc::new(HashMapStore::default()))
        .build()?;
    let app = Router::new().route("/", get(counter)).layer(layer);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
