//! What one read-modify-write request costs the Redis server: a measurement, not a test
//! (ignored). Run it against a Redis of its own, since it resets the server's statistics:
//!
//! ```text
//! redis-server --port 6390 --save '' --appendonly no --daemonize yes
//! SATCHEL_COST_REDIS=redis://127.0.0.1:6390 cargo test -p satchel-session --features redis \
//!     --test redis_cost -- --ignored --nocapture
//! ```
//!
//! It files 10,000 sessions, then runs 20,000 cycles of load-with-lease + commit(Save) over
//! them (8 at a time, one store, so one multiplexed connection, as in a server). The loads and
//! the commits run in separate phases so the command statistics stay readable: Redis counts a
//! command a script calls under that command *and* inside the script's own time, so a plain
//! sum over `INFO commandstats` counts script work twice. Per phase it prints every command;
//! the cost per cycle is the top-level time (scripts' time plus the commands sent directly)
//! and, independently, the server's main-thread CPU (`INFO cpu`, which adds reading and
//! answering the sockets). For scale it measures the same way a plain `GET` + `SET … PX` of the
//! same records, which is what a store without leases (tower-sessions') sends.
//!
//! CPU time is noisy on a shared machine. For a count that is not, run the Redis under
//! callgrind and name its pid: each phase then also reports the server's instructions.
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/redis-cost.%p redis-server --port 6391 --save '' &
//! SATCHEL_COST_REDIS=redis://127.0.0.1:6391 SATCHEL_COST_CALLGRIND=/tmp/redis-cost.<pid> cargo test …
//! ```
#![cfg(feature = "redis")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use satchel_session::store::{Commit, IdHash, Lease, Loaded, Record, RedisStore, SessionId, Store};
use satchel_session::value::Dict;
use satchel_session::Value;

const SESSIONS: usize = 10_000;
const ROUNDS: usize = 2;
const CONCURRENCY: usize = 8;
const NOW: u64 = 1_800_000_000;

fn record(n: i64) -> Record {
    let mut data = Dict::default();
    data.insert("n".into(), Value::from(n));
    data.insert("user".into(), Value::from("alice@example.com"));
    Record::new(data, NOW, NOW + 3600, NOW + 86_400)
}

/// One phase's statistics: per command (calls, usec), and main-thread CPU seconds.
#[derive(Default)]
struct Stats {
    commands: BTreeMap<String, (u64, u64)>,
    cpu: f64,
    wall: Duration,
    /// The server's instructions, when it runs under callgrind.
    instructions: u64,
}

impl Stats {
    /// Top-level server time: a script's time includes the commands it calls.
    fn top_level_usec(&self) -> u64 {
        let scripts: u64 = self
            .commands
            .iter()
            .filter(|(name, _)| name.starts_with("eval"))
            .map(|(_, (_, usec))| usec)
            .sum();
        if scripts > 0 {
            // The driver's phases either run scripts only or plain commands only.
            scripts
        } else {
            self.commands.values().map(|(_, usec)| usec).sum()
        }
    }

    fn calls(&self) -> u64 {
        self.commands.values().map(|(calls, _)| calls).sum()
    }
}

/// The callgrind output file of the Redis being measured (`SATCHEL_COST_CALLGRIND`), if any.
fn callgrind_file() -> Option<String> {
    std::env::var("SATCHEL_COST_CALLGRIND").ok()
}

/// Asks the callgrind running Redis to zero its counters (`-z`) or dump them (`-d`).
fn callgrind_control(action: &str, file: &str) {
    let pid = file.rsplit('.').next().unwrap();
    let status = std::process::Command::new("callgrind_control")
        .arg(action)
        .arg(pid)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Dumps the counters and reads back the instructions since the last zeroing.
fn callgrind_instructions(file: &str) -> u64 {
    callgrind_control("-d", file);
    let (dir, name) = file.rsplit_once('/').unwrap();
    let newest = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}."))
        })
        .max_by_key(|e| e.metadata().unwrap().modified().unwrap())
        .expect("a callgrind dump");
    let text = std::fs::read_to_string(newest.path()).unwrap();
    let totals = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .unwrap();
    totals.split_whitespace().next().unwrap().parse().unwrap()
}

