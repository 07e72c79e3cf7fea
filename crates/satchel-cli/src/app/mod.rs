//! The tutorial app: every example of the Flask session tutorial, as routes, walked in order
//! by the home page `/` with a live view of the session; plus a real login (users in SQLite,
//! argon2 hashes, CSRF, a failed-login throttle) kept the way Flask-Login keeps it, flash
//! messages as Flask keeps them, `/session`, the probes `/healthz` and `/readyz`, and `/metrics`.
//!
//! | module | what |
//! |---|---|
//! | [`routes`] | the tutorial's handlers, login, logout, probes |
//! | [`home`] | the home page `/` and the permanent-session control |
//! | [`logins`] | where the user is logged in; ending one session or all |
//! | [`panel`] | what the pages show about the current session |
//! | [`errors`] | error responses as pages (HTML or plain text, by `Accept`) |
//! | [`guards`] | same-origin checks, the early body-size check, who may read `/metrics` |
//! | [`templates`] | the HTML pages (askama) |
//! | [`users`] | the user table |
//! | [`csrf`] | the login form's CSRF token |
//! | [`throttle`] | failed-login throttle (429) |
//! | [`password_checks`] | bounded argon2 checks with reused memory (503 when busy) |
//! | [`metrics`] | Prometheus text |

pub mod csrf;
pub mod errors;
pub mod guards;
pub mod home;
pub mod logins;
pub mod metrics;
pub mod panel;
pub mod password_checks;
pub mod routes;
pub mod templates;
pub mod throttle;
pub mod users;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use axum::Router;
use satchel::login::ClientAddr;
use satchel::store::{IndexedStore, Store};
use satchel::{SessionConfig, SessionLayer};
use tower::{Service, ServiceBuilder};

/// Largest request body accepted (the login form is a few hundred bytes).
pub const MAX_BODY: usize = 16 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState(Arc<App>);

pub struct App {
    pub config: SessionConfig,
    pub users: users::Users,
    pub throttle: throttle::Throttle,
    pub metrics: metrics::Metrics,
    /// Password checks: bounded in number and memory (see [`password_checks`]).
    pub hashing: password_checks::PasswordChecks,
    /// The server-side store (`None`: cookie sessions), for `/readyz` and the security view.
    pub store: Option<Arc<dyn Store>>,
    /// Where logins are indexed (the store, or cookie sessions' login ledger): `/session`
    /// lists and ends them. `None`: cookie sessions with `--ledger off`.
    pub index: Option<Arc<dyn IndexedStore>>,
    /// Who may read `/metrics`.
    pub metrics_access: guards::MetricsAccess,
    /// Where the secret key came from, as the home page says it ("from SECRET_KEY").
    pub key_source: String,
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    pub fn new(app: App) -> Self {
        AppState(Arc::new(app))
    }
}

/// The routes of the table (paths and texts are fixed).
const ROUTES: &[&str] = &[
    "/",
    "/set_session",
    "/get_session",
    "/delete_session",
    "/clear_session",
    "/counter",
    "/login",
    "/dashboard",
    "/logout",
    "/session",
    "/permanent",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// The app's routes behind `layer`, inside its middleware.
pub fn router(layer: SessionLayer, state: AppState) -> impl AppService {
    use routes::*;
    let session_routes = Router::new()
        .route("/", get(home::home))
        .route("/set_session", changes_state(set_session))
        .route("/get_session", get(get_session))
        .route("/delete_session", changes_state(delete_session))
        .route("/clear_session", changes_state(clear_session))
        .route("/counter", changes_state(counter))
        .route("/permanent", axum::routing::post(home::permanent))
        .route("/login", get(login_form).post(login_submit))
        .route("/dashboard", get(dashboard))
        .route("/logout", changes_state(logout).post(logout))
        .route("/session", get(session_page))
        .route("/session/end", axum::routing::post(logins::end_session))
        .route(
            "/session/end_all",
            axum::routing::post(logins::end_all_sessions),
        )
        .with_state(state.clone());
    // The session layer around those routes (and the 404 of any other path) as a whole, like
    // the middleware below: `Router::layer` would box it into each route's each method.
    let sessions = ServiceBuilder::new().layer(layer).service(session_routes);
    // Outside the session layer: probes and metrics never open a session, even when the
    // request carries a cookie.
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback_service(sessions)
        .with_state(state);
    around_every_request(routes)
}

/// `routes` inside the app's middleware: the request log, metrics and security headers, the
/// error pages, and the early 413 (before the body is read, so before hyper sends
/// `100 Continue`).
///
/// The middleware wraps the finished router as plain tower layers instead of through
/// `Router::layer`, which boxes every route's every method once per layer: a middleware clones
/// the service it wraps on each request, and here that is the router's one reference count
/// where it was dozens of boxed services.
pub fn around_every_request(routes: Router) -> impl AppService {
    ServiceBuilder::new()
        .layer(middleware::from_fn(observe))
        .layer(middleware::from_fn(errors::error_pages))
        .layer(middleware::from_fn(guards::refuse_oversized_bodies))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .service(routes)
}

/// The whole app as one service: what [`router`] returns and `satchel serve` runs.
pub trait AppService:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> AppService for S where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// A GET route that changes the session (the tutorial's routes do). HEAD, which axum would
/// otherwise answer by running the GET handler, gets [`routes::head_without_effect`]: HEAD is
/// a safe method and must change nothing.
fn changes_state<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    get(handler).head(routes::head_without_effect)
}

/// Runs around every request: records the client address for the login identifier, logs one
/// line, counts the request, and adds the security headers.
async fn observe(mut request: Request, next: Next) -> Response {
    let start = Instant::now();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer {
        request.extensions_mut().insert(ClientAddr(ip));
    }
    let method = request.method().clone();
    let path = request.uri().path();
    let route = ROUTES
        .iter()
        .find(|r| **r == path)
        .copied()
        .unwrap_or("other");
    // The path is copied for the log line only when that line is written.
    let logged_path = tracing::enabled!(tracing::Level::INFO).then(|| path.to_owned());
    let mut response = next.run(request).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    if let Some(path) = logged_path {
        tracing::info!(
            %method,
            path = %truncate(&path, 200),
            status,
            micros = elapsed.as_micros() as u64,
            peer = ?peer,
            "request"
        );
    }
    metrics::Metrics::request(&method, route, status, elapsed);
    let headers = response.headers_mut();
    guards::no_store_when_session_dependent(headers);
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
