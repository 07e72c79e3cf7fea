//! Logout that really logs out, through `satchel serve` over HTTP, in every mode: cookie
//! sessions (sealed, flask) with the default login ledger, and `--store memory | redis |
//! sqlite | postgres | mysql`. Plus the admin's side: `satchel users passwd | disable` and
//! `satchel sessions list | revoke | revoke-user`.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{csrf_token, form_encode, request, require_or_skip, satchel, Response, Server};

const PASSWORD: &str = "a password for tests";

/// A user name no other test (or run) uses: the Redis and SQL servers are shared.
fn unique_user() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("u{}x{nanos}", std::process::id())
}

fn up(addr: &str, what: &str) -> bool {
    let reachable = std::net::TcpStream::connect(addr).is_ok();
    require_or_skip(
        reachable,
        &format!("{what} on {addr}"),
        &format!("start {what}"),
    )
}

/// Every mode: its `satchel serve` arguments, and the `--store` the admin commands take
/// (`None`: the default ledger in the data directory).
fn modes() -> Vec<(&'static str, Vec<String>, Option<String>)> {
    let table = format!("satchel_revoke_{}", unique_user());
    let mut modes = vec![
        ("sealed", vec!["--format".into(), "sealed".into()], None),
        ("flask", vec!["--format".into(), "flask".into()], None),
        ("memory", vec!["--store".into(), "memory".into()], None),
    ];
    let sqlite = format!(
        "sqlite:{}",
        common::temp_dir("revoke-sqlite").join("s.db").display()
    );
    modes.push((
        "sqlite",
        vec!["--store".into(), sqlite.clone()],
        Some(sqlite),
    ));
    if up("127.0.0.1:6379", "Redis") {
        let url = "redis://127.0.0.1:6379".to_owned();
        modes.push(("redis", vec!["--store".into(), url.clone()], Some(url)));
    }
    if up("127.0.0.1:5432", "PostgreSQL") {
        let url = format!("postgres://postgres@127.0.0.1:5432/test?table={table}");
        modes.push(("postgres", vec!["--store".into(), url.clone()], Some(url)));
    }
    if up("127.0.0.1:3306", "MariaDB") {
        let url = format!("mysql://root@127.0.0.1:3306/test?table={table}");
        modes.push(("mysql", vec!["--store".into(), url.clone()], Some(url)));
    }
    modes
}

/// A running app in one mode with one user of its own.
struct Running {
    mode: &'static str,
    server: Server,
    user: String,
    store: Option<String>,
}

impl Running {
    fn start(mode: &'static str, args: &[String], store: Option<String>) -> Running {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Server::start(&args, &[]);
        let user = unique_user();
        let (status, out) = admin(&["users", "add", &user], &server, None, Some(PASSWORD));
        assert_eq!(status, 0, "{mode}: {out}");
        Running {
            mode,
            server,
            user,
            store,
        }
    }

    /// Logs the user in from a browser named `agent`: the session cookie pair.
    fn login(&self, agent: &str) -> String {
        self.login_as(agent, PASSWORD)
            .unwrap_or_else(|| panic!("{}: the login was refused", self.mode))
    }

    /// Logs in from `agent` with `password`: the cookie, or `None` if the login was refused.
    fn login_as(&self, agent: &str, password: &str) -> Option<String> {
        let form = self.server.get("/login", None);
        let cookie = form.cookie_pair("session")?;
        let body = format!(
            "username={}&password={}&csrf_token={}",
            form_encode(&self.user),
            form_encode(password),
            form_encode(&csrf_token(&form.text()))
        );
        let response = self.post("/login", &cookie, agent, &body);
        (response.status == 303)
            .then(|| response.cookie_pair("session"))
            .flatten()
    }

