//! Request guards the routes share: the same-origin check for state-changing requests that
//! carry no CSRF token, the early body-size check, `Cache-Control` for pages that depend on the
//! session, and who may read `/metrics`.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::MAX_BODY;

/// Why a request was refused as cross-site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossSite(&'static str);

impl IntoResponse for CrossSite {
    fn into_response(self) -> Response {
        tracing::warn!(reason = self.0, "cross-site request refused");
        (
            StatusCode::FORBIDDEN,
            format!(
                "403 Forbidden: this request came from another site ({}); use the button on \
                 this site's own page instead\n",
                self.0
            ),
        )
            .into_response()
    }
}

/// Whether the request was made by this site's own pages (or typed by the user), for routes
/// that change state without a CSRF token (`/logout`, the home page's controls). In order:
///
/// 1. `Sec-Fetch-Site` (every current browser sends it): `same-origin` or `none` (the user
///    typed the URL or used a bookmark) passes; `same-site` and `cross-site` are refused;
/// 2. else `Origin`, when present, must name this host;
/// 3. else `Referer`, when present, must name this host;
/// 4. else the request passes: a client that sends none of them is not a browser following a
///    link from another site (old browsers send `Referer` on cross-site links unless told not
///    to, and a site that strips it only logs its visitor out of a demo app).
pub fn same_origin(headers: &HeaderMap) -> Result<(), CrossSite> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(CrossSite("Sec-Fetch-Site is not same-origin")),
        };
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    for (name, what) in [
        (header::ORIGIN, "Origin names another host"),
        (header::REFERER, "Referer names another host"),
    ] {
        if let Some(value) = headers.get(&name) {
            let authority = value
                .to_str()
                .ok()
                .and_then(|v| v.parse::<Uri>().ok())
                .and_then(|uri| uri.authority().map(|a| a.as_str().to_ascii_lowercase()));
            return match (authority, host) {
                (Some(from), Some(host)) if from == host.to_ascii_lowercase() => Ok(()),
                _ => Err(CrossSite(what)),
            };
        }
    }
    Ok(())
}

/// A request whose `Content-Length` is over [`MAX_BODY`] gets 413 before anything reads its
/// body — so before hyper answers `Expect: 100-continue` with `100 Continue` (it does that when
/// the body is first read) and before the session is loaded. Bodies without a length are still
/// cut at [`MAX_BODY`] by the body limit as they are read.
pub fn oversized_body_refusal(request: &Request) -> Option<Response> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_none_or(|len| len <= MAX_BODY as u64) {
        return None;
    }
    let mut response = (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("413 Payload Too Large: request bodies are limited to {MAX_BODY} bytes\n"),
    )
        .into_response();
    // The unread body cannot be skipped cheaply: the connection ends after this answer.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Some(response)
}

/// `Cache-Control: private, no-store` on every response that depends on the session (the
/// session layer marks those with `Vary: Cookie`) unless the handler chose its own policy:
/// neither a shared cache nor the browser's history keeps a page showing someone's session
/// (the dashboard after logout, on a shared computer). The library's own `private` on
/// cookie-setting responses is strengthened the same way.
pub fn no_store_when_session_dependent(headers: &mut HeaderMap) {
    let varies_on_cookie = satchel_session::varies_on_cookie(headers);
    let chosen = headers
        .get(header::CACHE_CONTROL)
        .is_some_and(|v| v.as_bytes() != b"private");
    if varies_on_cookie && !chosen {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
}

/// Who may read `/metrics` (it shows login-failure counts and traffic). Without a token, only
/// clients on a loopback address (a scraper on the same host); with a token, only requests
/// carrying `Authorization: Bearer TOKEN`, from any address — loopback included, since behind
/// a reverse proxy on the same host every client arrives from loopback.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    token: Option<String>,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = if self.token.is_some() {
            "bearer token"
        } else {
            "loopback only"
        };
        f.debug_tuple("MetricsAccess").field(&mode).finish()
    }
}

/// Why `/metrics` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsRefusal {
    /// No token is configured and the client is not on loopback.
    NotLoopback,
    /// A token is configured and the request did not carry it.
    NoToken,
}

