//! The HTML pages (askama templates in `crates/satchel-cli/templates/`).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use satchel::Flash;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub flashes: Vec<Flash>,
    pub csrf_token: String,
    pub username: String,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub flashes: Vec<Flash>,
    pub user: String,
    pub fresh: bool,
}

#[derive(Template)]
#[template(path = "session.html")]
pub struct SessionPage {
    pub flashes: Vec<Flash>,
    pub format: String,
    pub cookie_name: String,
    pub cookie_size: String,
    pub issued: String,
    pub created: String,
    pub expires: String,
    pub entries: Vec<(String, String)>,
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
