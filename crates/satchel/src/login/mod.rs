//! Logins kept the way Flask-Login 0.6 keeps them, so a Flask app using Flask-Login and a
//! satchel service sharing `SECRET_KEY` (flask cookie format) honour each other's logins.
//!
//! Flask-Login's `login_user` stores three keys, and `logout_user` pops them:
//!
//! | key | value |
//! |---|---|
//! | `_user_id` | the user's id, as a string (`UserMixin.get_id()` returns `str(id)`) |
//! | `_fresh` | `True` for a login with a password (as opposed to a "remember me" cookie) |
//! | `_id` | the session identifier: SHA-512 of the client's address and user agent ([`SessionIdentifier`]) |
//!
//! [`login`] also calls [`Session::cycle_id`] (Flask-Login leaves that to the app), so a
//! cookie planted before login is worth nothing after it. [`LoginRequired`] is the
//! `@login_required` of an axum handler: a 303 to the login page when nobody is logged in.
//! It applies Flask-Login's default "basic" session protection: a login used from another
//! address or browser than the one it was made in stays valid but is no longer fresh.
//!
//! Remember-me cookies are not implemented.
//!
//! **Logout and revocation.** A login is recorded for the per-user index
//! ([`SessionIndex`](crate::store::SessionIndex): list a user's sessions, end one, end all):
//! on the record with a server-side store, in the login ledger with cookie sessions
//! ([`SessionLayerBuilder::login_ledger`](crate::SessionLayerBuilder::login_ledger)). Then
//! [`logout`] (and clearing the session) ends the session for every copy of its cookie.
//! Cookie sessions without a ledger cannot do that: a copy keeps working until it expires.
//!
//! ```
//! use satchel_session::login::{current_user_id, login, logout, SessionIdentifier};
//! let session = satchel_session::Session::default();
//! let client = SessionIdentifier::new(Some([127, 0, 0, 1].into()), Some("curl/8.0"));
//! login(&session, "alice", &client);
//! assert_eq!(current_user_id(&session).as_deref(), Some("alice"));
//! assert_eq!(logout(&session).as_deref(), Some("alice"));
//! assert_eq!(current_user_id(&session), None);
//! ```

mod guard;
mod identifier;

pub use crate::client_addr::ClientAddr;
pub use guard::{LoginRequired, LoginUrl};
pub use identifier::SessionIdentifier;

use crate::session::state::{user_id_of, LoginNote};
use crate::session::Session;
use crate::value::Value;

pub use crate::session::state::{SESSION_ID_KEY, USER_ID_KEY};
/// The key Flask-Login stores the freshness flag under.
///
/// ```
/// let session = satchel_session::Session::default();
/// session.insert(satchel_session::login::FRESH_KEY, true);
/// assert!(satchel_session::login::is_fresh(&session));
/// ```
pub const FRESH_KEY: &str = "_fresh";
/// The key Flask-Login stores the session identifier under.
///
/// ```
/// use satchel_session::login::{login, SessionIdentifier, IDENTIFIER_KEY};
/// let session = satchel_session::Session::default();
/// let client = SessionIdentifier::new(None, None);
/// login(&session, "alice", &client);
/// assert_eq!(session.get::<String>(IDENTIFIER_KEY).as_deref(), Some(client.as_str()));
/// ```
pub const IDENTIFIER_KEY: &str = "_id";

/// Logs `user_id` in (Flask-Login's `login_user(user)`): starts a new session identity
/// ([`Session::cycle_id`]), then sets `_user_id`, `_fresh = true` and `_id`. The client's
/// address and user agent are recorded for the per-user session index
/// ([`SessionIndex`](crate::store::SessionIndex)): on a store session's record, or with a
/// login ledger in the ledger (cookie sessions; the cookie then also carries
/// [`SESSION_ID_KEY`]).
///
/// ```
/// use satchel_session::login::{is_fresh, login, SessionIdentifier};
/// let session = satchel_session::Session::default();
/// login(&session, "42", &SessionIdentifier::new(None, None));
/// assert_eq!(session.get::<String>("_user_id").as_deref(), Some("42"));
/// assert!(is_fresh(&session));
/// ```
pub fn login(session: &Session, user_id: &str, client: &SessionIdentifier) {
    session.cycle_id();
    session.note_login(LoginNote {
        user_agent: client.user_agent().map(str::to_owned),
        address: client.address().map(str::to_owned),
    });
    session.update([
        (USER_ID_KEY, Value::from(user_id)),
        (FRESH_KEY, Value::Bool(true)),
        (IDENTIFIER_KEY, Value::from(client.as_str())),
    ]);
}

