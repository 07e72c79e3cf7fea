//! Unit tests of `config`.

use super::*;

fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn flask_prefixed_environment_is_read() {
    let c = SessionConfig::default()
        .with_vars(vars(&[
            ("FLASK_SECRET_KEY", "k1"),
            ("FLASK_SECRET_KEY_FALLBACKS", r#"["old1", "old2"]"#),
            ("FLASK_SESSION_COOKIE_SAMESITE", "Strict"),
            ("FLASK_SESSION_COOKIE_DOMAIN", "example.com"),
            ("FLASK_SESSION_REFRESH_EACH_REQUEST", "false"),
            ("FLASK_MAX_COOKIE_SIZE", "2000"),
            ("FLASK_SESSION_FORMAT", "flask"),
        ]))
        .unwrap();
    assert_eq!(c.secret_key.unwrap().as_bytes(), b"k1");
    assert_eq!(c.secret_key_fallbacks.len(), 2);
    assert_eq!(c.cookie_samesite, Some(SameSite::Strict));
    assert_eq!(c.cookie_domain.as_deref(), Some("example.com"));
    assert!(!c.refresh_each_request);
    assert_eq!(c.max_cookie_size, 2000);
    assert_eq!(c.format, CookieFormat::Flask);
}

#[test]
fn unprefixed_name_wins_over_flask_prefix() {
    let c = SessionConfig::default()
        .with_vars(vars(&[
            ("SECRET_KEY", "plain"),
            ("FLASK_SECRET_KEY", "prefixed"),
        ]))
        .unwrap();
    assert_eq!(c.secret_key.unwrap().as_bytes(), b"plain");
}

#[test]
fn bad_values_name_the_key() {
    let err = SessionConfig::default()
        .with_vars(vars(&[("SESSION_COOKIE_SECURE", "perhaps")]))
        .unwrap_err();
    assert_eq!(err.key, "SESSION_COOKIE_SECURE");
    let err = SessionConfig::default()
        .with_vars(vars(&[("PERMANENT_SESSION_LIFETIME", "a week")]))
        .unwrap_err();
    assert_eq!(err.key, "PERMANENT_SESSION_LIFETIME");
}

#[test]
fn missing_secret_key_is_a_startup_error() {
    let err = SessionConfig::default().validate().unwrap_err();
    assert_eq!(err.key, "SECRET_KEY");
    let err = SessionConfig::default()
        .with_secret_key("")
        .validate()
        .unwrap_err();
    assert_eq!(err.key, "SECRET_KEY");
}

#[test]
fn inconsistent_settings_are_refused() {
    let mut c = SessionConfig::flask_defaults().with_secret_key("k");
    c.absolute_timeout = Some(Duration::from_secs(60));
    assert_eq!(c.validate().unwrap_err().key, "SESSION_ABSOLUTE_TIMEOUT");
    let mut c = SessionConfig::default().with_secret_key("k");
    c.cookie_name = "__Host-session".into();
    c.cookie_domain = Some("example.com".into());
    assert_eq!(c.validate().unwrap_err().key, "SESSION_COOKIE_NAME");
    let mut c = SessionConfig::flask_defaults().with_secret_key("k");
    c.cookie_samesite = Some(SameSite::None);
    assert_eq!(c.validate().unwrap_err().key, "SESSION_COOKIE_SAMESITE");
}
