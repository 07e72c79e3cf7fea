//! The session cookie on the wire, both ways.
//!
//! **Where the cookie is read** ([`RequestCookies`]): the `Cookie` headers are kept as received (a cheap
//! reference-counted copy) until the session is first opened, then parsed once into the values
//! that carry the session's name. A request almost always sends one `Cookie` header holding one
//! session cookie: both lists keep their first entry inline, so reading it allocates nothing.
//!
//! **Where the cookie is written** ([`CookieWriter`]): every `Set-Cookie` satchel sends comes
//! from here, with the `Vary: Cookie` and `Cache-Control: private` that go with it.
//!
//! - The cookie carries the configured name, path (`SESSION_COOKIE_PATH`, else Flask's
//!   `APPLICATION_ROOT`), domain and flags; `Expires` only for permanent sessions.
//! - A deleting cookie repeats the name, domain, path and flags, so the browser matches it.
//! - A cookie whose `name=value` exceeds [`BROWSER_COOKIE_LIMIT`] is never sent (browsers drop it
//!   without a word): the save fails with a clear error instead, as Rails' `CookieOverflow`.
//! - A response that sets a cookie gets `Cache-Control: private` unless the app set its own, so
//!   no shared cache hands one user's cookie to another.

use std::sync::OnceLock;

use cookie::Cookie;
use http::header::{Entry, CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue};
use smallvec::SmallVec;

use crate::codec::BROWSER_COOKIE_LIMIT;
use crate::config::SessionConfig;
use crate::error::SaveError;
use crate::stats::Counters;

