//! `satchel serve --store memory|redis://…`: the app on server-side sessions, where the cookie
//! holds only a session id.

mod common;

use common::{form_encode, require_or_skip, Server, ADMIN_PASSWORD};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn redis_is_up() -> bool {
    let up = std::net::TcpStream::connect("127.0.0.1:6379").is_ok();
    require_or_skip(up, "Redis on 127.0.0.1:6379", "start redis-server")
}

/// The counter, login, rotation and logout flow on one store.
fn app_works_on(store: &str) {
    let server = Server::start(&["--store", store], &[]);
    let first = server.get("/counter", None);
    assert_eq!(first.text(), "1", "{}", server.log());
    let cookie = first.cookie_pair("session").expect("a session id cookie");
    let id = cookie.trim_start_matches("session=");
    assert_eq!(
        id.len(),
        43,
        "the cookie is a 256-bit id, not data: {cookie}"
    );
    for expected in 2..=4 {
        let next = server.get("/counter", Some(&cookie));
        assert_eq!(next.text(), expected.to_string());
    }

    let page = server.get("/session", Some(&cookie)).text();
    assert!(page.contains("<code>n</code>"), "{page}");
    assert!(
        !page.contains(r#"<td id="expires">—</td>"#),
        "the store's expiry is shown: {page}"
    );

    let (before, token) = server.login_form(None);
    let body = format!(
        "username=admin&password={}&csrf_token={}",
        form_encode(ADMIN_PASSWORD),
        form_encode(&token)
    );
    let login = server.post_form("/login", Some(&before), &body);
    assert_eq!(login.status, 303, "{}", login.text());
    let after = login.cookie_pair("session").expect("a new id at login");
    assert_ne!(after, before);
    assert_eq!(
        server.get("/dashboard", Some(&before)).status,
        303,
        "old id is gone"
    );
    assert_eq!(server.get("/dashboard", Some(&after)).status, 200);

    let logout = server.post_form("/logout", Some(&after), "");
    assert_eq!(logout.status, 303);
    assert_eq!(
        server.get("/dashboard", Some(&after)).status,
        303,
        "logout ends the login in the store, not just in the browser"
    );
}

#[test]
fn app_runs_on_the_memory_store() {
    app_works_on("memory");
}

#[test]
fn app_runs_on_the_redis_store() {
    if redis_is_up() {
        app_works_on(REDIS_URL);
    }
}