impl IntoResponse for MetricsRefusal {
    fn into_response(self) -> Response {
        match self {
            MetricsRefusal::NotLoopback => (
                StatusCode::FORBIDDEN,
                "403 Forbidden: /metrics is served to loopback clients only; start the server \
                 with --metrics-token to read it from elsewhere\n",
            )
                .into_response(),
            MetricsRefusal::NoToken => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "401 Unauthorized: /metrics needs Authorization: Bearer <the metrics token>\n",
            )
                .into_response(),
        }
    }
}

impl MetricsAccess {
    /// Loopback clients only, or (with `token`) bearers of it only. An empty token counts as
    /// none.
    pub fn new(token: Option<String>) -> Self {
        MetricsAccess {
            token: token.filter(|t| !t.is_empty()),
        }
    }

    /// Whether a request from `peer` with `headers` may read `/metrics`.
    pub fn check(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<(), MetricsRefusal> {
        match &self.token {
            Some(token) => {
                let sent = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or("");
                if bool::from(sent.as_bytes().ct_eq(token.as_bytes())) {
                    Ok(())
                } else {
                    Err(MetricsRefusal::NoToken)
                }
            }
            None if peer.is_some_and(|ip| ip.is_loopback()) => Ok(()),
            None => Err(MetricsRefusal::NotLoopback),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn same_origin_follows_sec_fetch_site_then_origin_then_referer() {
        let host = ("host", "127.0.0.1:5000");
        for ok in [
            vec![host, ("sec-fetch-site", "same-origin")],
            vec![host, ("sec-fetch-site", "none")],
            vec![host, ("origin", "http://127.0.0.1:5000")],
            vec![host, ("referer", "http://127.0.0.1:5000/dashboard")],
            vec![host],
        ] {
            assert_eq!(same_origin(&headers(&ok)), Ok(()), "{ok:?}");
        }
        for refused in [
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![host, ("sec-fetch-site", "same-site")],
            // Sec-Fetch-Site wins over a matching Origin.
            vec![
                host,
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://127.0.0.1:5000"),
            ],
            vec![host, ("origin", "http://evil.example")],
            vec![host, ("origin", "null")],
            vec![host, ("referer", "http://evil.example/page")],
            vec![host, ("referer", "http://127.0.0.1:5001/")],
        ] {
            assert!(same_origin(&headers(&refused)).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn metrics_without_a_token_are_for_loopback_only() {
        let access = MetricsAccess::new(None);
        let none = HeaderMap::new();
        assert_eq!(access.check(Some([127, 0, 0, 1].into()), &none), Ok(()));
        assert_eq!(access.check(Some("::1".parse().unwrap()), &none), Ok(()));
        for peer in [Some([192, 168, 1, 9].into()), None] {
            assert_eq!(access.check(peer, &none), Err(MetricsRefusal::NotLoopback));
        }
    }

    #[test]
    fn metrics_with_a_token_need_it_even_from_loopback() {
        let access = MetricsAccess::new(Some("t0ken".into()));
        let loopback = Some([127, 0, 0, 1].into());
        assert_eq!(
            access.check(loopback, &HeaderMap::new()),
            Err(MetricsRefusal::NoToken)
        );
        let wrong = headers(&[("authorization", "Bearer nope")]);
        assert_eq!(access.check(loopback, &wrong), Err(MetricsRefusal::NoToken));
        let right = headers(&[("authorization", "Bearer t0ken")]);
        assert_eq!(access.check(Some([10, 0, 0, 1].into()), &right), Ok(()));
        // An empty token is no token.
        assert_eq!(
            MetricsAccess::new(Some(String::new())).check(loopback, &HeaderMap::new()),
            Ok(())
        );
    }

    #[test]
    fn session_dependent_responses_are_not_stored() {
        let mut varies = headers(&[("vary", "Accept, Cookie")]);
        no_store_when_session_dependent(&mut varies);
        assert_eq!(varies["cache-control"], "private, no-store");
        let mut library = headers(&[("vary", "Cookie"), ("cache-control", "private")]);
        no_store_when_session_dependent(&mut library);
        assert_eq!(library["cache-control"], "private, no-store");
        let mut chosen = headers(&[("vary", "Cookie"), ("cache-control", "no-cache")]);
        no_store_when_session_dependent(&mut chosen);
        assert_eq!(chosen["cache-control"], "no-cache");
        let mut public = HeaderMap::new();
        no_store_when_session_dependent(&mut public);
        assert!(public.get("cache-control").is_none());
    }
}
