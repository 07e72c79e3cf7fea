//! The login ledger: what makes a logout of a cookie session (sealed or flask) final.
//!
//! A cookie session carries its data, so on its own a copy of the cookie keeps working after
//! logout until it expires. With a ledger
//! ([`SessionLayerBuilder::login_ledger`](crate::SessionLayerBuilder::login_ledger)), every
//! login made with [`login`](crate::login::login) gets a random id of its own, kept in the
//! cookie under [`SESSION_ID_KEY`](crate::login::SESSION_ID_KEY), and a small record in an
//! [`IndexedStore`] under the id's SHA-256: who, when, from where, until when. It is an *allow
//! list*: a cookie with a logged-in user and a ledger id is honoured only while its ledger
//! record exists.
//!
//! - **logout** (the user id removed, or the session cleared): the record is deleted before the
//!   response is sent, so a copy of the cookie replayed afterwards opens as a new, anonymous
//!   session (and is told to delete itself);
//! - **revoking** one session or all of a user's ([`SessionIndex`]): the records are deleted;
//!   a request that opens its session after that is anonymous;
//! - **expiry**: a record lives as long as the cookie it covers (its idle deadline follows the
//!   cookie's expiry, pushed forward at most every tenth of the cookie's lifetime, with that
//!   tenth as slack), so the ledger never outlives its cookies.
//!
//! Only logged-in requests pay: the check is one `load` of the store when the decoded cookie
//! has a user id and a ledger id; an anonymous request (no cookie, or a cookie without a login)
//! runs exactly as without a ledger. A store that cannot answer is a 503 for logged-in
//! requests (never a login let through unchecked).
//!
//! A login the ledger never saw — made by a Flask app sharing the key (Flask-Login sets
//! `_user_id` but knows nothing of the ledger id), or before the ledger was turned on — has no
//! ledger id. It is honoured as before and cannot be revoked: satchel's logout removes it
//! from the response's cookie, but a copy of the old cookie keeps working until it expires.
//! Likewise a Flask app sharing the key does not consult the ledger: a cookie revoked here
//! still opens there.

use std::sync::Arc;

use crate::config::SessionConfig;
use crate::error::{SaveError, SessionError};
use crate::session::state::{logged_in_user, LoginNote, Origin, SessionState, SESSION_ID_KEY};
use crate::stats::Counters;
use crate::store::{
    end_oldest_logins, IdHash, IndexedStore, Loaded, Record, SessionId, StoreError,
};
use crate::value::{Dict, Value};

/// The ledger of one layer.
pub(crate) struct LoginLedger {
    pub store: Arc<dyn IndexedStore>,
    /// Each user's live logins are kept to this many (`SESSION_MAX_LOGINS_PER_USER`).
    pub max_logins: Option<usize>,
}

/// What a save must do in the ledger before its cookie is sent.
pub(crate) enum LedgerStep {
    /// A login: file `record` under `id`; end `replaced` (the login this one replaces).
    Create {
        id: IdHash,
        record: Record,
        replaced: Option<IdHash>,
    },
    /// A logout: end the login.
    Revoke(IdHash),
    /// Push the record's idle deadline to `deadline`.
    Touch { id: IdHash, deadline: u64 },
}

/// The ledger id a decoded cookie carries.
fn ledger_id(data: &Dict) -> Option<SessionId> {
    match data.get(SESSION_ID_KEY)? {
        Value::Str(text) => SessionId::parse(text),
        _ => None,
    }
}

/// The slack a ledger record keeps past its cookie's expiry (and how often it is pushed): a
/// tenth of the cookie's lifetime, at least a second.
fn slack(max_age: u64) -> u64 {
    (max_age / 10).max(1)
}

impl LoginLedger {
    /// Whether the decoded `state` needs the ledger's word: it has a user and a ledger id.
    pub fn needs_check(state: &SessionState) -> bool {
        logged_in_user(&state.data).is_some() && state.data.contains_key(SESSION_ID_KEY)
    }

