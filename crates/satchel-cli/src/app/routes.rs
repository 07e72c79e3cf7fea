//! The handlers: the tutorial's session routes, then login, dashboard, logout, `/session` and
//! the probes.
//!
//! The tutorial's routes answer with the tutorial's texts. Called from the home page
//! (`?from=home`), they flash that text instead and send the browser back to the home page's
//! part, where the session panel shows what changed.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use satchel_session::login::{is_fresh, LoginRequired, SessionIdentifier};
use satchel_session::store::Store;
use satchel_session::{Session, PERMANENT_KEY};
use serde::Deserialize;

use super::guards::same_origin;
use super::panel::{words, Panel};
use super::password_checks::CheckError;
use super::templates::{render, DashboardPage, LoginPage, SessionPage};
use super::users::{name_key, MAX_NAME_LEN, MAX_PASSWORD_LEN};
use super::{csrf, throttle, AppState};

/// How long `/readyz` waits for the store.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The flash category of a route's answer shown on the home page.
pub const ANSWER: &str = "answer";

/// A tutorial route's answer: its text, or (called from the home page) the text flashed and
/// a redirect back to the home page's `part`.
fn answer(session: &Session, query: &RawQuery, route: &str, part: u8, text: String) -> Response {
    let from_home = query
        .0
        .as_deref()
        .is_some_and(|q| q.split('&').any(|pair| pair == "from=home"));
    if !from_home {
        return text.into_response();
    }
    satchel_session::flash(session, ANSWER, &format!("GET {route} answered: {text}"));
    Redirect::to(&format!("/#part-{part}")).into_response()
}

pub async fn set_session(session: Session, query: RawQuery) -> Response {
    session.insert("username", "Kimi");
    session.insert("age", 25);
    let text = "Session data set!".to_owned();
    answer(&session, &query, "/set_session", 2, text)
}

pub async fn get_session(session: Session, query: RawQuery) -> Response {
    let username: String = session.get_or("username", "Guest".to_owned());
    let age: i64 = session.get_or("age", 0);
    let text = format!("Hello, {username}! Your age is {age}.");
    answer(&session, &query, "/get_session", 2, text)
}

pub async fn delete_session(session: Session, query: RawQuery) -> Response {
    session.remove("username");
    let text = "Session data deleted!".to_owned();
    answer(&session, &query, "/delete_session", 3, text)
}

pub async fn clear_session(session: Session, query: RawQuery) -> Response {
    session.clear();
    let text = "All session data cleared!".to_owned();
    answer(&session, &query, "/clear_session", 3, text)
}

pub async fn counter(session: Session, query: RawQuery) -> Response {
    let n = session.get_or::<i64>("n", 0).saturating_add(1);
    session.insert("n", n);
    answer(&session, &query, "/counter", 2, n.to_string())
}

/// HEAD on a route whose GET changes the session: the headers of its plain-text answer, no
/// body, and no change (HEAD is a safe method; a link prefetcher or monitor sending HEAD must
/// not count a visit or log anyone out).
pub async fn head_without_effect() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "",
    )
        .into_response()
}

/// Liveness: the process answers. Touches no session and no store.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: what requests depend on answers — the session store (`Store::check`: a load of
/// a random id, which finds nothing), or for cookie sessions the login ledger (every logged-in request and
/// every login reads or writes it) — within [`READY_TIMEOUT`]. Cookie sessions without a
/// ledger depend on nothing: always ready.
pub async fn readyz(State(app): State<AppState>) -> Response {
    let (checked, what): (&dyn Store, &str) = match (&app.store, &app.index) {
        (Some(store), _) => (store.as_ref(), "session store"),
        (None, Some(ledger)) => (ledger.as_ref(), "login ledger"),
        (None, None) => return "ok: cookie sessions, no store to check".into_response(),
    };
    let outcome = tokio::time::timeout(READY_TIMEOUT, checked.check()).await;
    let reason = match outcome {
        Ok(Ok(_)) => return format!("ok: the {what} answers").into_response(),
        Ok(Err(error)) => error.to_string(),
        Err(_) => format!("no answer within {READY_TIMEOUT:?}"),
    };
    tracing::warn!(%reason, checked = what, "readiness check failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("503 Service Unavailable: the {what} is not answering (see the server log)\n"),
    )
        .into_response()
}

