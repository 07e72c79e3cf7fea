//! Where a store is called: [`open`] loads a server-side session into the request's slot
//! (the store half of Flask's `open_session`), [`save`] writes it back (`save_session`).
//! The cookie half is [`interface`](crate::interface); the store contract is
//! [`Store`](crate::store::Store).
//!
//! A slot is opened in one of two modes, once per request, whichever extractors ask for it:
//! - **Read** ([`ReadOnlySession`](crate::extract::ReadOnlySession)): one `load`, no lock, no
//!   lease; the save step at most `touch`es the idle deadline.
//! - **Write** ([`Session`](crate::Session)): the in-process keyed mutex, then `load` with a
//!   lease in one round trip, retried with backoff until `lock_wait` runs out (then 503 busy);
//!   the lease is renewed while the handler runs (one task per layer, `renewal.rs`),
//!   committed (fenced by its token) when the response head is built, and released by a
//!   spawned task if the request is dropped without committing (handler error or panic). A refused commit turns the response into a
//!   503: a write that did not happen is never reported as a success.
//!
//! Expiry: a record lives until the earlier of its idle deadline (`SESSION_IDLE_TIMEOUT`, by
//! default `PERMANENT_SESSION_LIFETIME`, pushed forward by use) and its absolute deadline
//! (`SESSION_ABSOLUTE_TIMEOUT` after the session began). To spare a write per request, the idle
//! deadline is pushed forward only once a tenth of the idle timeout has passed since the last
//! push: a session may die up to that much earlier than a per-request refresh would allow.

use std::sync::Arc;
use std::time::Duration;

use cookie::Cookie;
use http::HeaderMap;
use rand::Rng;
use tokio::time::Instant;

use crate::config::SessionConfig;
use crate::error::SessionError;
use crate::interface::{self, Context, SaveError};
use crate::keyed_lock::{KeyedGuard, KeyedLocks};
use crate::renewal::{Registration, Renewals};
use crate::session::State;
use crate::store::{Commit, IdHash, Lease, Loaded, Record, SessionId, Store, StoreOptions};
use crate::value::Dict;

/// What a layer with a store shares with every request.
pub(crate) struct StoreBackend {
    pub store: Arc<dyn Store>,
    pub options: StoreOptions,
    pub locks: KeyedLocks,
    /// Renews the leases of long-running writers; `None` when renewal is off.
    pub renewals: Option<Renewals>,
}

/// How a slot was opened. `Write` > `Read`: a slot opened for reading is reopened for writing
/// when a `Session` extractor asks after a `ReadOnlySession` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mode {
    Read,
    Write,
}

/// A store session as loaded into the request.
pub(crate) struct StoreSlot {
    pub mode: Mode,
    /// The live session's id; `None` for a new session (no id until it is first saved).
    pub id: Option<SessionId>,
    /// The loaded record's deadlines.
    pub deadlines: Option<(u64, u64)>,
    /// The lease, in write mode on an existing session.
    pub hold: Option<WriteHold>,
}

/// What [`open`] hands to the session.
pub(crate) struct Opened {
    pub slot: StoreSlot,
    pub record: Option<Record>,
}

impl Opened {
    fn fresh(mode: Mode) -> Self {
        Opened {
            slot: StoreSlot {
                mode,
                id: None,
                deadlines: None,
                hold: None,
            },
            record: None,
        }
    }
}

/// A held lease: renewed in the background, released on drop unless committed.
pub(crate) struct WriteHold {
    store: Arc<dyn Store>,
    hash: IdHash,
    lease: Lease,
    renewal: Option<Registration>,
    settled: bool,
    _local: Option<KeyedGuard>,
}

