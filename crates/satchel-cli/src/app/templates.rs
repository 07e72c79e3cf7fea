//! The HTML pages (askama templates in `crates/satchel-cli/templates/`).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use satchel_session::Flash;

use super::logins::LoginView;
use super::panel::{Exposure, Panel};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub flashes: Vec<Flash>,
    pub csrf_token: String,
    pub username: String,
    pub error: Option<&'static str>,
    /// `PERMANENT_SESSION_LIFETIME` in words, for "keep me signed in".
    pub lifetime: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub flashes: Vec<Flash>,
    pub user: String,
    pub fresh: bool,
    /// Where the user is logged in (`None`: not indexed, or the index is down).
    pub logins: Option<Vec<LoginView>>,
}

#[derive(Template)]
#[template(path = "session.html")]
pub struct SessionPage {
    pub flashes: Vec<Flash>,
    pub panel: Panel,
    /// The logged-in user, if any.
    pub user: Option<String>,
    /// Their sessions, with an "end" button each (`None`: not indexed, or the index is down).
    pub logins: Option<Vec<LoginView>>,
    /// For the buttons' forms.
    pub csrf_token: String,
}

/// The home page: the tutorial's six parts and the session panel.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// The answers of the routes just called from this page.
    pub flashes: Vec<Flash>,
    pub panel: Panel,
    pub exposure: Exposure,
    pub user: Option<String>,
    /// Where the secret key came from, as a phrase ("from SECRET_KEY").
    pub key_source: String,
    pub fallbacks: usize,
    pub httponly: bool,
    pub samesite: String,
    /// Whether the cookie is Secure (`--production`); the page says why it is off otherwise.
    pub secure: bool,
}

/// A 4xx or 5xx as a page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub flashes: Vec<Flash>,
    /// `404 Not Found`.
    pub heading: String,
    pub detail: String,
}

/// Renders `page` with `status`; a template error is a logged 500, never a panic.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "500: could not render the page",
            )
                .into_response()
        }
    }
}
