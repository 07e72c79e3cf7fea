//! What the pages show about the current session: its keys and values, the cookie's format,
//! size (against the browser's 4096 bytes), flags, whether it is permanent and when it
//! expires — and what anyone holding the cookie can read of it (the tutorial's part 6).

use std::io::Read;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use base64::Engine;
use satchel_session::{CookieFormat, SameSite, Session, SessionConfig, Value};

/// A browser drops a cookie whose name and value exceed this many bytes (RFC 6265bis).
pub const BROWSER_COOKIE_LIMIT: usize = 4096;

/// The most of a cookie's readable payload a page shows.
const SHOWN_PAYLOAD: usize = 2000;

/// The session as the pages show it.
pub struct Panel {
    pub format: String,
    /// `cookie` (the data is in the cookie) or `server-side store` (the cookie is an id).
    pub backend: &'static str,
    pub cookie_name: String,
    /// `name=value` bytes of the cookie the session would have now; `None` when empty.
    pub cookie_size: Option<usize>,
    /// Why the session cannot be encoded (it would be refused), if so.
    pub cookie_error: Option<String>,
    pub size_percent: usize,
    pub limit: usize,
    pub entries: Vec<(String, String)>,
    pub permanent: bool,
    /// `PERMANENT_SESSION_LIFETIME`, in words.
    pub lifetime: String,
    pub issued: String,
    pub created: String,
    pub expires: String,
    /// What the browser was told about the cookie's end.
    pub cookie_expiry: String,
    /// The cookie attributes in force: (attribute, value).
    pub flags: Vec<(&'static str, String)>,
}

impl Panel {
    /// The panel for `session` under `config`; `store` says whether sessions live server-side.
    pub fn new(session: &Session, config: &SessionConfig, store: bool) -> Self {
        let entries = session
            .to_dict()
            .iter()
            .map(|(key, value): (&String, &Value)| (key.clone(), value.to_string()))
            .collect::<Vec<_>>();
        let (cookie_size, cookie_error) = if entries.is_empty() {
            (None, None)
        } else {
            match session.encoded_len() {
                Ok(len) => (Some(len), None),
                Err(error) => (None, Some(error.to_string())),
            }
        };
        let times = session.times();
        let time = |t: Option<u64>| t.map_or_else(|| "—".to_owned(), format_time);
        let permanent = session.permanent();
        let lifetime = config.permanent_session_lifetime;
        let cookie_expiry = match (permanent, times) {
            (_, _) if entries.is_empty() => {
                "none: the session is empty, so this response leaves no cookie".to_owned()
            }
            (true, Some(t)) => format!(
                "Expires={} (permanent: the browser keeps it {} after it was issued)",
                format_time(t.expires_at),
                words(lifetime)
            ),
            (true, None) => format!(
                "Expires = now + {} (permanent; set on this response)",
                words(lifetime)
            ),
            (false, _) => {
                "none: a browser-session cookie, deleted when the browser closes".to_owned()
            }
        };
        Panel {
            format: config.format.to_string(),
            backend: if store { "server-side store" } else { "cookie" },
            cookie_name: config.cookie_name.clone(),
            size_percent: cookie_size.map_or(0, |n| (n * 100 / BROWSER_COOKIE_LIMIT).min(100)),
            cookie_size,
            cookie_error,
            limit: BROWSER_COOKIE_LIMIT,
            entries,
            permanent,
            lifetime: words(lifetime),
            issued: time(times.and_then(|t| t.issued_at)),
            created: time(times.map(|t| t.created_at)),
            expires: time(times.map(|t| t.expires_at)),
            cookie_expiry,
            flags: flags(config),
        }
    }
}

/// The cookie attributes `config` puts on the session cookie.
fn flags(config: &SessionConfig) -> Vec<(&'static str, String)> {
    let yes_no = |on: bool| if on { "yes" } else { "no" }.to_owned();
    let same_site = match config.cookie_samesite {
        Some(SameSite::Strict) => "Strict",
        Some(SameSite::Lax) => "Lax",
        Some(SameSite::None) => "None",
        None => "not set (the browser's default, Lax in Chromium)",
    };
    vec![
        ("HttpOnly", yes_no(config.cookie_httponly)),
        ("Secure", yes_no(config.cookie_secure)),
        ("SameSite", same_site.to_owned()),
        ("Path", config.effective_cookie_path().to_owned()),
        (
            "Domain",
            config
                .cookie_domain
                .clone()
                .unwrap_or_else(|| "none (host-only)".to_owned()),
        ),
    ]
}

/// What a holder of the session cookie can read without the secret key.
pub struct Exposure {
    /// The cookie's value as the browser sent it with this request (shortened), if it did.
    pub cookie: Option<String>,
    /// That cookie's `name=value` length, as the panel counts the cookie this response leaves.
    pub sent_size: usize,
    /// One sentence: what that value gives away.
    pub summary: String,
    /// For the flask format: the decoded payload (Flask's tagged JSON), readable by anyone.
    pub payload: Option<String>,
}

impl Exposure {
    /// Reads the session cookie the request carried as anyone holding it could.
    pub fn of(headers: &HeaderMap, config: &SessionConfig, store: bool) -> Self {
        let value = cookie_value(headers, &config.cookie_name);
        let shown = value.as_deref().map(|v| shorten(v, 120));
        let sent_size = value
            .as_deref()
            .map_or(0, |v| config.cookie_name.len() + 1 + v.len());
        let (summary, payload) = match (&value, store, config.format) {
            (None, _, _) => ("Your browser sent no session cookie yet.".to_owned(), None),
            (Some(_), true, _) => (
                "A random 256-bit session id and nothing else: the data stays in the server's \
                 store, which files it under the id's SHA-256."
                    .to_owned(),
                None,
            ),
            (Some(value), false, CookieFormat::Flask) => match flask_payload(value) {
                Some(json) => (
                    "Signed, not encrypted: anyone holding the cookie can decode the payload \
                     below (base64, zlib when it starts with a dot). The signature only stops \
                     them changing it."
                        .to_owned(),
                    Some(shorten(&json, SHOWN_PAYLOAD)),
                ),
                None => (
                    "Not a readable Flask cookie (the server will have refused it).".to_owned(),
                    None,
                ),
            },
            (Some(_), false, _) => (
                "Ciphertext: the sealed format encrypts and authenticates the session \
                 (AES-256-GCM-SIV, key derived from SECRET_KEY), so a holder learns only its \
                 length."
                    .to_owned(),
                None,
            ),
        };
        Exposure {
            cookie: shown,
            sent_size,
            summary,
            payload,
        }
    }
}

/// The first cookie named `name` in the request's `Cookie` headers.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// An itsdangerous token's payload, decoded without the key: `[.]payload.timestamp.signature`,
/// base64url without padding, zlib-compressed when it starts with a dot. Inflation is cut at
/// 64 KiB (as the server cuts it).
fn flask_payload(value: &str) -> Option<String> {
    let (compressed, rest) = match value.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let encoded = rest.split('.').next()?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(encoded).ok()?;
    if !compressed {
        return String::from_utf8(bytes).ok();
    }
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(bytes.as_slice())
        .take(64 * 1024)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// A duration as a person says it: `7 days`, `12 hours`, `90 seconds`.
pub fn words(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (n, unit) = match secs {
        0 => (0, "second"),
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural}")
}

/// Unix seconds as RFC 3339 (UTC).
pub fn format_time(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_words() {
        assert_eq!(words(Duration::from_secs(7 * 86_400)), "7 days");
        assert_eq!(words(Duration::from_secs(86_400)), "1 day");
        assert_eq!(words(Duration::from_secs(7_200)), "2 hours");
        assert_eq!(words(Duration::from_secs(90)), "90 seconds");
        assert_eq!(words(Duration::from_secs(120)), "2 minutes");
    }

    #[test]
    fn a_flask_payload_is_readable_without_the_key() {
        // {"age":25} unsigned-readable: base64url of the JSON, then a timestamp and signature.
        let token = format!(
            "{}.Zx1a2b.c2lnbmF0dXJl",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"age":25}"#)
        );
        assert_eq!(flask_payload(&token).as_deref(), Some(r#"{"age":25}"#));
        let mut deflated = Vec::new();
        std::io::Write::write_all(
            &mut flate2::write::ZlibEncoder::new(&mut deflated, flate2::Compression::default()),
            br#"{"username":"Kimi"}"#,
        )
        .unwrap();
        let compressed = format!(
            ".{}.Zx1a2b.c2ln",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&deflated)
        );
        assert_eq!(
            flask_payload(&compressed).as_deref(),
            Some(r#"{"username":"Kimi"}"#)
        );
        assert_eq!(flask_payload("!!!.x.y"), None);
    }

    #[test]
    fn long_text_is_shortened_on_a_char_boundary() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("ééé", 3), "é… (6 bytes in all)");
    }
}
