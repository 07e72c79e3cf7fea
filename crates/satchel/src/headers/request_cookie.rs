//! Where the request's cookie is read: the `Cookie` headers are kept as received (a cheap
//! reference-counted copy) until the session is first opened, then parsed once into the values
//! that carry the session's name. A request almost always sends one `Cookie` header holding one
//! session cookie: both lists keep their first entry inline, so reading it allocates nothing.

use std::sync::OnceLock;

use cookie::Cookie;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use smallvec::SmallVec;

/// The `Cookie` headers of one request.
#[derive(Debug, Default)]
pub(crate) struct RequestCookies {
    headers: SmallVec<[HeaderValue; 1]>,
    /// The values under the session's name, parsed at first use.
    parsed: OnceLock<SmallVec<[CookieValue; 1]>>,
}

impl RequestCookies {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self::from_values(headers.get_all(COOKIE).iter().cloned())
    }

    /// The cookies of a request whose `Cookie` header values are `values` (an adapter whose
    /// framework has its own header types converts them).
    pub fn from_values(values: impl IntoIterator<Item = HeaderValue>) -> Self {
        RequestCookies {
            headers: values.into_iter().collect(),
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
            let mut values = SmallVec::new();
            for header in &self.headers {
                // UTF-8 is all the cookie parser needs (hyper has already refused control
                // bytes); a value the codec then reads is base64 or it is refused there.
                let Ok(text) = std::str::from_utf8(header.as_bytes()) else {
                    continue;
                };
                for cookie in Cookie::split_parse(text).filter_map(Result::ok) {
                    if cookie.name() == name {
                        if let Some(value) = CookieValue::find(header, text, cookie.value_trimmed())
                        {
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
    /// `value` is a slice of `text`, `header`'s text (the cookie parser borrows): its place is
    /// found from the addresses, and checked.
    fn find(header: &HeaderValue, text: &str, value: &str) -> Option<Self> {
        let start = (value.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        let end = start + value.len();
        (text.get(start..end)? == value).then(|| CookieValue {
            header: header.clone(),
            start,
            end,
        })
    }

    /// The value's text (UTF-8, checked when the header was parsed; checked again here on the
    /// value's own bytes only).
    pub fn as_str(&self) -> &str {
        self.header
            .as_bytes()
            .get(self.start..self.end)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[&str]) -> RequestCookies {
        let bytes: Vec<&[u8]> = headers.iter().map(|h| h.as_bytes()).collect();
        request_bytes(&bytes)
    }

    fn session_values(cookies: &RequestCookies) -> Vec<&str> {
        cookies
            .values("session")
            .iter()
            .map(CookieValue::as_str)
            .collect()
    }

    fn request_bytes(headers: &[&[u8]]) -> RequestCookies {
        let mut map = HeaderMap::new();
        for h in headers {
            map.append(COOKIE, HeaderValue::from_bytes(h).unwrap());
        }
        RequestCookies::from_headers(&map)
    }

    #[test]
    fn every_value_of_the_session_name_is_found_in_order_across_headers() {
        let cookies = request(&["a=1; session=first", "session=\"second\"; b=2"]);
        assert_eq!(session_values(&cookies), ["first", "second"]);
        assert!(cookies.values("session").len() == 2);
    }

    #[test]
    fn another_cookie_with_non_ascii_text_does_not_hide_the_session() {
        let cookies = request(&["theme=caf\u{e9}; session=abc"]);
        assert_eq!(session_values(&cookies), ["abc"]);
    }

    #[test]
    fn a_header_that_is_not_utf8_is_skipped_not_fatal() {
        let cookies = request_bytes(&[b"session=\xff\xfe", b"session=second"]);
        assert_eq!(session_values(&cookies), ["second"]);
    }

    #[test]
    fn a_request_without_the_cookie_has_no_values() {
        assert!(request(&[]).is_empty());
        let cookies = request(&["other=1; sessionx=2"]);
        assert!(!cookies.is_empty());
        assert!(cookies.values("session").is_empty());
    }
}
