//! [`SessionConfig`]: Flask's session settings, with secure defaults.
//!
//! Every Flask session key has a field here, read from the environment by the same name
//! (`SECRET_KEY`, `SESSION_COOKIE_SECURE`, …) or with Flask's `FLASK_` prefix
//! (`FLASK_SECRET_KEY`, as `app.config.from_prefixed_env()` reads it), so a Flask app's
//! environment works unchanged. satchel adds `SESSION_FORMAT`, `SESSION_IDLE_TIMEOUT`,
//! `SESSION_ABSOLUTE_TIMEOUT`, `SESSION_NEW_TIMEOUT` and `SESSION_MAX_LOGINS_PER_USER`.
//!
//! | key | field | [`SessionConfig::default`] | [`SessionConfig::flask_defaults`] |
//! |---|---|---|---|
//! | `SECRET_KEY` | `secret_key` | none: startup error | none: startup error |
//! | `SECRET_KEY_FALLBACKS` | `secret_key_fallbacks` | `[]` | `[]` |
//! | `SESSION_COOKIE_NAME` | `cookie_name` | `session` | `session` |
//! | `SESSION_COOKIE_DOMAIN` | `cookie_domain` | none (host-only) | none |
//! | `SESSION_COOKIE_PATH` | `cookie_path` | none: `APPLICATION_ROOT` | none |
//! | `APPLICATION_ROOT` | `application_root` | `/` | `/` |
//! | `SESSION_COOKIE_HTTPONLY` | `cookie_httponly` | `true` | `true` |
//! | `SESSION_COOKIE_SECURE` | `cookie_secure` | **`true`** | `false` |
//! | `SESSION_COOKIE_SAMESITE` | `cookie_samesite` | **`Lax`** | none |
//! | `SESSION_COOKIE_PARTITIONED` | `cookie_partitioned` | `false` | `false` |
//! | `PERMANENT_SESSION_LIFETIME` (seconds) | `permanent_session_lifetime` | 31 days | 31 days |
//! | `SESSION_REFRESH_EACH_REQUEST` | `refresh_each_request` | `true` | `true` |
//! | `MAX_COOKIE_SIZE` | `max_cookie_size` | 4093 | 4093 |
//! | `SESSION_FORMAT` | `format` | **`sealed`** | `flask` |
//! | `SESSION_IDLE_TIMEOUT` (seconds) | `idle_timeout` | none | none |
//! | `SESSION_ABSOLUTE_TIMEOUT` (seconds) | `absolute_timeout` | none | none |
//! | `SESSION_NEW_TIMEOUT` (seconds) | `new_session_timeout` | 30 minutes | 30 minutes |
//! | `SESSION_MAX_LOGINS_PER_USER` | `max_logins_per_user` | 100 | 100 |
//!
//! Values are parsed as Flask's `from_prefixed_env` would: JSON first (`true`, `604800`,
//! `["old key"]`, `null`), else the plain string.

use std::time::Duration;

use crate::codec::CookieFormat;
use crate::keys::{KeyRing, SecretKey};

pub use cookie::SameSite;

/// Flask's default `PERMANENT_SESSION_LIFETIME`: 31 days.
pub const FLASK_PERMANENT_SESSION_LIFETIME: Duration = Duration::from_secs(31 * 24 * 3600);

