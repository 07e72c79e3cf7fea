//! Live interop with a real Flask app using real Flask-Login (both from PyPI, in the test
//! venv) sharing SECRET_KEY with `satchel serve --format flask`: a login on either is honoured
//! by the other's protected page, and values set by one (tuples, bytes, flashes) are read back
//! unchanged by the other, and a permanent login made by satchel ("keep me signed in") is
//! permanent for Flask too and lives exactly PERMANENT_SESSION_LIFETIME there. Not circular:
//! the Flask side is Flask's and Flask-Login's own code.

mod common;
mod flask_session;

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::{
    request, spawn_listening, temp_dir, KillOnDrop, Response, Server, ADMIN_PASSWORD, KEY,
};

const FLASK_APP: &str = r#"
import sys, time
from datetime import timedelta
import itsdangerous
from flask import Flask, session
from flask_login_peer import add_login
from werkzeug.serving import make_server

app = Flask(__name__)
app.secret_key = sys.argv[1]
# The tutorial's lifetime, as `satchel serve` uses it by default.
app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=7)

# A movable clock for itsdangerous's age check (Flask refuses a cookie older than
# PERMANENT_SESSION_LIFETIME by it), so a test can look a week ahead without waiting.
CLOCK_OFFSET = [0]
itsdangerous.TimestampSigner.get_timestamp = lambda self: int(time.time()) + CLOCK_OFFSET[0]

@app.get("/advance/<int:seconds>")
def advance(seconds):
    CLOCK_OFFSET[0] = seconds
    return "ok"

@app.get("/permanent_state")
def permanent_state():
    return f"permanent={session.permanent} user={session.get('_user_id')}"
add_login(app, login_view="login")

@app.get("/set_values")
def set_values():
    session["t"] = (1, "two")
    session["b"] = b"\x00\xffbytes"
    return "set"

@app.get("/show")
def show():
    return repr({k: session.get(k) for k in ("t", "b", "n", "username", "age")})

server = make_server("127.0.0.1", 0, app)
print(f"flask listening on http://127.0.0.1:{server.port}", flush=True)
server.serve_forever()
"#;

const AGENT: &str = "satchel-interop-test/1.0";

/// Writes a Flask peer's `app.py` into `dir`, with the Flask-Login routes it imports.
fn write_flask_app(dir: &std::path::Path, app: &str) -> std::path::PathBuf {
    std::fs::write(
        dir.join("flask_login_peer.py"),
        include_str!("flask_login_peer.py"),
    )
    .unwrap();
    let script = dir.join("app.py");
    std::fs::write(&script, app).unwrap();
    script
}

fn get(addr: SocketAddr, path: &str, cookie: Option<&str>) -> Response {
    let mut headers = vec![("User-Agent", AGENT)];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    request(addr, "GET", path, &headers, b"")
}

/// The `session=...` pair a response set, or panics with the response.
fn session_cookie(response: &Response) -> String {
    response
        .cookie_pair("session")
        .unwrap_or_else(|| panic!("no session cookie in {response:?}"))
}

struct Peers {
    satchel: Server,
    flask: SocketAddr,
    _flask: KillOnDrop,
}

fn start() -> Option<Peers> {
    let python = common::python_with("flask, flask_login")?;
    let satchel = Server::start(&["--format", "flask"], &[]);
    let dir = temp_dir("flask-login-app");
    let script = write_flask_app(&dir, FLASK_APP);
    let log = std::fs::File::create(dir.join("flask.log")).unwrap();
    let mut command = Command::new(python);
    command.arg(&script).arg(KEY).stderr(log);
    let (child, flask, _) = spawn_listening(command, common::after("flask listening on http://"));
    Some(Peers {
        satchel,
        flask,
        _flask: KillOnDrop(child),
    })
}

