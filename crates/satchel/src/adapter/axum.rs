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

use crate::error::{plain_response, SessionError};
use crate::session::access::Access;
pub use crate::session::read_only::ReadOnlySession;
use crate::session::Session;

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
    Session::opened(parts.extensions.get::<Session>(), access).await
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

impl<S: Send + Sync> FromRequestParts<S> for ReadOnlySession {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        session_from_parts(parts, Access::Read)
            .await
            .map(ReadOnlySession::from)
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
            .map(ReadOnlySession::from))
    }
}

/// [`TypedSession`](crate::TypedSession) as an extractor: the request's session opened for
/// writing (the one slot, shared with a [`Session`] in the same handler), read as a `T`.
impl<S, T> FromRequestParts<S> for crate::TypedSession<T>
where
    S: Send + Sync,
    T: serde::Serialize + serde::de::DeserializeOwned + Default + Send,
{
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = session_from_parts(parts, Access::Write).await?;
        Ok(crate::TypedSession::opened(session))
    }
}

/// `Option<TypedSession<T>>`: `None` when the session cannot be opened (no layer, store down,
/// busy), so a public page can render without it.
impl<S, T> OptionalFromRequestParts<S> for crate::TypedSession<T>
where
    S: Send + Sync,
    T: serde::Serialize + serde::de::DeserializeOwned + Default + Send,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let session = session_from_parts(parts, Access::Write).await.ok();
        Ok(session.map(crate::TypedSession::opened))
    }
}