fn reset(admin: &mut redis::Connection) -> f64 {
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(admin).unwrap();
    if let Some(file) = callgrind_file() {
        callgrind_control("-z", &file);
    }
    cpu(admin)
}

fn cpu(admin: &mut redis::Connection) -> f64 {
    let info: String = redis::cmd("INFO").arg("cpu").query(admin).unwrap();
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    field("used_cpu_user_main_thread") + field("used_cpu_sys_main_thread")
}

fn collect(admin: &mut redis::Connection, cpu_before: f64, wall: Duration) -> Stats {
    let instructions = callgrind_file().map_or(0, |file| callgrind_instructions(&file));
    let cpu_after = cpu(admin);
    let info: String = redis::cmd("INFO").arg("commandstats").query(admin).unwrap();
    let mut stats = Stats {
        cpu: cpu_after - cpu_before,
        wall,
        instructions,
        ..Stats::default()
    };
    for line in info.lines() {
        let Some((name, fields)) = line
            .strip_prefix("cmdstat_")
            .and_then(|l| l.split_once(':'))
        else {
            continue;
        };
        if name.starts_with("config") || name == "info" {
            continue;
        }
        let field = |key: &str| -> u64 {
            fields
                .split(',')
                .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
                .unwrap()
                .parse()
                .unwrap()
        };
        stats
            .commands
            .insert(name.to_owned(), (field("calls"), field("usec")));
    }
    stats
}

/// What the phases share.
struct Bench {
    store: Arc<dyn Store>,
    ids: Vec<IdHash>,
    leases: Vec<Lease>,
    plain: redis::aio::ConnectionManager,
    plain_keys: Vec<String>,
    plain_value: String,
}

