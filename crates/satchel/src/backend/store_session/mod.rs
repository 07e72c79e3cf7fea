//! Where a store is called: the store backend opens a server-side session (the cookie holds a
//! [`SessionId`]; the data is in a [`Store`]) and saves it back.
//!
//! A session is opened in one of two ways, once per request, whichever extractors ask for it:
//! - **Read** ([`ReadOnlySession`](crate::extract::ReadOnlySession)): one `load`, no lock, no
//!   lease; the save step at most `touch`es the idle deadline.
//! - **Write** ([`Session`](crate::Session)): the in-process keyed mutex, then `load` with a
//!   lease in one round trip, retried with backoff until `lock_wait` runs out (then 503 busy);
//!   the lease is renewed while the handler runs (one task per layer, `renewal.rs`),
//!   committed (fenced by its token) when the response head is built, and released by a spawned
//!   task if the request is dropped without committing (handler error or panic). A refused
//!   commit turns the response into a 503: a write that did not happen is never reported as a
//!   success.
//!
//! Expiry: a record lives until the earlier of its idle deadline (`SESSION_IDLE_TIMEOUT`, by
//! default `PERMANENT_SESSION_LIFETIME`, pushed forward by use) and its absolute deadline
//! (`SESSION_ABSOLUTE_TIMEOUT` after the session began). A session created by one request gets
//! only `SESSION_NEW_TIMEOUT` (30 minutes) until a second request uses it, so one-request
//! visitors leave nothing behind for long. To spare a write per request, the idle deadline is
//! pushed forward only once a tenth of the idle timeout has passed since the last push: a
//! session may die up to that much earlier than a per-request refresh would allow.

pub(crate) mod cookie_id;
pub(crate) mod keyed_lock;
pub(crate) mod renewal;
pub(crate) mod slot;

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use rand::RngExt as _;
use tokio::time::Instant;

use crate::backend::rules::{decide, Keep, SaveAction, Shared};
use crate::backend::store_session::cookie_id::IdCookies;
use crate::backend::store_session::keyed_lock::KeyedLocks;
use crate::backend::store_session::renewal::Renewals;
use crate::backend::store_session::slot::{StoreSlot, WriteHold};
use crate::clock::Clock;
use crate::config::{ConfigError, SessionConfig};
use crate::cookie_header::RequestCookies;
use crate::error::{SaveError, SessionError};
use crate::session::access::Access;
use crate::session::state::{LoginNote, Origin, SessionState};
use crate::store::{Commit, Loaded, Login, Record, SessionId, Store, StoreOptions};
use crate::value::Dict;

/// Sessions in a store: what a layer with a store shares with every request.
pub(crate) struct StoreBackend {
    pub shared: Shared,
    pub store: Arc<dyn Store>,
    pub options: StoreOptions,
    pub locks: KeyedLocks,
    /// Renews the leases of long-running writers; `None` when renewal is off.
    pub renewals: Option<Renewals>,
    /// How ids look in the cookie and what the store is given for one.
    pub ids: IdCookies,
}

/// A loaded session's state.
fn opened(slot: StoreSlot, record: Option<Record>) -> SessionState {
    let (data, created_at) = match record {
        Some(record) => (record.data, Some(record.created_at)),
        None => (Dict::default(), None),
    };
    SessionState {
        data,
        created_at,
        origin: Origin::Store(Box::new(slot)),
        ..SessionState::default()
    }
}

fn found(
    access: Access,
    id: SessionId,
    mut record: Record,
    hold: Option<WriteHold>,
) -> SessionState {
    let slot = StoreSlot {
        access,
        id: Some(id),
        deadlines: Some((record.idle_deadline, record.absolute_deadline)),
        hold,
        login: record.login.take(),
    };
    opened(slot, Some(record))
}

fn fresh(access: Access) -> SessionState {
    opened(StoreSlot::fresh(access), None)
}