    /// The session `state` stays if its login is in the ledger; a new, anonymous session (one
    /// that deletes the cookie) if not.
    pub async fn check(
        &self,
        mut state: SessionState,
        now: u64,
        counters: &Counters,
    ) -> Result<SessionState, SessionError> {
        let id = ledger_id(&state.data);
        let loaded = match &id {
            Some(id) => self.store.load(&id.hash(), now, None).await,
            None => Ok(Loaded::Missing),
        };
        match loaded {
            Ok(Loaded::Found(record)) => {
                if let (Origin::Cookie(Some(origin)), Some(id)) = (&mut state.origin, id) {
                    origin.ledger = Some((id, record.idle_deadline));
                }
                Ok(state)
            }
            Ok(Loaded::Missing | Loaded::Busy | Loaded::Unreadable(_)) => {
                counters.revoked();
                tracing::info!("a cookie session's login was revoked or logged out; starting an anonymous session");
                Ok(SessionState {
                    // Emptied and modified: the response deletes the cookie.
                    modified: true,
                    origin: Origin::Cookie(None),
                    ..SessionState::default()
                })
            }
            Err(error) => {
                counters.store_error();
                tracing::warn!(%error, "could not check a cookie session's login in the ledger");
                Err(SessionError::Store(error))
            }
        }
    }

    /// What saving `state` must do in the ledger (changing its data: the ledger id is added
    /// at login and removed at logout). `expires_at`: when the cookie sent now would expire.
    pub fn plan(
        state: &mut SessionState,
        config: &SessionConfig,
        max_age: u64,
        expires_at: u64,
        now: u64,
    ) -> Option<LedgerStep> {
        let verified = match &state.origin {
            Origin::Cookie(Some(origin)) => origin.ledger.clone(),
            _ => None,
        };
        let user = logged_in_user(&state.data);
        let deadline = expires_at.saturating_add(slack(max_age));
        if let (Some(note), Some(user)) = (state.login_note.take().map(|note| *note), &user) {
            let id = SessionId::generate();
            state
                .data
                .insert(SESSION_ID_KEY.to_owned(), Value::from(id.encode()));
            state.modified = true;
            let absolute = config.absolute_timeout.map_or(u64::MAX, |t| {
                now.saturating_add(t.as_secs())
                    .saturating_add(slack(max_age))
            });
            let login = LoginNote::login_of(Some(&note), &state.data, None);
            let mut record = Record::new(Dict::default(), now, deadline.min(absolute), absolute);
            record.login = login.filter(|login| login.user_id == *user);
            return Some(LedgerStep::Create {
                id: id.hash(),
                record,
                replaced: verified.map(|(id, _)| id.hash()),
            });
        }
        if user.is_none() {
            if state.data.remove(SESSION_ID_KEY).is_some() {
                state.modified = true;
            }
            return verified.map(|(id, _)| LedgerStep::Revoke(id.hash()));
        }
        match verified {
            // The cookie sent now would outlive the record: push the record (at most once per
            // slack, since the push adds it).
            Some((id, current)) if current < expires_at => Some(LedgerStep::Touch {
                id: id.hash(),
                deadline,
            }),
            _ => None,
        }
    }

    /// Does `step` (before the cookie is sent: a login the ledger does not have, or a logout
    /// it did not record, must not be reported as done).
    pub async fn apply(&self, step: LedgerStep, now: u64) -> Result<(), SaveError> {
        let done: Result<(), StoreError> = async {
            match step {
                LedgerStep::Create {
                    id,
                    record,
                    replaced,
                } => {
                    if let Some(old) = replaced {
                        self.store.revoke(&old).await?;
                    }
                    if !self.store.create(&id, &record, now).await? {
                        return Err(StoreError::Corrupt(
                            "a fresh ledger id exists already".into(),
                        ));
                    }
                    if let (Some(keep), Some(login)) = (self.max_logins, &record.login) {
                        end_oldest_logins(&*self.store, &login.user_id, keep, &id, now).await;
                    }
                }
                LedgerStep::Revoke(id) => {
                    self.store.revoke(&id).await?;
                }
                LedgerStep::Touch { id, deadline } => {
                    self.store.touch(&id, deadline, now).await?;
                }
            }
            Ok(())
        }
        .await;
        done.map_err(|error| {
            tracing::error!(%error, "could not update the login ledger");
            SaveError::from(error)
        })
    }
}
