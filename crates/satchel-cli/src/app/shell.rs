//! What runs around every request of the app, in one service: the early 413 (before anything reads the body, so before hyper answers
//! `Expect: 100-continue`), the router, error pages, one log line, the request metrics and the
//! security headers.
//!
//! One hand-written service instead of a stack of `from_fn` middlewares: each of those boxes
//! the service it wraps and its future on every request.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, Method};
use axum::response::Response;
use axum::Router;
use satchel::login::ClientAddr;
use tower::{Layer as _, Service, ServiceExt as _};

use super::{errors, guards, metrics, AppService, MAX_BODY, ROUTES};

/// The security headers every response gets (unless a handler set its own).
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
];

/// `routes`, with the body limit ([`MAX_BODY`]), inside the shell (see the module docs).
pub fn around(routes: Router) -> impl AppService {
    AppShell {
        routes: DefaultBodyLimit::max(MAX_BODY).layer(routes),
    }
}

#[derive(Clone)]
struct AppShell<S> {
    routes: S,
}

impl<S: AppService> Service<Request> for AppShell<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready; readiness is checked again on the clone in `call`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let routes = self.routes.clone();
        Box::pin(async move {
            let observed = Observation::begin(&request);
            let html = errors::wants_html(request.headers());
            let response = match guards::oversized_body_refusal(&request) {
                Some(refusal) => refusal,
                None => routes.oneshot(request).await?,
            };
            let response = errors::with_error_page(html, response).await;
            Ok(observed.end(response))
        })
    }
}

/// What is known of a request before it runs, for its log line and metrics.
struct Observation {
    start: Instant,
    peer: Option<IpAddr>,
    method: Method,
    route: &'static str,
    /// The path, copied only when the log line will be written.
    logged_path: Option<String>,
}

impl Observation {
    /// Notes the request (its client address is the connection's, see `connections`).
    fn begin(request: &Request) -> Self {
        let peer = request.extensions().get::<ClientAddr>().map(|c| c.0);
        let path = request.uri().path();
        Observation {
            start: Instant::now(),
            peer,
            method: request.method().clone(),
            route: ROUTES
                .iter()
                .find(|r| **r == path)
                .copied()
                .unwrap_or("other"),
            logged_path: tracing::enabled!(tracing::Level::INFO).then(|| path.to_owned()),
        }
    }

    /// Logs and counts the answered request, and adds the security headers.
    fn end(self, mut response: Response) -> Response {
        let elapsed = self.start.elapsed();
        let status = response.status().as_u16();
        if let Some(path) = self.logged_path {
            tracing::info!(
                method = %self.method,
                path = %truncate(&path, 200),
                status,
                micros = elapsed.as_micros() as u64,
                peer = ?self.peer,
                "request"
            );
        }
        metrics::Metrics::request(&self.method, self.route, status, elapsed);
        let headers = response.headers_mut();
        guards::no_store_when_session_dependent(headers);
        // Room for all four at once: one growth of the map, not one per insert.
        headers.reserve(SECURITY_HEADERS.len());
        for (name, value) in SECURITY_HEADERS {
            headers
                .entry(name)
                .or_insert(HeaderValue::from_static(value));
        }
        response
    }
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