pub async fn metrics(State(app): State<AppState>, client: Client, headers: HeaderMap) -> Response {
    if let Err(refused) = app.metrics_access.check(client.addr, &headers) {
        return refused.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// Who is asking: the client's address (the peer's, or behind a trusted proxy the one it
/// forwarded) and Flask-Login's identifier of the client.
pub struct Client {
    addr: Option<IpAddr>,
    ident: SessionIdentifier,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ident = SessionIdentifier::from_request(parts);
        Ok(Client {
            addr: ident.client_ip(),
            ident,
        })
    }
}

fn login_page(
    app: &AppState,
    session: &Session,
    status: StatusCode,
    username: &str,
    error: bool,
) -> Response {
    let page = LoginPage {
        flashes: satchel_session::take_flashes(session),
        csrf_token: csrf::token(session),
        username: username.to_owned(),
        error: error.then_some("Invalid credentials!"),
        lifetime: words(app.config.permanent_session_lifetime),
    };
    render(status, &page)
}

pub async fn login_form(State(app): State<AppState>, session: Session) -> Response {
    login_page(&app, &session, StatusCode::OK, "", false)
}

/// Every field optional, so a missing one is this handler's 400 or 403, not a parse error.
#[derive(Deserialize)]
pub struct LoginForm {
    username: Option<String>,
    password: Option<String>,
    csrf_token: Option<String>,
    /// "Keep me signed in": any value makes the session permanent.
    remember: Option<String>,
}

pub async fn login_submit(
    State(app): State<AppState>,
    session: Session,
    client: Client,
    headers: HeaderMap,
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
    let name_key = name_key(&username);
    let who = match app.devices.recognise(&headers, &name_key) {
        Some(device) => throttle::Client::Device(device),
        None => throttle::Client::Address(client.addr),
    };
    let attempt = match app.throttle.begin(&name_key, who) {
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
    if let Some(user) = verified {
        attempt.succeeded();
        // The session names the user as stored, whatever case or form was typed.
        satchel_session::login(&session, &user, &client.ident);
        csrf::rotate(&session);
        if form.remember.is_some() {
            session.set_permanent(true);
        } else {
            session.remove(PERMANENT_KEY);
        }
        tracing::info!(user = ?user, "logged in");
        let device = app.devices.issue(&name_key);
        return ([(header::SET_COOKIE, device)], Redirect::to("/dashboard")).into_response();
    }
    attempt.failed();
    metrics::counter!("satchel_login_failures_total").increment(1);
    tracing::info!(user = ?username, addr = ?client.addr, "login failed");
    login_page(&app, &session, StatusCode::UNAUTHORIZED, &username, true)
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

fn unavailable(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "user database unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable: the user database is unavailable\n",
    )
        .into_response()
}

pub async fn dashboard(State(app): State<AppState>, login: LoginRequired) -> Response {
    match app.users.is_active(&login.user_id).await {
        Ok(true) => {}
        Ok(false) => {
            // Logged in as someone who is no longer a user, or is disabled (Flask-Login's
            // user_loader → None).
            satchel_session::logout(&login.session);
            return Redirect::to("/login").into_response();
        }
        Err(error) => return unavailable(&error),
    }
    let logins = super::logins::list(&app, &login.user_id, &login.session).await;
    let page = DashboardPage {
        flashes: satchel_session::take_flashes(&login.session),
        fresh: is_fresh(&login.session),
        user: login.user_id,
        logins,
    };
    render(StatusCode::OK, &page)
}

/// GET (the tutorial's route) and POST. Neither carries a CSRF token, so both must come from
/// this site's own pages: see [`same_origin`].
pub async fn logout(headers: HeaderMap, session: Session) -> Response {
    if let Err(refused) = same_origin(&headers) {
        return refused.into_response();
    }
    if let Some(user) = satchel_session::logout(&session) {
        tracing::info!(%user, "logged out");
    }
    session.clear();
    satchel_session::flash(&session, "info", "You have been logged out.");
    Redirect::to("/login").into_response()
}

pub async fn session_page(State(app): State<AppState>, session: Session) -> Response {
    let user = satchel_session::current_user_id(&session);
    let logins = match &user {
        Some(user) => super::logins::list(&app, user, &session).await,
        None => None,
    };
    let page = SessionPage {
        flashes: satchel_session::take_flashes(&session),
        // Only a logged-in visitor gets a token (the buttons); others get no cookie from here.
        csrf_token: user
            .as_ref()
            .map(|_| csrf::token(&session))
            .unwrap_or_default(),
        user,
        logins,
        panel: Panel::new(&session, &app.config, app.store.is_some()),
    };
    render(StatusCode::OK, &page)
}
