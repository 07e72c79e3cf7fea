//! Flask's `SessionInterface`, made explicit: `open_session` reads the cookie, `save_session`
//! decides what the response says about it. Everything else (tower plumbing, extractors) only
//! calls these two. Server-side sessions have their two counterparts in `slot.rs` (the only
//! place a store is called); they share this file's cookie helpers.
//!
//! The save rules are Flask's `SecureCookieSessionInterface.save_session`:
//! - accessed → `Vary: Cookie`;
//! - emptied and modified → a deleting `Set-Cookie` with the same domain, path and flags;
//! - otherwise set a cookie when modified, or permanent with `SESSION_REFRESH_EACH_REQUEST`
//!   (satchel adds: re-issued after a fallback key verified it, after `cycle_id`, and on every
//!   request when an idle timeout is set);
//! - `Expires` only for permanent sessions.
//!
//! satchel adds `Cache-Control: private` to any response that sets a cookie (unless the app set
//! its own), and refuses to send a cookie whose `name=value` exceeds 4096 bytes, which browsers
//! drop without a word.

use std::sync::Arc;

use cookie::Cookie;
use http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue};

use crate::clock::Clock;
use crate::codec::{Codec, EncodeError, Stamp};
use crate::config::SessionConfig;
use crate::session::State;
use crate::stats::SessionStats;

/// Browsers drop a cookie whose name and value together exceed this (RFC 6265bis).
pub const BROWSER_COOKIE_LIMIT: usize = 4096;

/// What one layer shares with every request's session.
pub(crate) struct Context {
    pub config: SessionConfig,
    /// The session cookie's `Set-Cookie` text around its value, formatted once.
    pub cookie_text: CookieText,
    pub backend: Backend,
    pub clock: Clock,
    pub stats: Arc<SessionStats>,
}

/// Where sessions live: in the cookie (a codec), or in a store (the cookie holds an id).
pub(crate) enum Backend {
    Cookie(Box<dyn Codec>),
    Store(crate::slot::StoreBackend),
}

impl Context {
    /// The cookie codec, if sessions live in the cookie.
    pub fn codec(&self) -> Option<&dyn Codec> {
        match &self.backend {
            Backend::Cookie(codec) => Some(codec.as_ref()),
            Backend::Store(_) => None,
        }
    }

    /// The store, if sessions live in one.
    pub fn store(&self) -> Option<&crate::slot::StoreBackend> {
        match &self.backend {
            Backend::Store(store) => Some(store),
            Backend::Cookie(_) => None,
        }
    }

    /// The longest a cookie may live without being re-issued.
    pub fn max_age_secs(config: &SessionConfig) -> u64 {
        let lifetime = config.permanent_session_lifetime;
        config
            .idle_timeout
            .map_or(lifetime, |idle| idle.min(lifetime))
            .as_secs()
    }
}

/// The `Cookie` headers of a request, kept undecoded until a handler uses the session.
pub(crate) fn cookie_headers(headers: &HeaderMap) -> Vec<HeaderValue> {
    headers.get_all(COOKIE).iter().cloned().collect()
}

/// Decodes the session cookie into `state`. With several cookies of the session's name (a
/// parent domain can plant one: "cookie tossing"), the first that verifies wins; a
/// `__Host-`-prefixed name prevents the planting altogether. A cookie that does not verify is
/// an empty session, counted and traced, never an error.
pub(crate) fn open_session(
    ctx: &Context,
    codec: &dyn Codec,
    headers: &[HeaderValue],
    state: &mut State,
) {
    let name = ctx.config.cookie_name.as_str();
    let now = ctx.clock.now();
    let mut rejection = None;
    for header in headers {
        let Ok(text) = header.to_str() else { continue };
        let candidates = Cookie::split_parse(text)
            .filter_map(Result::ok)
            .filter(|c| c.name() == name);
        for candidate in candidates {
            let value = candidate.value_trimmed();
            match codec.decode(value, now) {
                Ok(decoded) => {
                    state.data = decoded.data;
                    state.created_at = Some(decoded.stamp.created_at);
                    state.stamp = Some(decoded.stamp);
                    state.reissue = decoded.by_fallback_key;
                    state.source = CookieSource::find(header, value);
                    return;
                }
                Err(rejected) => {
                    tracing::debug!(cookie = name, reason = %rejected.reason, "session cookie candidate refused");
                    rejection.get_or_insert(rejected.reason);
                }
            }
        }
    }
    if let Some(reason) = rejection {
        ctx.stats.count_rejected(reason);
        tracing::info!(cookie = name, %reason, "session cookie rejected; starting an empty session");
    }
}

/// The verified cookie value a session was decoded from, for [`Codec::reencode`]: the request's
/// header (shared, not copied) and where the value sits in it.
#[derive(Debug, Clone)]
pub(crate) struct CookieSource {
    header: HeaderValue,
    start: usize,
    end: usize,
}

