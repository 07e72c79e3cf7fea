//! Bad input never gets a 5xx, and the server stays up: oversized and missing form fields,
//! non-UTF-8 bodies, a 5 KB cookie, 1,000 junk cookies.

mod common;

use common::{form_encode, request, Response, Server};

fn assert_4xx_or_ok(what: &str, response: &Response) {
    assert!(
        response.status < 500,
        "{what}: {} {}",
        response.status,
        response.text()
    );
}

#[test]
fn bad_login_forms_are_4xx() {
    let mut server = Server::start(&[], &[]);
    let (cookie, token) = server.login_form(None);
    let huge = "x".repeat(20_000);
    let long_password = "p".repeat(5_000);
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "missing fields",
            format!("csrf_token={token}").into_bytes(),
            400,
        ),
        (
            "missing password",
            format!("username=admin&csrf_token={token}").into_bytes(),
            400,
        ),
        ("empty body", Vec::new(), 403),
        (
            "oversized username",
            format!("username={}&password=x&csrf_token={token}", "u".repeat(500)).into_bytes(),
            400,
        ),
        (
            "oversized password",
            format!("username=admin&password={long_password}&csrf_token={token}").into_bytes(),
            400,
        ),
        (
            "oversized body",
            format!("username={huge}&csrf_token={token}").into_bytes(),
            413,
        ),
        (
            "non-UTF-8 body",
            [
                b"username=\xff\xfe&password=\xc3\x28&csrf_token=".as_slice(),
                token.as_bytes(),
            ]
            .concat(),
            401,
        ),
        (
            "percent-encoded non-UTF-8",
            format!("username=%FF%FE&password=%C3%28&csrf_token={token}").into_bytes(),
            401,
        ),
        ("not a form at all", b"\x00\x01\x02{[".to_vec(), 403),
    ];
    for (what, body, expected) in cases {
        let response = request(
            server.addr,
            "POST",
            "/login",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &cookie),
            ],
            &body,
        );
        assert_4xx_or_ok(what, &response);
        assert_eq!(response.status, expected, "{what}: {}", response.text());
    }
    let json = request(
        server.addr,
        "POST",
        "/login",
        &[("Content-Type", "application/json"), ("Cookie", &cookie)],
        br#"{"username":"admin"}"#,
    );
    assert_eq!(json.status, 415);
    assert!(server.is_running());
    assert_eq!(server.get("/healthz", None).text(), "ok");
    // The session survived all of it: a proper login still works.
    let body = format!(
        "username=admin&password={}&csrf_token={token}",
        form_encode(common::ADMIN_PASSWORD)
    );
    assert_eq!(server.post_form("/login", Some(&cookie), &body).status, 303);
}

#[test]
fn junk_cookies_give_an_empty_session_never_a_5xx() {
    let mut server = Server::start(&[], &[]);
    let big = format!("session={}", "A".repeat(5 * 1024));
    let many: String = (0..1000)
        .map(|i| format!("junk{i}=v{i}"))
        .collect::<Vec<_>>()
        .join("; ");
    let many_sessions: String = (0..1000)
        .map(|i| format!("session=x{i}.y.z"))
        .collect::<Vec<_>>()
        .join("; ");
    let binary = "session=\u{7f}\u{1}%%%;;;==;";
    for (what, cookie) in [
        ("a 5 KB session cookie", big.as_str()),
        ("1,000 junk cookies", many.as_str()),
        ("1,000 bad session cookies", many_sessions.as_str()),
        ("binary junk", binary),
    ] {
        for path in [
            "/get_session",
            "/counter",
            "/dashboard",
            "/session",
            "/login",
        ] {
            let response = server.get(path, Some(cookie));
            assert_4xx_or_ok(&format!("{what} on {path}"), &response);
            if path == "/get_session" && response.status == 200 {
                assert_eq!(response.text(), "Hello, Guest! Your age is 0.", "{what}");
            }
            if path == "/counter" && response.status == 200 {
                assert_eq!(response.text(), "1", "{what}");
            }
        }
    }
    // 1,000 separate Cookie headers: hyper refuses that many headers (431), never a 5xx.
    let headers: Vec<(&str, &str)> = (0..1000).map(|_| ("Cookie", "junk=1")).collect();
    let response = request(server.addr, "GET", "/get_session", &headers, b"");
    assert_4xx_or_ok("1,000 Cookie headers", &response);
    assert!(server.is_running());
    assert_eq!(server.get("/healthz", None).text(), "ok");
}
