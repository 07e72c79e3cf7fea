//! actix-web 4 (feature `actix`): the same sessions as the tower layer, with actix's middleware
//! and extractors.
//!
//! - [`SessionMiddleware`]: `App::new().wrap(SessionMiddleware::new(config)?)`. Built from a
//!   [`SessionLayer`] (`SessionMiddleware::from(layer)`) for a store, a login ledger or any
//!   other builder setting: one configuration, either framework.
//! - Extractors: [`Session`](crate::Session) (read and write; with a store, its lock and
//!   lease), [`TypedSession`](crate::TypedSession) (a struct as the session, over the same
//!   one), [`ReadOnlySession`] (no lock, no lease) and [`LoginRequired`] (a `303` to the
//!   [`LoginUrl`] app data, else `/login`). `Option<…>` of each gives `None` instead of an
//!   error, as actix does for any extractor.
//!
//! Like every adapter this one only moves bytes: it hands the request's `Cookie` headers to an
//! unopened [`Session`] and, once the handler's response is ready, asks the session to save
//! itself into the response's headers (`Session::save_now`, else `Session::save`). actix-web 4
//! speaks `http` 0.2, the core `http` 1: the few headers that cross (`Cookie` in; `Vary`,
//! `Cache-Control`, `Set-Cookie` out) are copied as bytes.
//!
//! ```
//! use actix_web::{web, App};
//! use satchel_session::actix::SessionMiddleware;
//! use satchel_session::{Session, SessionConfig};
//!
//! async fn counter(session: Session) -> String {
//!     let n = session.get_or("n", 0) + 1;
//!     session.insert("n", n);
//!     n.to_string()
//! }
//!
//! let config = SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
//! let sessions = SessionMiddleware::new(config).expect("valid session settings");
//! let app = App::new().wrap(sessions).route("/counter", web::get().to(counter));
//! # let _ = app;
//! ```

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue, CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::adapter::tower::SessionLayer;
use crate::backend::Backend;
use crate::client_addr::TrustedProxies;
use crate::config::{ConfigError, SessionConfig};
use crate::cookie_header::RequestCookies;
use crate::error::{plain_response, SaveError, SessionError};
use crate::login::{LoginRequired, LoginUrl, SessionIdentifier};
use crate::session::access::Access;
pub use crate::session::read_only::ReadOnlySession;
use crate::session::Session;

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Adds a [`Session`] to every request of an actix-web app and writes it back to the response.
///
/// ```
/// use std::sync::Arc;
/// use satchel_session::{actix::SessionMiddleware, store::MemoryStore, SessionConfig, SessionLayer};
///
/// let layer = SessionLayer::builder(SessionConfig::default())
///     .store(Arc::new(MemoryStore::default()))
///     .build()?;
/// let app = actix_web::App::new().wrap(SessionMiddleware::from(layer));
/// # let _ = app;
/// # Ok::<(), satchel_session::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct SessionMiddleware {
    backend: Arc<Backend>,
}

impl std::fmt::Debug for SessionMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMiddleware")
            .field("cookie_name", &self.backend.config().cookie_name)
            .finish()
    }
}

impl SessionMiddleware {
    /// Cookie sessions with these settings, checked now (as [`SessionLayer::new`]).
    ///
    /// ```
    /// use satchel_session::{actix::SessionMiddleware, SessionConfig};
    /// assert!(SessionMiddleware::new(SessionConfig::default()).is_err());
    /// let config = SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
    /// assert!(SessionMiddleware::new(config).is_ok());
    /// ```
    pub fn new(config: SessionConfig) -> Result<Self, ConfigError> {
        SessionLayer::new(config).map(Self::from)
    }
}

impl From<SessionLayer> for SessionMiddleware {
    /// The middleware serving the sessions `layer` was built for (its store, ledger, clock and
    /// counters: [`SessionLayer::stats`] counts this middleware's requests too).
    ///
    /// ```
    /// let config = satchel_session::SessionConfig::default().with_secret_key(satchel_session::generate_secret_key());
    /// let layer = satchel_session::SessionLayer::new(config).unwrap();
    /// let middleware = satchel_session::actix::SessionMiddleware::from(layer.clone());
    /// # let _ = middleware;
    /// ```
    fn from(layer: SessionLayer) -> Self {
        SessionMiddleware {
            backend: layer.backend().clone(),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            inner: Rc::new(service),
            backend: self.backend.clone(),
        }))
    }
}

