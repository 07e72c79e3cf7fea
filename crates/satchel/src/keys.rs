//! Secret keys: the current key that signs and seals, and fallback keys that only verify.
//!
//! Flask's `SECRET_KEY` and `SECRET_KEY_FALLBACKS` map onto a [`KeyRing`]. One secret serves both
//! cookie formats: the flask format derives its HMAC key the way itsdangerous does, the sealed
//! format derives an AEAD key with HKDF-SHA256 bound to a purpose string, so a key leaked from
//! one use says nothing about the other. Key bytes are wiped from memory when dropped.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Salt for every HKDF derivation satchel makes from a secret key.
const HKDF_SALT: &[u8] = b"satchel key derivation v1";

/// One secret key. Its bytes never appear in `Debug` output and are zeroed on drop.
///
/// ```
/// use satchel_session::SecretKey;
/// let key = SecretKey::new("a long random string from `satchel keygen`");
/// assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
/// ```
#[derive(Clone)]
pub struct SecretKey(Zeroizing<Vec<u8>>);

impl SecretKey {
    /// Wraps the key's bytes (a `&str` key is used as its UTF-8 bytes, as Flask does).
    ///
    /// ```
    /// let key = satchel_session::SecretKey::new(b"raw bytes work too".to_vec());
    /// assert_eq!(key.as_bytes(), b"raw bytes work too");
    /// ```
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        SecretKey(Zeroizing::new(bytes.into()))
    }

    /// The key's bytes.
    ///
    /// ```
    /// assert_eq!(satchel_session::SecretKey::new("k").as_bytes(), b"k");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A 32-byte key derived from this one for one purpose (HKDF-SHA256). Different purposes
    /// give independent keys.
    ///
    /// ```
    /// let key = satchel_session::SecretKey::new("k");
    /// assert_ne!(*key.derive("a"), *key.derive("b"));
    /// ```
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(HKDF_SALT), &self.0)
            .expand(purpose.as_bytes(), out.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl From<&str> for SecretKey {
    fn from(s: &str) -> Self {
        SecretKey::new(s)
    }
}

impl From<String> for SecretKey {
    fn from(s: String) -> Self {
        SecretKey::new(s)
    }
}

/// The current key (signs and seals) and the fallback keys (only verify and open).
///
/// A cookie that only a fallback key accepts is re-issued under the current key on the same
/// response, so a fallback can be dropped once its cookies have been seen again.
///
/// ```
/// use satchel_session::{KeyRing, SecretKey};
/// let ring = KeyRing::new("new key", ["old key"]);
/// assert_eq!(ring.current().as_bytes(), b"new key");
/// assert_eq!(ring.fallbacks().len(), 1);
/// assert_eq!(ring.all().count(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct KeyRing {
    current: SecretKey,
    fallbacks: Vec<SecretKey>,
}

impl KeyRing {
    /// A ring with a current key and any number of fallbacks (newest first, like Flask's list).
    ///
    /// ```
    /// let ring = satchel_session::KeyRing::new("k", Vec::<String>::new());
    /// assert!(ring.fallbacks().is_empty());
    /// ```
    pub fn new<K, F>(current: K, fallbacks: F) -> Self
    where
        K: Into<SecretKey>,
        F: IntoIterator,
        F::Item: Into<SecretKey>,
    {
        KeyRing {
            current: current.into(),
            fallbacks: fallbacks.into_iter().map(Into::into).collect(),
        }
    }

    /// The key that signs and seals.
    ///
    /// ```
    /// assert_eq!(satchel_session::KeyRing::new("k", [""; 0]).current().as_bytes(), b"k");
    /// ```
    pub fn current(&self) -> &SecretKey {
        &self.current
    }

    /// The keys that only verify.
    ///
    /// ```
    /// assert_eq!(satchel_session::KeyRing::new("k", ["o"]).fallbacks()[0].as_bytes(), b"o");
    /// ```
    pub fn fallbacks(&self) -> &[SecretKey] {
        &self.fallbacks
    }

    /// Every key, the current one first.
    ///
    /// ```
    /// let ring = satchel_session::KeyRing::new("k", ["o"]);
    /// let all: Vec<_> = ring.all().map(|k| k.as_bytes().to_vec()).collect();
    /// assert_eq!(all, vec![b"k".to_vec(), b"o".to_vec()]);
    /// ```
    pub fn all(&self) -> impl Iterator<Item = &SecretKey> {
        std::iter::once(&self.current).chain(self.fallbacks.iter())
    }
}
