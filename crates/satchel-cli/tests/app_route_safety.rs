//! The tutorial app's routes against careless and hostile clients: the readiness probe, no
//! caching of session pages, who may read `/metrics`, HEAD that changes nothing, `/logout`
//! refused when another site triggers it, and an oversized `Expect: 100-continue` body
//! refused before `100 Continue`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{request, require_or_skip, Server, ADMIN_PASSWORD, DEADLINE};

#[test]
fn readyz_is_503_while_the_store_is_down_and_healthz_stays_ok() {
    let server = Server::start(&["--store", &common::down_redis_url()], &[]);
    let ready = server.get("/readyz", None);
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(ready.text().contains("session store is not answering"));
    let live = server.get("/healthz", None);
    assert_eq!((live.status, live.text().as_str()), (200, "ok"));
}

#[test]
fn readyz_is_503_while_the_login_ledger_is_down() {
    // Cookie sessions need their ledger for every logged-in request and every login.
    let server = Server::start(&["--ledger", &common::down_redis_url()], &[]);
    let ready = server.get("/readyz", None);
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(
        ready.text().contains("login ledger is not answering"),
        "{}",
        ready.text()
    );
}

#[test]
fn readyz_is_ok_when_the_store_answers() {
    for store in ["cookie", "memory"] {
        let server = Server::start(&["--store", store], &[]);
        let ready = server.get("/readyz", None);
        assert_eq!(ready.status, 200, "{store}: {}", ready.text());
        assert!(ready.set_cookie("session").is_none());
    }
    let redis_up = TcpStream::connect("127.0.0.1:6379").is_ok();
    if require_or_skip(redis_up, "Redis on 127.0.0.1:6379", "start redis-server") {
        let server = Server::start(&["--store", "redis://127.0.0.1:6379"], &[]);
        assert_eq!(server.get("/readyz", None).status, 200);
    }
}

#[test]
fn pages_that_depend_on_the_session_are_never_stored() {
    let server = Server::start(&[], &[]);
    let (_, cookie) = server.login("admin", ADMIN_PASSWORD);
    let cookie = server
        .get("/set_session", Some(&cookie))
        .cookie_pair("session")
        .unwrap();
    for path in ["/dashboard", "/session", "/get_session", "/"] {
        let page = server.get(path, Some(&cookie));
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.set_cookie("session").is_none(),
            "{path} sets no cookie"
        );
        assert_eq!(
            page.header("cache-control"),
            Some("private, no-store"),
            "{path}"
        );
    }
    // And a response that sets the cookie is as private.
    let set = server.get("/counter", Some(&cookie));
    assert_eq!(set.header("cache-control"), Some("private, no-store"));
}

#[test]
fn metrics_need_the_token_when_one_is_configured() {
    let server = Server::start(&["--metrics-token", "scrape-me-0123456789"], &[]);
    let anonymous = server.get("/metrics", None);
    assert_eq!(anonymous.status, 401, "loopback is not enough with a token");
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    assert!(!anonymous.text().contains("satchel_login"));
    let with = |authorization| {
        request(
            server.addr,
            "GET",
            "/metrics",
            &[("Authorization", authorization)],
            b"",
        )
    };
    assert_eq!(with("Bearer guess").status, 401);
    let right = with("Bearer scrape-me-0123456789");
    assert_eq!(right.status, 200);
    assert!(right.text().contains("http_requests_total"));
    assert!(
        !server.log().contains("scrape-me"),
        "the token is never logged"
    );
}

#[test]
fn head_changes_no_session() {
    let server = Server::start(&[], &[]);
    let first = server.get("/counter", None);
    assert_eq!(first.text(), "1");
    let cookie = first.cookie_pair("session").unwrap();
    for path in [
        "/counter",
        "/set_session",
        "/delete_session",
        "/clear_session",
    ] {
        let head = request(server.addr, "HEAD", path, &[("Cookie", &cookie)], b"");
        assert_eq!(head.status, 200, "{path}");
        assert!(
            head.set_cookie("session").is_none(),
            "HEAD {path} set a cookie"
        );
    }
    assert_eq!(server.get("/counter", Some(&cookie)).text(), "2");

    let (_, login) = server.login("admin", ADMIN_PASSWORD);
    let head = request(server.addr, "HEAD", "/logout", &[("Cookie", &login)], b"");
    assert!(head.set_cookie("session").is_none());
    assert_eq!(
        server.get("/dashboard", Some(&login)).status,
        200,
        "HEAD /logout must not log out"
    );
}

#[test]
fn logout_triggered_by_another_site_is_refused() {
    let server = Server::start(&[], &[]);
    let (_, cookie) = server.login("admin", ADMIN_PASSWORD);
    let host = server.addr.to_string();
    let evil = [
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
        ("Origin", "http://evil.example"),
        ("Referer", "http://evil.example/cat-pictures"),
    ];
    for method in ["GET", "POST"] {
        for header in evil {
            let response = request(
                server.addr,
                method,
                "/logout",
                &[("Cookie", &cookie), header],
                b"",
            );
            assert_eq!(response.status, 403, "{method} with {header:?}");
            assert!(response.set_cookie("session").is_none());
        }
    }
    assert_eq!(server.get("/dashboard", Some(&cookie)).status, 200);
    // The site's own link or button still logs out (and so does a typed URL: `none`).
    let referer = format!("http://{host}/dashboard");
    let own = request(
        server.addr,
        "GET",
        "/logout",
        &[
            ("Cookie", &cookie),
            ("Sec-Fetch-Site", "same-origin"),
            ("Referer", &referer),
        ],
        b"",
    );
    assert_eq!(own.status, 303);
    let after = own.cookie_pair("session").unwrap();
    assert_eq!(server.get("/dashboard", Some(&after)).status, 303);
}

#[test]
fn the_permanent_control_refuses_other_sites() {
    let server = Server::start(&[], &[]);
    let cookie = server
        .get("/set_session", None)
        .cookie_pair("session")
        .unwrap();
    let response = request(
        server.addr,
        "POST",
        "/permanent",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "http://evil.example"),
            ("Cookie", &cookie),
        ],
        b"permanent=true",
    );
    assert_eq!(response.status, 403);
    assert!(response.set_cookie("session").is_none());
}

#[test]
fn expect_continue_with_a_huge_body_gets_413_without_100_continue() {
    let server = Server::start(&[], &[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100000000\r\nExpect: 100-continue\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The first response head the server sends, byte by byte up to its blank line.
    let mut first = Vec::new();
    let mut byte = [0u8; 1];
    while !first.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => first.push(byte[0]),
            _ => break,
        }
    }
    let first = String::from_utf8_lossy(&first);
    assert!(
        first.starts_with("HTTP/1.1 413 "),
        "expected 413 first, got {first:?}"
    );
}
