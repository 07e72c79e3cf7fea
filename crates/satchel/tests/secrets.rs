//! Secrets never show in Debug output (what `tracing`'s `?field` and `{:?}` print): keys,
//! key rings, settings holding keys, codecs and session ids.

use satchel_session::codec::{FlaskCodec, SealedCodec};
use satchel_session::store::SessionId;
use satchel_session::{KeyRing, SecretKey, SessionConfig};

const CURRENT: &str = "current-secret-0123456789abcdef";
const FALLBACK: &str = "fallback-secret-fedcba9876543210";

fn assert_hides(debug: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!debug.contains(secret), "{secret:?} shows in {debug}");
        // Nor a recognisable piece of it.
        assert!(
            !debug.contains(&secret[..12]),
            "part of {secret:?} shows in {debug}"
        );
    }
}

#[test]
fn secret_keys_and_key_rings_debug_as_redacted() {
    assert_eq!(
        format!("{:?}", SecretKey::new(CURRENT)),
        "SecretKey(<redacted>)"
    );
    let ring = KeyRing::new(CURRENT, [FALLBACK]);
    let debug = format!("{ring:?} {ring:#?}");
    assert_hides(&debug, &[CURRENT, FALLBACK]);
    assert!(debug.contains("redacted"), "{debug}");
}

#[test]
fn settings_holding_keys_debug_without_them() {
    let mut config = SessionConfig::default().with_secret_key(CURRENT);
    config.secret_key_fallbacks = vec![SecretKey::new(FALLBACK)];
    assert_hides(&format!("{config:?} {config:#?}"), &[CURRENT, FALLBACK]);
}

#[test]
fn codecs_debug_without_key_material() {
    let ring = KeyRing::new(CURRENT, [FALLBACK]);
    let sealed = format!("{:?}", SealedCodec::new(&ring, "session"));
    let flask = format!("{:?}", FlaskCodec::new(&ring, 60));
    assert_hides(&sealed, &[CURRENT, FALLBACK]);
    assert_hides(&flask, &[CURRENT, FALLBACK]);
    assert_eq!(sealed, "SealedCodec { keys: 2, .. }");
}

#[test]
fn session_ids_debug_without_the_id() {
    let id = SessionId::generate();
    let debug = format!("{id:?} {:?}", id.hash());
    assert!(!debug.contains(&id.encode()[..12]), "{debug}");
    assert_eq!(format!("{id:?}"), "SessionId(..)");
}