/// The service [`SessionMiddleware`] wraps around an app's service.
pub struct SessionService<S> {
    inner: Rc<S>,
    backend: Arc<Backend>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionService")
    }
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(inner);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let cookies = RequestCookies::from_values(
            request
                .headers()
                .get_all(COOKIE)
                .filter_map(|value| http::HeaderValue::from_bytes(value.as_bytes()).ok()),
        );
        let session = Session::unopened(self.backend.clone(), cookies);
        request.extensions_mut().insert(session.clone());
        let handled = self.inner.call(request);
        Box::pin(async move {
            let mut response = handled.await?;
            // The headers the save rules read (an app's own Vary and Cache-Control) go in, the
            // ones it writes come back.
            let mut headers = http::HeaderMap::new();
            for name in [VARY, CACHE_CONTROL] {
                for value in response.headers().get_all(&name) {
                    if let Ok(value) = http::HeaderValue::from_bytes(value.as_bytes()) {
                        headers.append(core_name(&name), value);
                    }
                }
            }
            let saved = match session.save_now(&mut headers) {
                Some(saved) => saved,
                None => session.save(&mut headers).await,
            };
            match saved {
                Ok(()) => {
                    copy_back(&headers, response.headers_mut());
                    Ok(response.map_into_left_body())
                }
                Err(error) => Ok(response
                    .into_response(failed_save(&error))
                    .map_into_right_body()),
            }
        })
    }
}

/// The core's (`http` 1) name for one of the headers that cross.
fn core_name(name: &HeaderName) -> http::HeaderName {
    http::HeaderName::from_bytes(name.as_str().as_bytes()).expect("a standard header name")
}

/// Puts the save's `Vary` and `Cache-Control` (which started as the response's own) and its
/// `Set-Cookie`s into the actix response.
fn copy_back(saved: &http::HeaderMap, response: &mut actix_web::http::header::HeaderMap) {
    for name in [VARY, CACHE_CONTROL, SET_COOKIE] {
        let values: Vec<HeaderValue> = saved
            .get_all(core_name(&name))
            .iter()
            .filter_map(|value| HeaderValue::from_bytes(value.as_bytes()).ok())
            .collect();
        if name != SET_COOKIE {
            if values.is_empty() {
                continue;
            }
            response.remove(&name);
        }
        for value in values {
            response.append(name.clone(), value);
        }
    }
}

/// The response for a save that failed (logged here, as the tower adapter does).
fn failed_save(error: &SaveError) -> HttpResponse {
    tracing::error!(%error, "could not save the session");
    to_actix(error.response::<String>())
}

/// An `http` 1 response of the core's (an error page) as actix's.
fn to_actix(response: http::Response<String>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status =
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut built = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            built.append_header((name.as_str(), value));
        }
    }
    built.body(body)
}

/// A [`SessionError`] as actix's error response: the same status and body as with axum.
impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if *self == SessionError::LayerMissing {
            tracing::error!("{self}");
        }
        to_actix(plain_response(self.status(), self.body()))
    }
}

/// The request's session, opened for `access` (the middleware put it in the extensions).
fn opened(request: &HttpRequest, access: Access) -> LocalBoxFuture<Result<Session, SessionError>> {
    let found = request.extensions().get::<Session>().cloned();
    Box::pin(async move { Session::opened(found.as_ref(), access).await })
}

/// The request's session, for reading and writing (with a store: its lock and lease).
///
/// ```
/// async fn set_session(session: satchel_session::Session) -> &'static str {
///     session.insert("username", "Kimi");
///     "saved"
/// }
/// let app = actix_web::App::new()
///     .route("/set_session", actix_web::web::get().to(set_session));
/// # let _ = app;
/// ```
impl FromRequest for Session {
    type Error = SessionError;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        opened(request, Access::Write)
    }
}

/// The request's session, read only (with a store: no lock, no lease).
///
/// ```
/// use satchel_session::actix::ReadOnlySession;
/// async fn whoami(session: ReadOnlySession) -> String {
///     session.get_or("username", "Guest".to_string())
/// }
/// let app = actix_web::App::new().route("/whoami", actix_web::web::get().to(whoami));
/// # let _ = app;
/// ```
impl FromRequest for ReadOnlySession {
    type Error = SessionError;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let opening = opened(request, Access::Read);
        Box::pin(async move { opening.await.map(ReadOnlySession::from) })
    }
}