/// The idle timeout (seconds) for store sessions: `SESSION_IDLE_TIMEOUT`, else
/// `PERMANENT_SESSION_LIFETIME`.
fn idle_secs(config: &SessionConfig) -> u64 {
    config
        .idle_timeout
        .unwrap_or(config.permanent_session_lifetime)
        .as_secs()
}

/// The record to store for `data` at `now`, for a session that began at `created_at`, with
/// the login its data and this request's login note call for.
fn record(
    config: &SessionConfig,
    data: Dict,
    created_at: u64,
    now: u64,
    login: Option<Login>,
) -> Record {
    let absolute = config
        .absolute_timeout
        .map_or(u64::MAX, |t| created_at.saturating_add(t.as_secs()));
    let idle = now.saturating_add(idle_secs(config)).min(absolute);
    let mut record = Record::new(data, created_at, idle, absolute);
    record.login = login;
    record
}

/// Whether the idle deadline is due to be pushed forward (see the module docs).
fn refresh_due(config: &SessionConfig, deadlines: (u64, u64), now: u64) -> bool {
    let idle = idle_secs(config);
    let wanted = now.saturating_add(idle).min(deadlines.1);
    wanted > deadlines.0.saturating_add((idle / 10).max(1))
}

/// A store session's save as decided before any I/O ([`StoreBackend::plan`]).
// The commit is the large variant and the common one (every writer's save): boxing it would
// add an allocation to most saves to shrink the rarer ones.
#[allow(clippy::large_enum_variant)]
enum Plan {
    /// No store call: only the cookie, from this outcome.
    Cookie(Outcome),
    /// A commit under the lease.
    Commit(PlannedCommit),
    /// A reader's refresh: push the idle deadline to `wanted`.
    Touch {
        id: SessionId,
        wanted: u64,
        expires_at: u64,
    },
    /// File a new session under a fresh id.
    Create {
        id: SessionId,
        record: Record,
        expires_at: u64,
    },
}

impl Plan {
    fn commit(hold: WriteHold, commit: Commit, outcome: Outcome) -> Plan {
        Plan::Commit(PlannedCommit {
            hold,
            commit,
            outcome,
        })
    }
}

/// A commit to make under `hold`'s lease, and the outcome it has if it lands.
struct PlannedCommit {
    hold: WriteHold,
    commit: Commit,
    outcome: Outcome,
}

/// What the save step did, for the cookie.
enum Outcome {
    Nothing,
    /// The session lives on under `id` until `expires_at`; `new` when the id is new to the
    /// browser (created or rotated), so the cookie must be sent.
    Live {
        id: SessionId,
        expires_at: u64,
        new: bool,
    },
    Deleted,
}

impl StoreBackend {
    /// The store backend for `config` (its cookie settings checked): sessions in `store`,
    /// leased as `options` say.
    pub fn new(
        config: SessionConfig,
        clock: Clock,
        store: Arc<dyn Store>,
        options: StoreOptions,
    ) -> Result<Self, ConfigError> {
        config.validate_cookie_settings()?;
        let ids = IdCookies::new(store.cookie_ids(), &config)?;
        Ok(StoreBackend {
            ids,
            renewals: options
                .renew_leases
                .then(|| Renewals::new(store.clone(), options.lease_ttl)),
            store,
            options,
            locks: KeyedLocks::default(),
            shared: Shared::new(config, clock),
        })
    }
}

impl StoreBackend {
    fn config(&self) -> &SessionConfig {
        self.shared.cookies.config()
    }

    fn now(&self) -> u64 {
        self.shared.clock.now()
    }

    /// Loads the session under `id` (if any) for `access`. Failures are traced and counted.
    async fn load(
        &self,
        id: Option<SessionId>,
        access: Access,
    ) -> Result<SessionState, SessionError> {
        let Some(id) = id else {
            return Ok(fresh(access));
        };
        let opened = match access {
            Access::Read => self.load_read(id).await,
            Access::Write => self.load_write(id).await,
        };
        if let Err(error) = &opened {
            match error {
                SessionError::Busy => self.shared.counters.busy(),
                _ => self.shared.counters.store_error(),
            }
            tracing::warn!(%error, "could not open the session");
        }
        opened
    }

