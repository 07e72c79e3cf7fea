//! The SQL stores beyond the contract: the sweep, stores racing to create one table, and a
//! database outage played by a fault-injecting proxy (the shared servers are never stopped).
#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use satchel_session::store::{Loaded, Record, SessionId, SqlStore, Store, StoreError};

use common::contract::data;
use common::outage::{counter_app, load_through_outage};
use common::sql::{drop_table, table, tables_named, url_for, Scratch};
use common::{http_get, Fault, FaultProxy};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// 10 000 expired sessions and 100 live ones; the background sweep (every 100 ms, batches of
/// 1000) must leave exactly the live ones.
async fn sweep_removes_every_expired_row_and_no_live_one(kind: &str) {
    let Some(url) = url_for(kind) else { return };
    let name = table();
    let scratch = Scratch::on(&url, &name, None);
    let store = Arc::new(
        SqlStore::open(&url)
            .unwrap()
            .with_table(&name)
            .unwrap()
            .with_sweep_interval(None),
    );
    let now = unix_now();
    let expired = Record::new(data(0), now - 100, now - 10, now + 3600);
    let live = Record::new(data(1), now, now + 3600, now + 7200);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let store = store.clone();
        let (expired, live) = (expired.clone(), live.clone());
        tasks.spawn(async move {
            let mut kept = Vec::new();
            for i in 0..(10_000 / 16 + 1) {
                if worker * (10_000 / 16 + 1) + i >= 10_000 {
                    break;
                }
                let id = SessionId::generate().hash();
                assert!(store.create(&id, &expired, now).await.unwrap());
            }
            for _ in 0..(100 / 16 + usize::from(worker < 100 % 16)) {
                let id = SessionId::generate().hash();
                assert!(store.create(&id, &live, now).await.unwrap());
                kept.push(id);
            }
            kept
        });
    }
    let mut kept = Vec::new();
    while let Some(ids) = tasks.join_next().await {
        kept.extend(ids.unwrap());
    }
    assert_eq!(kept.len(), 100);
    assert_eq!(scratch.store.row_count().await.unwrap(), 10_100);

    // The background sweep of a second store on the same table does the work.
    let sweeping = SqlStore::open(&url)
        .unwrap()
        .with_table(&name)
        .unwrap()
        .with_sweep_interval(Some(Duration::from_millis(100)));
    let probe = SessionId::generate().hash();
    assert_eq!(
        sweeping.load(&probe, now, None).await.unwrap(),
        Loaded::Missing
    ); // starts it
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let left = loop {
        let rows = scratch.store.row_count().await.unwrap();
        if rows <= 100 || tokio::time::Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("{kind}: rows left after the sweep: {left} (of 10100; 100 live)");
    assert_eq!(left, 100);
    for id in &kept {
        assert!(matches!(
            store.load(id, now, None).await.unwrap(),
            Loaded::Found(_)
        ));
    }
    assert_eq!(scratch.store.sweep().await.unwrap(), 0);
}

/// Eight stores (eight pools) on one fresh table, all starting with their first call at once:
/// every call succeeds and there is one table.
async fn stores_racing_on_a_fresh_table_all_come_up_with_one_schema(kind: &str) {
    let Some(url) = url_for(kind) else { return };
    let name = table();
    let stores: Vec<Arc<SqlStore>> = (0..8)
        .map(|_| {
            let store = SqlStore::open(&url).unwrap().with_table(&name).unwrap();
            Arc::new(store.with_sweep_interval(None))
        })
        .collect();
    let record = Record::new(data(1), 0, u64::MAX, u64::MAX);
    let calls = stores.iter().map(|store| {
        let (store, record) = (store.clone(), record.clone());
        async move {
            let id = SessionId::generate().hash();
            store.create(&id, &record, 0).await
        }
    });
    let results = futures_join_all(calls).await;
    for result in &results {
        assert_eq!(result, &Ok(true), "{results:?}");
    }
    assert_eq!(tables_named(&url, &name), 1);
    assert_eq!(stores[0].row_count().await.unwrap(), 8);
    drop(stores);
    drop_table(&url, &name);
}

/// Runs every future at once (each on its own task) and gives their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// A row whose data is not Flask JSON, or whose time is negative, is a corrupt record (that
/// session's 500), never a panic and never an empty session.
async fn a_row_this_store_cannot_read_is_corrupt_not_a_panic(kind: &str) {
    let Some(scratch) = Scratch::new(kind) else {
        return;
    };
    let store = &scratch.store;
    let record = Record::new(data(1), 0, u64::MAX, u64::MAX);
    let (bad_data, bad_time) = (SessionId::generate().hash(), SessionId::generate().hash());
    assert!(store.create(&bad_data, &record, 0).await.unwrap());
    assert!(store.create(&bad_time, &record, 0).await.unwrap());
    let hex = |id: &satchel_session::store::IdHash| match kind {
        "postgres" => format!("'\\x{}'", id.to_hex()),
        _ => format!("X'{}'", id.to_hex()),
    };
    let table = &scratch.table;
    common::sql::scalar(
        &scratch.url,
        &format!(
            "UPDATE {table} SET data = 'not json' WHERE id = {}",
            hex(&bad_data)
        ),
    );
    common::sql::scalar(
        &scratch.url,
        &format!(
            "UPDATE {table} SET created_at = -5 WHERE id = {}",
            hex(&bad_time)
        ),
    );
    let lease = satchel_session::store::Lease::new(Duration::from_secs(30));
    for id in [&bad_data, &bad_time] {
        for lease in [None, Some(&lease)] {
            let loaded = store.load(id, 1, lease).await;
            assert!(matches!(loaded, Err(StoreError::Corrupt(_))), "{loaded:?}");
        }
    }
}

