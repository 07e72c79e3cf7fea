//! Shared by the app tests: start `satchel serve` on a free port, talk raw HTTP/1.1 to it
//! (so tests control every byte: no redirects followed, no cookie jar, any header), and find
//! the optional tools (Python with Flask-Login, Chromium).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A key that passes `satchel key audit`.
pub const KEY: &str = "app-test-key-0123456789-abcdefghijklmnopqrstuvwxyz";
pub const ADMIN_PASSWORD: &str = "admin password for tests";
// Each test binary uses its own subset of the shared helpers.
#[allow(unused_imports)]
pub use satchel_testkit::http::{request, Response};
#[allow(unused_imports)]
pub use satchel_testkit::{python_with, require_or_skip, DEADLINE};

/// A fresh, empty directory under the target dir (kept for post-mortems).
pub fn temp_dir(name: &str) -> PathBuf {
    let unique = format!(
        "{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn satchel() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_satchel"));
    for var in [
        "SECRET_KEY",
        "FLASK_SECRET_KEY",
        "ADMIN_PASSWORD",
        "SESSION_COOKIE_SECURE",
    ] {
        command.env_remove(var);
    }
    command
}

/// A running `satchel serve`, killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Lines the server printed on stdout before it listened.
    pub banner: Vec<String>,
}

impl Server {
    /// `satchel serve` with the test key and admin password, plus `args` and `env`.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut env_all = vec![("SECRET_KEY", KEY), ("ADMIN_PASSWORD", ADMIN_PASSWORD)];
        env_all.extend_from_slice(env);
        Server::start_exact(args, &env_all, &temp_dir("serve"))
    }

    /// `satchel serve` with only the given environment, in `data_dir`.
    pub fn start_exact(args: &[&str], env: &[(&str, &str)], data_dir: &Path) -> Server {
        std::fs::create_dir_all(data_dir).unwrap();
        let mut command = satchel();
        command
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("RUST_LOG", "info")
            .stderr(std::fs::File::create(data_dir.join("server.log")).expect("a log file"));
        for (k, v) in env {
            command.env(k, v);
        }
        let (child, addr, banner) = spawn_listening(command, after("satchel listening on http://"));
        Server {
            child,
            addr,
            data_dir: data_dir.to_owned(),
            banner,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
        request(self.addr, "GET", path, &headers, b"")
    }

    pub fn post_form(&self, path: &str, cookie: Option<&str>, body: &str) -> Response {
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(cookie) = cookie {
            headers.push(("Cookie", cookie));
        }
        request(self.addr, "POST", path, &headers, body.as_bytes())
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    /// Sends SIGTERM (a graceful stop), as a service manager would.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit status, once the process has exited (bounded by [`DEADLINE`]).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut status = None;
        wait_until("the server to exit", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// GETs `/login`, returns (session cookie pair, CSRF token).
    pub fn login_form(&self, cookie: Option<&str>) -> (String, String) {
        let page = self.get("/login", cookie);
        assert_eq!(page.status, 200, "{}", page.text());
        let cookie = page
            .cookie_pair("session")
            .or_else(|| cookie.map(str::to_owned))
            .expect("the login page sets a session");
        (cookie, csrf_token(&page.text()))
    }

    /// Logs in; returns the response to the POST and the cookie it set.
    pub fn login(&self, user: &str, password: &str) -> (Response, String) {
        let (cookie, token) = self.login_form(None);
        let body = format!(
            "username={}&password={}&csrf_token={}",
            form_encode(user),
            form_encode(password),
            form_encode(&token)
        );
        let response = self.post_form("/login", Some(&cookie), &body);
        let after = response.cookie_pair("session").unwrap_or(cookie);
        (response, after)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".into(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The hidden `csrf_token` input's value.
pub fn csrf_token(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("a csrf_token field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Undoes askama's HTML escaping, to compare page text with plain strings.
pub fn unescape_html(s: &str) -> String {
    s.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The address in a `{prefix}HOST:PORT` line.
pub fn after(prefix: &str) -> impl Fn(&str) -> Option<SocketAddr> + '_ {
    move |line| line.strip_prefix(prefix)?.trim().parse().ok()
}

/// Spawns `command` (stdout piped) and waits, within [`DEADLINE`], for a stdout line from
/// which `listening` reads the address; returns the child, it and the lines printed before.
pub fn spawn_listening(
    mut command: Command,
    listening: impl Fn(&str) -> Option<SocketAddr>,
) -> (Child, SocketAddr, Vec<String>) {
    command.stdout(Stdio::piped());
    let mut child = command.spawn().expect("the server process starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + DEADLINE;
    let mut banner = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = listening(&line) {
                    // Keep draining stdout so the server never blocks on a full pipe.
                    std::thread::spawn(move || while rx.recv().is_ok() {});
                    return (child, addr, banner);
                }
                banner.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!("the server did not start (exit: {status:?}); stdout: {banner:?}");
            }
        }
    }
}

/// A child process killed when the test ends, however it ends.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `ready` until it is true or the deadline passes.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    let mut pause = Duration::from_millis(10);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::park_timeout(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// A Redis URL on a loopback port nothing listens on: a store that is down.
pub fn down_redis_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("redis://127.0.0.1:{port}")
}
