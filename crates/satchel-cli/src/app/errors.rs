//! Error responses as pages. Every 4xx and 5xx that is not already HTML — axum's empty 404 and
//! 405, the session layer's 503 when the store is down, the guards' 403 and 413 — becomes a
//! small HTML page with a link home for a browser (a request whose `Accept` names
//! `text/html`), and a one-line plain-text answer for every other client. Headers such as
//! `Allow`, `Retry-After` and `Set-Cookie` are kept.

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::templates::{render, ErrorPage};

/// Error bodies longer than this are not rewritten (ours are one line).
const MAX_ERROR_BODY: usize = 4096;

/// Whether the client asked for HTML (browsers name `text/html` in `Accept`; curl and
/// monitoring tools send `*/*` or nothing).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let refused = |p: &str| p.replace(' ', "").eq_ignore_ascii_case("q=0");
            parts
                .next()
                .is_some_and(|t| t.eq_ignore_ascii_case("text/html"))
                && !parts.any(refused)
        })
}

/// `response` as an error page (see the module docs) when it is a 4xx or 5xx that is not HTML;
/// `html` is [`wants_html`] of its request.
pub async fn with_error_page(html: bool, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_html(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let detail = detail(status, &text);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept"));
    if !html {
        if text.is_empty() {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return Response::from_parts(
                parts,
                Body::from(format!("{}: {detail}\n", heading(status))),
            );
        }
        return Response::from_parts(parts, Body::from(format!("{text}\n")));
    }
    let page = ErrorPage {
        flashes: Vec::new(),
        heading: heading(status),
        detail,
    };
    let rendered = render(status, &page);
    let (page_parts, page_body) = rendered.into_parts();
    for (name, value) in &page_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, page_body)
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// `404 Not Found`.
fn heading(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    )
}

/// The sentence under the heading: the handler's own text without its `404 Not Found: `
/// prefix, or a default for the statuses that come without a body.
fn detail(status: StatusCode, text: &str) -> String {
    let prefix = format!("{}: ", heading(status));
    if let Some(rest) = text.strip_prefix(&prefix) {
        return rest.to_owned();
    }
    if !text.is_empty() {
        return text.to_owned();
    }
    match status {
        StatusCode::NOT_FOUND => "There is no page at this address.".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => {
            "This page exists, but not for this method (the Allow header lists the ones it takes)."
                .to_owned()
        }
        _ => "The request could not be served.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn browsers_get_html_other_clients_do_not() {
        assert!(wants_html(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("text/html;q=0, text/plain")));
        assert!(!wants_html(&HeaderMap::new()));
    }

    #[test]
    fn the_detail_drops_the_repeated_status() {
        assert_eq!(
            detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Unavailable: the session store is not answering"
            ),
            "the session store is not answering"
        );
        assert_eq!(
            detail(StatusCode::NOT_FOUND, ""),
            "There is no page at this address."
        );
    }
}
