//! [`SessionState`]: one request's session as the backends see it — the data, Flask's flags,
//! and what opening it found (a verified cookie, or a store slot).

use crate::access::Access;
use crate::codec::Stamp;
use crate::request_cookie::CookieValue;
use crate::store_slot::StoreSlot;
use crate::value::{Dict, Value};

/// The key Flask stores the permanent flag under.
///
/// ```
/// assert_eq!(satchel::PERMANENT_KEY, "_permanent");
/// ```
pub const PERMANENT_KEY: &str = "_permanent";

/// The data and flags of one request's session.
#[derive(Default)]
pub(crate) struct SessionState {
    pub data: Dict,
    /// Read or written in this request (the response then varies on `Cookie`).
    pub accessed: bool,
    /// Written in this request (the response then carries the new session).
    pub modified: bool,
    /// Issue the session afresh even if nothing changed: after `cycle_id` (a new identity), or
    /// when only a fallback key verified the cookie.
    pub reissue: bool,
    /// When the session began, if the cookie or record says so.
    pub created_at: Option<u64>,
    pub origin: Origin,
}

/// What opening the session found.
#[derive(Default)]
pub(crate) enum Origin {
    /// Not tied to a layer (`Session::default()`): nothing to open, nothing to save.
    #[default]
    Detached,
    /// Tied to a layer, not opened yet: the request's cookie is still unread.
    Unopened,
    /// A cookie session, decoded (or new, when no cookie verified).
    Cookie(Option<CookieOrigin>),
    /// A server-side session.
    Store(StoreSlot),
}

/// The verified cookie a cookie session came from.
pub(crate) struct CookieOrigin {
    /// The times the cookie carried.
    pub stamp: Stamp,
    /// The verified value, for re-issuing an unchanged session without re-encoding it.
    pub value: CookieValue,
}

impl Origin {
    /// Whether the session is open for `access` already.
    pub fn serves(&self, access: Access) -> bool {
        match self {
            Origin::Unopened => false,
            Origin::Store(slot) => slot.access >= access,
            Origin::Detached | Origin::Cookie(_) => true,
        }
    }
}

impl SessionState {
    /// A session bound to a layer whose cookie is still to be read.
    pub fn unopened() -> Self {
        SessionState {
            origin: Origin::Unopened,
            ..SessionState::default()
        }
    }

    /// Flask's `session.permanent`: `_permanent` set to a true value.
    pub fn is_permanent(&self) -> bool {
        self.data.get(PERMANENT_KEY).is_some_and(Value::is_truthy)
    }

    pub fn read(&mut self) -> &Dict {
        self.accessed = true;
        &self.data
    }

    pub fn write(&mut self) -> &mut Dict {
        self.accessed = true;
        self.modified = true;
        &mut self.data
    }
}