impl Bench {
    /// What a store without leases sends to write a session back.
    async fn plain_set(&self, i: usize) {
        let mut connection = self.plain.clone();
        let _: () = redis::cmd("SET")
            .arg(&self.plain_keys[i])
            .arg(&self.plain_value)
            .arg("PX")
            .arg(3_600_000)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}

/// Runs `op(bench, i)` for every session index, `CONCURRENCY` at a time.
async fn each<F, Fut>(bench: &Arc<Bench>, op: F) -> Duration
where
    F: Fn(Arc<Bench>, usize) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..CONCURRENCY {
        let bench = bench.clone();
        tasks.spawn(async move {
            for i in (worker..SESSIONS).step_by(CONCURRENCY) {
                op(bench.clone(), i).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    start.elapsed()
}

/// One measured phase: `op` on every session, between a stats reset and a stats read.
async fn phase<F, Fut>(admin: &mut redis::Connection, bench: &Arc<Bench>, op: F) -> Stats
where
    F: Fn(Arc<Bench>, usize) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let before = reset(admin);
    let wall = each(bench, op).await;
    collect(admin, before, wall)
}

fn report(name: &str, phases: &[(&str, Vec<Stats>)]) {
    let cycles = (SESSIONS * ROUNDS) as f64;
    println!(
        "== {name}: {} cycles on {SESSIONS} sessions, {CONCURRENCY} in flight",
        SESSIONS * ROUNDS
    );
    let (mut usec, mut calls, mut cpu, mut wall) = (0u64, 0u64, 0f64, Duration::ZERO);
    let mut instructions = 0u64;
    for (phase, runs) in phases {
        let mut merged: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for run in runs {
            usec += run.top_level_usec();
            calls += run.calls();
            cpu += run.cpu;
            instructions += run.instructions;
            wall += run.wall;
            for (command, (c, u)) in &run.commands {
                let entry = merged.entry(command).or_default();
                entry.0 += c;
                entry.1 += u;
            }
        }
        for (command, (c, u)) in merged {
            println!(
                "   {phase:<7} {command:<8} {:>5.2} calls/cycle {:>6.2} us/cycle ({:.2} us/call)",
                c as f64 / cycles,
                u as f64 / cycles,
                u as f64 / c as f64
            );
        }
        let phase_instructions: u64 = runs.iter().map(|run| run.instructions).sum();
        if phase_instructions > 0 {
            println!(
                "   {phase:<7} Redis instructions (callgrind) {:.0} Ir/cycle",
                phase_instructions as f64 / cycles
            );
        }
    }
    println!(
        "   top-level commandstats: {:.2} us/cycle; commands (incl. script-called): {:.2}/cycle",
        usec as f64 / cycles,
        calls as f64 / cycles
    );
    println!(
        "   Redis main-thread CPU (INFO cpu): {:.2} us/cycle; client wall: {:.2} us/cycle",
        cpu * 1e6 / cycles,
        wall.as_secs_f64() * 1e6 / cycles
    );
    if instructions > 0 {
        println!(
            "   Redis instructions (callgrind): {:.0} Ir/cycle",
            instructions as f64 / cycles
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: needs a Redis of its own in SATCHEL_COST_REDIS"]
async fn read_modify_write_cost() {
    let url = std::env::var("SATCHEL_COST_REDIS")
        .expect("SATCHEL_COST_REDIS=redis://127.0.0.1:6390 (a Redis of its own: stats get reset)");
    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let prefix = format!("satchel-cost:{}:", std::process::id());
    let ids: Vec<IdHash> = (0..SESSIONS)
        .map(|_| SessionId::generate().hash())
        .collect();
    let plain = redis::Client::open(url.as_str()).unwrap();
    let mut bench = Arc::new(Bench {
        store: Arc::new(RedisStore::open(&url).unwrap().with_prefix(prefix)),
        plain_keys: ids
            .iter()
            .map(|id| format!("satchel-cost-plain:{}", id.to_hex()))
            .collect(),
        ids,
        leases: Vec::new(),
        plain: plain.get_connection_manager().await.unwrap(),
        plain_value: satchel_session::codec::flask_json::to_string(&record(1).data),
    });
    each(&bench, |b, i| async move {
        assert!(b.store.create(&b.ids[i], &record(0), NOW).await.unwrap());
        b.plain_set(i).await;
    })
    .await;

    let (mut loads, mut commits, mut gets, mut sets) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        Arc::get_mut(&mut bench).unwrap().leases = (0..SESSIONS)
            .map(|_| Lease::new(Duration::from_secs(30)))
            .collect();
        let n = round as i64;
        loads.push(
            phase(&mut admin, &bench, move |b, i| async move {
                match b
                    .store
                    .load(&b.ids[i], NOW, Some(&b.leases[i]))
                    .await
                    .unwrap()
                {
                    Loaded::Found(r) => assert_eq!(r.data["n"].as_i64(), Some(n)),
                    other => panic!("expected the session, got {other:?}"),
                }
            })
            .await,
        );
        commits.push(
            phase(&mut admin, &bench, move |b, i| async move {
                let save = Commit::Save(record(n + 1));
                let token = b.leases[i].token;
                assert!(b.store.commit(&b.ids[i], token, save, NOW).await.unwrap());
            })
            .await,
        );
        // The same records as plain strings, read and written back without any lease.
        gets.push(
            phase(&mut admin, &bench, |b, i| async move {
                let mut connection = b.plain.clone();
                let got: Option<String> = redis::cmd("GET")
                    .arg(&b.plain_keys[i])
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                assert!(got.is_some());
            })
            .await,
        );
        sets.push(
            phase(
                &mut admin,
                &bench,
                |b, i| async move { b.plain_set(i).await },
            )
            .await,
        );
    }
    report(
        "satchel RedisStore",
        &[("load", loads), ("commit", commits)],
    );
    report(
        "plain GET + SET PX (no lease)",
        &[("get", gets), ("set", sets)],
    );
}
