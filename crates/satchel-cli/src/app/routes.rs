//! The handlers: the tutorial's session routes, then login, dashboard, logout and `/session`.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use satchel::login::{is_fresh, ClientAddr, LoginRequired, SessionIdentifier};
use satchel::{Session, Value};
use serde::Deserialize;

use super::password_checks::CheckError;
use super::templates::{render, DashboardPage, LoginPage, SessionPage};
use super::users::{UserError, MAX_NAME_LEN, MAX_PASSWORD_LEN};
use super::{csrf, pyrepr, AppState};

pub async fn set_session(session: Session) -> &'static str {
    session.insert("username", "Kimi");
    session.insert("age", 25);
    "Session data set!"
}

pub async fn get_session(session: Session) -> String {
    let username: String = session.get_or("username", "Guest".to_owned());
    let age: i64 = session.get_or("age", 0);
    format!("Hello, {username}! Your age is {age}.")
}

pub async fn delete_session(session: Session) -> &'static str {
    session.remove("username");
    "Session data deleted!"
}

pub async fn clear_session(session: Session) -> &'static str {
    session.clear();
    "All session data cleared!"
}

pub async fn counter(session: Session) -> String {
    let n = session.get_or::<i64>("n", 0).saturating_add(1);
    session.insert("n", n);
    n.to_string()
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn metrics(State(app): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// Who is asking: the peer address and Flask-Login's identifier of the client.
pub struct Client {
    addr: Option<IpAddr>,
    ident: SessionIdentifier,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client {
            addr: parts.extensions.get::<ClientAddr>().map(|c| c.0),
            ident: SessionIdentifier::from_request(parts),
        })
    }
}

fn login_page(session: &Session, status: StatusCode, username: &str, error: bool) -> Response {
    let page = LoginPage {
        flashes: satchel::take_flashes(session),
        csrf_token: csrf::token(session),
        username: username.to_owned(),
        error: error.then_some("Invalid credentials!"),
    };
    render(status, &page)
}

pub async fn login_form(session: Session) -> Response {
    login_page(&session, StatusCode::OK, "", false)
}

/// Every field optional, so a missing one is this handler's 400 or 403, not a parse error.
#[derive(Deserialize)]
pub struct LoginForm {
    username: Option<String>,
    password: Option<String>,
    csrf_token: Option<String>,
}

pub async fn login_submit(
    State(app): State<AppState>,
    session: Session,
    client: Client,
    Form(form): Form<LoginForm>,
) -> Response {
    if !csrf::verify(&session, form.csrf_token.as_deref()) {
        return (
            StatusCode::FORBIDDEN,
            "403 Forbidden: missing or invalid CSRF token; reload the login page and try again\n",
        )
            .into_response();
    }
    let (Some(username), Some(password)) = (form.username, form.password) else {
        return (
            StatusCode::BAD_REQUEST,
            "400 Bad Request: username and password are required\n",
        )
            .into_response();
    };
    if username.len() > MAX_NAME_LEN || password.len() > MAX_PASSWORD_LEN {
        return (
            StatusCode::BAD_REQUEST,
            "400 Bad Request: username or password too long\n",
        )
            .into_response();
    }
    let attempt = match app.throttle.begin(&username, client.addr) {
        Ok(attempt) => attempt,
        Err(wait) => {
            metrics::counter!("satchel_login_throttled_total").increment(1);
            tracing::warn!(user = ?username, addr = ?client.addr, "login throttled");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait.to_string())],
                "429 Too Many Requests: too many failed logins; try again later\n",
            )
                .into_response();
        }
    };
    let verified = match app.hashing.verify(&app.users, &username, password).await {
        Ok(verified) => verified,
        Err(error) => return password_check_failed(&error),
    };
    if verified {
        attempt.succeeded();
        satchel::login(&session, &username, &client.ident);
        csrf::rotate(&session);
        tracing::info!(user = ?username, "logged in");
        return Redirect::to("/dashboard").into_response();
    }
    attempt.failed();
    metrics::counter!("satchel_login_failures_total").increment(1);
    tracing::info!(user = ?username, addr = ?client.addr, "login failed");
    login_page(&session, StatusCode::UNAUTHORIZED, &username, true)
}

/// A password that could not be checked: 503, with `Retry-After` when the checker was busy.
fn password_check_failed(error: &CheckError) -> Response {
    match error {
        CheckError::Busy(wait) => {
            tracing::warn!(%error, "login refused: password checks busy");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
                "503 Service Unavailable: too many logins at once; try again shortly\n",
            )
                .into_response()
        }
        other => unavailable(other),
    }
}

/// Runs a user-table call off the async threads (argon2 is slow on purpose); a failure is
/// a 503.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, UserError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(unavailable(&error)),
        Err(error) => Err(unavailable(&error)),
    }
}

fn unavailable(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "user database unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable: the user database is unavailable\n",
    )
        .into_response()
}

pub async fn dashboard(State(app): State<AppState>, login: LoginRequired) -> Response {
    let users = app.users.clone();
    let name = login.user_id.clone();
    match blocking(move || users.exists(&name)).await {
        Ok(true) => {}
        Ok(false) => {
            // Logged in as someone who is no longer a user (Flask-Login's user_loader → None).
            satchel::logout(&login.session);
            return Redirect::to("/login").into_response();
        }
        Err(response) => return response,
    }
    let page = DashboardPage {
        flashes: satchel::take_flashes(&login.session),
        fresh: is_fresh(&login.session),
        user: login.user_id,
    };
    render(StatusCode::OK, &page)
}

pub async fn logout(session: Session) -> Redirect {
    if let Some(user) = satchel::logout(&session) {
        tracing::info!(%user, "logged out");
    }
    session.clear();
    satchel::flash(&session, "info", "You have been logged out.");
    Redirect::to("/login")
}

pub async fn session_page(State(app): State<AppState>, session: Session) -> Response {
    let config = &app.config;
    let times = session.times();
    let entries = session
        .to_dict()
        .iter()
        .map(|(key, value): (&String, &Value)| (key.clone(), pyrepr::repr(value)))
        .collect::<Vec<_>>();
    let cookie_size = if entries.is_empty() {
        "no cookie (empty session)".to_owned()
    } else {
        match session.encoded_len() {
            Ok(len) => format!("{len} bytes (name=value; browsers keep up to 4096)"),
            Err(error) => format!("cannot encode: {error}"),
        }
    };
    let time = |t: Option<u64>| t.map_or_else(|| "—".to_owned(), format_time);
    let page = SessionPage {
        flashes: Vec::new(),
        format: config.format.to_string(),
        cookie_name: config.cookie_name.clone(),
        cookie_size,
        issued: time(times.and_then(|t| t.issued_at)),
        created: time(times.map(|t| t.created_at)),
        expires: time(times.map(|t| t.expires_at)),
        entries,
    };
    render(StatusCode::OK, &page)
}

fn format_time(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}
