//! Flask's save rules (`SecureCookieSessionInterface.save_session`), written once for both
//! backends ([`decide`]), and what both backends of a layer share ([`Shared`]):
//!
//! 1. accessed → the response varies on `Cookie`;
//! 2. empty: emptied in this request → delete it (and the browser's cookie); else nothing;
//! 3. otherwise the session lives on, and the backend writes it when it *changed* (modified,
//!    or re-issued after `cycle_id` or a fallback key) or when a permanent session is
//!    *refreshed* (`SESSION_REFRESH_EACH_REQUEST`);
//! 4. the cookie carries `Expires` only for a permanent session.
//!
//! A cookie backend re-encodes on change or refresh; a store backend commits changes and only
//! re-sends its id cookie when the id is new or a permanent session's Expires moves.

use http::HeaderMap;

use crate::clock::Clock;
use crate::config::SessionConfig;
use crate::cookie_header::{add_vary_cookie, CookieWriter};
use crate::session::state::SessionState;
use crate::stats::Counters;

/// What both backends of one layer share: the cookie writer (and the settings), the clock,
/// the counters.
pub(crate) struct Shared {
    pub cookies: CookieWriter,
    pub clock: Clock,
    pub counters: Counters,
}

impl Shared {
    pub fn new(config: SessionConfig, clock: Clock) -> Self {
        Shared {
            cookies: CookieWriter::new(config),
            clock,
            counters: Counters::default(),
        }
    }
}

/// What the save step must do with a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveAction {
    /// Empty and not emptied in this request: nothing to send.
    Nothing,
    /// Emptied in this request: delete it and send the deleting cookie.
    Delete,
    /// The session lives on.
    Keep(Keep),
}

/// A session that lives on, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keep {
    /// `session.permanent`: the cookie outlives the browser session.
    pub permanent: bool,
    /// Modified, or to be issued afresh.
    pub changed: bool,
    /// A permanent session with `SESSION_REFRESH_EACH_REQUEST`: send its cookie again with a
    /// new Expires, changed or not.
    pub refresh: bool,
}

impl Keep {
    /// The cookie's Expires for a session that expires at `expires_at`: only when permanent.
    pub fn expires(&self, expires_at: u64) -> Option<u64> {
        self.permanent.then_some(expires_at)
    }
}

/// Applies rule 1 to `headers` and decides the rest.
pub(crate) fn decide(
    state: &SessionState,
    config: &SessionConfig,
    headers: &mut HeaderMap,
) -> SaveAction {
    if state.accessed {
        add_vary_cookie(headers);
    }
    if state.data.is_empty() {
        return if state.modified {
            SaveAction::Delete
        } else {
            SaveAction::Nothing
        };
    }
    let permanent = state.is_permanent();
    SaveAction::Keep(Keep {
        permanent,
        changed: state.modified || state.reissue,
        refresh: permanent && config.refresh_each_request,
    })
}

/// Whether a session the handler never opened must be opened after it, to be refreshed: Flask
/// opens every request's session, so a permanent one is re-issued (and an idle timeout pushed
/// back) even on routes that never touch it. Requests without a cookie never pay for this.
pub(crate) fn refresh_untouched(config: &SessionConfig) -> bool {
    config.refresh_each_request || config.idle_timeout.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::state::PERMANENT_KEY;

    fn state(pairs: &[(&str, bool)], modified: bool) -> SessionState {
        let mut state = SessionState::default();
        for (k, v) in pairs {
            state.data.insert((*k).into(), (*v).into());
        }
        state.modified = modified;
        state
    }

    #[test]
    fn flask_save_rules_table() {
        let flask = SessionConfig::flask_defaults();
        let no_refresh = SessionConfig {
            refresh_each_request: false,
            ..SessionConfig::flask_defaults()
        };
        let keep = |permanent, changed, refresh| {
            SaveAction::Keep(Keep {
                permanent,
                changed,
                refresh,
            })
        };
        let cases = [
            (state(&[], false), &flask, SaveAction::Nothing),
            (state(&[], true), &flask, SaveAction::Delete),
            (
                state(&[("a", true)], false),
                &flask,
                keep(false, false, false),
            ),
            (
                state(&[("a", true)], true),
                &flask,
                keep(false, true, false),
            ),
            (
                state(&[(PERMANENT_KEY, true)], false),
                &flask,
                keep(true, false, true),
            ),
            (
                state(&[(PERMANENT_KEY, true)], false),
                &no_refresh,
                keep(true, false, false),
            ),
            (
                state(&[(PERMANENT_KEY, false)], false),
                &flask,
                keep(false, false, false),
            ),
        ];
        for (i, (state, config, expected)) in cases.into_iter().enumerate() {
            let mut headers = HeaderMap::new();
            assert_eq!(decide(&state, config, &mut headers), expected, "case {i}");
        }
    }

    #[test]
    fn an_accessed_session_varies_on_cookie_even_when_nothing_is_sent() {
        let mut accessed = state(&[], false);
        accessed.accessed = true;
        let mut headers = HeaderMap::new();
        assert_eq!(
            decide(&accessed, &SessionConfig::default(), &mut headers),
            SaveAction::Nothing
        );
        assert_eq!(headers["vary"], "Cookie");
        let mut headers = HeaderMap::new();
        decide(
            &state(&[("a", true)], false),
            &SessionConfig::default(),
            &mut headers,
        );
        assert!(headers.is_empty());
    }
}
