//! The save rules of `SessionLayer`, pinned through the real tower stack (axum Router,
//! in process), one behaviour per test.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use http::{header, StatusCode};
use satchel_session::codec::RejectReason;
use satchel_session::{Clock, ManualClock, Session, SessionConfig, SessionLayer};
use satchel_testkit::in_process::{self, Reply};

const KEY: &str = "test secret key, long enough to be a real one";
const START: u64 = 1_800_000_000;

fn routes() -> Router {
    Router::new()
        .route(
            "/set",
            get(|s: Session| async move {
                s.insert("username", "Kimi");
                s.insert("age", 25);
                "set"
            }),
        )
        .route(
            "/get",
            get(|s: Session| async move {
                format!(
                    "{}/{}",
                    s.get_or("username", "Guest".to_string()),
                    s.get_or("age", 0)
                )
            }),
        )
        .route(
            "/pop_missing",
            get(|s: Session| async move { format!("{:?}", s.remove("nope")) }),
        )
        .route("/clear", get(|s: Session| async move { s.clear() }))
        .route(
            "/permanent",
            get(|s: Session| async move {
                s.set_permanent(true);
                s.insert("n", 1);
            }),
        )
        .route("/noop", get(|| async { "no session here" }))
        .route(
            "/big",
            get(|s: Session| async move {
                s.insert("blob", "x".repeat(5000));
            }),
        )
        .route(
            "/measure",
            get(|s: Session| async move {
                s.insert("blob", "y".repeat(100));
                s.encoded_len().unwrap().to_string()
            }),
        )
        .route(
            "/own_cache_control",
            get(|s: Session| async move {
                s.insert("n", 1);
                ([(header::CACHE_CONTROL, "no-store")], "ok")
            }),
        )
        .route("/cycle", get(|s: Session| async move { s.cycle_id() }))
        .route(
            "/maybe",
            get(|s: Option<Session>| async move {
                if s.is_some() {
                    "some"
                } else {
                    "none"
                }
            }),
        )
}

struct Harness {
    app: Router,
    layer: SessionLayer,
    hands: ManualClock,
}

fn harness(config: SessionConfig) -> Harness {
    let (clock, hands) = Clock::manual(START);
    let layer = SessionLayer::builder(config)
        .clock(clock)
        .build()
        .expect("valid config");
    Harness {
        app: routes().layer(layer.clone()),
        layer,
        hands,
    }
}

fn secure() -> SessionConfig {
    SessionConfig::default().with_secret_key(KEY)
}

impl Harness {
    async fn get(&self, path: &str, cookies: &[&str]) -> Reply {
        let header = (!cookies.is_empty()).then(|| cookies.join("; "));
        in_process::get(&self.app, path, header.as_deref()).await
    }
}

#[tokio::test]
async fn route_that_never_uses_the_session_gets_no_cookie_and_no_vary() {
    let h = harness(secure());
    let reply = h.get("/noop", &[]).await;
    assert!(reply.set_cookies().is_empty());
    assert!(reply.vary().is_empty());
}

#[tokio::test]
async fn reading_the_session_adds_vary_cookie_but_no_set_cookie() {
    let h = harness(secure());
    let reply = h.get("/get", &[]).await;
    assert_eq!(reply.body, "Guest/0");
    assert!(reply.set_cookies().is_empty());
    assert_eq!(reply.vary(), ["Cookie"]);
}

#[tokio::test]
async fn modified_session_sets_a_cookie_with_secure_defaults() {
    let h = harness(secure());
    let reply = h.get("/set", &[]).await;
    let cookies = reply.set_cookies();
    assert_eq!(cookies.len(), 1);
    let attributes: Vec<&str> = cookies[0].split("; ").skip(1).collect();
    for expected in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(
            attributes.contains(&expected),
            "{expected} missing from {cookies:?}"
        );
    }
    assert!(
        !cookies[0].contains("Expires"),
        "a non-permanent session has no Expires"
    );
    assert_eq!(reply.headers[header::CACHE_CONTROL], "private");
    assert_eq!(reply.vary(), ["Cookie"]);
}

