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
//! | [`shell`] | what runs around every request: log line, metrics, security headers, error pages, the early 413 |
//! | [`guards`] | same-origin checks, the early body-size check, who may read `/metrics` |
//! | [`templates`] | the HTML pages (askama) |
//! | [`users`] | the user table |
//! | [`csrf`] | the login form's CSRF token |
//! | [`throttle`] | failed-login throttle (429) |
//! | [`devices`] | device cookies: a client that logged in before is throttled on its own |
//! | [`password_checks`] | bounded argon2 checks with reused memory (503 when busy) |
//! | [`metrics`] | Prometheus text |

pub mod csrf;
pub mod devices;
pub mod errors;
pub mod guards;
pub mod home;
pub mod logins;
pub mod metrics;
pub mod panel;
pub mod password_checks;
pub mod routes;
pub mod shell;
pub mod templates;
pub mod throttle;
pub mod users;

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::Request;
use axum::handler::Handler;
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use axum::Router;
use satchel_session::store::{IndexedStore, Store};
use satchel_session::{SessionConfig, SessionLayer};
use tower::{Layer as _, Service};

/// Largest request body accepted (the login form is a few hundred bytes).
pub const MAX_BODY: usize = 16 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState(Arc<App>);

pub struct App {
    pub config: SessionConfig,
    pub users: users::Users,
    pub throttle: throttle::Throttle,
    /// Device cookies, for the throttle.
    pub devices: devices::Devices,
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

/// The routes outside the session layer (see [`router`]).
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

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
    // The session layer around those routes (and the 404 of any other path) as a whole, as
    // `shell` wraps the app: `Router::layer` would box it into each route's each method.
    let sessions = layer.layer(session_routes);
    // Outside the session layer: probes and metrics never open a session. The shell sends
    // their paths (PROBES) here and every other path to `sessions`, so a request is routed once.
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    shell::around(probes, sessions)
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
