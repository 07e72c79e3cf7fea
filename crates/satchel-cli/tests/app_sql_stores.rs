//! `satchel serve --store sqlite:…|postgres://…|mysql://…`: several app processes sharing one
//! SQL store lose no update on one hot session, and start together on an empty database.
//!
//! Each test uses a table of its own (`?table=…`), dropped at the end with the database's own
//! command-line client (`psql`, `mysql`), so tests run in parallel against the shared servers.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{require_or_skip, temp_dir, Server};

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const MYSQL: &str = "mysql://root@127.0.0.1:3306/test";

/// The store URL for `kind` on a fresh table, or `None` (skipped) if its server is down.
fn store_url(kind: &str, table: &str) -> Option<String> {
    let (base, port) = match kind {
        "sqlite" => {
            let path = temp_dir("sqlite-store").join("sessions.db");
            return Some(format!("sqlite:{}?table={table}", path.display()));
        }
        "postgres" => (POSTGRES, 5432),
        "mysql" => (MYSQL, 3306),
        other => panic!("unknown kind {other}"),
    };
    let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    require_or_skip(
        up,
        &format!("{kind} on 127.0.0.1:{port}"),
        "start the database",
    )
    .then(|| format!("{base}?table={table}"))
}

fn fresh_table() -> String {
    format!("satchel_app_test_{:016x}", rand::random::<u64>())
}

/// Runs `sql` with the database's client; its output, trimmed (`None` for SQLite, whose file
/// the test reads no further).
fn sql(kind: &str, sql: &str) -> Option<String> {
    let output = match kind {
        "postgres" => Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-Atc",
                sql,
            ])
            .output(),
        "mysql" => Command::new("mysql")
            .args([
                "-h",
                "127.0.0.1",
                "-u",
                "root",
                "-N",
                "-B",
                "test",
                "-e",
                sql,
            ])
            .output(),
        _ => return None,
    };
    let output = output.expect("the database client runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// How many tables called `table` exist (checked with the database's client).
fn tables_named(kind: &str, table: &str) -> Option<String> {
    match kind {
        "postgres" => sql(
            kind,
            &format!("SELECT COUNT(*) FROM pg_tables WHERE tablename = '{table}'"),
        ),
        "mysql" => sql(
            kind,
            &format!(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
        ),
        _ => None,
    }
}

/// Drops the test's table when the test ends, however it ends.
struct DropTable(&'static str, String);

impl Drop for DropTable {
    fn drop(&mut self) {
        sql(self.0, &format!("DROP TABLE IF EXISTS {}", self.1));
    }
}

/// Two servers on one store, started at the same moment on a table that does not exist yet.
fn two_servers(kind: &'static str) -> Option<(Arc<Server>, Arc<Server>, DropTable)> {
    let table = fresh_table();
    let url = store_url(kind, &table)?;
    let cleanup = DropTable(kind, table);
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Server::start(&["--store", &url], &[]))
        })
        .collect();
    let mut servers = starts.into_iter().map(|s| Arc::new(s.join().unwrap()));
    Some((servers.next()?, servers.next()?, cleanup))
}

/// Both servers answer their first requests, sent at once (each creates the schema on its
/// first call), and there is one table.
fn servers_starting_together_on_an_empty_database_both_come_up(kind: &'static str) {
    let Some((one, two, cleanup)) = two_servers(kind) else {
        return;
    };
    let firsts: Vec<_> = [one.clone(), two.clone()]
        .into_iter()
        .map(|server| std::thread::spawn(move || server.get("/counter", None)))
        .collect();
    for (first, server) in firsts.into_iter().zip([&one, &two]) {
        let response = first.join().unwrap();
        assert_eq!(response.status, 200, "{}", server.log());
        assert_eq!(response.text(), "1");
    }
    if let Some(count) = tables_named(kind, &cleanup.1) {
        assert_eq!(count, "1");
    }
}

/// 32 clients increment one session, alternating between the two servers: every increment
/// acknowledged with a 200 is in the final count, and fewer than 1% of requests are 503s.
fn two_servers_lose_no_update_on_one_hot_session(kind: &'static str) {
    let Some((one, two, _cleanup)) = two_servers(kind) else {
        return;
    };
    let first = one.get("/counter", None);
    assert_eq!(first.status, 200, "{}", one.log());
    let cookie = Arc::new(first.cookie_pair("session").unwrap());
    let rounds: usize = std::env::var("SATCHEL_TEST_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let clients = 32;
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let (one, two, cookie) = (one.clone(), two.clone(), cookie.clone());
            std::thread::spawn(move || {
                let (mut ok, mut busy) = (0u64, 0u64);
                for round in 0..rounds {
                    let server = if (client + round) % 2 == 0 {
                        &one
                    } else {
                        &two
                    };
                    let response = server.get("/counter", Some(&cookie));
                    match response.status {
                        200 => ok += 1,
                        503 => busy += 1,
                        other => panic!("unexpected {other}: {}", response.text()),
                    }
                }
                (ok, busy)
            })
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for handle in handles {
        let (o, b) = handle.join().unwrap();
        ok += o;
        busy += b;
    }
    let n: u64 = two.get("/counter", Some(&cookie)).text().parse().unwrap();
    let sent = (clients * rounds) as u64;
    println!("{kind}, two processes: {clients} clients x {rounds}: {ok} ok, {busy} 503, final n = {n} (expected {})", ok + 2);
    assert_eq!(n, ok + 2, "an acknowledged increment was lost");
    assert!(busy * 100 < sent, "{busy} of {sent} requests were 503s");
}

macro_rules! per_store {
    ($($kind:ident),*) => {
        $(mod $kind {
            #[test]
            fn servers_starting_together_on_an_empty_database_both_come_up() {
                super::servers_starting_together_on_an_empty_database_both_come_up(stringify!($kind));
            }

            #[test]
            fn two_servers_lose_no_update_on_one_hot_session() {
                super::two_servers_lose_no_update_on_one_hot_session(stringify!($kind));
            }
        })*
    };
}

per_store!(sqlite, postgres, mysql);
