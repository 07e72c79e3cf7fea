//! [`LoginRequired`]: Flask-Login's `@login_required` as an extractor, and [`LoginUrl`], where
//! it sends visitors who are not logged in.

use std::borrow::Cow;

#[cfg(any(feature = "axum", feature = "actix"))]
use super::{current_user_id, protect, SessionIdentifier};
use crate::session::Session;

/// Where [`LoginRequired`] sends visitors who are not logged in: a request extension
/// (axum: add it with `axum::Extension(LoginUrl::new("/signin"))`; actix-web: as app data,
/// `App::new().app_data(LoginUrl::new("/signin"))`); `/login` when absent.
///
/// ```
/// # #[cfg(feature = "axum")]
/// let app: axum::Router = axum::Router::new()
///     .layer(axum::Extension(satchel_session::login::LoginUrl::new("/signin")));
/// assert_eq!(satchel_session::login::LoginUrl::default().as_str(), "/login");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginUrl(Cow<'static, str>);

impl LoginUrl {
    /// The login page's URL (a path, or an absolute URL).
    ///
    /// ```
    /// assert_eq!(satchel_session::login::LoginUrl::new("/signin").as_str(), "/signin");
    /// ```
    pub fn new(url: impl Into<Cow<'static, str>>) -> Self {
        LoginUrl(url.into())
    }

    /// The URL.
    ///
    /// ```
    /// assert_eq!(satchel_session::login::LoginUrl::default().as_str(), "/login");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LoginUrl {
    fn default() -> Self {
        LoginUrl(Cow::Borrowed("/login"))
    }
}

/// Flask-Login's `@login_required` as an extractor (axum and actix-web): the logged-in user's id and the
/// session, or a `303 See Other` to the [`LoginUrl`].
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{routing::get, Router};
/// use satchel_session::login::LoginRequired;
///
/// async fn dashboard(user: LoginRequired) -> String {
///     format!("Welcome, {}!", user.user_id)
/// }
/// let app: Router = Router::new().route("/dashboard", get(dashboard));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LoginRequired {
    /// The logged-in user's id (`_user_id`).
    pub user_id: String,
    /// The request's session.
    pub session: Session,
}

impl LoginRequired {
    /// The guard's verdict on an opened session: its login (with Flask-Login's session
    /// protection applied for `client`), or `None` when nobody is logged in (the adapter then
    /// redirects to the [`LoginUrl`]).
    #[cfg(any(feature = "axum", feature = "actix"))]
    pub(crate) fn of(session: Session, client: &SessionIdentifier) -> Option<Self> {
        let user_id = current_user_id(&session)?;
        protect(&session, client);
        Some(LoginRequired { user_id, session })
    }
}

#[cfg(feature = "axum")]
mod axum_extractor {
    use axum_core::extract::FromRequestParts;
    use axum_core::response::{IntoResponse, Response};
    use http::request::Parts;
    use http::{header, HeaderValue, StatusCode};

    use super::{LoginRequired, LoginUrl, SessionIdentifier};

    impl<S: Send + Sync> FromRequestParts<S> for LoginRequired {
        type Rejection = Response;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
            // The same slot as a `Session` extractor in the same handler: one load, one lock.
            let session =
                crate::extract::session_from_parts(parts, crate::session::access::Access::Write)
                    .await
                    .map_err(IntoResponse::into_response)?;
            LoginRequired::of(session, &SessionIdentifier::from_request(parts)).ok_or_else(|| {
                let url = parts.extensions.get::<LoginUrl>().cloned();
                redirect(&url.unwrap_or_default())
            })
        }
    }

    /// The client's identifier from the request ([`SessionIdentifier::from_request`]).
    ///
    /// ```
    /// use satchel_session::login::SessionIdentifier;
    /// async fn sign_in(session: satchel_session::Session, client: SessionIdentifier) -> &'static str {
    ///     satchel_session::login(&session, "alice", &client);
    ///     "welcome"
    /// }
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/sign_in", axum::routing::post(sign_in));
    /// ```
    impl<S: Send + Sync> FromRequestParts<S> for SessionIdentifier {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Self, Self::Rejection> {
            Ok(SessionIdentifier::from_request(parts))
        }
    }

    fn redirect(url: &LoginUrl) -> Response {
        match HeaderValue::from_str(url.as_str()) {
            Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
            Err(_) => {
                tracing::error!(
                    url = url.as_str(),
                    "LoginUrl is not a valid Location header"
                );
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::session::Session;
        use crate::{SessionConfig, SessionLayer};
        use axum::routing::get;
        use axum::Router;
        use tower::ServiceExt;

        async fn guarded(user: LoginRequired) -> String {
            user.user_id
        }

        async fn sign_in(session: Session) -> &'static str {
            crate::login::login(&session, "alice", &SessionIdentifier::new(None, None));
            "in"
        }

        fn app(login_url: Option<&'static str>) -> Router {
            let config = SessionConfig::default()
                .with_secret_key("a test key for the login guard, long enough");
            let router = Router::new()
                .route("/private", get(guarded))
                .route("/sign_in", get(sign_in))
                .layer(SessionLayer::new(config).unwrap());
            match login_url {
                Some(url) => router.layer(axum::Extension(LoginUrl::new(url))),
                None => router,
            }
        }

        async fn call(app: Router, uri: &str, cookie: Option<&str>) -> Response {
            let mut request = http::Request::builder().uri(uri);
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            app.oneshot(request.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap()
        }

        #[tokio::test]
        async fn anonymous_visitors_are_sent_to_the_login_url_with_303() {
            for (url, expected) in [(None, "/login"), (Some("/signin"), "/signin")] {
                let response = call(app(url), "/private", None).await;
                assert_eq!(response.status(), StatusCode::SEE_OTHER);
                assert_eq!(response.headers()[header::LOCATION], expected);
            }
        }

        #[tokio::test]
        async fn logged_in_users_get_through_with_their_id() {
            let signed = call(app(None), "/sign_in", None).await;
            let cookie = signed.headers()[header::SET_COOKIE].to_str().unwrap();
            let pair = cookie.split(';').next().unwrap().to_owned();
            let response = call(app(None), "/private", Some(&pair)).await;
            assert_eq!(response.status(), StatusCode::OK);
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            assert_eq!(&body[..], b"alice");
        }

        #[tokio::test]
        async fn no_session_layer_is_a_500_not_a_redirect() {
            let router = Router::new().route("/private", get(guarded));
            let response = call(router, "/private", None).await;
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}
