//! `satchel serve` over HTTP: every route and text of the issue's table, the login flow and
//! its statuses, id rotation, flash-once, the throttle, metrics, and the startup rules.

mod common;

use common::{form_encode, Server, ADMIN_PASSWORD};

#[test]
fn tutorial_routes_answer_with_the_tutorials_texts() {
    let server = Server::start(&[], &[]);
    let guest = server.get("/get_session", None);
    assert_eq!(
        (guest.status, guest.text().as_str()),
        (200, "Hello, Guest! Your age is 0.")
    );

    let set = server.get("/set_session", None);
    assert_eq!(set.text(), "Session data set!");
    let cookie = set.cookie_pair("session").expect("a session cookie");
    assert_eq!(
        server.get("/get_session", Some(&cookie)).text(),
        "Hello, Kimi! Your age is 25."
    );

    let deleted = server.get("/delete_session", Some(&cookie));
    assert_eq!(deleted.text(), "Session data deleted!");
    let cookie = deleted.cookie_pair("session").unwrap();
    assert_eq!(
        server.get("/get_session", Some(&cookie)).text(),
        "Hello, Guest! Your age is 25."
    );

    let cleared = server.get("/clear_session", Some(&cookie));
    assert_eq!(cleared.text(), "All session data cleared!");
    let deletion = cleared.set_cookie("session").expect("a deleting cookie");
    assert!(deletion.starts_with("session=;"), "{deletion}");
    assert!(deletion.contains("Max-Age=0"), "{deletion}");
}

#[test]
fn counter_counts_per_session() {
    let server = Server::start(&[], &[]);
    let first = server.get("/counter", None);
    assert_eq!(first.text(), "1");
    let mut cookie = first.cookie_pair("session").unwrap();
    for expected in 2..=4 {
        let next = server.get("/counter", Some(&cookie));
        assert_eq!(next.text(), expected.to_string());
        cookie = next.cookie_pair("session").unwrap();
    }
    assert_eq!(server.get("/counter", None).text(), "1");
}

#[test]
fn probes_touch_no_session() {
    // The shell sends these paths to the probe routes, outside the session layer; a path in
    // that list without a probe route would answer 404 here.
    let server = Server::start(&[], &[]);
    let (_, cookie) = server.login("admin", ADMIN_PASSWORD);
    for cookie in [None, Some(cookie.as_str())] {
        let ok = server.get("/healthz", cookie);
        assert_eq!((ok.status, ok.text().as_str()), (200, "ok"));
        for path in ["/healthz", "/readyz", "/metrics"] {
            let probe = server.get(path, cookie);
            assert_eq!(probe.status, 200, "{path}");
            assert!(probe.set_cookie("session").is_none(), "{path}");
            assert!(probe.header("vary").is_none(), "{path}");
            assert_eq!(probe.header("x-frame-options"), Some("DENY"), "{path}");
        }
    }
}

#[test]
fn login_page_is_a_form_with_a_csrf_token_tied_to_the_session() {
    let server = Server::start(&[], &[]);
    let page = server.get("/login", None);
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = page.text();
    for field in [
        r#"name="username""#,
        r#"name="password""#,
        r#"name="csrf_token""#,
    ] {
        assert!(html.contains(field), "{field} missing in {html}");
    }
    let cookie = page.cookie_pair("session").unwrap();
    let token = common::csrf_token(&html);
    // The same session keeps its token; another session gets another one.
    let (_, again) = server.login_form(Some(&cookie));
    assert_eq!(again, token);
    let (_, other) = server.login_form(None);
    assert_ne!(other, token);
}

