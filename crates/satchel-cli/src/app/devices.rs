//! Device cookies: OWASP's answer to lockout denial of service ("Slow Down Online Guessing
//! Attacks with Device Cookies"). A successful login leaves a long-lived cookie that names
//! the user it was earned for; a later login attempt for that user carrying it is throttled
//! on its own (its own failures), never by what other clients did. So whoever hammers a user
//! name from elsewhere, or from behind the same proxy or NAT, locks out only clients that
//! have not logged in as that user before, and a device cookie holder still gets
//! [`MAX_FAILURES`](super::throttle::MAX_FAILURES) guesses per window, like anyone.
//!
//! The cookie is `ISSUED.NONCE.TAG`: the issue time (Unix seconds), 128 random bits, and an
//! HMAC-SHA256 over them and the user's name key under a key derived from `SECRET_KEY`
//! (purpose `satchel-cli device cookie`). It is `HttpOnly`, `SameSite=Lax`, and `Secure` with
//! the `__Host-` prefix whenever the session cookie is Secure. It is honoured for
//! [`LIFETIME`] after issue and only under the current key: after a key rotation every client
//! is, for the throttle, new until it logs in again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use satchel_session::SessionConfig;
use sha2::Sha256;

/// How long a device cookie is honoured.
pub const LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The cookie's name over plain http (development) and over https.
const NAME: &str = "satchel_device";
const SECURE_NAME: &str = "__Host-satchel_device";

/// Issues and recognises device cookies.
#[derive(Clone)]
pub struct Devices {
    mac: Hmac<Sha256>,
    secure: bool,
}

impl Devices {
    /// Device cookies under `config`'s current key, Secure as its session cookie is.
    pub fn new(config: &SessionConfig) -> Self {
        let key = config
            .secret_key
            .as_ref()
            .map(|k| k.derive("satchel-cli device cookie"))
            .unwrap_or_default();
        Devices {
            mac: Hmac::new_from_slice(&key[..]).expect("HMAC takes keys of any length"),
            secure: config.cookie_secure,
        }
    }

    fn name(&self) -> &'static str {
        if self.secure {
            SECURE_NAME
        } else {
            NAME
        }
    }

    fn tag(&self, user_key: &str, issued: u64, nonce: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        for part in [user_key, &issued.to_string(), nonce] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// A new device cookie for `user_key` (a [`name_key`](super::users::name_key)), as a
    /// `Set-Cookie` value.
    pub fn issue(&self, user_key: &str) -> HeaderValue {
        let issued = now();
        let nonce = crate::keygen::random_token(16);
        let tag =
            URL_SAFE_NO_PAD.encode(self.tag(user_key, issued, &nonce).finalize().into_bytes());
        let secure = if self.secure { "; Secure" } else { "" };
        let value = format!(
            "{}={issued}.{nonce}.{tag}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
            self.name(),
            LIFETIME.as_secs()
        );
        HeaderValue::from_str(&value).expect("a cookie of base64 and digits is a valid header")
    }

    /// The id of the device cookie in `headers` earned by `user_key`, if there is a valid one
    /// (any other is ignored: the client is then new to the throttle).
    pub fn recognise(&self, headers: &HeaderMap, user_key: &str) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == self.name())
            .find_map(|(_, value)| self.verify(value, user_key))
    }

    fn verify(&self, value: &str, user_key: &str) -> Option<String> {
        let mut parts = value.splitn(3, '.');
        let (issued, nonce, tag) = (parts.next()?, parts.next()?, parts.next()?);
        let issued: u64 = issued.parse().ok()?;
        if now().saturating_sub(issued) > LIFETIME.as_secs() {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.tag(user_key, issued, nonce)
            .verify_slice(&tag)
            .ok()
            .map(|()| nonce.to_owned())
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices() -> Devices {
        let mut config = SessionConfig::default().with_secret_key("a device cookie test key");
        config.cookie_secure = false;
        Devices::new(&config)
    }

    fn sent(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        let cookie = format!("session=x; {pair}");
        headers.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        headers
    }

    #[test]
    fn a_device_cookie_is_recognised_for_its_user_only() {
        let devices = devices();
        let headers = sent(&devices.issue("admin"));
        let id = devices.recognise(&headers, "admin").expect("recognised");
        assert_eq!(id.len(), 22);
        assert_eq!(devices.recognise(&headers, "alice"), None);
        // Another key's cookie is nobody's.
        let other = SessionConfig::default().with_secret_key("another device cookie key");
        assert_eq!(Devices::new(&other).recognise(&headers, "admin"), None);
    }

    #[test]
    fn a_changed_or_expired_device_cookie_is_ignored() {
        let devices = devices();
        let pair = sent(&devices.issue("admin"));
        let value = pair[header::COOKIE].to_str().unwrap().to_owned();
        let mut headers = HeaderMap::new();
        let forged = value.replacen("satchel_device=", "satchel_device=1", 1);
        headers.insert(header::COOKIE, HeaderValue::from_str(&forged).unwrap());
        assert_eq!(devices.recognise(&headers, "admin"), None);
        let nonce = "AAAAAAAAAAAAAAAAAAAAAA";
        let old = now() - LIFETIME.as_secs() - 1;
        let tag = URL_SAFE_NO_PAD.encode(devices.tag("admin", old, nonce).finalize().into_bytes());
        let expired = format!("satchel_device={old}.{nonce}.{tag}");
        headers.insert(header::COOKIE, HeaderValue::from_str(&expired).unwrap());
        assert_eq!(devices.recognise(&headers, "admin"), None);
    }
}
