//! One in-process request harness: a request through an axum [`Router`] (its layers included)
//! without a socket, the response read whole. The library's layer tests, store-layer tests and
//! Flask save-rule tests all send their requests through it.

use axum::body::Body;
use axum::Router;
use http::{header, HeaderMap, HeaderName, Request, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// Every header.
    pub headers: HeaderMap,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

impl Reply {
    /// Every value of header `name`, in order.
    pub fn header_values(&self, name: HeaderName) -> Vec<String> {
        header_values(&self.headers, name)
    }

    /// Every `Set-Cookie` header, whole.
    pub fn set_cookies(&self) -> Vec<String> {
        self.header_values(header::SET_COOKIE)
    }

    /// Every `Vary` header.
    pub fn vary(&self) -> Vec<String> {
        self.header_values(header::VARY)
    }

    /// The value the response sets for cookie `name` (`""` for a deletion), if it sets it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|set| {
            let pair = set.split(';').next()?;
            let value = pair.strip_prefix(name)?.strip_prefix('=')?;
            Some(value.to_owned())
        })
    }

    /// The `name=value` pair of the only `Set-Cookie` header (panics if there is not exactly one).
    pub fn cookie_pair(&self) -> String {
        let cookies = self.set_cookies();
        assert_eq!(cookies.len(), 1, "expected one Set-Cookie, got {cookies:?}");
        cookies[0].split(';').next().unwrap_or_default().to_owned()
    }
}

/// Every value of header `name` in `headers`, in order (values that are not text are skipped).
pub fn header_values(headers: &HeaderMap, name: HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Sends `request` through `router` and reads the response whole.
pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("an axum Router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("an in-process body reads whole")
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `GET path` through `router`, with `cookie` as the whole `Cookie` header if given.
pub async fn get(router: &Router, path: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(
        router,
        request.body(Body::empty()).expect("a valid request"),
    )
    .await
}
