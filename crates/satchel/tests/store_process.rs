//! Several processes sharing one Redis: a lease holder killed with SIGKILL blocks its session
//! for at most the lease time, and two servers hammering one session lose no update.
//!
//! The test binary re-executes itself (`std::env::current_exe()`) to play the second process:
//! with `SATCHEL_TEST_ROLE` set, the `child_process` test below does the role's work instead of
//! returning at once.
#![cfg(feature = "redis")]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use satchel_session::store::{Lease, Loaded, Record, RedisStore, SessionId, Store};

use common::outage::counter_app;
use common::{http_get, redis_url};

const ROLE: &str = "SATCHEL_TEST_ROLE";
const PREFIX: &str = "SATCHEL_TEST_PREFIX";
const ID: &str = "SATCHEL_TEST_SESSION";
const LEASE: Duration = Duration::from_secs(1);

fn store(url: &str, prefix: &str) -> Arc<dyn Store> {
    Arc::new(RedisStore::open(url).unwrap().with_prefix(prefix))
}

/// A child process, killed (SIGKILL) when dropped, so a failing test leaves no server behind.
struct Killed(Child);

impl Killed {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts this test binary as a child playing `role`; returns it and what it printed after
/// `ready `.
fn spawn_child(role: &str, prefix: &str, id: Option<&SessionId>) -> (Killed, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env(PREFIX, prefix)
        .stdout(Stdio::piped());
    if let Some(id) = id {
        command.env(ID, id.encode());
    }
    let mut child = Killed(command.spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        // libtest may print "test child_process ... " on the same line first.
        .find_map(|line| {
            line.split_once("ready ")
                .map(|(_, rest)| rest.trim().to_owned())
        })
        .expect("the child says it is ready");
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, ready)
}

/// The second process. Without `SATCHEL_TEST_ROLE` (a normal test run) it does nothing.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let url = redis_url().expect("the parent checked Redis");
    let prefix = std::env::var(PREFIX).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let store = store(&url, &prefix);
        match role.as_str() {
            "lease-holder" => {
                let id = SessionId::parse(&std::env::var(ID).unwrap()).unwrap();
                let loaded = store
                    .load(&id.hash(), 0, Some(&Lease::new(LEASE)))
                    .await
                    .unwrap();
                assert!(matches!(loaded, Loaded::Found(_)));
                println!("ready leased");
                std::future::pending::<()>().await;
            }
            "server" => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                println!("ready {}", listener.local_addr().unwrap());
                axum::serve(listener, counter_app(store)).await.unwrap();
            }
            other => panic!("unknown role {other}"),
        }
    });
}

#[tokio::test]
async fn a_killed_lease_holder_blocks_its_session_for_at_most_the_lease_time() {
    let Some(url) = redis_url() else { return };
    let prefix = common::prefix();
    let store = store(&url, &prefix);
    let id = SessionId::generate();
    let record = Record::new(common::contract::data(1), 0, 600, 600);
    assert!(store.create(&id.hash(), &record, 0).await.unwrap());

    let (mut child, _) = spawn_child("lease-holder", &prefix, Some(&id));
    let leased = std::time::Instant::now(); // the child leased just before saying so
    child.kill(); // SIGKILL: no release, no cleanup
    let killed = std::time::Instant::now();

    let lease = Lease::new(LEASE);
    let first = store.load(&id.hash(), 0, Some(&lease)).await.unwrap();
    if killed.duration_since(leased) < LEASE / 2 {
        assert_eq!(first, Loaded::Busy, "the dead holder's lease still holds");
    }
    loop {
        match store.load(&id.hash(), 0, Some(&lease)).await.unwrap() {
            Loaded::Found(_) => break,
            Loaded::Busy => tokio::time::sleep(Duration::from_millis(10)).await,
            other => panic!("the session must survive its holder's death, not {other:?}"),
        }
    }
    let waited = killed.elapsed();
    println!("acquired {waited:?} after SIGKILL (lease {LEASE:?})");
    assert!(
        waited <= LEASE + Duration::from_millis(250),
        "waited {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_sharing_redis_lose_no_update() {
    if redis_url().is_none() {
        return;
    }
    let prefix = common::prefix();
    let (mut one, addr_one) = spawn_child("server", &prefix, None);
    let (mut two, addr_two) = spawn_child("server", &prefix, None);
    let addrs: [SocketAddr; 2] = [addr_one.parse().unwrap(), addr_two.parse().unwrap()];

    let (status, cookie, _) = http_get(addrs[0], "/counter", None).await;
    assert_eq!(status, 200);
    let cookie = cookie.unwrap();
    let (tasks, rounds) = (32, common::rounds());
    let mut handles = Vec::new();
    for task in 0..tasks {
        let cookie = cookie.clone();
        handles.push(tokio::spawn(async move {
            let (mut ok, mut busy) = (0u64, 0u64);
            for round in 0..rounds {
                let addr = addrs[(task + round) % 2];
                match http_get(addr, "/counter", Some(&cookie)).await.0 {
                    200 => ok += 1,
                    503 => busy += 1,
                    other => panic!("unexpected {other}"),
                }
            }
            (ok, busy)
        }));
    }
    let (mut ok, mut busy) = (0, 0);
    for handle in handles {
        let (o, b) = handle.await.unwrap();
        ok += o;
        busy += b;
    }
    let (_, _, body) = http_get(addrs[1], "/counter", Some(&cookie)).await;
    let n: u64 = body.parse().unwrap();
    one.kill();
    two.kill();
    println!("two processes: {tasks} tasks x {rounds}: {ok} ok, {busy} busy (503), final n = {n} (expected {})", ok + 2);
    assert_eq!(n, ok + 2, "an acknowledged increment was lost");
    assert!(
        busy <= (tasks * rounds / 20) as u64,
        "{busy} busy of {}",
        tasks * rounds
    );
}