/// Logs out (Flask-Login's `logout_user()`): pops `_user_id`, `_fresh` and `_id`, keeps the
/// rest of the session. Returns who was logged in.
///
/// ```
/// let session = satchel_session::Session::default();
/// session.insert("cart", 3);
/// assert_eq!(satchel_session::login::logout(&session), None);
/// assert!(session.contains_key("cart"));
/// ```
pub fn logout(session: &Session) -> Option<String> {
    let user = current_user_id(session);
    for key in [USER_ID_KEY, FRESH_KEY, IDENTIFIER_KEY] {
        session.remove(key);
    }
    user
}

/// The logged-in user's id, if any. Flask-Login stores whatever `get_id()` returned; a
/// string as a rule, an integer from some apps (given here as its decimal text).
///
/// ```
/// let session = satchel_session::Session::default();
/// assert_eq!(satchel_session::login::current_user_id(&session), None);
/// session.insert("_user_id", 7);
/// assert_eq!(satchel_session::login::current_user_id(&session).as_deref(), Some("7"));
/// ```
pub fn current_user_id(session: &Session) -> Option<String> {
    user_id_of(&session.get_value(USER_ID_KEY)?)
}

/// Whether the login was made with a password in this session (Flask-Login's
/// `login_fresh()`); false when logged out, or after use from another client.
///
/// ```
/// assert!(!satchel_session::login::is_fresh(&satchel_session::Session::default()));
/// ```
pub fn is_fresh(session: &Session) -> bool {
    session.get_value(FRESH_KEY).is_some_and(|v| v.is_truthy())
}

/// Flask-Login's default ("basic") session protection: a non-empty session whose `_id` is not
/// this client's identifier is marked not fresh (it stays logged in). [`LoginRequired`] calls
/// it on every request it guards; call it yourself outside axum.
///
/// ```
/// use satchel_session::login::{is_fresh, login, protect, SessionIdentifier};
/// let session = satchel_session::Session::default();
/// login(&session, "alice", &SessionIdentifier::new(Some([10, 0, 0, 1].into()), None));
/// protect(&session, &SessionIdentifier::new(Some([10, 0, 0, 9].into()), None));
/// assert!(!is_fresh(&session));
/// ```
pub fn protect(session: &Session, client: &SessionIdentifier) {
    if session.is_empty() {
        return;
    }
    let same = session
        .get_value(IDENTIFIER_KEY)
        .is_some_and(|id| id.as_str() == Some(client.as_str()));
    if !same && session.get_value(FRESH_KEY) != Some(Value::Bool(false)) {
        session.insert(FRESH_KEY, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_sets_flask_logins_keys_and_cycles_the_id() {
        let session = Session::default();
        session.insert("csrf_token", "t");
        let client = SessionIdentifier::new(None, Some("ua"));
        login(&session, "alice", &client);
        assert_eq!(session.get::<String>(USER_ID_KEY).as_deref(), Some("alice"));
        assert_eq!(session.get_value(FRESH_KEY), Some(Value::Bool(true)));
        assert_eq!(
            session.get::<String>(IDENTIFIER_KEY).as_deref(),
            Some(client.as_str())
        );
        assert!(session.contains_key("csrf_token"));
    }

    #[test]
    fn logout_pops_only_flask_logins_keys() {
        let session = Session::default();
        login(&session, "alice", &SessionIdentifier::new(None, None));
        session.insert("other", 1);
        assert_eq!(logout(&session).as_deref(), Some("alice"));
        assert_eq!(session.keys(), ["other"]);
    }

    #[test]
    fn non_string_user_ids_are_not_logins() {
        let session = Session::default();
        session.insert(USER_ID_KEY, Value::List(vec![]));
        assert_eq!(current_user_id(&session), None);
    }

    #[test]
    fn basic_protection_marks_a_login_from_another_client_not_fresh() {
        let session = Session::default();
        let home = SessionIdentifier::new(Some([10, 0, 0, 1].into()), Some("ua"));
        login(&session, "alice", &home);
        protect(&session, &home);
        assert!(is_fresh(&session));
        protect(
            &session,
            &SessionIdentifier::new(Some([10, 0, 0, 2].into()), Some("ua")),
        );
        assert!(!is_fresh(&session));
        assert_eq!(current_user_id(&session).as_deref(), Some("alice"));
    }
}
