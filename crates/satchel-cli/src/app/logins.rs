//! Where the user is logged in: the list `/session` and the dashboard show, and the two POSTs
//! (CSRF-checked) that end one session or all of them. The list comes from the per-user
//! index: the server-side store's, or cookie sessions' login ledger.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use satchel::extract::ReadOnlySession;
use std::sync::Arc;

use satchel::store::{IndexedStore, SessionEntry};
use satchel::Session;
use serde::Deserialize;
use time::OffsetDateTime;

use super::csrf;
use super::AppState;

/// One session as the pages show it.
pub struct LoginView {
    /// The SHA-256 of the session id, in hex (what the "end" button sends; never the id).
    pub id: String,
    /// Its first 12 digits (what `satchel sessions revoke` takes).
    pub short: String,
    pub agent: String,
    pub address: String,
    pub created: String,
    pub last_seen: String,
    /// The session of the request showing the list.
    pub current: bool,
}

fn when(unix: u64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    i64::try_from(unix)
        .ok()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "—".into())
}

fn view(entry: SessionEntry, current: Option<satchel::store::IdHash>) -> LoginView {
    LoginView {
        id: entry.id.to_hex(),
        short: entry.short_id(),
        agent: entry
            .user_agent
            .clone()
            .unwrap_or_else(|| "unknown browser".into()),
        address: entry
            .address
            .clone()
            .unwrap_or_else(|| "unknown address".into()),
        created: when(entry.created_at),
        last_seen: when(entry.last_seen),
        current: current == Some(entry.id),
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `user`'s sessions, this one first; `None` when the app keeps no index (`--ledger off`) or
/// it cannot answer (logged, the page then says so).
pub async fn list(app: &AppState, user: &str, session: &Session) -> Option<Vec<LoginView>> {
    let index = app.index.as_ref()?;
    match index.sessions(Some(user), unix_now()).await {
        Ok(entries) => {
            let current = session.index_id();
            let mut views: Vec<LoginView> = entries.into_iter().map(|e| view(e, current)).collect();
            views.sort_by_key(|v| !v.current);
            Some(views)
        }
        Err(error) => {
            tracing::error!(%error, "could not list the user's sessions");
            None
        }
    }
}

#[derive(Deserialize)]
pub struct EndForm {
    csrf_token: Option<String>,
    /// The id hash (hex) of the session to end.
    id: Option<String>,
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "403 Forbidden: missing or invalid CSRF token; reload the page and try again\n",
    )
        .into_response()
}

/// The logged-in user and the index, or the response when there is neither (to the login
/// page; a 404 when the app keeps no index).
fn logged_in(
    app: &AppState,
    user: Option<String>,
) -> Result<(String, &Arc<dyn IndexedStore>), Box<Response>> {
    let Some(user) = user else {
        return Err(Box::new(Redirect::to("/login").into_response()));
    };
    match app.index.as_ref() {
        Some(index) => Ok((user, index)),
        None => {
            let text = "404 Not Found: sessions are not indexed\n";
            Err(Box::new((StatusCode::NOT_FOUND, text).into_response()))
        }
    }
}

fn index_unavailable(error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "session index unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable: the session store is unavailable\n",
    )
        .into_response()
}

/// POST `/session/end`: ends one of the user's sessions. Ending this very session is a
/// logout.
pub async fn end_session(
    State(app): State<AppState>,
    session: Session,
    Form(form): Form<EndForm>,
) -> Response {
    if !csrf::verify(&session, form.csrf_token.as_deref()) {
        return forbidden();
    }
    let (user, index) = match logged_in(&app, satchel::current_user_id(&session)) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let wanted = form.id.unwrap_or_default().to_ascii_lowercase();
    let entries = match index.sessions(Some(&user), unix_now()).await {
        Ok(entries) => entries,
        Err(error) => return index_unavailable(&error),
    };
    let Some(entry) = entries.into_iter().find(|e| e.id.to_hex() == wanted) else {
        satchel::flash(&session, "info", "That session had ended already.");
        return Redirect::to("/session").into_response();
    };
    if session.index_id() == Some(entry.id) {
        satchel::logout(&session);
        session.clear();
        satchel::flash(&session, "info", "You have been logged out.");
        return Redirect::to("/login").into_response();
    }
    if let Err(error) = index.revoke(&entry.id).await {
        return index_unavailable(&error);
    }
    tracing::info!(%user, session = %entry.short_id(), "ended one session");
    let agent = entry
        .user_agent
        .unwrap_or_else(|| "an unknown browser".into());
    satchel::flash(&session, "info", &format!("Ended the session on {agent}."));
    Redirect::to("/session").into_response()
}

#[derive(Deserialize)]
pub struct EndAllForm {
    csrf_token: Option<String>,
}

/// POST `/session/end_all`: "log out everywhere", this session included. Takes the session
/// read-only: this request's own session is among those ended, so it must not try to save it.
pub async fn end_all_sessions(
    State(app): State<AppState>,
    session: ReadOnlySession,
    Form(form): Form<EndAllForm>,
) -> Response {
    let token = session.get::<String>(csrf::SESSION_KEY);
    if !csrf::matches(token, form.csrf_token.as_deref()) {
        return forbidden();
    }
    let user = session.get::<String>(satchel::login::USER_ID_KEY);
    let (user, index) = match logged_in(&app, user) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    match index.revoke_user(&user, unix_now()).await {
        Ok(ended) => {
            tracing::info!(%user, ended, "logged out everywhere");
            Redirect::to("/login").into_response()
        }
        Err(error) => index_unavailable(&error),
    }
}
