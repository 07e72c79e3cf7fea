//! [`SessionState`]: one request's session as the backends see it — the data, Flask's flags,
//! and what opening it found (a verified cookie, or a store slot).

use crate::backend::store_session::slot::StoreSlot;
use crate::codec::Stamp;
use crate::cookie_header::CookieValue;
use crate::session::access::Access;
use crate::store::{Login, SessionId};
use crate::value::{Dict, Value};

/// The key Flask-Login stores the user id under.
///
/// ```
/// let session = satchel_session::Session::default();
/// session.insert(satchel_session::login::USER_ID_KEY, "alice");
/// assert_eq!(satchel_session::current_user_id(&session).as_deref(), Some("alice"));
/// ```
pub const USER_ID_KEY: &str = "_user_id";

/// The key a cookie session with a login ledger keeps its own random id under (see
/// [`SessionLayerBuilder::login_ledger`](crate::SessionLayerBuilder::login_ledger)). Reserved:
/// satchel sets it at login and removes it at logout.
///
/// ```
/// assert_eq!(satchel_session::login::SESSION_ID_KEY, "_satchel_sid");
/// ```
pub const SESSION_ID_KEY: &str = "_satchel_sid";

/// A user id as Flask-Login may have stored it: a string as a rule, an integer from some apps
/// (given as its decimal text).
pub(crate) fn user_id_of(value: &Value) -> Option<String> {
    match value {
        Value::Str(id) => Some(id.clone()),
        Value::Int(id) => Some(id.to_string()),
        Value::BigInt(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Who is logged in with `data`, if anyone.
pub(crate) fn logged_in_user(data: &Dict) -> Option<String> {
    data.get(USER_ID_KEY).and_then(user_id_of)
}

/// What a login in this request recorded about the client, for the per-user index.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoginNote {
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

impl LoginNote {
    /// The login of `data`'s user with this note; `previous` (the record's login as loaded)
    /// when no login happened in this request and the user is the same.
    pub fn login_of(
        note: Option<&LoginNote>,
        data: &Dict,
        previous: Option<&Login>,
    ) -> Option<Login> {
        let user = logged_in_user(data)?;
        match (note, previous) {
            (Some(note), _) => Some(Login::new(
                &user,
                note.user_agent.as_deref(),
                note.address.as_deref(),
            )),
            (None, Some(previous)) if previous.user_id == user => Some(previous.clone()),
            (None, _) => Some(Login::new(&user, None, None)),
        }
    }
}

/// The key Flask stores the permanent flag under.
///
/// ```
/// assert_eq!(satchel_session::PERMANENT_KEY, "_permanent");
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
    /// Set by [`login`](crate::login::login): the client the login came from.
    pub login_note: Option<Box<LoginNote>>,
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
    /// A server-side session (boxed: the slot is most of a state's size, and a state is moved
    /// several times per request).
    Store(Box<StoreSlot>),
}

/// The verified cookie a cookie session came from.
pub(crate) struct CookieOrigin {
    /// The times the cookie carried.
    pub stamp: Stamp,
    /// The verified value, for re-issuing an unchanged session without re-encoding it.
    pub value: CookieValue,
    /// With a login ledger: the session's own id and its ledger record's idle deadline, as
    /// the open step found them (the login is live).
    pub ledger: Option<(SessionId, u64)>,
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
