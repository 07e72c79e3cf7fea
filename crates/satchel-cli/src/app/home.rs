//! The home page `/`: the tutorial's six parts in order, each with its control, beside a live
//! panel of the session; and `POST /permanent`, part 4's control.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use satchel_session::{SameSite, Session, PERMANENT_KEY};
use serde::Deserialize;

use super::guards::same_origin;
use super::panel::{words, Exposure, Panel};
use super::routes::ANSWER;
use super::templates::{render, HomePage};
use super::AppState;

pub async fn home(State(app): State<AppState>, headers: HeaderMap, session: Session) -> Response {
    let config = &app.config;
    let store = app.store.is_some();
    // The answers first: the panel then shows the session without them.
    let flashes = satchel_session::take_flashes(&session);
    let page = HomePage {
        flashes,
        panel: Panel::new(&session, config, store),
        exposure: Exposure::of(&headers, config, store),
        user: satchel_session::current_user_id(&session),
        key_source: app.key_source.clone(),
        fallbacks: config.secret_key_fallbacks.len(),
        httponly: config.cookie_httponly,
        samesite: same_site_words(config.cookie_samesite),
        secure: config.cookie_secure,
    };
    render(StatusCode::OK, &page)
}

fn same_site_words(same_site: Option<SameSite>) -> String {
    match same_site {
        Some(SameSite::Lax) => {
            "Lax: other sites' forms and embedded requests do not carry the cookie; links to \
             this site do"
        }
        Some(SameSite::Strict) => "Strict: only requests started on this site carry the cookie",
        Some(SameSite::None) => "None: every request carries the cookie (needs Secure)",
        None => "not set (Flask's default): the browser decides, Lax in current Chromium",
    }
    .to_owned()
}

/// Part 4's form: `permanent=true` or `permanent=false`.
#[derive(Deserialize)]
pub struct PermanentForm {
    permanent: Option<String>,
}

/// Makes the session permanent (Flask's `session.permanent = True`, stored as `_permanent`) or
/// a browser session again. No CSRF token (the home page sets no cookie until asked), so the
/// request must come from this site's own page.
pub async fn permanent(
    State(app): State<AppState>,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<PermanentForm>,
) -> Response {
    if let Err(refused) = same_origin(&headers) {
        return refused.into_response();
    }
    let message = if form.permanent.as_deref() == Some("true") {
        session.set_permanent(true);
        format!(
            "session.permanent = True: the cookie now carries Expires = now + {}",
            words(app.config.permanent_session_lifetime)
        )
    } else {
        session.remove(PERMANENT_KEY);
        "session.permanent = False: a browser-session cookie again (no Expires)".to_owned()
    };
    satchel_session::flash(&session, ANSWER, &message);
    Redirect::to("/#part-4").into_response()
}
