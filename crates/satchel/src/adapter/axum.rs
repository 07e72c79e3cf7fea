//! axum extractors (feature `axum`, on by default).
//!
//! - [`Session`]: the request's session, for reading and writing. With a store it loads the
//!   session and takes its lock and lease (once per request, shared by every extractor).
//! - [`ReadOnlySession`]: reads only: with a store, no lock and no lease, so read-only pages
//!   never wait for writers.
//! - `Option<Session>` gives `None` instead of an error (no layer, store down, busy), so a
//!   public page can render without its session; `Result<Session, SessionError>` says why.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{plain_response, SessionError};
use crate::session::access::Access;
use crate::session::Session;
use crate::value::{Dict, Value};

/// The rejection when a handler asks for a [`Session`] on a route with no
/// [`SessionLayer`](crate::SessionLayer): a 500 that says so.
///
/// ```
/// use axum_core::response::IntoResponse;
/// let response = satchel::extract::SessionLayerMissing.into_response();
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no SessionLayer on this route: add .layer(SessionLayer::new(config)?) to the router")]
pub struct SessionLayerMissing;

impl IntoResponse for SessionLayerMissing {
    fn into_response(self) -> Response {
        SessionError::LayerMissing.into_response()
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        if self == SessionError::LayerMissing {
            tracing::error!("{self}");
        }
        plain_response(self.status(), self.body())
    }
}

/// The request's session, opened for `access` (the one slot every extractor shares).
pub(crate) async fn session_from_parts(
    parts: &Parts,
    access: Access,
) -> Result<Session, SessionError> {
    let session = parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or(SessionError::LayerMissing)?;
    session.open(access).await?;
    Ok(session)
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        session_from_parts(parts, Access::Write).await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(session_from_parts(parts, Access::Write).await.ok())
    }
}

/// A read-only view of the request's session. With a store it takes no lock and no lease
/// (readers never wait for writers, nor make them wait); an idle timeout is still refreshed.
///
/// ```
/// use axum::{routing::get, Router};
/// use satchel::extract::ReadOnlySession;
///
/// async fn whoami(session: ReadOnlySession) -> String {
///     session.get_or("username", "Guest".to_string())
/// }
/// let app: Router = Router::new().route("/whoami", get(whoami));
/// ```
#[derive(Debug, Clone)]
pub struct ReadOnlySession(Session);

impl From<Session> for ReadOnlySession {
    /// A read-only view of `session`.
    ///
    /// ```
    /// let view = satchel::extract::ReadOnlySession::from(satchel::Session::default());
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
    /// let session = satchel::Session::default();
    /// session.insert("n", 1);
    /// assert_eq!(satchel::extract::ReadOnlySession::from(session).get::<i32>("n"), Some(1));
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0.get(key)
    }

    /// As [`Session::get_or`].
    ///
    /// ```
    /// let view = satchel::extract::ReadOnlySession::from(satchel::Session::default());
    /// assert_eq!(view.get_or("n", 7), 7);
    /// ```
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> T {
        self.0.get_or(key, default)
    }

    /// As [`Session::get_value`].
    ///
    /// ```
    /// let view = satchel::extract::ReadOnlySession::from(satchel::Session::default());
    /// assert_eq!(view.get_value("n"), None);
    /// ```
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.0.get_value(key)
    }

    /// As [`Session::contains_key`].
    ///
    /// ```
    /// let view = satchel::extract::ReadOnlySession::from(satchel::Session::default());
    /// assert!(!view.contains_key("n"));
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// As [`Session::is_empty`].
    ///
    /// ```
    /// assert!(satchel::extract::ReadOnlySession::from(satchel::Session::default()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As [`Session::to_dict`].
    ///
    /// ```
    /// let view = satchel::extract::ReadOnlySession::from(satchel::Session::default());
    /// assert!(view.to_dict().is_empty());
    /// ```
    pub fn to_dict(&self) -> Dict {
        self.0.to_dict()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ReadOnlySession {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        session_from_parts(parts, Access::Read)
            .await
            .map(ReadOnlySession)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ReadOnlySession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(session_from_parts(parts, Access::Read)
            .await
            .ok()
            .map(ReadOnlySession))
    }
}
