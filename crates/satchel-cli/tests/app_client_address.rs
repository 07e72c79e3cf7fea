//! The client's address as `satchel serve` records it and throttles by, over real sockets on
//! 127.0.0.1: forwarding headers count only from a trusted proxy (`--trusted-proxies`), and
//! a client that logged in before is not locked out by another client's failures.

mod common;

use common::{csrf_token, form_encode, request, Response, Server, ADMIN_PASSWORD};

/// Logs in as `user` sending `headers` with the form's POST (and `cookies` before the session
/// cookie): the POST's response and the session cookie pair it leaves.
fn login_with(
    server: &Server,
    user: &str,
    password: &str,
    headers: &[(&str, &str)],
    cookies: &[&str],
) -> (Response, String) {
    let form = server.get("/login", None);
    let session = form.cookie_pair("session").expect("a session cookie");
    let body = format!(
        "username={}&password={}&csrf_token={}",
        form_encode(user),
        form_encode(password),
        form_encode(&csrf_token(&form.text()))
    );
    let cookie = cookies
        .iter()
        .copied()
        .chain([session.as_str()])
        .collect::<Vec<_>>()
        .join("; ");
    let mut all = vec![
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", cookie.as_str()),
    ];
    all.extend_from_slice(headers);
    let response = request(server.addr, "POST", "/login", &all, body.as_bytes());
    let after = response.cookie_pair("session").unwrap_or(session);
    (response, after)
}

/// The address column of the `/session` page's logins (every login of the user), as `cookie`
/// sees it, sorted.
fn recorded_addresses(server: &Server, cookie: &str) -> Vec<String> {
    let page = server.get("/session", Some(cookie));
    assert_eq!(page.status, 200, "{}", page.text());
    let text = common::unescape_html(&page.text());
    text.split(r#"<td class="agent">"#)
        .skip(1)
        .filter_map(|row| row.split(r#"<td data-label="Address">"#).nth(1))
        .filter_map(|cell| cell.split("</td>").next())
        .map(str::to_owned)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[test]
fn a_forged_x_forwarded_for_is_not_the_recorded_login_address() {
    let server = Server::start(&[], &[]);
    let long = "x".repeat(300);
    for forged in ["198.51.100.23", "<b>not-an-ip</b>", long.as_str()] {
        let (response, cookie) = login_with(
            &server,
            "admin",
            ADMIN_PASSWORD,
            &[("X-Forwarded-For", forged)],
            &[],
        );
        assert_eq!(response.status, 303, "{}", response.text());
        assert_eq!(recorded_addresses(&server, &cookie), ["127.0.0.1"]);
    }
}

#[test]
fn behind_a_trusted_proxy_the_address_is_the_right_most_untrusted_entry() {
    let server = Server::start(&["--trusted-proxies", "127.0.0.1/32,10.0.0.0/8"], &[]);
    let cases = [
        // The client's own entries come first and are not believed.
        ("203.0.113.9, 198.51.100.23, 10.1.2.3", "198.51.100.23"),
        ("2001:db8::17", "2001:db8::17"),
        // The right-most untrusted entry is not an address: the peer (the proxy) it is.
        ("198.51.100.23, <b>not-an-ip</b>", "127.0.0.1"),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (forwarded_for, expected) in cases {
        let (response, cookie) = login_with(
            &server,
            "admin",
            ADMIN_PASSWORD,
            &[("X-Forwarded-For", forwarded_for)],
            &[],
        );
        assert_eq!(response.status, 303, "{}", response.text());
        let recorded = recorded_addresses(&server, &cookie);
        assert!(
            recorded.iter().any(|a| a == expected),
            "X-Forwarded-For: {forwarded_for}: {recorded:?}"
        );
        seen.insert(expected);
        assert_eq!(recorded.len(), seen.len(), "{recorded:?}");
    }
}

#[test]
fn a_proxy_that_writes_forwarded_is_read_only_when_configured_so() {
    let server = Server::start(
        &[
            "--trusted-proxies",
            "127.0.0.1",
            "--forwarded-header",
            "forwarded",
        ],
        &[],
    );
    let headers = [
        (
            "Forwarded",
            r#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711""#,
        ),
        // The proxy reads Forwarded: an X-Forwarded-For the client sent is not believed.
        ("X-Forwarded-For", "198.51.100.23"),
    ];
    let (response, cookie) = login_with(&server, "admin", ADMIN_PASSWORD, &headers, &[]);
    assert_eq!(response.status, 303, "{}", response.text());
    assert_eq!(recorded_addresses(&server, &cookie), ["2001:db8:cafe::17"]);
}

/// Five wrong guesses at `admin` with `headers`; returns the sixth attempt's status.
fn guess_until_throttled(server: &Server, headers: &[(&str, &str)]) -> u16 {
    for i in 0..5 {
        let (response, _) = login_with(server, "admin", &format!("wrong {i}"), headers, &[]);
        assert_eq!(response.status, 401, "{}", response.text());
    }
    login_with(server, "admin", "wrong again", headers, &[])
        .0
        .status
}

#[test]
fn behind_a_trusted_proxy_one_clients_failures_lock_out_only_that_client() {
    let server = Server::start(&["--trusted-proxies", "127.0.0.0/8"], &[]);
    let attacker = [("X-Forwarded-For", "198.51.100.7")];
    assert_eq!(guess_until_throttled(&server, &attacker), 429);
    let (response, _) = login_with(
        &server,
        "admin",
        ADMIN_PASSWORD,
        &[("X-Forwarded-For", "203.0.113.5")],
        &[],
    );
    assert_eq!(response.status, 303, "{}", response.text());
}

#[test]
fn a_client_that_logged_in_before_is_not_locked_out_by_others_failures() {
    // No trusted proxy: every client here shares 127.0.0.1, as every client of an
    // unconfigured reverse proxy shares the proxy's address.
    let server = Server::start(&[], &[]);
    let (first, _) = login_with(&server, "admin", ADMIN_PASSWORD, &[], &[]);
    assert_eq!(first.status, 303, "{}", first.text());
    let device = first
        .cookie_pair("satchel_device")
        .expect("a successful login leaves a device cookie");
    assert_eq!(guess_until_throttled(&server, &[]), 429);
    let (again, _) = login_with(&server, "admin", ADMIN_PASSWORD, &[], &[&device]);
    assert_eq!(again.status, 303, "{}", again.text());
}