impl CookieSource {
    /// `value` is a slice of `header`'s text (the cookie parser borrows): its place is found
    /// from the addresses, and checked.
    fn find(header: &HeaderValue, value: &str) -> Option<Self> {
        let text = header.to_str().ok()?;
        let start = (value.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        let end = start + value.len();
        (text.get(start..end)? == value).then(|| CookieSource {
            header: header.clone(),
            start,
            end,
        })
    }

    fn value(&self) -> &str {
        self.header
            .to_str()
            .ok()
            .and_then(|text| text.get(self.start..self.end))
            .unwrap_or_default()
    }
}

/// The times to seal into a cookie issued now.
fn stamp(config: &SessionConfig, state: &State, now: u64) -> Stamp {
    let created_at = state.created_at.unwrap_or(now);
    let mut expires_at = now.saturating_add(Context::max_age_secs(config));
    if let Some(absolute) = config.absolute_timeout {
        expires_at = expires_at.min(created_at.saturating_add(absolute.as_secs()));
    }
    Stamp {
        issued_at: now,
        created_at,
        expires_at,
    }
}

/// The cookie value for the session as it stands (with a store: its id's length).
pub(crate) fn encode_cookie(ctx: &Context, state: &State) -> Result<String, EncodeError> {
    match ctx.codec() {
        Some(codec) => codec.encode(&state.data, &stamp(&ctx.config, state, ctx.clock.now())),
        None => Ok(crate::store::SessionId::generate().encode()),
    }
}

/// Why a response could not carry its session.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SaveError {
    #[error(
        "the session cookie would be {0} bytes (name=value), over the {BROWSER_COOKIE_LIMIT}-byte \
         limit browsers keep; store less in the session or use a server-side store"
    )]
    Oversized(usize),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The store refused the commit: the lease was lost, or the session ended meanwhile.
    #[error("the session changed or ended while this request ran; its changes were not saved")]
    Refused,
    /// The store did not answer.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Applies Flask's save rules to a response's headers.
pub(crate) fn save_session(
    ctx: &Context,
    codec: &dyn Codec,
    state: State,
    headers: &mut HeaderMap,
) -> Result<(), SaveError> {
    let config = &ctx.config;
    if state.accessed {
        add_vary_cookie(headers);
    }
    if state.data.is_empty() {
        if state.modified {
            set_cookie(headers, deletion_cookie(config));
        }
        return Ok(());
    }
    let permanent = state
        .data
        .get(crate::session::PERMANENT_KEY)
        .is_some_and(crate::Value::is_truthy);
    let refresh = permanent && config.refresh_each_request || config.idle_timeout.is_some();
    if !(state.modified || state.reissue || refresh) {
        return Ok(());
    }
    let now = ctx.clock.now();
    let stamp = stamp(config, &state, now);
    let value = match &state.source {
        Some(source) if !state.modified => codec.reencode(&state.data, &stamp, source.value())?,
        _ => codec.encode(&state.data, &stamp)?,
    };
    let pair_len = config.cookie_name.len() + 1 + value.len();
    if pair_len > BROWSER_COOKIE_LIMIT {
        ctx.stats.count_oversized();
        return Err(SaveError::Oversized(pair_len));
    }
    let header = if permanent {
        let mut cookie = base_cookie(config, value);
        cookie.set_expires(expiry_time(stamp.expires_at));
        header_text(&cookie)
    } else {
        ctx.cookie_text.with_value(config, value)
    };
    if header.len() > config.max_cookie_size {
        tracing::warn!(
            size = header.len(),
            max = config.max_cookie_size,
            "session cookie is larger than MAX_COOKIE_SIZE; browsers may ignore it"
        );
    }
    append_set_cookie(headers, header);
    Ok(())
}

pub(crate) fn expiry_time(unix_seconds: u64) -> time::OffsetDateTime {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// A cookie with the session's name, value and configured flags.
pub(crate) fn base_cookie(config: &SessionConfig, value: String) -> Cookie<'static> {
    let mut cookie = Cookie::new(config.cookie_name.clone(), value);
    cookie.set_path(config.cookie_path.clone());
    cookie.set_http_only(config.cookie_httponly);
    cookie.set_secure(config.cookie_secure);
    cookie.set_partitioned(config.cookie_partitioned);
    cookie.set_same_site(config.cookie_samesite);
    if let Some(domain) = &config.cookie_domain {
        cookie.set_domain(domain.clone());
    }
    cookie
}

/// The cookie that tells the browser to forget the session: same name, domain, path and flags.
pub(crate) fn deletion_cookie(config: &SessionConfig) -> Cookie<'static> {
    let mut cookie = base_cookie(config, String::new());
    cookie.set_max_age(time::Duration::ZERO);
    cookie.set_expires(time::OffsetDateTime::UNIX_EPOCH);
    cookie
}

pub(crate) fn set_cookie(headers: &mut HeaderMap, cookie: Cookie<'_>) {
    append_set_cookie(headers, header_text(&cookie));
}

/// The session cookie's `Set-Cookie` text without an expiry, as the cookie crate writes it,
/// cut once around the value: `name=` before it, the attributes after it. Each response then
/// joins three strings instead of running the crate's formatter (most of what writing the
/// header cost).
pub(crate) struct CookieText {
    /// `name=`, when the name needs no percent-encoding.
    prefix: Option<String>,
    /// `; HttpOnly; SameSite=Lax; Path=/`, and so on.
    attributes: String,
}

impl CookieText {
    pub fn new(config: &SessionConfig) -> Self {
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
    pub fn with_value(&self, config: &SessionConfig, value: String) -> String {
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
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
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
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
    }
}

pub(crate) fn add_vary_cookie(headers: &mut HeaderMap) {
    let already = headers.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.eq_ignore_ascii_case("cookie"))
        })
    });
    if !already {
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
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
            cookie_path: "/app".into(),
            cookie_partitioned: true,
            ..SessionConfig::default()
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
}
