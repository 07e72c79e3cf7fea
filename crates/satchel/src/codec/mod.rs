//! Cookie codecs: how a session's data becomes a cookie value and back.
//!
//! Two formats, one contract ([`Codec`]):
//! - [`SealedCodec`] (the default): AEAD-encrypted and authenticated, bound to the cookie name,
//!   with issued-at and expiry inside the ciphertext.
//! - [`FlaskCodec`]: byte-compatible with Flask 3.1's signed cookies, so a Rust service and a
//!   Flask app sharing `SECRET_KEY` read each other's sessions.
//!
//! Decoding never fails loudly: a cookie that does not verify is a [`Rejected`] with a
//! [`RejectReason`], which the layer turns into an empty session and a counted, traced event.

mod deflate_bound;
mod flask;
pub mod flask_json;
mod sealed;

pub use flask::FlaskCodec;
pub(crate) use flask::{signer as itsdangerous_signer, HmacSha1};
pub use sealed::SealedCodec;

use crate::keys::KeyRing;
use crate::value::Dict;

/// Browsers drop a cookie whose name and value together exceed this (RFC 6265bis): the layer
/// refuses to send such a session rather than let it vanish.
///
/// ```
/// assert_eq!(satchel_session::BROWSER_COOKIE_LIMIT, 4096);
/// ```
pub const BROWSER_COOKIE_LIMIT: usize = 4096;

/// Cookie values longer than this are refused before any work is done: no browser sends a
/// cookie whose name and value exceed 4096 bytes (RFC 6265bis), so no cookie satchel issued is
/// longer.
pub(crate) const MAX_COOKIE_VALUE_LEN: usize = 4096;

/// The times carried with a session, in seconds since the Unix epoch.
///
/// ```
/// let stamp = satchel_session::codec::Stamp { issued_at: 100, created_at: 50, expires_at: 200 };
/// assert!(stamp.expires_at > stamp.issued_at);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// When this cookie value was made.
    pub issued_at: u64,
    /// When the session began (the start of its absolute timeout). The flask format does not
    /// carry it; decoding gives `issued_at` there.
    pub created_at: u64,
    /// After this instant the cookie is refused. The flask format derives it from the
    /// timestamp and `PERMANENT_SESSION_LIFETIME`, as Flask does.
    pub expires_at: u64,
}

/// A cookie that verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The session's data.
    pub data: Dict,
    /// Its times.
    pub stamp: Stamp,
    /// True when only a fallback key verified it: the layer re-issues it under the current key.
    pub by_fallback_key: bool,
}

/// Why a cookie was refused. The layer counts each reason and logs it with `tracing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Not in the format at all (bad base64, wrong shape, bad JSON inside, bad zlib).
    Malformed,
    /// The signature or authentication tag did not match any key.
    Tampered,
    /// Verified, but past its expiry (or issued in the future).
    Expired,
    /// Sealed with a key id that no key in the ring has.
    UnknownKey,
    /// Longer than any cookie satchel issues, or inflating past the cap.
    TooLarge,
}

impl RejectReason {
    /// Every reason, for metrics that list each one.
    ///
    /// ```
    /// assert_eq!(satchel_session::codec::RejectReason::ALL.len(), 5);
    /// ```
    pub const ALL: [RejectReason; 5] = [
        RejectReason::Malformed,
        RejectReason::Tampered,
        RejectReason::Expired,
        RejectReason::UnknownKey,
        RejectReason::TooLarge,
    ];

    /// A short lower-case name: `malformed`, `tampered`, `expired`, `unknown_key`, `too_large`.
    ///
    /// ```
    /// assert_eq!(satchel_session::codec::RejectReason::UnknownKey.as_str(), "unknown_key");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::Tampered => "tampered",
            RejectReason::Expired => "expired",
            RejectReason::UnknownKey => "unknown_key",
            RejectReason::TooLarge => "too_large",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cookie value that does not verify. Never an error to the client: an empty session.
///
/// ```
/// use satchel_session::codec::{Rejected, RejectReason};
/// let r = Rejected::new(RejectReason::Expired);
/// assert_eq!(r.to_string(), "expired");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Rejected {
    /// Why.
    pub reason: RejectReason,
}

impl Rejected {
    /// A rejection for `reason`.
    ///
    /// ```
    /// assert_eq!(satchel_session::codec::Rejected::new(satchel_session::codec::RejectReason::Tampered).reason,
    ///            satchel_session::codec::RejectReason::Tampered);
    /// ```
    pub fn new(reason: RejectReason) -> Self {
        Rejected { reason }
    }
}

impl From<RejectReason> for Rejected {
    fn from(reason: RejectReason) -> Self {
        Rejected { reason }
    }
}

/// Keeps [`Codec`] to satchel's own formats (the layer has no place for another).
mod private {
    pub trait Sealed {}
    impl Sealed for super::FlaskCodec {}
    impl Sealed for super::SealedCodec {}
}

/// A session that cannot be written in a cookie format: its cookie value would be longer than
/// 4096 bytes, which [`Codec::decode`] refuses, so a codec never returns a value
/// it would not read back ([`EncodeError::is_too_large`] tells that case apart).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode session: {0}")]
pub struct EncodeError(pub String);

/// How every too-large [`EncodeError`] message begins.
const TOO_LARGE: &str = "the cookie value would be";

impl EncodeError {
    /// The error for a cookie value of `len` bytes, over [`MAX_COOKIE_VALUE_LEN`].
    pub(crate) fn too_large(len: usize) -> Self {
        EncodeError(format!(
            "{TOO_LARGE} {len} bytes, over the {MAX_COOKIE_VALUE_LEN} bytes a cookie value may \
             hold; store less in the session or use a server-side store"
        ))
    }