    fn post(&self, path: &str, cookie: &str, agent: &str, body: &str) -> Response {
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie),
            ("User-Agent", agent),
            ("Origin", &self.server.url("")),
        ];
        request(self.server.addr, "POST", path, &headers, body.as_bytes())
    }

    fn get(&self, path: &str, cookie: &str, agent: &str) -> Response {
        let headers = [("Cookie", cookie), ("User-Agent", agent)];
        request(self.server.addr, "GET", path, &headers, b"")
    }

    /// Whether `cookie` opens the dashboard (200) rather than being sent to log in (303).
    fn logged_in(&self, cookie: &str) -> bool {
        let dashboard = self.get("/dashboard", cookie, "any");
        match dashboard.status {
            200 => true,
            303 => false,
            other => panic!(
                "{}: dashboard answered {other}: {}",
                self.mode,
                dashboard.text()
            ),
        }
    }

    /// The `/session` page as `cookie` sees it.
    fn session_page(&self, cookie: &str) -> String {
        let page = self.get("/session", cookie, "any");
        assert_eq!(page.status, 200, "{}", self.mode);
        page.text()
    }

    /// Whether the admin commands can reach this mode's sessions (not the memory store: it
    /// lives inside the server process).
    fn admin_reaches(&self) -> bool {
        self.mode != "memory"
    }

    fn admin(&self, args: &[&str], stdin: Option<&str>) -> (i32, String) {
        admin(args, &self.server, self.store.as_deref(), stdin)
    }
}