/// How long a server-side session created by one request waits for a second request:
/// 30 minutes (see [`SessionConfig::new_session_timeout`]).
pub const DEFAULT_NEW_SESSION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Session settings. Build one with [`SessionConfig::default`] (secure) or
/// [`SessionConfig::flask_defaults`] (Flask 3.1's exact defaults), then set fields or read the
/// environment with [`SessionConfig::with_env`].
///
/// ```
/// use satchel_session::SessionConfig;
/// let config = SessionConfig::default().with_secret_key("a long random secret from satchel keygen");
/// assert!(config.cookie_secure && config.cookie_httponly);
/// assert_eq!(config.cookie_samesite, Some(satchel_session::SameSite::Lax));
/// assert!(!SessionConfig::flask_defaults().cookie_secure);
/// ```
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// `SECRET_KEY`: signs (flask format) and seals (sealed format). Required.
    pub secret_key: Option<SecretKey>,
    /// `SECRET_KEY_FALLBACKS`: older keys that still verify, newest first; never used to sign.
    pub secret_key_fallbacks: Vec<SecretKey>,
    /// `SESSION_COOKIE_NAME`. A `__Host-` prefix (with Secure, path `/`, no domain) stops a
    /// sibling subdomain from planting a cookie for this site.
    pub cookie_name: String,
    /// `SESSION_COOKIE_DOMAIN`: `None` makes a host-only cookie.
    pub cookie_domain: Option<String>,
    /// `SESSION_COOKIE_PATH`: `None` uses [`application_root`](Self::application_root), as
    /// Flask does.
    pub cookie_path: Option<String>,
    /// `APPLICATION_ROOT`: the path the app is mounted under; the cookie's path when
    /// `SESSION_COOKIE_PATH` is not set.
    pub application_root: String,
    /// `SESSION_COOKIE_HTTPONLY`: hide the cookie from JavaScript.
    pub cookie_httponly: bool,
    /// `SESSION_COOKIE_SECURE`: send the cookie over HTTPS only.
    pub cookie_secure: bool,
    /// `SESSION_COOKIE_SAMESITE`: `None` leaves the attribute out.
    pub cookie_samesite: Option<SameSite>,
    /// `SESSION_COOKIE_PARTITIONED` (CHIPS).
    pub cookie_partitioned: bool,
    /// `PERMANENT_SESSION_LIFETIME`: the cookie's Expires for permanent sessions, and the oldest
    /// cookie accepted for any session (Flask's `max_age`).
    pub permanent_session_lifetime: Duration,
    /// `SESSION_REFRESH_EACH_REQUEST`: re-issue a permanent session's cookie on every request.
    pub refresh_each_request: bool,
    /// `MAX_COOKIE_SIZE`: a `Set-Cookie` header longer than this logs a warning (Flask's).
    /// Independently, a session whose `name=value` exceeds 4096 bytes is an error, never sent.
    pub max_cookie_size: usize,
    /// `SESSION_FORMAT`: `sealed` (encrypted, the default) or `flask` (Flask-compatible).
    pub format: CookieFormat,
    /// `SESSION_IDLE_TIMEOUT`: a session unused for this long is refused. Its cookie is then
    /// refreshed on every request that loads it.
    pub idle_timeout: Option<Duration>,
    /// `SESSION_ABSOLUTE_TIMEOUT`: a session older than this is refused however active it is.
    /// Needs the sealed format (the flask format does not carry the session's start).
    pub absolute_timeout: Option<Duration>,
    /// `SESSION_NEW_TIMEOUT` (server-side stores): a session created by one request lives only
    /// this long until a second request uses it; then it gets its full idle lifetime. A stream
    /// of one-request visitors (crawlers, floods) thus leaves nothing behind for long. `None`
    /// gives new sessions the full lifetime at once.
    pub new_session_timeout: Option<Duration>,
    /// `SESSION_MAX_LOGINS_PER_USER` (server-side stores, and cookie sessions with a login
    /// ledger): a user's live logins are kept to this many; a login past it ends that user's
    /// least recently seen sessions. One account logged in over and over (a script, a shared
    /// password) thus cannot grow the store or the user's session list without bound. `None`:
    /// no cap. Default [`DEFAULT_MAX_LOGINS_PER_USER`].
    pub max_logins_per_user: Option<usize>,
}

/// The default cap on one user's live logins (see [`SessionConfig::max_logins_per_user`]).
///
/// ```
/// assert_eq!(satchel_session::SessionConfig::default().max_logins_per_user, Some(satchel_session::DEFAULT_MAX_LOGINS_PER_USER));
/// ```
pub const DEFAULT_MAX_LOGINS_PER_USER: usize = 100;

impl Default for SessionConfig {
    /// Secure defaults: Secure, HttpOnly, SameSite=Lax, sealed format. No secret key yet.
    fn default() -> Self {
        SessionConfig {
            secret_key: None,
            secret_key_fallbacks: Vec::new(),
            cookie_name: "session".to_owned(),
            cookie_domain: None,
            cookie_path: None,
            application_root: "/".to_owned(),
            cookie_httponly: true,
            cookie_secure: true,
            cookie_samesite: Some(SameSite::Lax),
            cookie_partitioned: false,
            permanent_session_lifetime: FLASK_PERMANENT_SESSION_LIFETIME,
            refresh_each_request: true,
            max_cookie_size: 4093,
            format: CookieFormat::Sealed,
            idle_timeout: None,
            absolute_timeout: None,
            new_session_timeout: Some(DEFAULT_NEW_SESSION_TIMEOUT),
            max_logins_per_user: Some(DEFAULT_MAX_LOGINS_PER_USER),
        }
    }
}