#[tokio::test]
async fn session_written_in_one_request_is_read_in_the_next() {
    let h = harness(secure());
    let pair = h.get("/set", &[]).await.cookie_pair();
    assert_eq!(h.get("/get", &[&pair]).await.body, "Kimi/25");
}

#[tokio::test]
async fn the_sealed_cookie_does_not_show_the_data() {
    let h = harness(secure());
    let pair = h.get("/set", &[]).await.cookie_pair();
    assert!(!pair.contains("Kimi") && !pair.contains("S2ltaQ"), "{pair}");
}

#[tokio::test]
async fn emptied_session_gets_a_deleting_cookie_with_the_same_flags() {
    let mut config = secure();
    config.cookie_domain = Some("example.com".into());
    config.cookie_path = Some("/app".into());
    let h = harness(config);
    let pair = h.get("/set", &[]).await.cookie_pair();
    let reply = h.get("/clear", &[&pair]).await;
    let cookies = reply.set_cookies();
    assert_eq!(cookies.len(), 1);
    let deleting = &cookies[0];
    assert!(deleting.starts_with("session=;"), "{deleting}");
    for expected in [
        "Max-Age=0",
        "Domain=example.com",
        "Path=/app",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
    ] {
        assert!(
            deleting.contains(expected),
            "{expected} missing from {deleting}"
        );
    }
    assert!(
        deleting.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        "{deleting}"
    );
}

#[tokio::test]
async fn empty_unmodified_session_sends_no_cookie() {
    let h = harness(secure());
    let reply = h.get("/pop_missing", &[]).await;
    assert_eq!(reply.body, "None");
    assert!(reply.set_cookies().is_empty());
}

#[tokio::test]
async fn permanent_session_gets_expires_and_is_refreshed_on_every_request() {
    let h = harness(secure());
    let reply = h.get("/permanent", &[]).await;
    let first = reply.set_cookies().remove(0);
    let lifetime = satchel_session::FLASK_PERMANENT_SESSION_LIFETIME.as_secs();
    let expected = time::OffsetDateTime::from_unix_timestamp((START + lifetime) as i64).unwrap();
    let expires = httpdate(expected);
    assert!(
        first.contains(&format!("Expires={expires}")),
        "{first} lacks {expires}"
    );
    let pair = first.split(';').next().unwrap().to_owned();
    h.hands.advance(60);
    let refreshed = h.get("/get", &[&pair]).await;
    assert_eq!(
        refreshed.set_cookies().len(),
        1,
        "read-only request re-issues a permanent session"
    );
}

/// A refresh re-signs the payload it received when the data is unchanged, and encodes afresh
/// once the data changes. To tell the two apart, the incoming cookie compresses a payload
/// Flask would leave plain (still valid: Flask reads it), which only a kept payload preserves.
#[tokio::test]
async fn flask_refresh_keeps_an_unchanged_payload_and_encodes_a_changed_one() {
    use base64::Engine as _;
    use std::io::Write as _;
    let mut config = secure();
    config.format = satchel_session::CookieFormat::Flask;
    let h = harness(config.clone());
    let mut data = satchel_session::value::Dict::new();
    data.insert("_permanent".into(), satchel_session::Value::Bool(true));
    data.insert("n".into(), satchel_session::Value::from(1));
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    zlib.write_all(satchel_session::codec::flask_json::to_string(&data).as_bytes())
        .unwrap();
    let payload = format!(
        ".{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(zlib.finish().unwrap())
    );
    // `reencode` signs a payload that holds exactly `data`, wherever it came from.
    let codec = satchel_session::codec::FlaskCodec::new(
        &satchel_session::KeyRing::new(KEY, [""; 0]),
        satchel_session::FLASK_PERMANENT_SESSION_LIFETIME.as_secs(),
    );
    let stamp = satchel_session::codec::Stamp {
        issued_at: START,
        created_at: START,
        expires_at: 0,
    };
    let cookie =
        satchel_session::codec::Codec::reencode(&codec, &data, &stamp, &format!("{payload}.x.y"))
            .unwrap();
    assert!(cookie.starts_with(&format!("{payload}.")));

    h.hands.advance(60);
    let refreshed = h.get("/get", &[&format!("session={cookie}")]).await;
    let pair = refreshed.cookie_pair();
    assert!(pair.starts_with(&format!("session={payload}.")), "{pair}");
    assert_ne!(pair, format!("session={cookie}"), "a new timestamp");

    let changed = h.get("/permanent", &[&pair]).await.cookie_pair();
    assert!(!changed.starts_with("session=."), "re-encoded: {changed}");
}

