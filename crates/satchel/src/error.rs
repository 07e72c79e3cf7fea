//! Errors and the responses they become: [`SessionError`] (a request could not have its
//! session) and `SaveError` (a response could not carry it). A bad cookie is never one of these
//! (it is an empty session); a store that cannot answer is.

use http::StatusCode;

use crate::codec::{EncodeError, BROWSER_COOKIE_LIMIT};
use crate::store::StoreError;

/// Why a handler could not get its session. With the axum feature it is the `Session`
/// extractor's rejection (a 500 or 503 with a readable body); take `Option<Session>` or
/// `Result<Session, SessionError>` to render a page without the session instead.
///
/// ```
/// use satchel_session::SessionError;
/// assert_eq!(SessionError::Busy.status(), 503);
/// assert_eq!(SessionError::LayerMissing.status(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// No [`SessionLayer`](crate::SessionLayer) runs on this route.
    #[error("no SessionLayer on this route: add .layer(SessionLayer::new(config)?) to the router")]
    LayerMissing,
    /// Another request held this session's lock for longer than the configured wait.
    #[error("the session is busy with another request")]
    Busy,
    /// The session store could not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SessionError {
    /// The HTTP status to answer with.
    ///
    /// ```
    /// let e = satchel_session::SessionError::Store(satchel_session::store::StoreError::Unavailable("down".into()));
    /// assert_eq!(e.status(), 503);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            SessionError::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
            SessionError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            SessionError::Store(e) => store_status(e),
        }
    }

    /// The response body: readable, and free of internals (those go to the log).
    ///
    /// ```
    /// assert!(satchel_session::SessionError::Busy.body().contains("busy"));
    /// ```
    pub fn body(&self) -> &'static str {
        match self {
            SessionError::LayerMissing => {
                "500 Internal Server Error: no SessionLayer on this route (see the server log)\n"
            }
            SessionError::Busy => {
                "503 Service Unavailable: this session is busy with another request; try again\n"
            }
            SessionError::Store(e) => store_body(e),
        }
    }
}

fn store_status(error: &StoreError) -> StatusCode {
    match error {
        StoreError::TooLarge { .. }
        | StoreError::Unstorable(_)
        | StoreError::Corrupt(_)
        | StoreError::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
        StoreError::Unavailable(_) | StoreError::Timeout(_) | StoreError::Full(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

fn store_body(error: &StoreError) -> &'static str {
    match error {
        StoreError::Unavailable(_) | StoreError::Timeout(_) => {
            "503 Service Unavailable: the session store is not answering; try again shortly\n"
        }
        StoreError::Full(_) => {
            "503 Service Unavailable: too many sessions right now; try again later\n"
        }
        StoreError::TooLarge { .. } => {
            "500 Internal Server Error: the session is too large to store (see the server log)\n"
        }
        StoreError::Unstorable(_) => {
            "500 Internal Server Error: the session holds a value the store cannot keep (see the server log)\n"
        }
        StoreError::Corrupt(_) | StoreError::Config(_) => {
            "500 Internal Server Error: the session store failed (see the server log)\n"
        }
    }
}

/// A plain-text response with `status` and `body`, for the layer and the extractors.
pub(crate) fn plain_response<B: From<&'static str>>(
    status: StatusCode,
    body: &'static str,
) -> http::Response<B> {
    let mut response = http::Response::new(B::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("1"),
        );
    }
    response
}

/// Why a response could not carry its session.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SaveError {
    #[error(
        "the session cookie would be {0} bytes (name=value), over the {BROWSER_COOKIE_LIMIT}-byte \
         limit browsers keep; store less in the session or use a server-side store"
    )]
    Oversized(usize),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The store refused the commit: the lease was lost, or the session ended meanwhile.
    #[error("the session changed or ended while this request ran; its changes were not saved")]
    Refused,
    /// The store did not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SaveError {
    /// The response that replaces the handler's when its session could not be saved.
    pub fn response<B: From<&'static str>>(&self) -> http::Response<B> {
        match self {
            SaveError::Oversized(_) | SaveError::Encode(_) => plain_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error: the session could not be saved (see the server log)\n",
            ),
            SaveError::Refused => plain_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Unavailable: the session changed or ended while this request ran, \
                 so its changes were not saved; try again\n",
            ),
            SaveError::Store(e) => plain_response(store_status(e), store_body(e)),
        }
    }
}