/// Runs `satchel ARGS --data-dir (the server's) [--store STORE]`: (exit code, stdout+stderr).
fn admin(
    args: &[&str],
    server: &Server,
    store: Option<&str>,
    stdin: Option<&str>,
) -> (i32, String) {
    let mut command = satchel();
    command.args(args).arg("--data-dir").arg(&server.data_dir);
    if let Some(store) = store {
        command.args(["--store", store]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        writeln!(child.stdin.take().unwrap(), "{text}").unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

/// The hidden `id` of the "end" form in the row of the browser named `agent`.
fn row_id(page: &str, agent: &str) -> String {
    let row = page
        .find(&format!(r#"<td class="agent">{agent}</td>"#))
        .unwrap_or_else(|| panic!("no row for {agent}: {page}"));
    let marker = r#"name="id" value=""#;
    let start = row + page[row..].find(marker).unwrap() + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

fn every_mode(test: impl Fn(&Running)) {
    for (mode, args, store) in modes() {
        println!("{mode}");
        test(&Running::start(mode, &args, store));
    }
}

#[test]
fn a_copied_cookie_is_logged_out_with_its_session() {
    every_mode(|app| {
        let cookie = app.login("laptop");
        assert!(app.logged_in(&cookie), "{}", app.mode);
        let copy = cookie.clone();
        let out = app.post("/logout", &cookie, "laptop", "");
        assert_eq!(out.status, 303, "{}", app.mode);
        assert!(
            !app.logged_in(&copy),
            "{}: the copy replayed after logout",
            app.mode
        );
    });
}

#[test]
fn log_out_everywhere_ends_the_other_device_and_a_new_login_works() {
    every_mode(|app| {
        let laptop = app.login("laptop");
        let phone = app.login("phone");
        let page = app.session_page(&laptop);
        assert!(
            page.contains(r#"<td class="agent">phone</td>"#),
            "{}: {page}",
            app.mode
        );
        assert!(
            page.contains(r#"id="this-session""#),
            "{}: {page}",
            app.mode
        );
        let token = csrf_token(&page);
        let forged = app.post("/session/end_all", &laptop, "laptop", "csrf_token=forged");
        assert_eq!(forged.status, 403, "{}", app.mode);
        assert!(
            app.logged_in(&phone),
            "{}: a forged POST ended sessions",
            app.mode
        );
        let body = format!("csrf_token={}", form_encode(&token));
        let out = app.post("/session/end_all", &laptop, "laptop", &body);
        assert_eq!(out.status, 303, "{}: {}", app.mode, out.text());
        assert!(
            !app.logged_in(&phone),
            "{}: the other device stayed in",
            app.mode
        );
        assert!(
            !app.logged_in(&laptop),
            "{}: this device stayed in",
            app.mode
        );
        let again = app.login("tablet");
        assert!(
            app.logged_in(&again),
            "{}: a new login after it failed",
            app.mode
        );
    });
}

#[test]
fn ending_one_session_leaves_the_others_and_the_dashboard_lists_them() {
    every_mode(|app| {
        let laptop = app.login("laptop");
        let phone = app.login("phone");
        let dashboard = app.get("/dashboard", &laptop, "laptop").text();
        assert!(
            dashboard.contains(r#"<td class="agent">phone</td>"#),
            "{}: {dashboard}",
            app.mode
        );
        let page = app.session_page(&laptop);
        let body = format!(
            "csrf_token={}&id={}",
            form_encode(&csrf_token(&page)),
            row_id(&page, "phone")
        );
        let out = app.post("/session/end", &laptop, "laptop", &body);
        assert_eq!(out.status, 303, "{}: {}", app.mode, out.text());
        assert!(!app.logged_in(&phone), "{}", app.mode);
        assert!(
            app.logged_in(&laptop),
            "{}: ending one ended another",
            app.mode
        );
        let page = app.session_page(&laptop);
        assert!(
            !page.contains(r#"<td class="agent">phone</td>"#),
            "{}: {page}",
            app.mode
        );
    });
}

#[test]
fn a_new_password_or_a_disabled_account_ends_every_session() {
    every_mode(|app| {
        if !app.admin_reaches() {
            return;
        }
        let laptop = app.login("laptop");
        let phone = app.login("phone");
        let (code, out) = app.admin(
            &["users", "passwd", &app.user],
            Some("a brand new password"),
        );
        assert_eq!(code, 0, "{}: {out}", app.mode);
        assert!(out.contains("ended 2 session(s)"), "{}: {out}", app.mode);
        assert!(
            !app.logged_in(&laptop) && !app.logged_in(&phone),
            "{}",
            app.mode
        );

        let again = app
            .login_as("laptop", "a brand new password")
            .expect("the new password logs in");
        assert!(app.logged_in(&again), "{}", app.mode);
        let (code, out) = app.admin(&["users", "disable", &app.user], None);
        assert_eq!(code, 0, "{}: {out}", app.mode);
        assert!(out.contains("ended 1 session(s)"), "{}: {out}", app.mode);
        assert!(!app.logged_in(&again), "{}", app.mode);
        assert_eq!(
            app.login_as("laptop", "a brand new password"),
            None,
            "{}: a disabled user logged in",
            app.mode
        );
    });
}

#[test]
fn the_sessions_command_lists_and_revokes_by_prefix_and_never_prints_a_live_id() {
    every_mode(|app| {
        if !app.admin_reaches() {
            return;
        }
        let laptop = app.login("laptop");
        let phone = app.login("phone");
        let (code, list) = app.admin(&["sessions", "list", "--user", &app.user], None);
        assert_eq!(code, 0, "{}: {list}", app.mode);
        assert!(list.contains("2 session(s)"), "{}: {list}", app.mode);
        for cookie in [&laptop, &phone] {
            // The cookie's value, or (cookie modes) the ledger id inside it, never appears.
            let value = cookie.trim_start_matches("session=");
            assert!(!list.contains(value), "{}: {list}", app.mode);
        }
        let phone_row = list
            .lines()
            .find(|line| line.ends_with("phone"))
            .unwrap_or_else(|| panic!("{}: {list}", app.mode));
        let prefix = &phone_row[..8];
        assert_eq!(
            app.admin(&["sessions", "revoke", "zz"], None).0,
            2,
            "{}",
            app.mode
        );
        let (code, out) = app.admin(&["sessions", "revoke", prefix], None);
        assert_eq!(code, 0, "{}: {out}", app.mode);
        assert!(
            !app.logged_in(&phone) && app.logged_in(&laptop),
            "{}",
            app.mode
        );
        let (code, out) = app.admin(&["sessions", "revoke", prefix], None);
        assert_eq!(code, 1, "{}: revoked twice: {out}", app.mode);
        let (code, out) = app.admin(&["sessions", "revoke-user", &app.user], None);
        assert_eq!(
            (code, out.contains("ended 1 session(s)")),
            (0, true),
            "{}: {out}",
            app.mode
        );
        assert!(!app.logged_in(&laptop), "{}", app.mode);
        let (code, out) = app.admin(&["sessions", "purge-expired"], None);
        assert_eq!(code, 0, "{}: {out}", app.mode);
    });
}
