//! `satchel keygen`: a fresh secret key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// 32 bytes (256 bits) from the OS CSPRNG, base64url without padding (43 characters).
pub fn new_secret_key() -> String {
    random_token(32)
}

/// `len` bytes from the OS CSPRNG, base64url without padding.
pub fn random_token(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_256_bits_urlsafe_and_distinct() {
        let a = super::new_secret_key();
        let b = super::new_secret_key();
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }
}