// ---- Reading: the request's `Cookie` headers. ----

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
mod reading_tests {
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

// ---- Writing: `Set-Cookie`, `Vary: Cookie`, `Cache-Control: private`. ----

/// Writes the session cookies of one layer's responses.
pub(crate) struct CookieWriter {
    config: SessionConfig,
    /// The `Set-Cookie` text without an expiry, cut once around the value.
    text: CookieText,
}

impl CookieWriter {
    pub fn new(config: SessionConfig) -> Self {
        CookieWriter {
            text: CookieText::new(&config),
            config,
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The `name=value` length a cookie holding `value` would have.
    pub fn pair_len(&self, value: &str) -> usize {
        self.config.cookie_name.len() + 1 + value.len()
    }

    /// Sets the session cookie to `value`; `expires_at` (Unix seconds) for a permanent session.
    /// Refuses a cookie browsers would drop.
    pub fn write(
        &self,
        headers: &mut HeaderMap,
        value: String,
        expires_at: Option<u64>,
        counters: &Counters,
    ) -> Result<(), SaveError> {
        let pair_len = self.pair_len(&value);
        if pair_len > BROWSER_COOKIE_LIMIT {
            counters.oversized();
            return Err(SaveError::Oversized(pair_len));
        }
        let header = match expires_at {
            Some(expires_at) => {
                let mut cookie = base_cookie(&self.config, value);
                cookie.set_expires(expiry_time(expires_at));
                header_text(&cookie)
            }
            None => self.text.with_value(&self.config, value),
        };
        if header.len() > self.config.max_cookie_size {
            tracing::warn!(
                size = header.len(),
                max = self.config.max_cookie_size,
                "session cookie is larger than MAX_COOKIE_SIZE; browsers may ignore it"
            );
        }
        append_set_cookie(headers, header);
        Ok(())
    }

    /// Tells the browser to forget the session: same name, domain, path and flags, expired.
    pub fn delete(&self, headers: &mut HeaderMap) {
        let mut cookie = base_cookie(&self.config, String::new());
        cookie.set_max_age(time::Duration::ZERO);
        cookie.set_expires(time::OffsetDateTime::UNIX_EPOCH);
        append_set_cookie(headers, header_text(&cookie));
    }
}

/// Adds `Vary: Cookie` unless the response already varies on it (or on everything).
pub(crate) fn add_vary_cookie(headers: &mut HeaderMap) {
    let cookie = HeaderValue::from_static("Cookie");
    match headers.entry(VARY) {
        Entry::Vacant(vacant) => {
            vacant.insert(cookie);
        }
        Entry::Occupied(mut vary) => {
            let already = vary
                .iter()
                .any(|v| names_cookie(v) || vary_names(v).any(|name| name == "*"));
            if !already {
                vary.append(cookie);
            }
        }
    }
}

/// Whether a response is marked as depending on the session cookie: one of its `Vary` headers
/// names `Cookie` (case-insensitively). The session layer marks every response whose handler
/// read or changed the session this way (Flask's rule), so an app can key its own caching
/// policy on it, as `satchel serve` does with `Cache-Control: no-store`.
///
/// ```
/// use http::{header::VARY, HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// assert!(!satchel_session::varies_on_cookie(&headers));
/// headers.append(VARY, HeaderValue::from_static("Accept-Encoding, cookie"));
/// assert!(satchel_session::varies_on_cookie(&headers));
/// ```
pub fn varies_on_cookie(headers: &HeaderMap) -> bool {
    headers.get_all(VARY).iter().any(names_cookie)
}

/// Whether one `Vary` value names `Cookie`. `Cookie` alone (as [`add_vary_cookie`] writes it)
/// is the usual value: checked first, without splitting.
fn names_cookie(value: &HeaderValue) -> bool {
    value == "Cookie" || vary_names(value).any(|name| name.eq_ignore_ascii_case("cookie"))
}

/// The header names one `Vary` value lists (none if it is not text).
fn vary_names(value: &HeaderValue) -> impl Iterator<Item = &str> {
    value
        .to_str()
        .into_iter()
        .flat_map(|text| text.split(','))
        .map(str::trim)
}

fn expiry_time(unix_seconds: u64) -> time::OffsetDateTime {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// A cookie with the session's name, value and configured flags.
fn base_cookie(config: &SessionConfig, value: String) -> Cookie<'static> {
    let mut cookie = Cookie::new(config.cookie_name.clone(), value);
    cookie.set_path(config.effective_cookie_path().to_owned());
    cookie.set_http_only(config.cookie_httponly);
    cookie.set_secure(config.cookie_secure);
    cookie.set_partitioned(config.cookie_partitioned);
    cookie.set_same_site(config.cookie_samesite);
    if let Some(domain) = &config.cookie_domain {
        cookie.set_domain(domain.clone());
    }
    cookie
}

/// The session cookie's `Set-Cookie` text without an expiry, as the cookie crate writes it,
/// cut once around the value: `name=` before it, the attributes after it. Each response then
/// joins three strings instead of running the crate's formatter.
struct CookieText {
    /// `name=`, when the name needs no percent-encoding.
    prefix: Option<String>,
    /// `; HttpOnly; SameSite=Lax; Path=/`, and so on.
    attributes: String,
}

impl CookieText {
    fn new(config: &SessionConfig) -> Self {
        let probe = base_cookie(config, String::new());
        let text = header_text(&probe);
        let prefix = format!("{}=", config.cookie_name);
        let attributes = text.strip_prefix(&prefix).map(str::to_owned);
        match attributes {
            Some(attributes) if is_plain(&config.cookie_name) => CookieText {
                prefix: Some(prefix),
                attributes,
            },
            _ => CookieText {
                prefix: None,
                attributes: String::new(),
            },
        }
    }

    /// The `Set-Cookie` text for `value`, no expiry: the same bytes [`header_text`] gives.
    fn with_value(&self, config: &SessionConfig, value: String) -> String {
        match &self.prefix {
            Some(prefix) if is_plain(&value) => {
                let mut text =
                    String::with_capacity(prefix.len() + value.len() + self.attributes.len());
                text.push_str(prefix);
                text.push_str(&value);
                text.push_str(&self.attributes);
                text
            }
            _ => header_text(&base_cookie(config, value)),
        }
    }
}

/// Whether percent-encoding leaves `text` as it is: base64url and `.`, what every session
/// value satchel writes is made of.
fn is_plain(text: &str) -> bool {
    // No early exit: the whole text is checked anyway in the usual (plain) case, and a loop
    // without one is vectorised.
    text.bytes().fold(true, |plain, b| {
        plain & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.'))
    })
}

/// The `Set-Cookie` text. Session values are base64url (with `.`), which percent-encoding
/// leaves as they are, so the encoder (it formats byte by byte, more than the rest of the
/// header costs) only runs for a name or value outside that alphabet.
fn header_text(cookie: &Cookie<'_>) -> String {
    if is_plain(cookie.name()) && is_plain(cookie.value()) {
        cookie.to_string()
    } else {
        cookie.encoded().to_string()
    }
}

fn append_set_cookie(headers: &mut HeaderMap, header: String) {
    let value = HeaderValue::try_from(header)
        .expect("a cookie built from validated settings and a base64 value is a valid header");
    headers.append(SET_COOKIE, value);
    add_vary_cookie(headers);
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private"));
}

#[cfg(test)]
mod writing_tests {
    use super::*;

    #[test]
    fn the_preformatted_cookie_text_is_the_cookie_crates_whatever_the_settings() {
        let mut configs = vec![SessionConfig::default(), SessionConfig::flask_defaults()];
        configs.push(SessionConfig {
            cookie_name: "__Host-sess ion".into(),
            cookie_domain: Some("example.org".into()),
            cookie_path: Some("/app".into()),
            cookie_partitioned: true,
            ..SessionConfig::default()
        });
        configs.push(SessionConfig {
            application_root: "/root".into(),
            ..SessionConfig::flask_defaults()
        });
        for config in &configs {
            let text = CookieText::new(config);
            for value in ["eyJhIjoxfQ.ZVPxAA.nyowvj9H-V4H7_VR0", "", "a b;c"] {
                let made = text.with_value(config, value.to_owned());
                let crate_made = base_cookie(config, value.to_owned()).encoded().to_string();
                assert_eq!(made, crate_made, "{value:?} with {:?}", config.cookie_name);
            }
        }
    }

    #[test]
    fn the_set_cookie_text_is_the_percent_encoded_one_whatever_the_value() {
        for value in [
            "eyJhIjoxfQ.ZVPxAA.nyowvj9H-V4H7_VR0",
            "",
            "a b;c",
            "ü%\"x",
            "x=y,z",
        ] {
            let mut cookie = Cookie::new("session", value.to_owned());
            cookie.set_path("/");
            cookie.set_http_only(true);
            assert_eq!(
                header_text(&cookie),
                cookie.encoded().to_string(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn the_cookie_path_is_the_application_root_unless_a_cookie_path_is_set() {
        let mut config = SessionConfig {
            application_root: "/foo".into(),
            ..SessionConfig::flask_defaults()
        };
        let mut headers = HeaderMap::new();
        let writer = CookieWriter::new(config.clone());
        writer
            .write(&mut headers, "v".into(), None, &Counters::default())
            .unwrap();
        assert!(headers[SET_COOKIE].to_str().unwrap().contains("Path=/foo"));
        config.cookie_path = Some("/bar".into());
        let mut headers = HeaderMap::new();
        CookieWriter::new(config).delete(&mut headers);
        assert!(headers[SET_COOKIE].to_str().unwrap().contains("Path=/bar"));
    }
}