/// A setting that is missing or cannot be used.
///
/// ```
/// let err = satchel_session::SessionLayer::new(satchel_session::SessionConfig::default()).unwrap_err();
/// assert!(err.to_string().contains("SECRET_KEY"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// The setting's name (`SECRET_KEY`, …).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(key: &str, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

impl SessionConfig {
    /// Flask 3.1's defaults exactly (Secure off, no SameSite, 31-day lifetime, flask format), for
    /// sharing cookies with a Flask app.
    ///
    /// ```
    /// let c = satchel_session::SessionConfig::flask_defaults();
    /// assert_eq!(c.format, satchel_session::CookieFormat::Flask);
    /// assert_eq!(c.cookie_samesite, None);
    /// ```
    pub fn flask_defaults() -> Self {
        SessionConfig {
            cookie_secure: false,
            cookie_samesite: None,
            format: CookieFormat::Flask,
            ..SessionConfig::default()
        }
    }

    /// Sets `SECRET_KEY`.
    ///
    /// ```
    /// let c = satchel_session::SessionConfig::default().with_secret_key("k");
    /// assert!(c.secret_key.is_some());
    /// ```
    pub fn with_secret_key(mut self, key: impl Into<SecretKey>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// Reads every key from the process environment (plain name first, then `FLASK_` prefix).
    ///
    /// ```
    /// let c = satchel_session::SessionConfig::default().with_env().unwrap();
    /// assert_eq!(c.cookie_path, None);
    /// ```
    pub fn with_env(self) -> Result<Self, ConfigError> {
        self.with_vars(|name| std::env::var(name).ok())
    }

    /// Reads every key through `lookup` (a name → value function), as [`Self::with_env`] does
    /// with the process environment.
    ///
    /// ```
    /// let env = |name: &str| match name {
    ///     "FLASK_SECRET_KEY" => Some("from flask env".to_string()),
    ///     "SESSION_COOKIE_SECURE" => Some("false".to_string()),
    ///     "PERMANENT_SESSION_LIFETIME" => Some("604800".to_string()),
    ///     _ => None,
    /// };
    /// let c = satchel_session::SessionConfig::default().with_vars(env).unwrap();
    /// assert_eq!(c.secret_key.unwrap().as_bytes(), b"from flask env");
    /// assert!(!c.cookie_secure);
    /// assert_eq!(c.permanent_session_lifetime.as_secs(), 604800);
    /// ```
    pub fn with_vars(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let read = |key: &str| lookup(key).or_else(|| lookup(&format!("FLASK_{key}")));
        let vars = EnvReader { read: &read };
        if let Some(key) = vars.string("SECRET_KEY")? {
            self.secret_key = Some(SecretKey::new(key));
        }
        if let Some(keys) = vars.string_list("SECRET_KEY_FALLBACKS")? {
            self.secret_key_fallbacks = keys.into_iter().map(SecretKey::new).collect();
        }
        vars.set(
            &mut self.cookie_name,
            "SESSION_COOKIE_NAME",
            EnvReader::string,
        )?;
        if let Some(domain) = vars.optional_string("SESSION_COOKIE_DOMAIN")? {
            self.cookie_domain = domain;
        }
        if let Some(path) = vars.optional_string("SESSION_COOKIE_PATH")? {
            self.cookie_path = path;
        }
        vars.set(
            &mut self.application_root,
            "APPLICATION_ROOT",
            EnvReader::string,
        )?;
        vars.set(
            &mut self.cookie_httponly,
            "SESSION_COOKIE_HTTPONLY",
            EnvReader::bool,
        )?;
        vars.set(
            &mut self.cookie_secure,
            "SESSION_COOKIE_SECURE",
            EnvReader::bool,
        )?;
        vars.set(
            &mut self.cookie_samesite,
            "SESSION_COOKIE_SAMESITE",
            EnvReader::samesite,
        )?;
        vars.set(
            &mut self.cookie_partitioned,
            "SESSION_COOKIE_PARTITIONED",
            EnvReader::bool,
        )?;
        vars.set(
            &mut self.permanent_session_lifetime,
            "PERMANENT_SESSION_LIFETIME",
            EnvReader::seconds,
        )?;
        vars.set(
            &mut self.refresh_each_request,
            "SESSION_REFRESH_EACH_REQUEST",
            EnvReader::bool,
        )?;
        vars.set(
            &mut self.max_cookie_size,
            "MAX_COOKIE_SIZE",
            EnvReader::size,
        )?;
        vars.set(&mut self.format, "SESSION_FORMAT", EnvReader::format)?;
        vars.set(
            &mut self.idle_timeout,
            "SESSION_IDLE_TIMEOUT",
            EnvReader::optional_seconds,
        )?;
        vars.set(
            &mut self.absolute_timeout,
            "SESSION_ABSOLUTE_TIMEOUT",
            EnvReader::optional_seconds,
        )?;
        vars.set(
            &mut self.new_session_timeout,
            "SESSION_NEW_TIMEOUT",
            EnvReader::optional_seconds,
        )?;
        vars.set(
            &mut self.max_logins_per_user,
            "SESSION_MAX_LOGINS_PER_USER",
            EnvReader::optional_count,
        )?;
        Ok(self)
    }

    /// The key ring from `SECRET_KEY` and `SECRET_KEY_FALLBACKS`, after checking the settings
    /// fit together (the layer's builder calls this).
    pub(crate) fn validate(&self) -> Result<KeyRing, ConfigError> {
        let key = self
            .secret_key
            .as_ref()
            .filter(|k| !k.as_bytes().is_empty())
            .ok_or_else(|| {
                ConfigError::new(
                    "SECRET_KEY",
                    "no secret key is set; sessions cannot be signed. Set SECRET_KEY \
                 (generate one with `satchel keygen`)",
                )
            })?;
        self.validate_cookie_settings()?;
        if self.absolute_timeout.is_some() && self.format == CookieFormat::Flask {
            return Err(ConfigError::new(
                "SESSION_ABSOLUTE_TIMEOUT",
                "the flask cookie format does not carry the session's start time; \
                 use the sealed format or a server-side store",
            ));
        }
        Ok(KeyRing::new(key.clone(), self.secret_key_fallbacks.clone()))
    }

    /// Checks the cookie's own settings (name, path, domain, prefixes, SameSite): what a
    /// server-side session needs, which has no use for a key.
    /// The path the session cookie is set for: `SESSION_COOKIE_PATH`, else `APPLICATION_ROOT`
    /// (Flask's `get_cookie_path`).
    ///
    /// ```
    /// let mut config = satchel_session::SessionConfig::flask_defaults();
    /// config.application_root = "/foo".into();
    /// assert_eq!(config.effective_cookie_path(), "/foo");
    /// config.cookie_path = Some("/bar".into());
    /// assert_eq!(config.effective_cookie_path(), "/bar");
    /// ```
    pub fn effective_cookie_path(&self) -> &str {
        self.cookie_path
            .as_deref()
            .unwrap_or(&self.application_root)
    }

    pub(crate) fn validate_cookie_settings(&self) -> Result<(), ConfigError> {
        if self.cookie_name.is_empty() || !self.cookie_name.bytes().all(is_cookie_name_byte) {
            return Err(ConfigError::new(
                "SESSION_COOKIE_NAME",
                format!("{:?} is not a valid cookie name", self.cookie_name),
            ));
        }
        let attribute_ok = |v: &str| v.bytes().all(|b| b.is_ascii_graphic() && b != b';');
        let path = self.effective_cookie_path();
        if !attribute_ok(path) || !path.starts_with('/') {
            let key = match self.cookie_path {
                Some(_) => "SESSION_COOKIE_PATH",
                None => "APPLICATION_ROOT",
            };
            return Err(ConfigError::new(
                key,
                format!("{path:?} is not a cookie path (it must start with /)"),
            ));
        }
        if self
            .cookie_domain
            .as_deref()
            .is_some_and(|d| d.is_empty() || !attribute_ok(d))
        {
            return Err(ConfigError::new(
                "SESSION_COOKIE_DOMAIN",
                "not a valid cookie domain",
            ));
        }
        if self.cookie_name.starts_with("__Host-")
            && (!self.cookie_secure || self.cookie_domain.is_some() || path != "/")
        {
            return Err(ConfigError::new(
                "SESSION_COOKIE_NAME",
                "a __Host- cookie needs SESSION_COOKIE_SECURE, no domain and path /",
            ));
        }
        if self.cookie_samesite == Some(SameSite::None) && !self.cookie_secure {
            return Err(ConfigError::new(
                "SESSION_COOKIE_SAMESITE",
                "SameSite=None needs SESSION_COOKIE_SECURE (browsers drop the cookie otherwise)",
            ));
        }
        Ok(())
    }
}

/// RFC 6265 `token` characters.
fn is_cookie_name_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

/// Reads typed settings through a name → text lookup, parsing like Flask's `from_prefixed_env`.
struct EnvReader<'a> {
    read: &'a dyn Fn(&str) -> Option<String>,
}