/// Logs in as admin on the Flask app's Flask-Login form.
fn flask_login(flask: SocketAddr) -> Response {
    request(
        flask,
        "POST",
        "/login",
        &[
            ("User-Agent", AGENT),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"username=admin",
    )
}

#[test]
fn a_flask_login_login_is_honoured_by_satchels_dashboard() {
    let Some(peers) = start() else { return };
    let response = flask_login(peers.flask);
    assert_eq!(response.text(), "logged in");
    let cookie = session_cookie(&response);
    let dashboard = get(peers.satchel.addr, "/dashboard", Some(&cookie));
    assert_eq!(dashboard.status, 200, "{}", dashboard.text());
    let html = dashboard.text();
    assert!(
        html.contains(r#"<strong id="user">admin</strong>"#),
        "{html}"
    );
    // Same client, same Flask-Login identifier (`_id`): the login stays fresh.
    assert!(!html.contains("not a fresh login"), "{html}");
    // And logging out on Flask logs out of satchel.
    let out = get(peers.flask, "/logout", Some(&cookie));
    let cookie = out.cookie_pair("session").unwrap_or_default();
    assert_eq!(
        get(peers.satchel.addr, "/dashboard", Some(&cookie)).status,
        303
    );
}

/// Logs in on satchel's form as admin (with the interop user agent), optionally with "keep me
/// signed in".
fn satchel_login(satchel: &Server, remember: bool) -> Response {
    let (cookie, token) = satchel.login_form(None);
    let mut body = format!(
        "username=admin&password={}&csrf_token={token}",
        common::form_encode(ADMIN_PASSWORD)
    );
    if remember {
        body.push_str("&remember=1");
    }
    request(
        satchel.addr,
        "POST",
        "/login",
        &[
            ("User-Agent", AGENT),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
        ],
        body.as_bytes(),
    )
}

#[test]
fn a_satchel_login_is_honoured_by_flask_logins_login_required() {
    let Some(peers) = start() else { return };
    let response = satchel_login(&peers.satchel, false);
    assert_eq!(response.status, 303, "{}", response.text());
    let cookie = session_cookie(&response);
    let protected = get(peers.flask, "/protected", Some(&cookie));
    assert_eq!(protected.status, 200, "{}", protected.text());
    assert_eq!(protected.text(), "user=admin fresh=True");
    // Logged out by satchel: Flask-Login no longer lets it in.
    let out = get(peers.satchel.addr, "/logout", Some(&cookie));
    let cookie = session_cookie(&out);
    assert_eq!(get(peers.flask, "/protected", Some(&cookie)).status, 302);
    // satchel's logout flash is a (category, message) tuple Flask's get_flashed_messages reads.
    assert_eq!(
        get(peers.flask, "/flashes", Some(&cookie)).text(),
        "[('info', 'You have been logged out.')]"
    );
}

#[test]
fn tuples_and_bytes_set_by_flask_survive_satchel_and_come_back_unchanged() {
    let Some(peers) = start() else { return };
    let cookie = session_cookie(&get(peers.flask, "/set_values", None));
    let page = common::unescape_html(&get(peers.satchel.addr, "/session", Some(&cookie)).text());
    assert!(page.contains("<code>(1, 'two')</code>"), "{page}");
    assert!(page.contains(r"<code>b'\x00\xffbytes'</code>"), "{page}");
    // satchel rewrites the cookie (counter) and Flask reads every value back as it set them.
    let counted = get(peers.satchel.addr, "/counter", Some(&cookie));
    assert_eq!(counted.text(), "1");
    let cookie = session_cookie(&counted);
    let cookie = session_cookie(&get(peers.satchel.addr, "/set_session", Some(&cookie)));
    assert_eq!(
        get(peers.flask, "/show", Some(&cookie)).text(),
        r"{'t': (1, 'two'), 'b': b'\x00\xffbytes', 'n': 1, 'username': 'Kimi', 'age': 25}"
    );
}

#[test]
fn values_made_by_satchel_are_read_by_flask_and_flashes_go_both_ways() {
    let Some(peers) = start() else { return };
    // Tuple and bytes made by satchel's own encoder.
    let mut encode = common::satchel();
    encode
        .args(["cookie", "encode", "--format", "flask", "--secret-key", KEY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = encode.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"b":{" b":"AP9ieXRlcw=="},"t":{" t":[1,"two"]},"n":41}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let cookie = format!("session={}", String::from_utf8(out.stdout).unwrap().trim());
    assert_eq!(
        get(peers.flask, "/show", Some(&cookie)).text(),
        r"{'t': (1, 'two'), 'b': b'\x00\xffbytes', 'n': 41, 'username': None, 'age': None}"
    );
    // A Flask flash is shown once by satchel's login page.
    let cookie = session_cookie(&get(peers.flask, "/flash", None));
    let page = get(peers.satchel.addr, "/login", Some(&cookie));
    assert!(page.text().contains("Hello from Flask"), "{}", page.text());
    let cookie = session_cookie(&page);
    assert_eq!(get(peers.flask, "/flashes", Some(&cookie)).text(), "[]");
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The `Expires` of the session `Set-Cookie`, as unix seconds.
fn expires(response: &Response) -> Option<i64> {
    let set = response.set_cookie("session")?;
    cookie::Cookie::parse(set.to_owned())
        .ok()?
        .expires_datetime()
        .map(|t| t.unix_timestamp())
}

#[test]
fn a_permanent_satchel_login_is_permanent_for_flask_for_exactly_its_lifetime() {
    const WEEK: i64 = 7 * 24 * 3600;
    let Some(peers) = start() else { return };
    let before = unix_now();
    let login = satchel_login(&peers.satchel, true);
    let after = unix_now();
    assert_eq!(login.status, 303, "{}", login.text());
    let satchel_expires = expires(&login).expect("a permanent cookie has Expires");
    assert!((before + WEEK..=after + WEEK).contains(&satchel_expires));
    let cookie = session_cookie(&login);

    // Flask reads `_permanent` and re-issues the cookie with its own Expires: the same week.
    let read = get(peers.flask, "/permanent_state", Some(&cookie));
    assert_eq!(read.text(), "permanent=True user=admin");
    let flask_expires = expires(&read).expect("Flask refreshes a permanent session");
    assert!(
        (satchel_expires..=unix_now() + WEEK).contains(&flask_expires),
        "Flask's Expires {flask_expires} vs satchel's {satchel_expires}"
    );

    // The satchel cookie itself: still valid for Flask a minute before the week is up, and
    // refused (an empty session) a minute after.
    assert_eq!(
        get(peers.flask, &format!("/advance/{}", WEEK - 60), None).text(),
        "ok"
    );
    let late = get(peers.flask, "/permanent_state", Some(&cookie));
    assert_eq!(late.text(), "permanent=True user=admin");
    assert_eq!(
        get(peers.flask, &format!("/advance/{}", WEEK + 60), None).text(),
        "ok"
    );
    let expired = get(peers.flask, "/permanent_state", Some(&cookie));
    assert_eq!(expired.text(), "permanent=False user=None");
}
