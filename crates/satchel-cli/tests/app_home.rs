//! The tutorial app's home page over HTTP: the six parts and their controls, the live session
//! panel, the permanent choice (home page and "keep me signed in") with the Expires it gives,
//! the security view, and error pages (HTML for browsers, plain text for other clients).

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{form_encode, request, unescape_html, Response, Server, ADMIN_PASSWORD};

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const SEVEN_DAYS: i64 = 7 * 24 * 3600;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// GET with a cookie and the headers a browser sends on a same-origin navigation.
fn browse(server: &Server, path: &str, cookie: Option<&str>) -> Response {
    let mut headers = vec![
        ("Accept", BROWSER_ACCEPT),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    request(server.addr, "GET", path, &headers, b"")
}

/// The cookie to send next: the one `response` set, else the one sent (a deletion clears it).
fn next_cookie(response: &Response, sent: Option<String>) -> Option<String> {
    match response.set_cookie("session") {
        Some(set) if set.contains("Max-Age=0") => None,
        Some(_) => response.cookie_pair("session"),
        None => sent,
    }
}

/// Clicks a home-page control: its 303 back home, then the home page it leads to.
fn click(server: &Server, control: &str, cookie: Option<String>) -> (String, Option<String>) {
    let answer = browse(server, control, cookie.as_deref());
    assert_eq!(answer.status, 303, "{control}: {}", answer.text());
    let location = answer.header("location").unwrap().to_owned();
    assert!(location.starts_with("/#part-"), "{control} → {location}");
    let cookie = next_cookie(&answer, cookie);
    let home = browse(server, "/", cookie.as_deref());
    assert_eq!(home.status, 200);
    let cookie = next_cookie(&home, cookie);
    (unescape_html(&home.text()), cookie)
}

/// The Set-Cookie's Expires as unix seconds, if it has one.
fn expires(set_cookie: &str) -> Option<i64> {
    cookie::Cookie::parse(set_cookie.to_owned())
        .unwrap()
        .expires_datetime()
        .map(|t| t.unix_timestamp())
}

/// Asserts `set_cookie` expires `lifetime` after a moment in [`before`, `after`]: the server
/// reads its clock between the two, in whole seconds, so this bound is exact, not a tolerance.
fn assert_expires_after(set_cookie: &str, lifetime: i64, before: i64, after: i64) {
    let at = expires(set_cookie).unwrap_or_else(|| panic!("no Expires in {set_cookie}"));
    assert!(
        (before + lifetime..=after + lifetime).contains(&at),
        "Expires {at} is not now + {lifetime} (now in {before}..={after}): {set_cookie}"
    );
}

/// Logs in through the form, with or without "keep me signed in".
fn login(server: &Server, remember: bool) -> Response {
    let (cookie, token) = server.login_form(None);
    let mut body = format!(
        "username=admin&password={}&csrf_token={}",
        form_encode(ADMIN_PASSWORD),
        form_encode(&token)
    );
    if remember {
        body.push_str("&remember=1");
    }
    server.post_form("/login", Some(&cookie), &body)
}

#[test]
fn home_page_walks_the_six_parts_with_their_controls() {
    let server = Server::start(&[], &[]);
    let home = browse(&server, "/", None);
    assert_eq!(home.status, 200);
    assert!(home
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(
        home.set_cookie("session").is_none(),
        "a first visit sets no cookie"
    );
    let html = home.text();
    assert!(html.contains("tutorial app</title>"), "{html}");
    let mut last = 0;
    for part in 1..=6 {
        let at = html
            .find(&format!(r#"<section id="part-{part}">"#))
            .unwrap_or_else(|| panic!("part {part} missing"));
        assert!(at > last, "part {part} out of order");
        last = at;
    }
    for control in [
        r#"href="/set_session?from=home""#,
        r#"href="/get_session?from=home""#,
        r#"href="/counter?from=home""#,
        r#"href="/delete_session?from=home""#,
        r#"href="/clear_session?from=home""#,
        r#"action="/permanent""#,
        r#"href="/login""#,
        r#"href="/session""#,
    ] {
        assert!(html.contains(control), "{control} missing");
    }
    assert!(html.contains("The session is empty."), "{html}");
    assert!(html.contains(r#"<strong id="lifetime">7 days</strong>"#));
}

#[test]
fn each_home_control_answers_on_the_home_page_and_updates_the_panel() {
    let server = Server::start(&[], &[]);
    let (html, cookie) = click(&server, "/set_session?from=home", None);
    assert!(html.contains("GET /set_session answered: Session data set!"));
    assert!(html.contains("<code>username</code></td><td><code>'Kimi'</code>"));
    assert!(html.contains("<code>age</code></td><td><code>25</code>"));
    assert!(html.contains("bytes (name=value; browsers keep up to 4096"));
    assert!(
        !html.contains("<code>_flashes</code>"),
        "answers are consumed"
    );

    let (html, cookie) = click(&server, "/get_session?from=home", cookie);
    assert!(html.contains("GET /get_session answered: Hello, Kimi! Your age is 25."));

    let (html, cookie) = click(&server, "/counter?from=home", cookie);
    assert!(html.contains("GET /counter answered: 1"));
    let (html, cookie) = click(&server, "/counter?from=home", cookie);
    assert!(html.contains("GET /counter answered: 2"));
    assert!(html.contains("<code>n</code></td><td><code>2</code>"));

    let (html, cookie) = click(&server, "/delete_session?from=home", cookie);
    assert!(html.contains("GET /delete_session answered: Session data deleted!"));
    assert!(!html.contains("<code>username</code>"));
    assert!(html.contains("<code>age</code>"));

    let (html, cookie) = click(&server, "/clear_session?from=home", cookie);
    assert!(html.contains("GET /clear_session answered: All session data cleared!"));
    assert!(html.contains("The session is empty."));
    assert_eq!(cookie, None, "clearing deletes the cookie");
}

#[test]
fn a_client_that_never_follows_the_redirect_keeps_a_working_session() {
    // Each control's answer is a flash shown on the home page. A client that never loads that
    // page queues one per request; the queue is bounded, so the cookie stops growing.
    let server = Server::start(&[], &[]);
    let mut cookie = None;
    let mut sizes = Vec::new();
    for call in 0..80 {
        let answer = browse(&server, "/set_session?from=home", cookie.as_deref());
        assert_eq!(answer.status, 303, "call {call}: {}", answer.text());
        cookie = next_cookie(&answer, cookie);
        sizes.push(cookie.as_ref().map_or(0, String::len));
    }
    let home = browse(&server, "/", cookie.as_deref());
    assert_eq!(home.status, 200);
    let last = *sizes.last().unwrap();
    assert!(last < 4096, "the cookie grew to {last} bytes");
    let plateau = sizes[20];
    assert!(
        sizes[20..].iter().all(|&n| n <= plateau + 4),
        "the cookie keeps growing: {sizes:?}"
    );
}

#[test]
fn home_page_control_makes_the_session_permanent_with_the_lifetime() {
    let server = Server::start(&[], &[]);
    let cookie = server
        .get("/set_session", None)
        .cookie_pair("session")
        .unwrap();
    let post = |cookie: &str, value: &str| {
        request(
            server.addr,
            "POST",
            "/permanent",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Sec-Fetch-Site", "same-origin"),
                ("Cookie", cookie),
            ],
            format!("permanent={value}").as_bytes(),
        )
    };
    let before = now();
    let made = post(&cookie, "true");
    let after = now();
    assert_eq!(made.status, 303);
    assert_eq!(made.header("location"), Some("/#part-4"));
    assert_expires_after(
        made.set_cookie("session").unwrap(),
        SEVEN_DAYS,
        before,
        after,
    );
    let cookie = made.cookie_pair("session").unwrap();
    let html = unescape_html(&browse(&server, "/", Some(&cookie)).text());
    assert!(
        html.contains("session.permanent = True: the cookie now carries Expires = now + 7 days")
    );
    assert!(html.contains(r#"<td id="permanent">yes (PERMANENT_SESSION_LIFETIME = 7 days)</td>"#));
    assert!(html.contains(r#"id="make-temporary""#));

    let undone = post(&cookie, "false");
    let set = undone.set_cookie("session").unwrap();
    assert_eq!(expires(set), None, "a browser-session cookie again: {set}");
}

#[test]
fn keep_me_signed_in_makes_the_login_permanent_for_the_lifetime() {
    let server = Server::start(&[], &[]);
    let before = now();
    let remembered = login(&server, true);
    let after = now();
    assert_eq!(remembered.status, 303, "{}", remembered.text());
    assert_expires_after(
        remembered.set_cookie("session").unwrap(),
        SEVEN_DAYS,
        before,
        after,
    );
    let cookie = remembered.cookie_pair("session").unwrap();
    assert_eq!(server.get("/dashboard", Some(&cookie)).status, 200);

    let forgotten = login(&server, false);
    assert_eq!(forgotten.status, 303);
    let set = forgotten.set_cookie("session").unwrap();
    assert_eq!(
        expires(set),
        None,
        "without the box: a browser session: {set}"
    );
}

#[test]
fn the_lifetime_comes_from_permanent_session_lifetime() {
    let server = Server::start(&[], &[("PERMANENT_SESSION_LIFETIME", "3600")]);
    assert!(server
        .get("/login", None)
        .text()
        .contains("Keep me signed in for 1 hour"));
    let before = now();
    let remembered = login(&server, true);
    let after = now();
    assert_expires_after(
        remembered.set_cookie("session").unwrap(),
        3600,
        before,
        after,
    );
    let cookie = remembered.cookie_pair("session").unwrap();
    let html = browse(&server, "/", Some(&cookie)).text();
    assert!(html.contains(r#"<strong id="lifetime">1 hour</strong>"#));
    assert!(
        html.contains("Logged in as <strong>admin</strong>"),
        "{html}"
    );
}

#[test]
fn security_view_shows_a_flask_payload_but_only_ciphertext_for_sealed() {
    let flask = Server::start(&["--format", "flask"], &[]);
    let cookie = flask
        .get("/set_session", None)
        .cookie_pair("session")
        .unwrap();
    let html = unescape_html(&browse(&flask, "/", Some(&cookie)).text());
    assert!(html.contains("Signed, not encrypted"), "{html}");
    let payload = html
        .split(r#"<pre id="payload">"#)
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .expect("the decoded payload");
    let json: serde_json::Value = serde_json::from_str(payload).expect("the payload is JSON");
    assert_eq!(json, serde_json::json!({"username": "Kimi", "age": 25}));
    assert!(html.contains("development mode over plain http"), "{html}");

    let sealed = Server::start(&[], &[]);
    let cookie = sealed
        .get("/set_session", None)
        .cookie_pair("session")
        .unwrap();
    let html = browse(&sealed, "/", Some(&cookie)).text();
    assert!(html.contains("Ciphertext"), "{html}");
    assert!(!html.contains(r#"id="payload""#));
    assert!(!html.contains("Kimi</pre>"));

    let store = Server::start(&["--store", "memory"], &[]);
    let cookie = store
        .get("/set_session", None)
        .cookie_pair("session")
        .unwrap();
    let html = browse(&store, "/", Some(&cookie)).text();
    assert!(html.contains("A random 256-bit session id"), "{html}");
}

#[test]
fn unknown_paths_and_methods_get_pages_for_browsers_and_text_for_others() {
    let server = Server::start(&[], &[]);
    let page = browse(&server, "/no/such/page", None);
    assert_eq!(page.status, 404);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = page.text();
    assert!(
        html.contains(r#"<h1 id="status">404 Not Found</h1>"#),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/" id="home">"#), "{html}");

    let plain = server.get("/no/such/page", None);
    assert_eq!(plain.status, 404);
    assert!(plain
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(
        plain.text(),
        "404 Not Found: There is no page at this address.\n"
    );

    let headers = [("Accept", BROWSER_ACCEPT)];
    let wrong_method = request(server.addr, "DELETE", "/counter", &headers, b"");
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.header("allow").unwrap().contains("GET"));
    assert!(wrong_method
        .text()
        .contains(r#"<h1 id="status">405 Method Not Allowed</h1>"#));
    let plain = request(server.addr, "DELETE", "/counter", &[], b"");
    assert_eq!(plain.status, 405);
    assert!(plain.text().starts_with("405 Method Not Allowed: "));
}

#[test]
fn a_store_outage_is_a_readable_503_page() {
    let server = Server::start(&["--store", &common::down_redis_url()], &[]);
    let page = browse(&server, "/counter", None);
    assert_eq!(page.status, 503, "{}", page.text());
    let html = page.text();
    assert!(html.contains("503 Service Unavailable</h1>"), "{html}");
    assert!(
        html.contains("the session store is not answering"),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/" id="home">"#));
    let plain = server.get("/counter", None);
    assert_eq!(plain.status, 503);
    assert!(plain
        .text()
        .starts_with("503 Service Unavailable: the session store is not answering"));
}
