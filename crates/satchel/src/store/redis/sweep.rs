//! The background pass that ends expired logged-in sessions. A logged-in record and its user's
//! index carry no TTL, so that Redis under `maxmemory-policy volatile-lru` never evicts them
//! (see [`RedisStore`]); their deadline is checked on every load, and this pass deletes them
//! once it has passed: every `sweep_interval` (default 60 s), a `SCAN` of the user indexes,
//! each swept by one script (at most 64 expired records per index per pass). Every write of a
//! user's sessions sweeps that user's index too.

use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::connection::NUMBER;
use super::scripts::Scripts;
use super::RedisStore;
use crate::store::StoreError;
use crate::Clock;

/// How often the background pass runs, unless [`RedisStore::with_sweep_interval`] says.
pub(super) const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// User indexes asked for per `SCAN` step.
const SCAN_COUNT: u32 = 200;

impl RedisStore {
    /// One pass over every user index under this store's prefix: the expired logged-in records
    /// it deleted.
    pub(super) async fn sweep_logins(&self, now: u64) -> Result<u64, StoreError> {
        let pattern = format!("{}user:*", self.index_prefix());
        let mut cursor: u64 = 0;
        let mut swept = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, sets): (u64, Vec<String>) = self.query(&scan).await?;
            for set in &sets {
                let deleted: u64 = self
                    .eval(&self.scripts.sweep, &[set], (1, NUMBER), |command| {
                        command.arg(now);
                    })
                    .await?;
                swept += deleted;
            }
            if next == 0 {
                return Ok(swept);
            }
            cursor = next;
        }
    }

    /// Starts the background pass on a runtime's thread, once connected: a task with its own
    /// handle on `connection`, ending when the store (its `alive` token) is dropped.
    pub(super) fn start_sweeping(&self, connection: &ConnectionManager) {
        let (Some(interval), Ok(runtime)) =
            (self.sweep_interval, tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let sweeper = RedisStore {
            client: self.client.clone(),
            trust: self.trust.clone(),
            connection: OnceCell::new_with(Some(connection.clone())),
            prefix: self.prefix.clone(),
            timeout: self.timeout,
            scripts: Scripts::new(),
            sweep_interval: None,
            alive: Arc::new(()),
        };
        runtime.spawn(sweep_forever(
            sweeper,
            Arc::downgrade(&self.alive),
            interval,
        ));
    }
}

async fn sweep_forever(sweeper: RedisStore, alive: Weak<()>, interval: Duration) {
    let clock = Clock::system();
    loop {
        tokio::time::sleep(interval).await;
        if alive.strong_count() == 0 {
            return;
        }
        match sweeper.sweep_logins(clock.now()).await {
            Ok(0) => {}
            Ok(swept) => tracing::debug!(swept, "swept expired logged-in sessions from Redis"),
            Err(error) => {
                tracing::warn!(%error, "could not sweep expired sessions; next pass retries")
            }
        }
    }
}