impl WriteHold {
    /// Commits (fenced by the lease and releasing it).
    async fn commit(mut self, commit: Commit, now: u64) -> Result<bool, crate::store::StoreError> {
        self.renewal = None;
        let committed = self
            .store
            .commit(&self.hash, self.lease.token, commit, now)
            .await;
        // Dropped before this point (the client went away mid-commit), or failed, the hold
        // still releases: a release is fenced, so it is harmless if the commit did land.
        self.settled = committed.is_ok();
        committed
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

/// The session id in the request's cookies, if one parses.
pub(crate) fn cookie_id(
    config: &SessionConfig,
    headers: &[http::HeaderValue],
) -> Option<SessionId> {
    headers
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == config.cookie_name)
        .find_map(|c| SessionId::parse(c.value_trimmed()))
}

/// Loads the session under `id` (if any) for `mode`. Failures are traced and counted here.
pub(crate) async fn open(
    ctx: &Context,
    backend: &StoreBackend,
    id: Option<SessionId>,
    mode: Mode,
) -> Result<Opened, SessionError> {
    let Some(id) = id else {
        return Ok(Opened::fresh(mode));
    };
    let opened = match mode {
        Mode::Read => open_read(ctx, backend, id).await,
        Mode::Write => open_write(ctx, backend, id).await,
    };
    if let Err(error) = &opened {
        match error {
            SessionError::Busy => ctx.stats.count_busy(),
            _ => ctx.stats.count_store_error(),
        }
        tracing::warn!(%error, "could not open the session");
    }
    opened
}

fn found(mode: Mode, id: SessionId, record: Record, hold: Option<WriteHold>) -> Opened {
    Opened {
        slot: StoreSlot {
            mode,
            id: Some(id),
            deadlines: Some((record.idle_deadline, record.absolute_deadline)),
            hold,
        },
        record: Some(record),
    }
}

async fn open_read(
    ctx: &Context,
    backend: &StoreBackend,
    id: SessionId,
) -> Result<Opened, SessionError> {
    match backend
        .store
        .load(&id.hash(), ctx.clock.now(), None)
        .await?
    {
        Loaded::Found(record) => Ok(found(Mode::Read, id, record, None)),
        Loaded::Missing | Loaded::Busy => Ok(Opened::fresh(Mode::Read)),
    }
}

async fn open_write(
    ctx: &Context,
    backend: &StoreBackend,
    id: SessionId,
) -> Result<Opened, SessionError> {
    let options = &backend.options;
    let deadline = Instant::now() + options.lock_wait;
    let hash = id.hash();
    // The keyed mutex only spares the store from polling; the lease is the guarantee. A holder
    // may keep the mutex past its lease (a stuck handler whose renewals fail), so waiting for
    // the mutex is bounded by the lease time too: past it, go and ask the store.
    let local_wait = deadline.min(Instant::now() + options.lease_ttl);
    let local = tokio::time::timeout_at(local_wait, backend.locks.lock(hash))
        .await
        .ok();
    let lease = Lease::new(options.lease_ttl);
    // The hold exists before the first load: a request dropped while a load is in flight (the
    // client went away) may own the lease already, and dropping the hold gives it back.
    let mut hold = WriteHold {
        store: backend.store.clone(),
        hash,
        lease,
        renewal: None,
        settled: true,
        _local: local,
    };
    let mut backoff = Duration::from_millis(2);
    loop {
        hold.settled = false;
        let loaded = backend
            .store
            .load(&hash, ctx.clock.now(), Some(&lease))
            .await?;
        match loaded {
            Loaded::Found(record) => {
                hold.renewal = backend
                    .renewals
                    .as_ref()
                    .map(|renewals| renewals.register(hash, lease));
                return Ok(found(Mode::Write, id, record, Some(hold)));
            }
            // The store keeps no lease on a missing session, and a busy one is not ours.
            Loaded::Missing => {
                hold.settled = true;
                return Ok(Opened::fresh(Mode::Write));
            }
            Loaded::Busy => {
                hold.settled = true;
                let jitter = rand::thread_rng().gen_range(0..=backoff.as_micros() as u64 / 2);
                let pause = backoff + Duration::from_micros(jitter);
                if Instant::now() + pause >= deadline {
                    return Err(SessionError::Busy);
                }
                tokio::time::sleep(pause).await;
                backoff = (backoff * 2).min(Duration::from_millis(100));
            }
        }
    }
}

/// The idle timeout (seconds) for store sessions: `SESSION_IDLE_TIMEOUT`, else
/// `PERMANENT_SESSION_LIFETIME`.
fn idle_secs(config: &SessionConfig) -> u64 {
    config
        .idle_timeout
        .unwrap_or(config.permanent_session_lifetime)
        .as_secs()
}

/// The record to store for `data` at `now`, for a session that began at `created_at`.
fn record(config: &SessionConfig, data: Dict, created_at: u64, now: u64) -> Record {
    let absolute = config
        .absolute_timeout
        .map_or(u64::MAX, |t| created_at.saturating_add(t.as_secs()));
    let idle = now.saturating_add(idle_secs(config)).min(absolute);
    Record::new(data, created_at, idle, absolute)
}

/// Whether the idle deadline is due to be pushed forward (see the module docs).
fn refresh_due(config: &SessionConfig, deadlines: (u64, u64), now: u64) -> bool {
    let idle = idle_secs(config);
    let wanted = now.saturating_add(idle).min(deadlines.1);
    wanted > deadlines.0.saturating_add((idle / 10).max(1))
}

/// What the save step did, for the cookie.
enum Outcome {
    Nothing,
    /// The session lives on under `id` until `expires_at`; `new` when the id is new to the
    /// browser (created or rotated), so the cookie must be sent.
    Live {
        id: SessionId,
        expires_at: u64,
        permanent: bool,
        new: bool,
    },
    Deleted,
}

fn is_permanent(data: &Dict) -> bool {
    data.get(crate::session::PERMANENT_KEY)
        .is_some_and(crate::Value::is_truthy)
}

/// Flask's save rules for a store session: commit (fenced) or create, then the cookie.
pub(crate) async fn save(
    ctx: &Context,
    backend: &StoreBackend,
    mut state: State,
    headers: &mut HeaderMap,
) -> Result<(), SaveError> {
    let Some(slot) = state.store.take() else {
        return Ok(());
    };
    if state.accessed {
        interface::add_vary_cookie(headers);
    }
    let now = ctx.clock.now();
    let StoreSlot {
        mode,
        id,
        deadlines,
        hold,
    } = slot;
    let outcome = match hold {
        Some(hold) => commit(ctx, hold, id, deadlines, state, now).await?,
        None if mode == Mode::Read => {
            let permanent = is_permanent(&state.data);
            touch(ctx, backend, id, deadlines, permanent, now).await
        }
        None => create(ctx, backend, state, now).await?,
    };
    set_cookie(&ctx.config, outcome, headers);
    Ok(())
}

async fn commit(
    ctx: &Context,
    hold: WriteHold,
    id: Option<SessionId>,
    deadlines: Option<(u64, u64)>,
    state: State,
    now: u64,
) -> Result<Outcome, SaveError> {
    let config = &ctx.config;
    let created_at = state.created_at.unwrap_or(now);
    let due = deadlines.is_some_and(|d| refresh_due(config, d, now));
    let permanent = is_permanent(&state.data);
    let (commit, outcome) = if state.data.is_empty() && state.modified {
        (Commit::Delete, Outcome::Deleted)
    } else if state.reissue {
        let new_id = SessionId::generate();
        let record = record(config, state.data, created_at, now);
        let outcome = Outcome::Live {
            id: new_id.clone(),
            expires_at: record.expires_at(),
            permanent,
            new: true,
        };
        let commit = Commit::Rotate {
            new_id: new_id.hash(),
            record,
        };
        (commit, outcome)
    } else if state.modified || due {
        let record = record(config, state.data, created_at, now);
        let outcome = match id {
            Some(id) => Outcome::Live {
                id,
                expires_at: record.expires_at(),
                permanent,
                new: false,
            },
            None => Outcome::Nothing,
        };
        (Commit::Save(record), outcome)
    } else {
        (Commit::Release, Outcome::Nothing)
    };
    let committed = hold.commit(commit, now).await.inspect_err(|error| {
        ctx.stats.count_store_error();
        tracing::error!(%error, "could not commit the session");
    })?;
    if !committed {
        ctx.stats.count_commit_refused();
        tracing::warn!("session commit refused: its lease was lost or the session ended meanwhile");
        return Err(SaveError::Refused);
    }
    Ok(outcome)
}

async fn touch(
    ctx: &Context,
    backend: &StoreBackend,
    id: Option<SessionId>,
    deadlines: Option<(u64, u64)>,
    permanent: bool,
    now: u64,
) -> Outcome {
    let (Some(id), Some(deadlines)) = (id, deadlines) else {
        return Outcome::Nothing;
    };
    if !refresh_due(&ctx.config, deadlines, now) {
        return Outcome::Nothing;
    }
    let wanted = now.saturating_add(idle_secs(&ctx.config));
    match backend.store.touch(&id.hash(), wanted, now).await {
        Ok(()) => Outcome::Live {
            id,
            expires_at: wanted.min(deadlines.1),
            permanent,
            new: false,
        },
        Err(error) => {
            ctx.stats.count_store_error();
            tracing::warn!(%error, "could not refresh a session's idle deadline");
            Outcome::Nothing
        }
    }
}

async fn create(
    ctx: &Context,
    backend: &StoreBackend,
    state: State,
    now: u64,
) -> Result<Outcome, SaveError> {
    if state.data.is_empty() || !(state.modified || state.reissue) {
        return Ok(Outcome::Nothing);
    }
    let record = record(&ctx.config, state.data, now, now);
    let id = SessionId::generate();
    let created = backend
        .store
        .create(&id.hash(), &record, now)
        .await
        .inspect_err(|error| {
            ctx.stats.count_store_error();
            tracing::error!(%error, "could not create the session");
        })?;
    if !created {
        // 256 random bits collided: the generator is broken, refuse rather than adopt.
        return Err(SaveError::Refused);
    }
    Ok(Outcome::Live {
        id,
        expires_at: record.expires_at(),
        permanent: is_permanent(&record.data),
        new: true,
    })
}

/// The cookie a store session's outcome calls for: the id for a new or rotated session, the
/// same id again for a permanent session whose life was extended (with its new Expires), the
/// deleting cookie after a delete.
fn set_cookie(config: &SessionConfig, outcome: Outcome, headers: &mut HeaderMap) {
    match outcome {
        Outcome::Nothing => {}
        Outcome::Deleted => interface::set_cookie(headers, interface::deletion_cookie(config)),
        Outcome::Live {
            id,
            expires_at,
            permanent,
            new,
        } => {
            if !(new || permanent && config.refresh_each_request) {
                return;
            }
            let mut cookie = interface::base_cookie(config, id.encode());
            if permanent {
                cookie.set_expires(interface::expiry_time(expires_at));
            }
            interface::set_cookie(headers, cookie);
        }
    }
}
