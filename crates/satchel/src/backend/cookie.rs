//! The cookie backend: the session's data travels in the cookie, encoded by a
//! [`Codec`](crate::codec::Codec) (sealed or flask). Opening decodes the first cookie of the
//! session's name that verifies; saving follows the save rules and re-encodes (or, for an
//! unchanged session being refreshed, lets the codec re-issue the verified value).

use http::HeaderMap;

use crate::backend::ledger::LoginLedger;
use crate::backend::rules::{decide, SaveAction, Shared};
use crate::clock::Clock;
use crate::codec::{Codec, EncodeError, Stamp};
use crate::config::ConfigError;
use crate::config::SessionConfig;
use crate::cookie_header::RequestCookies;
use crate::error::{SaveError, SessionError};
use crate::key_audit::audit_secret_key;
use crate::session::state::{CookieOrigin, Origin, SessionState};
use crate::store::IndexedStore;
use std::sync::Arc;

pub(crate) struct CookieBackend {
    pub shared: Shared,
    pub codec: Box<dyn Codec>,
    /// Makes logouts final (`ledger.rs`); `None`: a copied cookie works until it expires.
    pub ledger: Option<LoginLedger>,
}

/// The longest a cookie may live without being re-issued: the idle timeout when shorter than
/// `PERMANENT_SESSION_LIFETIME`.
pub(crate) fn max_age_secs(config: &SessionConfig) -> u64 {
    let lifetime = config.permanent_session_lifetime;
    config
        .idle_timeout
        .map_or(lifetime, |idle| idle.min(lifetime))
        .as_secs()
}

impl CookieBackend {
    /// The cookie backend for `config`: its key checked ([`audit_secret_key`]; a weak one only
    /// with `allow_weak_key`), its codec made, with `ledger` if logouts must be final.
    pub fn new(
        config: SessionConfig,
        clock: Clock,
        ledger: Option<Arc<dyn IndexedStore>>,
        allow_weak_key: bool,
    ) -> Result<Self, ConfigError> {
        let keys = config.validate()?;
        if let Err(weak) = audit_secret_key(keys.current().as_bytes()) {
            if !allow_weak_key {
                return Err(ConfigError::new(
                    "SECRET_KEY",
                    format!(
                        "{weak} (to keep a legacy Flask app's key for now, build the \
                         layer with .allow_weak_secret_key())"
                    ),
                ));
            }
            tracing::warn!(reason = %weak, "SECRET_KEY is weak; accepted because allow_weak_secret_key() was set");
        }
        let codec = config
            .format
            .codec(&keys, &config.cookie_name, max_age_secs(&config));
        Ok(CookieBackend {
            codec,
            ledger: ledger.map(|store| LoginLedger {
                store,
                max_logins: config.max_logins_per_user,
            }),
            shared: Shared::new(config, clock),
        })
    }
}

impl CookieBackend {
    fn config(&self) -> &SessionConfig {
        self.shared.cookies.config()
    }

    /// The times to seal into a cookie issued now.
    fn stamp(&self, state: &SessionState, now: u64) -> Stamp {
        let config = self.config();
        let created_at = state.created_at.unwrap_or(now);
        let mut expires_at = now.saturating_add(max_age_secs(config));
        if let Some(absolute) = config.absolute_timeout {
            expires_at = expires_at.min(created_at.saturating_add(absolute.as_secs()));
        }
        Stamp {
            issued_at: now,
            created_at,
            expires_at,
        }
    }

    /// Decodes the first cookie that verifies. One that does not is an empty session, counted
    /// and traced, never an error.
    fn decode(&self, cookies: &RequestCookies) -> SessionState {
        let name = self.config().cookie_name.as_str();
        let now = self.shared.clock.now();
        let mut rejection = None;
        for candidate in cookies.values(name) {
            match self.codec.decode(candidate.as_str(), now) {
                Ok(decoded) => {
                    return SessionState {
                        data: decoded.data,
                        reissue: decoded.by_fallback_key,
                        created_at: Some(decoded.stamp.created_at),
                        origin: Origin::Cookie(Some(CookieOrigin {
                            stamp: decoded.stamp,
                            value: candidate.clone(),
                            ledger: None,
                        })),
                        ..SessionState::default()
                    };
                }
                Err(rejected) => {
                    tracing::debug!(cookie = name, reason = %rejected.reason, "session cookie candidate refused");
                    rejection.get_or_insert(rejected.reason);
                }
            }
        }
        if let Some(reason) = rejection {
            self.shared.counters.rejected(reason);
            tracing::info!(cookie = name, %reason, "session cookie rejected; starting an empty session");
        }
        SessionState {
            origin: Origin::Cookie(None),
            ..SessionState::default()
        }
    }