#[tokio::test]
async fn permanent_session_is_not_refreshed_when_refresh_each_request_is_off() {
    let mut config = secure();
    config.refresh_each_request = false;
    let h = harness(config);
    let pair = h.get("/permanent", &[]).await.cookie_pair();
    assert!(h.get("/get", &[&pair]).await.set_cookies().is_empty());
}

#[tokio::test]
async fn non_permanent_session_is_not_refreshed_by_reads() {
    let h = harness(secure());
    let pair = h.get("/set", &[]).await.cookie_pair();
    assert!(h.get("/get", &[&pair]).await.set_cookies().is_empty());
}

#[tokio::test]
async fn app_cache_control_is_kept() {
    let h = harness(secure());
    let reply = h.get("/own_cache_control", &[]).await;
    assert_eq!(reply.set_cookies().len(), 1);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn oversized_session_is_a_500_not_a_dropped_cookie() {
    let h = harness(secure());
    let reply = h.get("/big", &[]).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.set_cookies().is_empty());
    assert!(reply.body.contains("session could not be saved"));
    assert_eq!(h.layer.stats().oversized(), 1);
}

#[tokio::test]
async fn encoded_len_matches_the_cookie_sent() {
    let h = harness(secure());
    let reply = h.get("/measure", &[]).await;
    let predicted: usize = reply.body.parse().unwrap();
    // The sealed format uses a fresh nonce each time, but its length is fixed by the data.
    assert_eq!(predicted, reply.cookie_pair().len());
}

#[tokio::test]
async fn tampered_cookie_gives_an_empty_session_and_is_counted() {
    let h = harness(secure());
    let pair = h.get("/set", &[]).await.cookie_pair();
    let mut bytes = pair.into_bytes();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let reply = h.get("/get", &[&tampered]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "Guest/0");
    assert_eq!(h.layer.stats().rejected(RejectReason::Tampered), 1);
}

#[tokio::test]
async fn junk_cookie_gives_an_empty_session() {
    let h = harness(secure());
    let reply = h.get("/get", &["session=%%%not-a-cookie", "other=1"]).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "Guest/0")
    );
    assert_eq!(h.layer.stats().rejected(RejectReason::Malformed), 1);
}

#[tokio::test]
async fn expired_cookie_gives_an_empty_session() {
    let h = harness(secure());
    let pair = h.get("/set", &[]).await.cookie_pair();
    h.hands
        .advance(satchel_session::FLASK_PERMANENT_SESSION_LIFETIME.as_secs() + 1);
    assert_eq!(h.get("/get", &[&pair]).await.body, "Guest/0");
    assert_eq!(h.layer.stats().rejected(RejectReason::Expired), 1);
}

