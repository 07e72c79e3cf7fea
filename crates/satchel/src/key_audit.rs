//! Secret-key hygiene: generating a good `SECRET_KEY`, and refusing the bad ones (publicly
//! known, short, not random) before they sign a single cookie.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::SysRng;
use rand::TryRng as _;

/// A fresh secret key: 32 bytes (256 bits) from the operating system's CSPRNG, base64url
/// without padding (43 characters). `satchel keygen` prints one.
///
/// ```
/// let key = satchel_session::generate_secret_key();
/// assert_eq!(key.len(), 43);
/// assert_ne!(key, satchel_session::generate_secret_key());
/// ```
pub fn generate_secret_key() -> String {
    let mut bytes = [0u8; 32];
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Why a secret key was refused, in words meant for the person who set it.
///
/// ```
/// let refused = satchel_session::audit_secret_key(b"changeme").unwrap_err();
/// assert!(refused.to_string().contains("satchel keygen"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WeakKey(String);

/// The shortest secret key accepted, in bytes: `satchel keygen` gives 43, Flask's docs suggest
/// `secrets.token_hex()` (64).
pub const MIN_SECRET_KEY_LEN: usize = 32;

/// Secret keys published in tutorials, docs and project defaults, compared after trimming and
/// ignoring ASCII case. Short ones are also caught by the length rule; they are listed so the
/// message says why.
const KNOWN_KEYS: &[&str] = &[
    // The seed tutorial's placeholder, and its common variants.
    "your_secret_key",
    "your-secret-key",
    "your secret key",
    "secret",
    "secret_key",
    "secret-key",
    "secretkey",
    "mysecretkey",
    "my_secret_key",
    "supersecretkey",
    "super-secret",
    "super secret key",
    "changeme",
    "change-me",
    "change_me",
    "dev",
    "development key",
    "default",
    "flask",
    "test",
    "keyboard cat",
    // Flask's old docs: `app.secret_key = b'_5#y2L"F4Q8z\n\xec]/'`.
    "_5#y2L\"F4Q8z\n\u{ec}]/",
    // The Flask Mega-Tutorial and Flask Web Development (Flasky).
    "you-will-never-guess",
    "hard to guess string",
    // Apache Superset's old default (CVE-2023-27524) and its current placeholder.
    "\x02\x01thisismyscretkey\x01\x02\\e\\y\\y\\h",
    "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET",
    "TEST_NON_DEV_SECRET",
    // Airflow's and Redash's old defaults.
    "temporary_key",
    "c292a0a3aa32397cdb050e233733900f",
];

/// Why `key` must not be used as a `SECRET_KEY`, or `Ok` if it passes: it must not be a key
/// published in tutorials or project defaults, must be at least [`MIN_SECRET_KEY_LEN`] bytes,
/// and must not be made of a handful of characters. [`SessionLayer`](crate::SessionLayer)
/// refuses a current key that fails (unless told to accept a legacy key), and `satchel key
/// audit` prints the reason.
///
/// ```
/// use satchel_session::{audit_secret_key, generate_secret_key};
/// assert!(audit_secret_key(generate_secret_key().as_bytes()).is_ok());
/// let refused = audit_secret_key(b"your_secret_key").unwrap_err();
/// assert!(refused.to_string().contains("publicly known"));
/// assert!(audit_secret_key(b"short").is_err());
/// ```
pub fn audit_secret_key(key: &[u8]) -> Result<(), WeakKey> {
    let trimmed = key.trim_ascii();
    if KNOWN_KEYS
        .iter()
        .any(|known| known.as_bytes().eq_ignore_ascii_case(trimmed))
    {
        return Err(WeakKey(
            "this secret key is publicly known (it appears in tutorials or project defaults): \
             anyone can forge sessions with it; generate one with `satchel keygen`"
                .into(),
        ));
    }
    if key.len() < MIN_SECRET_KEY_LEN {
        return Err(WeakKey(format!(
            "this secret key is {} bytes; use at least {MIN_SECRET_KEY_LEN} random bytes \
             (`satchel keygen` prints one)",
            key.len()
        )));
    }
    let mut distinct = key.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 8 {
        return Err(WeakKey(format!(
            "this secret key uses only {} distinct characters: it is not random; \
             `satchel keygen` prints a good one",
            distinct.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_flask_keys_are_refused_as_known() {
        for key in [
            "your_secret_key",
            "SECRET",
            " changeme ",
            "dev",
            "development key",
            "\x02\x01thisismyscretkey\x01\x02\\e\\y\\y\\h",
            "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET",
        ] {
            let reason = audit_secret_key(key.as_bytes()).unwrap_err().to_string();
            assert!(reason.contains("publicly known"), "{key:?}: {reason}");
        }
    }

    #[test]
    fn short_and_repetitive_keys_are_refused() {
        let short = audit_secret_key(b"a fine but short key").unwrap_err();
        assert!(short.to_string().contains("bytes"));
        let repetitive = audit_secret_key(&[b'a'; 64]).unwrap_err();
        assert!(repetitive.to_string().contains("distinct"));
    }

    #[test]
    fn generated_keys_pass_and_are_urlsafe() {
        let key = generate_secret_key();
        assert_eq!(audit_secret_key(key.as_bytes()), Ok(()));
        assert!(key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
