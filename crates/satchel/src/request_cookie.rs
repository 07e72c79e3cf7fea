//! Where the request's cookie is read: the `Cookie` headers are kept as received (a cheap
//! reference-counted copy) until the session is first opened, then parsed once into the values
//! that carry the session's name.

use std::sync::OnceLock;

use cookie::Cookie;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

/// The `Cookie` headers of one request.
#[derive(Debug, Default)]
pub(crate) struct RequestCookies {
    headers: Vec<HeaderValue>,
    /// The values under the session's name, parsed at first use.
    parsed: OnceLock<Vec<CookieValue>>,
}

impl RequestCookies {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        RequestCookies {
            headers: headers.get_all(COOKIE).iter().cloned().collect(),
            parsed: OnceLock::new(),
        }
    }

    /// Whether the request sent no cookie at all (then there is no session to open).
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Every cookie value named `name`, in the order the browser sent them. A parent domain can
    /// plant a second cookie of the same name ("cookie tossing"), so a backend tries each; a
    /// `__Host-` name prevents the planting altogether. Parsed once per request: `name` is the
    /// layer's, the same on every call.
    pub fn values(&self, name: &str) -> &[CookieValue] {
        self.parsed.get_or_init(|| {
            let mut values = Vec::new();
            for header in &self.headers {
                let Ok(text) = header.to_str() else { continue };
                for cookie in Cookie::split_parse(text).filter_map(Result::ok) {
                    if cookie.name() == name {
                        if let Some(value) = CookieValue::find(header, cookie.value_trimmed()) {
                            values.push(value);
                        }
                    }
                }
            }
            values
        })
    }
}

/// One cookie value from the request: its header (shared, not copied) and where the value sits
/// in it. Kept after decoding, so an unchanged session can be re-issued from its verified text.
#[derive(Debug, Clone)]
pub(crate) struct CookieValue {
    header: HeaderValue,
    start: usize,
    end: usize,
}

impl CookieValue {
    /// `value` is a slice of `header`'s text (the cookie parser borrows): its place is found
    /// from the addresses, and checked.
    fn find(header: &HeaderValue, value: &str) -> Option<Self> {
        let text = header.to_str().ok()?;
        let start = (value.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        let end = start + value.len();
        (text.get(start..end)? == value).then(|| CookieValue {
            header: header.clone(),
            start,
            end,
        })
    }

    pub fn as_str(&self) -> &str {
        self.header
            .to_str()
            .ok()
            .and_then(|text| text.get(self.start..self.end))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[&str]) -> RequestCookies {
        let mut map = HeaderMap::new();
        for h in headers {
            map.append(COOKIE, HeaderValue::from_str(h).unwrap());
        }
        RequestCookies::from_headers(&map)
    }

    #[test]
    fn every_value_of_the_session_name_is_found_in_order_across_headers() {
        let cookies = request(&["a=1; session=first", "session=\"second\"; b=2"]);
        let values: Vec<_> = cookies
            .values("session")
            .iter()
            .map(CookieValue::as_str)
            .collect();
        assert_eq!(values, ["first", "second"]);
        assert!(cookies.values("session").len() == 2);
    }

    #[test]
    fn a_request_without_the_cookie_has_no_values() {
        assert!(request(&[]).is_empty());
        let cookies = request(&["other=1; sessionx=2"]);
        assert!(!cookies.is_empty());
        assert!(cookies.values("session").is_empty());
    }
}