    async fn load_read(&self, id: SessionId) -> Result<SessionState, SessionError> {
        match self
            .store
            .load(&self.ids.key(&id), self.now(), None)
            .await?
        {
            Loaded::Found(record) => Ok(found(Access::Read, id, record, None)),
            Loaded::Unreadable(reason) => Ok(self.unreadable(reason, Access::Read)),
            Loaded::Missing | Loaded::Busy => Ok(fresh(Access::Read)),
        }
    }

    /// A stored session the store could not read: counted, then a fresh one.
    fn unreadable(&self, reason: crate::codec::RejectReason, access: Access) -> SessionState {
        self.shared.counters.rejected(reason);
        tracing::info!(
            reason = reason.as_str(),
            "a stored session could not be read; starting a new one"
        );
        fresh(access)
    }

    async fn load_write(&self, id: SessionId) -> Result<SessionState, SessionError> {
        let options = &self.options;
        let deadline = Instant::now() + options.lock_wait;
        let hash = self.ids.key(&id);
        // The keyed mutex only spares the store from polling; the lease is the guarantee. A
        // holder may keep the mutex past its lease (a stuck handler whose renewals fail), so
        // waiting for the mutex is bounded by the lease time too: past it, ask the store.
        let local_wait = deadline.min(Instant::now() + options.lease_ttl);
        let local = match self.locks.try_lock(hash) {
            Ok(guard) => Some(guard),
            // Contended: the wait (a timer and the queue) is boxed, so that the common
            // uncontended request does not carry its room in the opening future.
            Err(waiting) => Box::pin(tokio::time::timeout_at(local_wait, waiting.wait()))
                .await
                .ok(),
        };
        let lease = crate::store::Lease::new(options.lease_ttl);
        // The hold exists before the first load: a request dropped while a load is in flight
        // (the client went away) may own the lease already, and dropping the hold gives it back.
        let mut hold = WriteHold {
            store: self.store.clone(),
            hash,
            lease,
            renewal: None,
            settled: true,
            _local: local,
        };
        let mut backoff = Duration::from_millis(2);
        loop {
            hold.settled = false;
            let loaded = self.store.load(&hash, self.now(), Some(&lease)).await?;
            match loaded {
                Loaded::Found(record) => {
                    hold.renewal = self
                        .renewals
                        .as_ref()
                        .map(|renewals| renewals.register(hash, lease));
                    return Ok(found(Access::Write, id, record, Some(hold)));
                }
                // The store keeps no lease on a missing session, and a busy one is not ours.
                Loaded::Missing => {
                    hold.settled = true;
                    return Ok(fresh(Access::Write));
                }
                Loaded::Unreadable(reason) => {
                    hold.settled = true;
                    return Ok(self.unreadable(reason, Access::Write));
                }
                Loaded::Busy => {
                    hold.settled = true;
                    let jitter = rand::rng().random_range(0..=backoff.as_micros() as u64 / 2);
                    let pause = backoff + Duration::from_micros(jitter);
                    if Instant::now() + pause >= deadline {
                        return Err(SessionError::Busy);
                    }
                    // Boxed for the same reason as the lock's wait: a busy store is rare.
                    Box::pin(tokio::time::sleep(pause)).await;
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
            }
        }
    }

    /// The save rules for a store session, decided without I/O: which store call (a fenced
    /// commit, a touch or a create) and what it leaves for the cookie. Deciding first keeps the
    /// future that waits on the store small: it holds the call, not the session.
    fn plan(
        &self,
        mut state: SessionState,
        now: u64,
        headers: &mut HeaderMap,
    ) -> (Plan, Option<Keep>, Option<String>) {
        let action = decide(&state, self.config(), headers);
        let keep = match action {
            SaveAction::Keep(keep) => Some(keep),
            _ => None,
        };
        let Origin::Store(slot) = std::mem::take(&mut state.origin) else {
            return (Plan::Cookie(Outcome::Nothing), keep, None);
        };
        let config = self.config();
        let StoreSlot {
            access,
            id,
            deadlines,
            hold,
            login,
        } = *slot;
        let login = LoginNote::login_of(state.login_note.as_deref(), &state.data, login.as_ref());
        // A login made in this request: its user's other logins are capped once it lands.
        let new_login = state
            .login_note
            .is_some()
            .then(|| login.as_ref().map(|login| login.user_id.clone()))
            .flatten();
        let plan = match (hold, action) {
            (Some(hold), action) => {
                let created_at = state.created_at.unwrap_or(now);
                let due = deadlines.is_some_and(|d| refresh_due(config, d, now));
                match action {
                    SaveAction::Delete => Plan::commit(hold, Commit::Delete, Outcome::Deleted),
                    SaveAction::Keep(_) if state.reissue => {
                        let new_id = SessionId::generate();
                        let record = record(config, state.data, created_at, now, login);
                        let outcome = Outcome::Live {
                            id: new_id.clone(),
                            expires_at: record.expires_at(),
                            new: true,
                        };
                        let commit = Commit::Rotate {
                            new_id: self.ids.key(&new_id),
                            record,
                        };
                        Plan::commit(hold, commit, outcome)
                    }
                    SaveAction::Keep(_) if state.modified || due => {
                        let record = record(config, state.data, created_at, now, login);
                        let outcome = match id {
                            Some(id) => Outcome::Live {
                                id,
                                expires_at: record.expires_at(),
                                new: false,
                            },
                            None => Outcome::Nothing,
                        };
                        Plan::commit(hold, Commit::Save(record), outcome)
                    }
                    SaveAction::Keep(_) | SaveAction::Nothing => {
                        Plan::commit(hold, Commit::Release, Outcome::Nothing)
                    }
                }
            }
            (None, SaveAction::Nothing | SaveAction::Delete) => Plan::Cookie(Outcome::Nothing),
            (None, SaveAction::Keep(_)) if access == Access::Read => match (id, deadlines) {
                (Some(id), Some(deadlines)) if refresh_due(config, deadlines, now) => {
                    let wanted = now.saturating_add(idle_secs(config));
                    Plan::Touch {
                        id,
                        wanted,
                        expires_at: wanted.min(deadlines.1),
                    }
                }
                _ => Plan::Cookie(Outcome::Nothing),
            },
            (None, SaveAction::Keep(keep)) if !keep.changed => Plan::Cookie(Outcome::Nothing),
            (None, SaveAction::Keep(_)) => {
                // Until a second request uses it, the record lives only `new_session_timeout`;
                // the cookie's Expires (permanent sessions) is the full one, so a visitor who
                // does come back keeps the cookie the promoted record matches.
                let mut record = record(config, state.data, now, now, login);
                let expires_at = record.expires_at();
                if let Some(first) = config.new_session_timeout {
                    let short = now.saturating_add(first.as_secs().max(1));
                    record.idle_deadline = record.idle_deadline.min(short);
                }
                Plan::Create {
                    id: SessionId::generate(),
                    record,
                    expires_at,
                }
            }
        };
        (plan, keep, new_login)
    }

    /// Saves the session: decides its [`Plan`] (no I/O), makes the store call the plan names
    /// (a fenced commit, a touch or a create), then sets the id cookie its outcome calls for.
    /// One async fn with the store's own futures inside: each nested async fn would copy its
    /// arguments into a future of its own.
    pub async fn save(
        &self,
        state: SessionState,
        headers: &mut HeaderMap,
    ) -> Result<(), SaveError> {
        let now = self.now();
        let (plan, keep, new_login) = self.plan(state, now, headers);
        let outcome = match plan {
            Plan::Cookie(outcome) => outcome,
            Plan::Commit(PlannedCommit {
                mut hold,
                commit,
                outcome,
            }) => {
                let committed = hold.commit(commit, now).await;
                hold.settle(&committed);
                let committed = committed.inspect_err(|error| {
                    self.shared.counters.store_error();
                    tracing::error!(%error, "could not commit the session");
                })?;
                if !committed {
                    self.shared.counters.commit_refused();
                    tracing::warn!(
                        "session commit refused: its lease was lost or the session ended meanwhile"
                    );
                    return Err(SaveError::Refused);
                }
                outcome
            }
            Plan::Touch {
                id,
                wanted,
                expires_at,
            } => match self.store.touch(&self.ids.key(&id), wanted, now).await {
                Ok(()) => Outcome::Live {
                    id,
                    expires_at,
                    new: false,
                },
                Err(error) => {
                    self.shared.counters.store_error();
                    tracing::warn!(%error, "could not refresh a session's idle deadline");
                    Outcome::Nothing
                }
            },
            Plan::Create {
                id,
                record,
                expires_at,
            } => {
                let created = self
                    .store
                    .create(&self.ids.key(&id), &record, now)
                    .await
                    .inspect_err(|error| {
                        self.shared.counters.store_error();
                        tracing::error!(%error, "could not create the session");
                    })?;
                if !created {
                    // 256 random bits collided: the generator is broken, refuse rather than
                    // adopt.
                    return Err(SaveError::Refused);
                }
                Outcome::Live {
                    id,
                    expires_at,
                    new: true,
                }
            }
        };
        if let (Some(user), Outcome::Live { id, .. }) = (new_login, &outcome) {
            self.cap_logins(&user, &self.ids.key(id), now).await;
        }
        self.set_cookie(outcome, keep, headers)
    }

    /// Keeps `user`'s live logins within `max_logins_per_user` after a login (the one under
    /// `current`). Best effort: the login itself has landed, so a store that fails here is
    /// logged and counted, and the next login tries again.
    async fn cap_logins(&self, user: &str, current: &crate::store::IdHash, now: u64) {
        let (Some(keep), Some(index)) = (self.config().max_logins_per_user, self.store.as_index())
        else {
            return;
        };
        if !crate::store::end_oldest_logins(index, user, keep, current, now).await {
            self.shared.counters.store_error();
        }
    }

    /// The cookie an outcome calls for: the id for a new or rotated session, the same id again
    /// for a refreshed permanent session (with its new Expires), the deleting cookie after a
    /// delete.
    fn set_cookie(
        &self,
        outcome: Outcome,
        keep: Option<Keep>,
        headers: &mut HeaderMap,
    ) -> Result<(), SaveError> {
        match (outcome, keep) {
            (Outcome::Nothing, _) => Ok(()),
            (Outcome::Deleted, _) => {
                self.shared.cookies.delete(headers);
                Ok(())
            }
            (Outcome::Live { .. }, None) => Ok(()),
            (
                Outcome::Live {
                    id,
                    expires_at,
                    new,
                },
                Some(keep),
            ) => {
                if !(new || keep.refresh) {
                    return Ok(());
                }
                let expires = keep.expires(expires_at);
                self.shared.cookies.write(
                    headers,
                    self.ids.encode(&id),
                    expires,
                    &self.shared.counters,
                )
            }
        }
    }
}

impl StoreBackend {
    /// Opens the session the cookie's id names (the first value that parses as a
    /// [`SessionId`]) for `access`.
    pub async fn open(
        &self,
        cookies: &RequestCookies,
        access: Access,
    ) -> Result<SessionState, SessionError> {
        let name = self.config().cookie_name.as_str();
        let mut rejected = None;
        let id = cookies.values(name).iter().find_map(|value| {
            self.ids
                .parse(value.as_str())
                .inspect_err(|reason| {
                    rejected.get_or_insert(*reason);
                })
                .ok()
        });
        if let (None, Some(reason), true) = (&id, rejected, self.ids.counts_rejections()) {
            self.shared.counters.rejected(reason);
            tracing::info!(
                cookie = name,
                reason = reason.as_str(),
                "session id cookie rejected; starting an empty session"
            );
        }
        self.load(id, access).await
    }

    /// The length of the id cookie's `name=value` pair.
    pub fn cookie_len(&self) -> usize {
        self.shared
            .cookies
            .pair_len(&self.ids.encode(&SessionId::generate()))
    }
}
