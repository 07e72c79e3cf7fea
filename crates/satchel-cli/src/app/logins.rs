//! Where the user is logged in: the list `/session` and the dashboard show, and the two POSTs
//! (CSRF-checked) that end one session or all of them. The list comes from the per-user
//! index: the server-side store's, or cookie sessions' login ledger.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use satchel_session::extract::ReadOnlySession;
use std::sync::Arc;

use satchel_session::store::{IndexedStore, SessionEntry};
use satchel_session::Session;
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
    /// The browser and OS, short (`Chrome 156 on Linux`).
    pub agent: String,
    /// The whole User-Agent when `agent` shortened it (shown on hover).
    pub agent_full: Option<String>,
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

/// A User-Agent as a person names it: `Chrome 156 on Linux`, `Safari 17 on iOS`, `curl/8.5.0`.
/// Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
pub fn short_agent(agent: &str) -> String {
    const BROWSERS: [(&str, &str); 7] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ];
    const SYSTEMS: [(&str, &str); 6] = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
    ];
    let browser = BROWSERS.iter().find_map(|(token, name)| {
        let rest = &agent[agent.find(token)? + token.len()..];
        let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some(if major.is_empty() {
            (*name).to_owned()
        } else {
            format!("{name} {major}")
        })
    });
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| agent.contains(token))
        .map(|(_, name)| *name)
        .or_else(|| agent.contains("Linux").then_some("Linux"));
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser,
        // Not a browser: its first product token (`curl/8.5.0`), cut to a table cell's width.
        _ => agent
            .split_whitespace()
            .next()
            .unwrap_or(agent)
            .chars()
            .take(40)
            .collect(),
    }
}

fn view(entry: SessionEntry, current: Option<satchel_session::store::IdHash>) -> LoginView {
    let full = entry
        .user_agent
        .clone()
        .unwrap_or_else(|| "unknown browser".into());
    let agent = short_agent(&full);
    LoginView {
        id: entry.id.to_hex(),
        short: entry.short_id(),
        agent_full: (agent != full).then_some(full),
        agent,
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
    let (user, index) = match logged_in(&app, satchel_session::current_user_id(&session)) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let wanted = form.id.unwrap_or_default().to_ascii_lowercase();
    let entries = match index.sessions(Some(&user), unix_now()).await {
        Ok(entries) => entries,
        Err(error) => return index_unavailable(&error),
    };
    let Some(entry) = entries.into_iter().find(|e| e.id.to_hex() == wanted) else {
        satchel_session::flash(&session, "info", "That session had ended already.");
        return Redirect::to("/session").into_response();
    };
    if session.index_id() == Some(entry.id) {
        satchel_session::logout(&session);
        session.clear();
        satchel_session::flash(&session, "info", "You have been logged out.");
        return Redirect::to("/login").into_response();
    }
    if let Err(error) = index.revoke(&entry.id).await {
        return index_unavailable(&error);
    }
    tracing::info!(%user, session = %entry.short_id(), "ended one session");
    let agent = entry
        .user_agent
        .map_or_else(|| "an unknown browser".into(), |agent| short_agent(&agent));
    satchel_session::flash(&session, "info", &format!("Ended the session on {agent}."));
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
    let user = session.get::<String>(satchel_session::login::USER_ID_KEY);
    let (user, index) = match logged_in(&app, user) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    match index.revoke_user(&user).await {
        Ok(ended) => {
            tracing::info!(%user, ended, "logged out everywhere");
            Redirect::to("/login").into_response()
        }
        Err(error) => index_unavailable(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::short_agent;

    #[test]
    fn user_agents_as_people_name_them() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.73 Safari/537.36", "Chrome 156 on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge 131 on Windows"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on macOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari 18 on iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome 131 on Android"),
            ("curl/8.5.0", "curl/8.5.0"),
            ("phone", "phone"),
        ];
        for (agent, short) in cases {
            assert_eq!(short_agent(agent), short, "{agent}");
        }
    }
}
