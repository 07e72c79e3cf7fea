//! The `examples/` programs, run for real: each is started as its own process on a free
//! loopback port and driven over HTTP, as a reader who copies one would.
//!
//! Needs the example binaries: `cargo build -p satchel-session --examples --all-features` (the README's
//! test command, `scripts/test.sh`, builds them first). Without them the tests say so and pass,
//! unless `CI` is set.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::http_get;

/// Kills the example when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The example binary `cargo test` built beside this test's own binary.
fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let dir = deps.parent().unwrap().parent().unwrap().join("examples");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Starts `name` on 127.0.0.1:0 and reads the address it prints; `None` (after saying how to
/// build it) when the example binary is missing outside CI.
fn start(name: &str) -> Option<(Running, SocketAddr)> {
    let path = example(name);
    if !path.exists() {
        let how = "cargo build -p satchel-session --examples --all-features";
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {} was not built: run {how} first",
            path.display()
        );
        println!("skipped: {} is not built; run {how}", path.display());
        return None;
    }
    let mut child = Command::new(path)
        .env("ADDR", "127.0.0.1:0")
        .env_remove("SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("http://"))
        .expect("the example prints its address");
    let addr = line
        .rsplit("http://")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    Some((running, addr))
}

#[tokio::test]
async fn the_tutorial_example_sets_gets_deletes_clears_and_counts() {
    tutorial_routes_work("tutorial").await;
}

#[tokio::test]
async fn the_actix_tutorial_example_does_the_same_on_actix_web() {
    tutorial_routes_work("actix_tutorial").await;
}

#[tokio::test]
async fn the_typed_example_does_the_same_on_a_struct() {
    tutorial_routes_work("typed").await;
}

/// The tutorial's five routes, as the example `name` serves them (reading saves nothing).
async fn tutorial_routes_work(name: &str) {
    let Some((_running, addr)) = start(name) else {
        return;
    };
    let (status, cookie, body) = http_get(addr, "/set_session", None).await;
    assert_eq!((status, body.as_str()), (200, "Session data set!"));
    let cookie = cookie.expect("the set route sends the session cookie");
    let (_, unchanged, body) = http_get(addr, "/get_session", Some(&cookie)).await;
    assert_eq!(body, "Hello, Kimi! Your age is 25.");
    assert_eq!(unchanged, None, "reading the session saves nothing");
    let (_, deleted, _) = http_get(addr, "/delete_session", Some(&cookie)).await;
    let (_, _, body) = http_get(addr, "/get_session", deleted.as_deref()).await;
    assert_eq!(body, "Hello, Guest! Your age is 25.");
    let (_, counted, body) = http_get(addr, "/counter", Some(&cookie)).await;
    assert_eq!(body, "You have visited this page 1 times.");
    let (_, _, body) = http_get(addr, "/counter", counted.as_deref()).await;
    assert_eq!(body, "You have visited this page 2 times.");
    let (_, cleared, body) = http_get(addr, "/clear_session", Some(&cookie)).await;
    assert_eq!(body, "All session data cleared!");
    assert_eq!(cleared.as_deref(), Some(""), "clearing deletes the cookie");
}

#[tokio::test]
async fn the_custom_store_example_keeps_a_counter_server_side() {
    let Some((_running, addr)) = start("custom_store") else {
        return;
    };
    let (_, cookie, body) = http_get(addr, "/", None).await;
    assert_eq!(body, "1\n");
    let cookie = cookie.expect("a new session's id cookie");
    assert_eq!(cookie.len(), 43, "the cookie holds only the id");
    for expected in ["2\n", "3\n"] {
        let (_, _, body) = http_get(addr, "/", Some(&cookie)).await;
        assert_eq!(body, expected);
    }
}

#[tokio::test]
async fn the_login_example_guards_the_dashboard_and_flashes_once() {
    let Some((_running, addr)) = start("login_flash") else {
        return;
    };
    let (status, _, _) = http_get(addr, "/dashboard", None).await;
    assert_eq!(status, 303, "anonymous visitors are sent to the login page");
    let (status, cookie, _) = http_get(addr, "/login?user=alice", None).await;
    assert_eq!(status, 303);
    let cookie = cookie.unwrap();
    let (_, after, body) = http_get(addr, "/dashboard", Some(&cookie)).await;
    assert_eq!(body, "[success] Welcome back, alice!\nDashboard of alice\n");
    let (_, _, body) = http_get(addr, "/dashboard", after.as_deref()).await;
    assert_eq!(body, "Dashboard of alice\n", "a flash is shown once");
}
