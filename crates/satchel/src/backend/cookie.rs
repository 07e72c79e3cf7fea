//! The cookie backend: the session's data travels in the cookie, encoded by a
//! [`Codec`](crate::codec::Codec) (sealed or flask). Opening decodes the first cookie of the
//! session's name that verifies; saving follows the save rules and re-encodes (or, for an
//! unchanged session being refreshed, lets the codec re-issue the verified value).

use http::HeaderMap;

use crate::backend::ledger::LoginLedger;
use crate::backend::save_rules::{decide, SaveAction};
use crate::backend::{Backend, BoxFuture, Deferred, Shared, Step};
use crate::codec::{Codec, EncodeError, Stamp};
use crate::config::SessionConfig;
use crate::error::{SaveError, SessionError};
use crate::headers::request_cookie::RequestCookies;
use crate::session::access::Access;
use crate::session::state::{CookieOrigin, Origin, SessionState};

pub(crate) struct CookieBackend {
    pub shared: Shared,
    pub codec: Box<dyn Codec>,
    /// Makes logouts final (`login_ledger.rs`); `None`: a copied cookie works until it expires.
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

    fn write(&self, state: SessionState, headers: &mut HeaderMap) -> Result<(), SaveError> {
        let config = self.config();
        let keep = match decide(&state, config, headers) {
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
        let stamp = self.stamp(&state, self.shared.clock.now());
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

impl Backend for CookieBackend {
    fn open<'a>(
        &'a self,
        cookies: &'a RequestCookies,
        _access: Access,
    ) -> Step<'a, Result<SessionState, SessionError>> {
        let state = self.decode(cookies);
        match &self.ledger {
            // Only a logged-in cookie asks the ledger.
            Some(ledger) if LoginLedger::needs_check(&state) => {
                let now = self.shared.clock.now();
                Step::Pending(Box::pin(ledger.check(state, now, &self.shared.counters)))
            }
            _ => Step::Ready(Ok(state)),
        }
    }

    fn save_in_place(
        &self,
        mut state: SessionState,
        headers: &mut HeaderMap,
    ) -> Result<Result<(), SaveError>, Deferred> {
        if self.ledger.is_none() {
            return Ok(self.write(state, headers));
        }
        let now = self.shared.clock.now();
        let expires_at = self.stamp(&state, now).expires_at;
        let max_age = max_age_secs(self.config());
        match LoginLedger::plan(&mut state, self.config(), max_age, expires_at, now) {
            None => Ok(self.write(state, headers)),
            Some(step) => Err(Deferred {
                state,
                ledger: Some((step, now)),
            }),
        }
    }

    fn save_later<'a>(
        &'a self,
        deferred: Deferred,
        headers: &'a mut HeaderMap,
    ) -> BoxFuture<'a, Result<(), SaveError>> {
        Box::pin(async move {
            if let (Some(ledger), Some((step, now))) = (&self.ledger, deferred.ledger) {
                ledger.apply(step, now).await?;
            }
            self.write(deferred.state, headers)
        })
    }

    fn cookie_len(&self, state: &SessionState) -> Result<usize, EncodeError> {
        let stamp = self.stamp(state, self.shared.clock.now());
        let value = self.codec.encode(&state.data, &stamp)?;
        Ok(self.shared.cookies.pair_len(&value))
    }

    fn shared(&self) -> &Shared {
        &self.shared
    }
}