impl EnvReader<'_> {
    fn set<T>(
        &self,
        field: &mut T,
        key: &str,
        parse: impl Fn(&Self, &str) -> Result<Option<T>, ConfigError>,
    ) -> Result<(), ConfigError> {
        if let Some(value) = parse(self, key)? {
            *field = value;
        }
        Ok(())
    }

    /// The JSON value if the text is JSON (Flask tries `json.loads` first), else the text.
    fn json(&self, key: &str) -> Option<serde_json::Value> {
        let raw = (self.read)(key)?;
        Some(serde_json::from_str(&raw).unwrap_or(serde_json::Value::String(raw)))
    }

    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.json(key) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(other) => Ok(Some(other.to_string())),
        }
    }

    fn optional_string(&self, key: &str) -> Result<Option<Option<String>>, ConfigError> {
        match self.json(key) {
            None => Ok(None),
            Some(serde_json::Value::Null) => Ok(Some(None)),
            Some(_) => self.string(key).map(|s| s.map(Some)),
        }
    }

    fn string_list(&self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        match self.json(key) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(vec![s])),
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(s) => Ok(s),
                    other => Err(ConfigError::new(key, format!("{other} is not a string"))),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(other) => Err(ConfigError::new(
                key,
                format!("expected a list of strings, got {other}"),
            )),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        let Some(value) = self.json(key) else {
            return Ok(None);
        };
        let text = match value {
            serde_json::Value::Bool(b) => return Ok(Some(b)),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Some(true)),
            "false" | "0" | "no" | "off" | "" => Ok(Some(false)),
            _ => Err(ConfigError::new(
                key,
                format!("{text:?} is not true or false"),
            )),
        }
    }

    fn seconds(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        match self.optional_seconds(key)? {
            Some(None) => Err(ConfigError::new(key, "must be a number of seconds")),
            other => Ok(other.flatten()),
        }
    }

    fn optional_seconds(&self, key: &str) -> Result<Option<Option<Duration>>, ConfigError> {
        match self.json(key) {
            None => Ok(None),
            Some(serde_json::Value::Null) => Ok(Some(None)),
            Some(serde_json::Value::Number(n)) => n
                .as_u64()
                .filter(|&s| s > 0)
                .map(|s| Some(Some(Duration::from_secs(s))))
                .ok_or_else(|| {
                    ConfigError::new(
                        key,
                        format!("{n} is not a positive whole number of seconds"),
                    )
                }),
            Some(other) => Err(ConfigError::new(
                key,
                format!("{other} is not a number of seconds"),
            )),
        }
    }

    fn optional_count(&self, key: &str) -> Result<Option<Option<usize>>, ConfigError> {
        match self.json(key) {
            None => Ok(None),
            Some(serde_json::Value::Null) => Ok(Some(None)),
            Some(serde_json::Value::Number(n)) => n
                .as_u64()
                .filter(|&count| count > 0)
                .and_then(|count| usize::try_from(count).ok())
                .map(|count| Some(Some(count)))
                .ok_or_else(|| ConfigError::new(key, format!("{n} is not a positive count"))),
            Some(other) => Err(ConfigError::new(
                key,
                format!("{other} is not a count (or null for none)"),
            )),
        }
    }

    fn size(&self, key: &str) -> Result<Option<usize>, ConfigError> {
        match self.json(key) {
            None => Ok(None),
            Some(serde_json::Value::Number(n)) => n
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| ConfigError::new(key, format!("{n} is not a size in bytes"))),
            Some(other) => Err(ConfigError::new(
                key,
                format!("{other} is not a size in bytes"),
            )),
        }
    }

    fn samesite(&self, key: &str) -> Result<Option<Option<SameSite>>, ConfigError> {
        let Some(text) = self.optional_string(key)? else {
            return Ok(None);
        };
        match text.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(Some(None)),
            Some("lax") => Ok(Some(Some(SameSite::Lax))),
            Some("strict") => Ok(Some(Some(SameSite::Strict))),
            Some("none") => Ok(Some(Some(SameSite::None))),
            Some(other) => Err(ConfigError::new(
                key,
                format!("{other:?} is not Lax, Strict or None"),
            )),
        }
    }

    fn format(&self, key: &str) -> Result<Option<CookieFormat>, ConfigError> {
        self.string(key)?
            .map(|s| s.parse().map_err(|e: String| ConfigError::new(key, e)))
            .transpose()
    }
}

#[cfg(test)]
mod tests;
