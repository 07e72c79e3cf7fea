//! [`ReadOnlySession`]: a view of the request's session that can only read, so opening it with a
//! store takes no lock and no lease.

use serde::de::DeserializeOwned;

use crate::session::Session;
use crate::value::{Dict, Value};

/// A read-only view of the request's session. With a store it takes no lock and no lease
/// (readers never wait for writers, nor make them wait); an idle timeout is still refreshed.
///
/// An extractor in each adapter (`satchel_session::extract` for axum, `satchel_session::actix` for actix-web).
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{routing::get, Router};
/// use satchel_session::extract::ReadOnlySession;
///
/// async fn whoami(session: ReadOnlySession) -> String {
///     session.get_or("username", "Guest".to_string())
/// }
/// let app: Router = Router::new().route("/whoami", get(whoami));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ReadOnlySession(Session);

impl From<Session> for ReadOnlySession {
    /// A read-only view of `session`.
    ///
    /// ```
    /// let view = satchel_session::ReadOnlySession::from(satchel_session::Session::default());
    /// assert!(view.is_empty());
    /// ```
    fn from(session: Session) -> Self {
        ReadOnlySession(session)
    }
}

impl ReadOnlySession {
    /// As [`Session::get`].
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("n", 1);
    /// assert_eq!(satchel_session::ReadOnlySession::from(session).get::<i32>("n"), Some(1));
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0.get(key)
    }

    /// As [`Session::get_or`].
    ///
    /// ```
    /// let view = satchel_session::ReadOnlySession::from(satchel_session::Session::default());
    /// assert_eq!(view.get_or("n", 7), 7);
    /// ```
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> T {
        self.0.get_or(key, default)
    }

    /// As [`Session::get_value`].
    ///
    /// ```
    /// let view = satchel_session::ReadOnlySession::from(satchel_session::Session::default());
    /// assert_eq!(view.get_value("n"), None);
    /// ```
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.0.get_value(key)
    }

    /// As [`Session::contains_key`].
    ///
    /// ```
    /// let view = satchel_session::ReadOnlySession::from(satchel_session::Session::default());
    /// assert!(!view.contains_key("n"));
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// As [`Session::is_empty`].
    ///
    /// ```
    /// assert!(satchel_session::ReadOnlySession::from(satchel_session::Session::default()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As [`Session::to_dict`].
    ///
    /// ```
    /// let view = satchel_session::ReadOnlySession::from(satchel_session::Session::default());
    /// assert!(view.to_dict().is_empty());
    /// ```
    pub fn to_dict(&self) -> Dict {
        self.0.to_dict()
    }
}