#[test]
fn login_redirects_to_the_dashboard_which_greets_the_user() {
    let server = Server::start(&[], &[]);
    let (response, cookie) = server.login("admin", ADMIN_PASSWORD);
    assert_eq!(response.status, 303, "{}", response.text());
    assert_eq!(response.header("location"), Some("/dashboard"));
    let dashboard = server.get("/dashboard", Some(&cookie));
    assert_eq!(dashboard.status, 200);
    assert!(dashboard
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = dashboard.text();
    assert!(html.contains("Welcome to the dashboard!"), "{html}");
    assert!(
        html.contains(r#"<strong id="user">admin</strong>"#),
        "{html}"
    );
    assert!(!html.contains("not a fresh login"), "{html}");
}

#[test]
fn dashboard_without_login_redirects_to_login() {
    let server = Server::start(&[], &[]);
    for cookie in [None, Some("session=garbage")] {
        let response = server.get("/dashboard", cookie);
        assert_eq!(response.status, 303);
        assert_eq!(response.header("location"), Some("/login"));
    }
}

#[test]
fn bad_credentials_get_the_form_again_with_401() {
    let server = Server::start(&[], &[]);
    for (user, password) in [("admin", "wrong password"), ("nobody", ADMIN_PASSWORD)] {
        let (response, cookie) = server.login(user, password);
        assert_eq!(response.status, 401);
        let html = response.text();
        assert!(html.contains("Invalid credentials!"), "{html}");
        assert!(html.contains(r#"name="csrf_token""#), "{html}");
        assert_eq!(
            server.get("/dashboard", Some(&cookie)).status,
            303,
            "{user}"
        );
    }
}

#[test]
fn bad_or_missing_csrf_token_is_403() {
    let server = Server::start(&[], &[]);
    let (cookie, token) = server.login_form(None);
    let password = form_encode(ADMIN_PASSWORD);
    let cases = [
        (
            Some(cookie.as_str()),
            format!("username=admin&password={password}&csrf_token=forged"),
        ),
        (
            Some(cookie.as_str()),
            format!("username=admin&password={password}"),
        ),
        // The right token without its session.
        (
            None,
            format!("username=admin&password={password}&csrf_token={token}"),
        ),
        // A token from another session.
        (
            Some(cookie.as_str()),
            format!(
                "username=admin&password={password}&csrf_token={}",
                server.login_form(None).1
            ),
        ),
    ];
    for (cookie, body) in cases {
        let response = server.post_form("/login", cookie, &body);
        assert_eq!(response.status, 403, "{body}: {}", response.text());
        assert!(response.header("location").is_none());
    }
}

#[test]
fn login_rotates_the_session_and_the_pre_login_cookie_stays_logged_out() {
    let server = Server::start(&[], &[]);
    let (before, token) = server.login_form(None);
    let body = format!(
        "username=admin&password={}&csrf_token={token}",
        form_encode(ADMIN_PASSWORD)
    );
    let response = server.post_form("/login", Some(&before), &body);
    assert_eq!(response.status, 303);
    let after = response
        .cookie_pair("session")
        .expect("a new cookie at login");
    assert_ne!(after, before);
    let stale = server.get("/dashboard", Some(&before));
    assert_eq!(
        stale.status, 303,
        "the pre-login cookie must not reach the dashboard"
    );
    assert_eq!(server.get("/dashboard", Some(&after)).status, 200);
    // The CSRF token is new too.
    let (_, new_token) = server.login_form(Some(&after));
    assert_ne!(new_token, token);
}

#[test]
fn logout_clears_the_session_and_flashes_once() {
    let server = Server::start(&[], &[]);
    for method in ["POST", "GET"] {
        let (_, cookie) = server.login("admin", ADMIN_PASSWORD);
        let response = if method == "POST" {
            server.post_form("/logout", Some(&cookie), "")
        } else {
            server.get("/logout", Some(&cookie))
        };
        assert_eq!(response.status, 303, "{method}");
        assert_eq!(response.header("location"), Some("/login"));
        let cookie = response
            .cookie_pair("session")
            .expect("the flash's session");
        assert_eq!(server.get("/dashboard", Some(&cookie)).status, 303);
        let first = server.get("/login", Some(&cookie));
        assert!(
            first.text().contains("You have been logged out."),
            "{method}"
        );
        let cookie = first.cookie_pair("session").unwrap_or(cookie);
        let second = server.get("/login", Some(&cookie));
        assert!(
            !second.text().contains("You have been logged out."),
            "{method}: shown twice"
        );
    }
}

#[test]
fn session_page_shows_keys_values_format_size_and_times() {
    let server = Server::start(&[], &[]);
    let cookie = server
        .get("/set_session", None)
        .cookie_pair("session")
        .unwrap();
    let page = server.get("/session", Some(&cookie));
    assert_eq!(page.status, 200);
    let html = common::unescape_html(&page.text());
    for expected in [
        "<code>username</code>",
        "<code>'Kimi'</code>",
        "<code>age</code>",
        "<code>25</code>",
        r#"<td id="format">sealed</td>"#,
        "bytes (name=value",
    ] {
        assert!(html.contains(expected), "{expected} missing in {html}");
    }
    assert!(!html.contains(r#"<td id="issued">—</td>"#), "{html}");
    assert!(!html.contains(r#"<td id="expires">—</td>"#), "{html}");
    let empty = server.get("/session", None).text();
    assert!(empty.contains("The session is empty."), "{empty}");
}

#[test]
fn metrics_are_prometheus_text_with_requests_and_rejections() {
    let server = Server::start(&[], &[]);
    server.get("/counter", None);
    server.get("/counter", Some("session=tampered.cookie.value"));
    let metrics = server.get("/metrics", None);
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/counter",status="200"} 2"#),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"satchel_cookies_rejected_total{reason="malformed"} 1"#),
        "{text}"
    );
}

#[test]
fn failed_logins_are_throttled_with_429() {
    let server = Server::start(&[], &[]);
    for _ in 0..5 {
        assert_eq!(server.login("admin", "wrong password").0.status, 401);
    }
    let throttled = server.login("admin", ADMIN_PASSWORD).0;
    assert_eq!(throttled.status, 429);
    assert!(throttled.header("retry-after").is_some());
    // Other names are not locked out by it.
    assert_eq!(server.login("someone", "wrong password").0.status, 401);
}

#[test]
fn responses_that_set_cookies_are_private_and_vary_on_cookie() {
    let server = Server::start(&[], &[]);
    let response = server.get("/set_session", None);
    assert_eq!(response.header("cache-control"), Some("private, no-store"));
    assert!(response
        .headers_named("vary")
        .iter()
        .any(|v| v.contains("Cookie")));
    let cookie = response.set_cookie("session").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "development mode on http: {cookie}"
    );
}

#[test]
fn production_mode_uses_secure_host_prefixed_cookies() {
    let server = Server::start(&["--production"], &[]);
    let response = server.get("/set_session", None);
    let cookie = response
        .set_cookie("__Host-session")
        .expect("a __Host- cookie");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[test]
fn flask_format_cookies_are_itsdangerous_tokens() {
    let server = Server::start(&["--format", "flask"], &[]);
    let cookie = server
        .get("/set_session", None)
        .cookie_pair("session")
        .unwrap();
    // payload.timestamp.signature, base64url
    assert_eq!(
        cookie.trim_start_matches("session=").split('.').count(),
        3,
        "{cookie}"
    );
    let page = server.get("/session", Some(&cookie)).text();
    assert!(page.contains(r#"<td id="format">flask</td>"#), "{page}");
}

#[test]
fn every_request_is_logged_on_one_line() {
    let server = Server::start(&[], &[]);
    server.get("/healthz", None);
    server.get("/nope", None);
    common::wait_until("the log lines", || {
        let log = server.log();
        log.contains("path=/healthz status=200") && log.contains("path=/nope status=404")
    });
}
