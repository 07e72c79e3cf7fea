//! The one backend abstraction: Flask's `SessionInterface` as two methods. A backend *opens* the
//! session a request's cookie names and *saves* it into the response. Two implement it: the
//! cookie backend (`cookie_session.rs`: the data is in the cookie) and the store backend
//! (`store_session.rs`: the cookie holds an id, the data is in a [`Store`](crate::store::Store)).
//! The layer calls `save`, the [`Session`](crate::Session) calls `open`; neither knows which
//! backend it has.

pub(crate) mod cookie;
pub(crate) mod ledger;
pub(crate) mod save_rules;
pub(crate) mod store_session;

use std::future::Future;
use std::pin::Pin;

use http::HeaderMap;

use crate::backend::ledger::LedgerStep;
use crate::clock::Clock;
use crate::codec::EncodeError;
use crate::error::{SaveError, SessionError};
use crate::headers::request_cookie::RequestCookies;
use crate::headers::set_cookie::CookieWriter;
use crate::session::access::Access;
use crate::session::state::SessionState;
use crate::stats::Counters;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A backend step: done at once (a cookie backend: no I/O), or a future to await (a store's
/// round trip). Callers that cannot wait (a sync dict call) take `Ready` and drop `Pending`
/// unpolled, which runs none of it.
pub(crate) enum Step<'a, T> {
    Ready(T),
    Pending(BoxFuture<'a, T>),
}

impl<T> Step<'_, T> {
    pub async fn finish(self) -> T {
        match self {
            Step::Ready(value) => value,
            Step::Pending(future) => future.await,
        }
    }
}

/// A save that waits on I/O: what [`Backend::save_in_place`] hands back.
pub(crate) struct Deferred {
    pub state: SessionState,
    /// A cookie session's login-ledger step (planned when the state was saved in place, which
    /// may have changed the state already), with the time it was planned at.
    pub ledger: Option<(LedgerStep, u64)>,
}

impl Deferred {
    /// All of `state`'s save is left to do.
    pub fn whole(state: SessionState) -> Self {
        Deferred {
            state,
            ledger: None,
        }
    }
}

/// What every backend of one layer shares: the cookie writer (and the settings), the clock,
/// the counters.
pub(crate) struct Shared {
    pub cookies: CookieWriter,
    pub clock: Clock,
    pub counters: Counters,
}

/// Where sessions live.
pub(crate) trait Backend: Send + Sync + 'static {
    /// The session the request's cookie names, opened for `access`; a new, empty one when there
    /// is none, or it does not verify, or the store does not know it. Errors only when the
    /// store cannot answer.
    fn open<'a>(
        &'a self,
        cookies: &'a RequestCookies,
        access: Access,
    ) -> Step<'a, Result<SessionState, SessionError>>;

    /// Applies Flask's save rules: writes (or deletes) the session and sets the response's
    /// cookie headers — at once when that needs no I/O (a cookie session, unless its login
    /// ledger must be written), else what is left is handed back for
    /// [`save_later`](Backend::save_later). Lets the layer finish most cookie requests without
    /// a boxed future.
    // The state goes back by value, as it came: boxing it would add an allocation to every
    // store request to save one move.
    #[allow(clippy::result_large_err)]
    fn save_in_place(
        &self,
        state: SessionState,
        headers: &mut HeaderMap,
    ) -> Result<Result<(), SaveError>, Deferred>;

    /// Finishes a save that [`save_in_place`](Backend::save_in_place) could not.
    fn save_later<'a>(
        &'a self,
        deferred: Deferred,
        headers: &'a mut HeaderMap,
    ) -> BoxFuture<'a, Result<(), SaveError>>;

    /// The whole save: [`save_in_place`](Backend::save_in_place), then
    /// [`save_later`](Backend::save_later) if it handed anything back.
    fn save<'a>(
        &'a self,
        state: SessionState,
        headers: &'a mut HeaderMap,
    ) -> Step<'a, Result<(), SaveError>> {
        match self.save_in_place(state, headers) {
            Ok(saved) => Step::Ready(saved),
            Err(deferred) => Step::Pending(self.save_later(deferred, headers)),
        }
    }

    /// The length of the `name=value` pair the session's cookie would have if sent now.
    fn cookie_len(&self, state: &SessionState) -> Result<usize, EncodeError>;

    fn shared(&self) -> &Shared;
}
