//! What a server-side session holds while its request runs: the id the browser presented, the
//! record's deadlines, and for a writer the lease ([`WriteHold`]) that fences its commit.

use std::sync::Arc;

use crate::backend::store_session::keyed_lock::KeyedGuard;
use crate::backend::store_session::renewal::Registration;
use crate::session::access::Access;
use crate::store::{Commit, IdHash, Lease, Login, SessionId, Store, StoreError, StoreFuture};

/// A store session as opened for one request.
pub(crate) struct StoreSlot {
    pub access: Access,
    /// The live session's id; `None` for a new session (no id until it is first saved).
    pub id: Option<SessionId>,
    /// The loaded record's idle and absolute deadlines.
    pub deadlines: Option<(u64, u64)>,
    /// The lease, when opened for writing an existing session.
    pub hold: Option<WriteHold>,
    /// The loaded record's login (kept on the record when this request does not log in anew).
    pub login: Option<Login>,
}

impl StoreSlot {
    /// A session the store does not have (no cookie, an unknown id, or a reader's miss).
    pub fn fresh(access: Access) -> Self {
        StoreSlot {
            access,
            id: None,
            deadlines: None,
            hold: None,
            login: None,
        }
    }
}

/// A held lease: renewed in the background, released on drop unless committed.
pub(crate) struct WriteHold {
    pub store: Arc<dyn Store>,
    pub hash: IdHash,
    pub lease: Lease,
    pub renewal: Option<Registration>,
    /// True once the store holds no lease of ours (committed, released, or never taken).
    pub settled: bool,
    pub _local: Option<KeyedGuard>,
}

impl WriteHold {
    /// Commits, fenced by the lease (which the commit releases): the store's call, made now.
    /// Pass what it yields to [`settle`](WriteHold::settle); dropped before that (the client
    /// went away mid-commit) or failed, the hold still releases on drop, which is harmless if
    /// the commit did land (a release is fenced too).
    pub fn commit(&mut self, commit: Commit, now: u64) -> StoreFuture<'_, bool> {
        self.renewal = None;
        self.store.commit(&self.hash, self.lease.token, commit, now)
    }

    /// Records how the commit went: a store that answered holds no lease of ours any more.
    pub fn settle(&mut self, committed: &Result<bool, StoreError>) {
        self.settled = committed.is_ok();
    }
}

impl Drop for WriteHold {
    fn drop(&mut self) {
        self.renewal = None;
        if self.settled {
            return;
        }
        let (store, hash, token) = (self.store.clone(), self.hash, self.lease.token);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                // `now` only matters to commits that write a record; a release writes none.
                if let Err(error) = store.commit(&hash, token, Commit::Release, 0).await {
                    tracing::warn!(%error, session = ?hash, "could not release a session lease; it expires by itself");
                }
            });
        }
    }
}
