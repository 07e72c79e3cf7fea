//! CSRF tokens tied to the session (the synchronizer-token pattern, as Flask-WTF keeps it in
//! `session["csrf_token"]`): the login form carries the token, the POST must send it back.

use satchel_session::Session;
use subtle::ConstantTimeEq;

/// The session key holding the token.
pub const SESSION_KEY: &str = "csrf_token";

/// The session's token, created on first use.
pub fn token(session: &Session) -> String {
    if let Some(token) = session.get::<String>(SESSION_KEY) {
        return token;
    }
    let token = crate::keygen::random_token(32);
    session.insert(SESSION_KEY, token.as_str());
    token
}

/// A new token (after login, so a token seen before login is useless after it).
pub fn rotate(session: &Session) -> String {
    session.remove(SESSION_KEY);
    token(session)
}

/// Whether `sent` is the session's token (constant time; no token in the session never matches).
pub fn verify(session: &Session, sent: Option<&str>) -> bool {
    matches(session.get::<String>(SESSION_KEY), sent)
}

/// Whether `sent` is `expected` (the token a session holds), in constant time.
pub fn matches(expected: Option<String>, sent: Option<&str>) -> bool {
    match (expected, sent) {
        (Some(expected), Some(sent)) => bool::from(expected.as_bytes().ct_eq(sent.as_bytes())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_verifies_until_rotated() {
        let session = Session::default();
        let first = token(&session);
        assert_eq!(token(&session), first);
        assert!(verify(&session, Some(&first)));
        assert!(!verify(&session, Some("forged")));
        assert!(!verify(&session, None));
        let second = rotate(&session);
        assert_ne!(first, second);
        assert!(!verify(&session, Some(&first)));
    }

    #[test]
    fn no_token_in_the_session_never_verifies() {
        assert!(!verify(&Session::default(), Some("")));
    }
}