    fn write(&self, state: &SessionState, headers: &mut HeaderMap) -> Result<(), SaveError> {
        let config = self.config();
        let keep = match decide(state, config, headers) {
            SaveAction::Nothing => return Ok(()),
            SaveAction::Delete => {
                self.shared.cookies.delete(headers);
                return Ok(());
            }
            SaveAction::Keep(keep) => keep,
        };
        // The cookie carries the idle deadline, so an idle timeout re-issues it every time.
        if !(keep.changed || keep.refresh || config.idle_timeout.is_some()) {
            return Ok(());
        }
        let stamp = self.stamp(state, self.shared.clock.now());
        let encoded = match &state.origin {
            Origin::Cookie(Some(origin)) if !keep.changed => {
                self.codec
                    .reencode(&state.data, &stamp, origin.value.as_str())
            }
            _ => self.codec.encode(&state.data, &stamp),
        };
        let value = encoded.inspect_err(|error| {
            if error.is_too_large() {
                self.shared.counters.oversized();
            }
        })?;
        let expires = keep.expires(stamp.expires_at);
        self.shared
            .cookies
            .write(headers, value, expires, &self.shared.counters)
    }
}

impl CookieBackend {
    /// Opens the session: decodes the first cookie that verifies and, with a ledger, checks a
    /// logged-in cookie's login there.
    pub async fn open(&self, cookies: &RequestCookies) -> Result<SessionState, SessionError> {
        let state = self.decode(cookies);
        match &self.ledger {
            // Only a logged-in cookie asks the ledger.
            Some(ledger) if LoginLedger::needs_check(&state) => {
                let now = self.shared.clock.now();
                ledger.check(state, now, &self.shared.counters).await
            }
            _ => Ok(state),
        }
    }

    /// [`open`](Self::open) when it needs no I/O: `None` for a logged-in cookie the ledger
    /// must check.
    pub fn open_now(&self, cookies: &RequestCookies) -> Option<SessionState> {
        let state = self.decode(cookies);
        match &self.ledger {
            Some(_) if LoginLedger::needs_check(&state) => None,
            _ => Some(state),
        }
    }

    /// Saves the session into the response: first, with a ledger, the login or logout it
    /// records (before the cookie is sent: a logout the ledger did not record must not be
    /// reported as done), then the cookie.
    pub async fn save(
        &self,
        mut state: SessionState,
        headers: &mut HeaderMap,
    ) -> Result<(), SaveError> {
        if let Some(ledger) = &self.ledger {
            let now = self.shared.clock.now();
            let expires_at = self.stamp(&state, now).expires_at;
            let max_age = max_age_secs(self.config());
            if let Some(step) =
                LoginLedger::plan(&mut state, self.config(), max_age, expires_at, now)
            {
                ledger.apply(step, now).await?;
            }
        }
        self.write(&state, headers)
    }

    /// [`save`](Self::save) when it needs no I/O (no ledger): `None` with a ledger.
    pub fn save_now(
        &self,
        state: &SessionState,
        headers: &mut HeaderMap,
    ) -> Option<Result<(), SaveError>> {
        match self.ledger {
            None => Some(self.write(state, headers)),
            Some(_) => None,
        }
    }

    pub fn cookie_len(&self, state: &SessionState) -> Result<usize, EncodeError> {
        let stamp = self.stamp(state, self.shared.clock.now());
        let value = self.codec.encode(&state.data, &stamp)?;
        Ok(self.shared.cookies.pair_len(&value))
    }
}