/// The request's session as a struct of yours ([`TypedSession`](crate::TypedSession)): opened
/// for writing and shared with a [`Session`] in the same handler; merged back when the handler
/// returns, before the middleware saves.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// #[serde(default)]
/// struct Visit {
///     counter: u64,
/// }
///
/// async fn counter(mut visit: satchel_session::TypedSession<Visit>) -> String {
///     visit.counter += 1;
///     visit.counter.to_string()
/// }
/// let app = actix_web::App::new().route("/counter", actix_web::web::get().to(counter));
/// # let _ = app;
/// ```
impl<T> FromRequest for crate::TypedSession<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Default + 'static,
{
    type Error = SessionError;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let opening = opened(request, Access::Write);
        Box::pin(async move { opening.await.map(crate::TypedSession::opened) })
    }
}

/// Why [`LoginRequired`] refused a request: nobody is logged in (a `303` to the login page),
/// or the session could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LoginRejection {
    /// Nobody is logged in: `303 See Other` to this URL.
    #[error("login required")]
    LoginRequired(LoginUrl),
    /// The session could not be opened.
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// ```
/// use satchel_session::actix::LoginRejection;
/// let rejection = LoginRejection::LoginRequired(satchel_session::login::LoginUrl::default());
/// assert_eq!(actix_web::ResponseError::status_code(&rejection).as_u16(), 303);
/// ```
impl ResponseError for LoginRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            LoginRejection::LoginRequired(_) => StatusCode::SEE_OTHER,
            LoginRejection::Session(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            LoginRejection::LoginRequired(url) => match HeaderValue::from_str(url.as_str()) {
                Ok(location) => HttpResponse::SeeOther()
                    .insert_header((actix_web::http::header::LOCATION, location))
                    .finish(),
                Err(_) => {
                    tracing::error!(
                        url = url.as_str(),
                        "LoginUrl is not a valid Location header"
                    );
                    HttpResponse::InternalServerError().finish()
                }
            },
            LoginRejection::Session(error) => error.error_response(),
        }
    }
}

/// Flask-Login's `@login_required` for actix-web: the logged-in user and the session, or a
/// `303` to the [`LoginUrl`] app data (`/login` when absent).
///
/// ```
/// use satchel_session::login::LoginRequired;
/// async fn dashboard(user: LoginRequired) -> String {
///     format!("Welcome, {}!", user.user_id)
/// }
/// let app = actix_web::App::new()
///     .app_data(satchel_session::login::LoginUrl::new("/signin"))
///     .route("/dashboard", actix_web::web::get().to(dashboard));
/// # let _ = app;
/// ```
impl FromRequest for LoginRequired {
    type Error = LoginRejection;
    type Future = LocalBoxFuture<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let opening = opened(request, Access::Write);
        let client = identify(request);
        let url = request.app_data::<LoginUrl>().cloned();
        Box::pin(async move {
            let session = opening.await?;
            LoginRequired::of(session, &client)
                .ok_or_else(|| LoginRejection::LoginRequired(url.unwrap_or_default()))
        })
    }
}

/// The client's [`SessionIdentifier`] (for [`login`](crate::login::login)): the peer address,
/// or behind the [`TrustedProxies`] app data the address they forwarded.
///
/// ```
/// use satchel_session::login::SessionIdentifier;
/// async fn sign_in(session: satchel_session::Session, client: SessionIdentifier) -> &'static str {
///     satchel_session::login(&session, "alice", &client);
///     "welcome"
/// }
/// let app = actix_web::App::new()
///     .app_data(satchel_session::client_addr::TrustedProxies::parse("10.0.0.0/8").unwrap())
///     .route("/sign_in", actix_web::web::post().to(sign_in));
/// # let _ = app;
/// ```
impl FromRequest for SessionIdentifier {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(identify(request)))
    }
}

fn identify(request: &HttpRequest) -> SessionIdentifier {
    SessionIdentifier::from_headers(
        |name| {
            request
                .headers()
                .get_all(name)
                .map(HeaderValue::as_bytes)
                .collect()
        },
        request.peer_addr().map(|addr| addr.ip()),
        request.app_data::<TrustedProxies>(),
    )
}
