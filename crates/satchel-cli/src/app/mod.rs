//! The seed's web app: every example of the Flask session tutorial, as routes, plus a real
//! login (users in SQLite, argon2 hashes, CSRF, a failed-login throttle) kept the way
//! Flask-Login keeps it, flash messages as Flask keeps them, `/session` and `/metrics`.
//!
//! | module | what |
//! |---|---|
//! | [`routes`] | the handlers |
//! | [`templates`] | the HTML pages (askama) |
//! | [`users`] | the user table |
//! | [`csrf`] | the login form's CSRF token |
//! | [`throttle`] | failed-login throttle (429) |
//! | [`password_checks`] | bounded argon2 checks with reused memory (503 when busy) |
//! | [`metrics`] | Prometheus text |
//! | [`pyrepr`] | values as Python prints them, for `/session` |

pub mod csrf;
pub mod metrics;
pub mod password_checks;
pub mod pyrepr;
pub mod routes;
pub mod templates;
pub mod throttle;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use satchel::login::ClientAddr;
use satchel::{SessionConfig, SessionLayer};

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
    "/set_session",
    "/get_session",
    "/delete_session",
    "/clear_session",
    "/counter",
    "/login",
    "/dashboard",
    "/logout",
    "/session",
    "/healthz",
    "/metrics",
];

/// The app's routes behind `layer`.
pub fn router(layer: SessionLayer, state: AppState) -> Router {
    use routes::*;
    Router::new()
        .route("/set_session", get(set_session))
        .route("/get_session", get(get_session))
        .route("/delete_session", get(delete_session))
        .route("/clear_session", get(clear_session))
        .route("/counter", get(counter))
        .route("/login", get(login_form).post(login_submit))
        .route("/dashboard", get(dashboard))
        .route("/logout", get(logout).post(logout))
        .route("/session", get(session_page))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(layer)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(observe))
        .with_state(state)
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