    /// True when the session was refused for its size (its cookie value would pass 4096 bytes).
    ///
    /// ```
    /// assert!(!satchel_session::codec::EncodeError("other".into()).is_too_large());
    /// ```
    pub fn is_too_large(&self) -> bool {
        self.0.starts_with(TOO_LARGE)
    }
}

/// `value` if [`Codec::decode`] will accept its length, else the too-large error.
pub(crate) fn within_cookie_limit(value: String) -> Result<String, EncodeError> {
    if value.len() > MAX_COOKIE_VALUE_LEN {
        return Err(EncodeError::too_large(value.len()));
    }
    Ok(value)
}

/// The names of the two cookie formats.
///
/// ```
/// use satchel_session::CookieFormat;
/// assert_eq!("flask".parse::<CookieFormat>().unwrap(), CookieFormat::Flask);
/// assert_eq!(CookieFormat::default(), CookieFormat::Sealed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CookieFormat {
    /// AEAD-encrypted (the default).
    #[default]
    Sealed,
    /// Flask/itsdangerous signed cookies.
    Flask,
}

impl CookieFormat {
    /// The codec for this format: sealed cookies bound to `cookie_name`; flask cookies refused
    /// past `max_age_secs` (Flask's `PERMANENT_SESSION_LIFETIME`), as Flask does.
    ///
    /// ```
    /// use satchel_session::{CookieFormat, KeyRing};
    /// let keys = KeyRing::new(satchel_session::generate_secret_key(), [""; 0]);
    /// let codec = CookieFormat::Flask.codec(&keys, "session", 3600);
    /// assert_eq!(codec.format(), CookieFormat::Flask);
    /// ```
    pub fn codec(self, keys: &KeyRing, cookie_name: &str, max_age_secs: u64) -> Box<dyn Codec> {
        match self {
            CookieFormat::Sealed => Box::new(SealedCodec::new(keys, cookie_name)),
            CookieFormat::Flask => Box::new(FlaskCodec::new(keys, max_age_secs)),
        }
    }
}

impl std::str::FromStr for CookieFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sealed" => Ok(CookieFormat::Sealed),
            "flask" => Ok(CookieFormat::Flask),
            other => Err(format!(
                "unknown cookie format {other:?} (expected sealed or flask)"
            )),
        }
    }
}

impl std::fmt::Display for CookieFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CookieFormat::Sealed => "sealed",
            CookieFormat::Flask => "flask",
        })
    }
}

/// Turns session data into a cookie value and back. `now` and every [`Stamp`] field are Unix
/// seconds; codecs read no clock, so expiry is testable.
///
/// Only satchel's two formats implement it (the trait is sealed): the layer picks one by
/// [`SessionConfig::format`](crate::SessionConfig::format), and [`CookieFormat::codec`] gives it
/// to code that reads or writes cookies outside a request (a migration script, a test, the
/// `satchel cookie` command).
///
/// ```
/// use satchel_session::codec::{Codec, Stamp};
/// use satchel_session::{KeyRing, Value};
///
/// let codec = satchel_session::codec::SealedCodec::new(&KeyRing::new("a long secret key", [""; 0]), "session");
/// let mut data = satchel_session::value::Dict::new();
/// data.insert("n".into(), Value::from(1));
/// let stamp = Stamp { issued_at: 1000, created_at: 1000, expires_at: 2000 };
/// let cookie = codec.encode(&data, &stamp).unwrap();
/// assert_eq!(codec.decode(&cookie, 1500).unwrap().data, data);
/// assert!(codec.decode(&cookie, 2500).is_err());
/// ```
pub trait Codec: private::Sealed + Send + Sync + 'static {
    /// The cookie value for `data`: never longer than 4096 bytes (a longer one is an
    /// [`EncodeError`] that [`is_too_large`](EncodeError::is_too_large)), so whatever `encode`
    /// returns, `decode` opens.
    fn encode(&self, data: &Dict, stamp: &Stamp) -> Result<String, EncodeError>;
    /// The data in `value`, if it verifies and has not expired at `now`.
    fn decode(&self, value: &str, now: u64) -> Result<Decoded, Rejected>;
    /// The cookie value for `data`, which was decoded from the verified cookie `previous` and
    /// not modified since (a refresh): a codec may reuse work, provided the result decodes to
    /// `data` exactly as [`encode`](Codec::encode)'s would. The default encodes afresh.
    ///
    /// ```
    /// use satchel_session::codec::{Codec, Stamp};
    /// use satchel_session::{KeyRing, Value};
    ///
    /// let codec = satchel_session::codec::FlaskCodec::new(&KeyRing::new("a long secret key", [""; 0]), 3600);
    /// let mut data = satchel_session::value::Dict::new();
    /// data.insert("n".into(), Value::from(1));
    /// let first = Stamp { issued_at: 1000, created_at: 1000, expires_at: 4600 };
    /// let later = Stamp { issued_at: 1500, ..first };
    /// let cookie = codec.encode(&data, &first).unwrap();
    /// assert_eq!(codec.reencode(&data, &later, &cookie), codec.encode(&data, &later));
    /// ```
    fn reencode(&self, data: &Dict, stamp: &Stamp, previous: &str) -> Result<String, EncodeError> {
        let _ = previous;
        self.encode(data, stamp)
    }
    /// Which format this is.
    fn format(&self) -> CookieFormat;
}
