//! The seam: Flask's `SessionInterface` — open a session from the request's cookies, save it
//! into the response — over a closed set of backends, and Flask's save rules, written once for
//! both.
//!
//! - [`Backend::Cookie`] (`cookie.rs`): the data travels in the cookie, sealed or signed by a
//!   codec; with a login ledger (`ledger.rs`) a logged-in cookie is honoured only while its
//!   login is recorded.
//! - [`Backend::Store`] (`store_session/`): the cookie holds a random id, the data is in a
//!   [`Store`](crate::store::Store). The only place a request calls a store.
//!
//! [`Backend::open`] and [`Backend::save`] are the two methods; an adapter never calls them
//! itself, it asks the [`Session`](crate::Session) to save (`session/mod.rs`), which opens
//! lazily. [`Backend::open_now`] and [`Backend::save_now`] are the same steps for a backend
//! that needs no I/O for them (a cookie session without a login ledger; with one, opening a
//! cookie that carries no login): the sync dict API opens through them, and the tower adapter
//! saves through them inside `poll`, so a cookie request runs no boxed future. `None` from
//! either means "this needs I/O": call the async method.
//!
//! Flask's save rules, which both backends apply, are `rules.rs`.

pub(crate) mod cookie;
pub(crate) mod ledger;
pub(crate) mod rules;
pub(crate) mod store_session;

use http::HeaderMap;

use crate::codec::EncodeError;
use crate::config::SessionConfig;
use crate::cookie_header::RequestCookies;
use crate::error::{SaveError, SessionError};
use crate::session::access::Access;
use crate::session::state::SessionState;
use cookie::CookieBackend;
use rules::Shared;
use store_session::StoreBackend;

/// Where one layer's sessions live.
pub(crate) enum Backend {
    /// In the cookie.
    Cookie(CookieBackend),
    /// In a server-side store; the cookie holds the id.
    Store(StoreBackend),
}

impl Backend {
    /// Flask's `open_session`: the session the request's cookie names, opened for `access`; a
    /// new, empty one when there is none, it does not verify, or the store does not know it.
    /// Errors only when a store (or the login ledger) cannot answer.
    pub async fn open(
        &self,
        cookies: &RequestCookies,
        access: Access,
    ) -> Result<SessionState, SessionError> {
        match self {
            Backend::Cookie(backend) => backend.open(cookies).await,
            Backend::Store(backend) => backend.open(cookies, access).await,
        }
    }

    /// [`open`](Backend::open) without I/O, when it needs none: `None` means call `open`.
    pub fn open_now(&self, cookies: &RequestCookies) -> Option<SessionState> {
        match self {
            Backend::Cookie(backend) => backend.open_now(cookies),
            Backend::Store(_) => None,
        }
    }

    /// Flask's `save_session`: applies the save rules, writes (or deletes) the session and
    /// sets the response's cookie headers.
    pub async fn save(
        &self,
        state: SessionState,
        headers: &mut HeaderMap,
    ) -> Result<(), SaveError> {
        match self {
            Backend::Cookie(backend) => backend.save(state, headers).await,
            Backend::Store(backend) => backend.save(state, headers).await,
        }
    }

    /// [`save`](Backend::save) without I/O, when it needs none: `None` means call `save`
    pub fn save_now(
        &self,
        state: &SessionState,
        headers: &mut HeaderMap,
    ) -> Option<Result<(), SaveError>> {
        match self {
            Backend::Cookie(backend) => backend.save_now(state, headers),
            Backend::Store(_) => None,
        }
    }

    /// The length of the `name=value` pair the session's cookie would have if sent now.
    pub fn cookie_len(&self, state: &SessionState) -> Result<usize, EncodeError> {
        match self {
            Backend::Cookie(backend) => backend.cookie_len(state),
            Backend::Store(backend) => Ok(backend.cookie_len()),
        }
    }

    pub fn shared(&self) -> &Shared {
        match self {
            Backend::Cookie(backend) => &backend.shared,
            Backend::Store(backend) => &backend.shared,
        }
    }

    pub fn config(&self) -> &SessionConfig {
        self.shared().cookies.config()
    }
}
