//! Random tokens for the app (CSRF tokens, first-start passwords); `satchel keygen` prints the
//! library's [`satchel_session::generate_secret_key`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::TryRng as _;

/// `len` bytes from the OS CSPRNG, base64url without padding.
pub fn random_token(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_urlsafe_and_distinct() {
        let a = super::random_token(32);
        let b = super::random_token(32);
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }
}