/// Four clients increment one session through an app whose database sits behind a proxy;
/// the proxy cuts every connection while they run, then comes back. During the cut: 503s
/// with a body, no panic; after: 200s again without a restart, and the counter holds every
/// acknowledged increment (a 503 may or may not have landed: its outcome is unknown).
async fn a_cut_database_gives_503s_then_recovers_with_no_acknowledged_write_lost(kind: &str) {
    let Some(url) = url_for(kind) else { return };
    let (scheme, rest) = url.split_once('@').unwrap();
    let (upstream, db) = rest.split_once('/').unwrap();
    let proxy = FaultProxy::start(upstream).await;
    let name = table();
    let proxied = format!("{scheme}@{}/{db}", proxy.addr);
    let store = SqlStore::open(&proxied)
        .unwrap()
        .with_table(&name)
        .unwrap()
        .with_sweep_interval(None)
        .with_timeout(Duration::from_millis(500));
    load_through_outage(
        &format!("{kind} outage"),
        Arc::new(store),
        || proxy.set(Fault::Cut),
        || proxy.set(Fault::Up),
    )
    .await;
    drop_table(&url, &name);
}

/// A connection of the test's own that holds `table` locked (PostgreSQL `LOCK TABLE … ACCESS
/// EXCLUSIVE`, MySQL `LOCK TABLES … WRITE`, SQLite `BEGIN EXCLUSIVE`) until it is dropped (the
/// server then ends its session and the lock with it).
async fn lock_table(url: &str, table: &str) -> Box<dyn std::any::Any + Send> {
    use sqlx::{AssertSqlSafe, Connection};
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let lock = format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE");
        sqlx::query("BEGIN").execute(&mut c).await.unwrap();
        sqlx::query(AssertSqlSafe(lock))
            .execute(&mut c)
            .await
            .unwrap();
        return Box::new(c);
    }
    #[cfg(feature = "mysql")]
    if url.starts_with("mysql") {
        let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
        let lock = format!("LOCK TABLES {table} WRITE");
        sqlx::query(AssertSqlSafe(lock))
            .execute(&mut c)
            .await
            .unwrap();
        return Box::new(c);
    }
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut c)
            .await
            .unwrap();
        return Box::new(c);
    }
    panic!("no driver for {url}")
}

/// A pool of one connection, held busy: the table is locked from outside, so the request that
/// has the pool's only connection waits on the lock and seven others wait for the connection.
/// Every one is a 503 with a readable body within the store's bound (no panic, no other
/// status); once the lock goes, every session answers again without a restart, with its data
/// (never an empty session saved over it).
async fn an_exhausted_pool_is_a_503_with_a_body_and_recovers(kind: &str) {
    let Some(url) = url_for(kind) else { return };
    let name = table();
    let timeout = Duration::from_millis(500);
    let store = SqlStore::open(&url)
        .unwrap()
        .with_table(&name)
        .unwrap()
        .with_sweep_interval(None)
        .with_pool_size(1)
        .with_timeout(timeout);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, counter_app(Arc::new(store))).await });
    let mut cookies = Vec::new();
    for _ in 0..8 {
        let (status, cookie, body) = http_get(addr, "/counter", None).await;
        assert_eq!((status, body.as_str()), (200, "1"));
        cookies.push(cookie.unwrap());
    }

    let lock = lock_table(&url, &name).await;
    let started = std::time::Instant::now();
    let requests: Vec<_> = cookies
        .iter()
        .map(|cookie| {
            let cookie = cookie.clone();
            tokio::spawn(async move { http_get(addr, "/counter", Some(&cookie)).await })
        })
        .collect();
    for request in requests {
        let (status, cookie, body) = request.await.unwrap();
        assert_eq!(status, 503, "{kind}: {body}");
        assert!(
            body.contains("not answering"),
            "{kind}: a readable 503: {body:?}"
        );
        assert_eq!(
            cookie, None,
            "{kind}: no cookie may replace the real session"
        );
    }
    let took = started.elapsed();
    println!("{kind}: 8 requests on a busy pool of 1: all 503 within {took:?}");
    // Each waits at most the store's bound per call, plus the layer's own retries of a load.
    assert!(took < Duration::from_secs(10), "{kind}: {took:?}");

    drop(lock);
    for cookie in &cookies {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, _, body) = http_get(addr, "/counter", Some(cookie)).await;
            if status == 200 {
                assert_eq!(body, "2", "{kind}: the session kept its data");
                break;
            }
            assert_eq!(status, 503, "{kind}: {body}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "{kind}: no recovery"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    drop_table(&url, &name);
}

/// One test per database for each behaviour above, each behind its database's feature.
macro_rules! per_database {
    ($($test:ident: [$($kind:ident = $feature:literal),*];)*) => {
        $(mod $test {
            $(
                #[cfg(feature = $feature)]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $kind() {
                    super::$test(stringify!($kind)).await;
                }
            )*
        })*
    };
}

per_database! {
    sweep_removes_every_expired_row_and_no_live_one:
        [sqlite = "sqlite", postgres = "postgres", mysql = "mysql"];
    stores_racing_on_a_fresh_table_all_come_up_with_one_schema:
        [sqlite = "sqlite", postgres = "postgres", mysql = "mysql"];
    a_row_this_store_cannot_read_is_corrupt_not_a_panic:
        [sqlite = "sqlite", postgres = "postgres", mysql = "mysql"];
    a_cut_database_gives_503s_then_recovers_with_no_acknowledged_write_lost:
        [postgres = "postgres", mysql = "mysql"];
    an_exhausted_pool_is_a_503_with_a_body_and_recovers:
        [sqlite = "sqlite", postgres = "postgres", mysql = "mysql"];
}