#[tokio::test]
async fn cookie_under_a_fallback_key_is_reissued_under_the_current_key() {
    let old = harness(
        SessionConfig::default().with_secret_key("the old key, retired after the rotation"),
    );
    let old_pair = old.get("/set", &[]).await.cookie_pair();

    let mut config = secure();
    config.secret_key_fallbacks = vec!["the old key, retired after the rotation".into()];
    let h = harness(config);
    let reply = h.get("/get", &[&old_pair]).await;
    assert_eq!(reply.body, "Kimi/25");
    let new_pair = reply.cookie_pair();
    assert_ne!(new_pair, old_pair);

    let current_only = harness(secure());
    assert_eq!(current_only.get("/get", &[&new_pair]).await.body, "Kimi/25");
    assert_eq!(current_only.get("/get", &[&old_pair]).await.body, "Guest/0");
}

#[tokio::test]
async fn with_several_session_cookies_the_first_that_verifies_wins() {
    let h = harness(secure());
    let good = h.get("/set", &[]).await.cookie_pair();
    let planted = "session=planted-by-a-sibling-domain";
    assert_eq!(h.get("/get", &[planted, &good]).await.body, "Kimi/25");
    assert_eq!(
        h.layer.stats().rejected_total(),
        0,
        "a verified cookie means no rejection"
    );
}

#[tokio::test]
async fn flask_defaults_send_flasks_flags() {
    let h = harness(SessionConfig::flask_defaults().with_secret_key(KEY));
    let cookie = h.get("/set", &[]).await.set_cookies().remove(0);
    assert!(cookie.contains("HttpOnly"));
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(!cookie.contains("SameSite"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(h.get("/get", &[&pair]).await.body, "Kimi/25");
}

#[tokio::test]
async fn cycle_id_issues_a_fresh_cookie_with_the_same_data() {
    let h = harness(secure());
    let pair = h.get("/set", &[]).await.cookie_pair();
    let cycled = h.get("/cycle", &[&pair]).await.cookie_pair();
    assert_ne!(pair, cycled);
    assert_eq!(h.get("/get", &[&cycled]).await.body, "Kimi/25");
}

#[tokio::test]
async fn idle_timeout_refreshes_active_sessions_and_ends_idle_ones() {
    let mut config = secure();
    config.idle_timeout = Some(Duration::from_secs(600));
    let h = harness(config);
    let mut pair = h.get("/set", &[]).await.cookie_pair();
    for _ in 0..3 {
        h.hands.advance(500);
        let reply = h.get("/get", &[&pair]).await;
        assert_eq!(reply.body, "Kimi/25");
        pair = reply.cookie_pair();
    }
    h.hands.advance(601);
    assert_eq!(h.get("/get", &[&pair]).await.body, "Guest/0");
}

#[tokio::test]
async fn absolute_timeout_ends_even_an_active_session() {
    let mut config = secure();
    config.idle_timeout = Some(Duration::from_secs(600));
    config.absolute_timeout = Some(Duration::from_secs(1000));
    let h = harness(config);
    let mut pair = h.get("/set", &[]).await.cookie_pair();
    h.hands.advance(500);
    let reply = h.get("/get", &[&pair]).await;
    assert_eq!(reply.body, "Kimi/25");
    pair = reply.cookie_pair();
    h.hands.advance(501);
    assert_eq!(h.get("/get", &[&pair]).await.body, "Guest/0");
}

#[tokio::test]
async fn option_session_is_none_without_a_layer_and_session_is_a_clear_500() {
    let bare = Router::new()
        .route(
            "/maybe",
            get(|s: Option<Session>| async move {
                if s.is_some() {
                    "some"
                } else {
                    "none"
                }
            }),
        )
        .route("/needs", get(|_s: Session| async { "unreachable" }));
    assert_eq!(in_process::get(&bare, "/maybe", None).await.body, "none");
    let reply = in_process::get(&bare, "/needs", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.body.contains("SessionLayer"));
    let h = harness(secure());
    assert_eq!(h.get("/maybe", &[]).await.body, "some");
}

/// An HTTP date as `Set-Cookie` writes it.
fn httpdate(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&format).unwrap()
}
