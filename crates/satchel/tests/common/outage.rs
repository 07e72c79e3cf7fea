//! A store outage in the middle of a load, shared by the SQL and Redis fault tests: four
//! clients increment one session through a real HTTP server while the test breaks the store
//! (a proxy cut, a killed server) and mends it again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use satchel_session::store::Store;
use satchel_session::{Session, SessionConfig, SessionLayer};

use super::http_get;

/// `/counter` (the session's `n`, plus one) on `store`, with a 10-minute idle timeout.
pub fn counter_app(store: Arc<dyn Store>) -> Router {
    let config = SessionConfig {
        idle_timeout: Some(Duration::from_secs(600)),
        ..SessionConfig::default()
    };
    counter_app_with(config, store)
}

/// `/counter` on `store` with `config`.
pub fn counter_app_with(config: SessionConfig, store: Arc<dyn Store>) -> Router {
    let layer = SessionLayer::builder(config).store(store).build().unwrap();
    Router::new()
        .route(
            "/counter",
            get(|s: Session| async move {
                let n = s.get_or("n", 0) + 1;
                s.insert("n", n);
                n.to_string()
            }),
        )
        .layer(layer)
}

/// Counts of what the clients saw.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    unavailable: AtomicU64,
    stop: AtomicBool,
}

impl Tally {
    fn ok(&self) -> u64 {
        self.ok.load(Ordering::SeqCst)
    }

    fn unavailable(&self) -> u64 {
        self.unavailable.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until `done` holds.
    async fn until(&self, what: &str, done: impl Fn(&Tally) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !done(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// What the clients saw through one outage.
#[derive(Debug)]
pub struct Outcome {
    /// 200s: increments the server acknowledged.
    pub acknowledged: u64,
    /// 503s (each with a body): their increment may or may not have landed.
    pub unavailable: u64,
    /// The session's `n` read back after the store came back.
    pub n: u64,
}

/// Four clients increment one session on `store`; after 100 acknowledged increments `break_it`
/// runs, and once 20 requests have been answered 503 `mend_it` does (both may block: they run
/// in place on a worker thread). Asserts: every answer is a 200 or a 503 with a body; the
/// server answers 200s again without a restart; `n` holds every acknowledged increment and no
/// more than were sent.
pub async fn load_through_outage(
    what: &str,
    store: Arc<dyn Store>,
    break_it: impl FnOnce(),
    mend_it: impl FnOnce(),
) -> Outcome {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, counter_app(store)).await });

    let (status, cookie, body) = http_get(addr, "/counter", None).await;
    assert_eq!(status, 200, "{what}: {body}");
    let cookie = Arc::new(cookie.unwrap());
    let tally = Arc::new(Tally::default());
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (cookie, tally) = (cookie.clone(), tally.clone());
            tokio::spawn(async move {
                while !tally.stop.load(Ordering::SeqCst) {
                    let (status, _, body) = http_get(addr, "/counter", Some(&cookie)).await;
                    match status {
                        200 => tally.ok.fetch_add(1, Ordering::SeqCst),
                        503 => {
                            assert!(!body.trim().is_empty(), "a 503 says why");
                            tally.unavailable.fetch_add(1, Ordering::SeqCst)
                        }
                        other => panic!("unexpected {other}: {body}"),
                    };
                }
            })
        })
        .collect();
    tally.until("the load to run", |t| t.ok() >= 100).await;
    tokio::task::block_in_place(break_it);
    let ok_at_cut = tally.ok();
    tally
        .until("503s during the outage", |t| t.unavailable() >= 20)
        .await;
    tokio::task::block_in_place(mend_it);
    let ok_at_restore = tally.ok();
    tally
        .until("recovery", |t| t.ok() >= ok_at_restore + 100)
        .await;
    tally.stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    let (status, _, body) = http_get(addr, "/counter", Some(&cookie)).await;
    assert_eq!(status, 200, "{what}: the read-back: {body}");
    let n: u64 = body.parse().unwrap();
    let (acknowledged, unavailable) = (tally.ok(), tally.unavailable());
    println!(
        "{what}: {acknowledged} ok ({ok_at_cut} before the outage, {} during it), {unavailable} 503, final n = {n}",
        ok_at_restore - ok_at_cut
    );
    // The first request and the read-back are the +2.
    assert!(
        n >= acknowledged + 2,
        "{what}: an acknowledged increment was lost: n = {n}, acknowledged {acknowledged}"
    );
    assert!(
        n <= acknowledged + unavailable + 2,
        "{what}: n = {n} counts more than was sent"
    );
    Outcome {
        acknowledged,
        unavailable,
        n,
    }
}
