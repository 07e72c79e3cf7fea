//! Where the session cookie is written: every `Set-Cookie` satchel sends comes from here, with
//! the `Vary: Cookie` and `Cache-Control: private` that go with it.
//!
//! - The cookie carries the configured name, path (`SESSION_COOKIE_PATH`, else Flask's
//!   `APPLICATION_ROOT`), domain and flags; `Expires` only for permanent sessions.
//! - A deleting cookie repeats the name, domain, path and flags, so the browser matches it.
//! - A cookie whose `name=value` exceeds [`BROWSER_COOKIE_LIMIT`] is never sent (browsers drop it
//!   without a word): the save fails with a clear error instead, as Rails' `CookieOverflow`.
//! - A response that sets a cookie gets `Cache-Control: private` unless the app set its own, so
//!   no shared cache hands one user's cookie to another.

use cookie::Cookie;
use http::header::{Entry, CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue};

use crate::codec::BROWSER_COOKIE_LIMIT;
use crate::config::SessionConfig;
use crate::error::SaveError;
use crate::stats::Counters;

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
/// assert!(!satchel::varies_on_cookie(&headers));
/// headers.append(VARY, HeaderValue::from_static("Accept-Encoding, cookie"));
/// assert!(satchel::varies_on_cookie(&headers));
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
mod tests {
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
