//! The sweep: a pass deletes expired rows in short batches, and a background task runs a pass
//! every `sweep_interval` until the store is dropped.

use std::sync::Weak;
use std::time::Duration;

use super::dialect::Dialect;
use super::engine::{db_time, Engine};
use super::template::Values;
use crate::store::StoreError;

/// At most this many `DELETE` batches run in one sweep pass.
pub(crate) const MAX_BATCHES_PER_PASS: u32 = 100;

impl<D: Dialect> Engine<D> {
    /// One sweep pass at `now`: batches until one comes back short (or the pass's cap).
    pub(super) async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        let values = Values {
            now: db_time(now),
            limit: i64::from(self.settings.sweep_batch),
            ..Values::default()
        };
        let mut removed = 0;
        for _ in 0..MAX_BATCHES_PER_PASS {
            let rows = self.execute(&self.statements.sweep, &values).await?;
            removed += rows;
            if rows < u64::from(self.settings.sweep_batch) {
                break;
            }
        }
        Ok(removed)
    }
}

/// The background sweep: a pass every `interval` until the store is dropped.
pub(super) async fn sweep_forever<D: Dialect>(engine: Weak<Engine<D>>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(engine) = engine.upgrade() else {
            return;
        };
        match engine.sweep(engine.settings.clock.now()).await {
            Ok(0) => {}
            Ok(removed) => {
                tracing::debug!(removed, table = %engine.settings.table, "swept expired sessions")
            }
            Err(error) => tracing::warn!(%error, "session sweep failed; retrying next interval"),
        }
    }
}
