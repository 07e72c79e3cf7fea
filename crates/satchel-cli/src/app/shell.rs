//! What runs around every request of the app, in one service: the early 413 (before anything reads the body, so before hyper answers
//! `Expect: 100-continue`), the choice between the probes and the session routes, error pages,
//! one log line, the request metrics and the security headers.
//!
//! One hand-written service instead of a stack of `from_fn` middlewares: each of those boxes
//! the service it wraps and its future on every request. It calls the routes it was polled
//! ready on (no clone, no `oneshot`), and picks the probes by path itself, where a router with
//! the session routes as its fallback would route every request twice and box it once more.

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
use satchel_session::login::ClientAddr;
use tower::{Layer as _, Service};

use super::{errors, guards, metrics, AppService, MAX_BODY, PROBES, ROUTES};

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

/// The app: `probes` for the [`PROBES`] paths, `sessions` for every other, both with the body
/// limit ([`MAX_BODY`]), inside the shell (see the module docs).
pub fn around<S: AppService>(probes: Router, sessions: S) -> impl AppService {
    AppShell {
        probes: DefaultBodyLimit::max(MAX_BODY).layer(probes),
        sessions: DefaultBodyLimit::max(MAX_BODY).layer(sessions),
    }
}

#[derive(Clone)]
struct AppShell<P, S> {
    probes: P,
    sessions: S,
}

impl<P: AppService, S: AppService> Service<Request> for AppShell<P, S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both are routers (always ready); asked anyway, as the contract says.
        std::task::ready!(self.probes.poll_ready(cx))?;
        self.sessions.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let observed = Observation::begin(&request);
        let html = errors::wants_html(request.headers());
        let handled = match guards::oversized_body_refusal(&request) {
            Some(refusal) => Handled::Refused(refusal),
            None if PROBES.contains(&observed.route) => Handled::Probe(self.probes.call(request)),
            None => Handled::Session(self.sessions.call(request)),
        };
        Box::pin(async move {
            let response = match handled {
                Handled::Refused(refusal) => refusal,
                Handled::Probe(probe) => probe.await?,
                Handled::Session(session) => session.await?,
            };
            let response = errors::with_error_page(html, response).await;
            Ok(observed.end(response))
        })
    }
}

/// Where a request went: refused before routing, or the future of the routes that took it.
enum Handled<P, S> {
    Refused(Response),
    Probe(P),
    Session(S),
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
