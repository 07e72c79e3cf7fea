//! A dialect's store before and after it connects: a [`Lazy`] holds the settings until the
//! first call opens the pool, creates the schema and starts the sweep; [`ErasedSql`] is that
//! store with its dialect erased, which [`SqlStore`](super::SqlStore) holds.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use super::dialect::Dialect;
use super::engine::Engine;
use super::failure::connect_failure;
use super::schema::create_schema;
use super::settings::Settings;
use super::statements::Statements;
use super::sweep::sweep_forever;
use crate::store::{
    Commit, IdHash, Lease, LeaseToken, Loaded, Record, SessionEntry, SessionIndex, Store,
    StoreError, StoreFuture,
};

/// A dialect's connect options (what its URL parses to).
pub(crate) type ConnectOptions<D> =
    <<<D as Dialect>::Db as sqlx::Database>::Connection as sqlx::Connection>::Options;

/// A store not yet connected: its settings, and the engine once the first call built it.
struct Lazy<D: Dialect> {
    options: ConnectOptions<D>,
    settings: Settings,
    engine: OnceCell<Arc<Engine<D>>>,
}

impl<D: Dialect> Lazy<D> {
    /// The engine; the first call opens the pool, creates the schema and starts the sweep. A
    /// failure there is that call's error, and the next call tries again.
    async fn engine(&self) -> Result<&Arc<Engine<D>>, StoreError> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        self.engine.get_or_try_init(|| Box::pin(self.start())).await
    }

    async fn start(&self) -> Result<Arc<Engine<D>>, StoreError> {
        let settings = self.settings.clone();
        self.probe().await?;
        let pool = sqlx::pool::PoolOptions::<D::Db>::new()
            .max_connections(settings.pool_size)
            .acquire_timeout(settings.timeout)
            // A ping per checkout would double the round trips; a broken connection fails
            // its one call instead (a 503) and is not returned to the pool.
            .test_before_acquire(false)
            .connect_lazy_with(self.options.clone());
        let engine = Arc::new(Engine {
            statements: Statements::new::<D>(&settings.table, settings.synchronous_leases),
            pool,
            settings,
        });
        // Creating the schema may wait for another process's DDL: a longer bound.
        let setup = Duration::from_secs(5).max(engine.settings.timeout);
        tokio::time::timeout(
            setup,
            create_schema::<D>(&engine.pool, &engine.settings.table),
        )
        .await
        .map_err(|_| StoreError::Timeout(setup))?
        .map_err(|e| match connect_failure(&e, &engine.settings.trust) {
            StoreError::Config(why) => StoreError::Config(format!(
                "cannot create the {} session table {:?}: {why}",
                D::NAME,
                engine.settings.table
            )),
            _ => StoreError::Unavailable(format!(
                "cannot create the {} session table {:?}: {e}",
                D::NAME,
                engine.settings.table
            )),
        })?;
        if let Some(interval) = engine.settings.sweep_interval {
            tokio::spawn(sweep_forever(Arc::downgrade(&engine), interval));
        }
        Ok(engine)
    }

    /// One connection of its own, opened and closed, before the pool: the pool retries a
    /// refused connection until its timeout and then says only "pool timed out", where this
    /// fails at once with the cause (connection refused, a refused certificate, bad
    /// credentials), which is what a request's 503 and the startup check report.
    async fn probe(&self) -> Result<(), StoreError> {
        use sqlx::{ConnectOptions as _, Connection as _};
        let timeout = self.settings.timeout;
        let connection = tokio::time::timeout(timeout, self.options.connect())
            .await
            .map_err(|_| StoreError::Timeout(timeout))?
            .map_err(|e| connect_failure(&e, &self.settings.trust))?;
        // Closing politely is a courtesy: a failure there changes nothing.
        let _ = tokio::time::timeout(timeout, connection.close()).await;
        Ok(())
    }
}

/// A dialect's store with its dialect erased: what [`SqlStore`](super::SqlStore) holds, as
/// `Box<dyn ErasedSql>`. The session operations are its supertraits', so `SqlStore` forwards
/// each in one virtual call that lands in [`Lazy`]'s implementation; the methods of its own are
/// what `SqlStore`'s other methods need.
pub(crate) trait ErasedSql: Store + SessionIndex {
    /// The settings, for `SqlStore`'s builders (before the first call starts the engine).
    fn settings(&mut self) -> &mut Settings;
    fn table(&self) -> &str;
    /// One sweep pass now.
    fn sweep(&self) -> StoreFuture<'_, u64>;
    /// How many rows the table holds.
    fn count(&self) -> StoreFuture<'_, u64>;
}

impl<D: Dialect> ErasedSql for Lazy<D> {
    fn settings(&mut self) -> &mut Settings {
        &mut self.settings
    }

    fn table(&self) -> &str {
        &self.settings.table
    }

    fn sweep(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let engine = self.engine().await?;
            engine.sweep(engine.settings.clock.now()).await
        })
    }

    fn count(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move { self.engine().await?.count().await })
    }
}

impl<D: Dialect> Store for Lazy<D> {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        Box::pin(async move { self.engine().await?.load(id, now, lease).await })
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.engine().await?.create(id, record, now).await })
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.engine().await?.commit(id, token, commit, now).await })
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.engine().await?.renew(id, lease).await })
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.engine().await?.touch(id, idle_deadline, now).await })
    }
}

impl<D: Dialect> SessionIndex for Lazy<D> {
    fn sessions<'a>(
        &'a self,
        user_id: Option<&'a str>,
        now: u64,
    ) -> StoreFuture<'a, Vec<SessionEntry>> {
        Box::pin(async move { self.engine().await?.sessions(user_id, now).await })
    }

    fn revoke<'a>(&'a self, id: &'a IdHash) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.engine().await?.revoke(id).await })
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move { self.engine().await?.revoke_user(user_id).await })
    }
}

/// A dialect's store for its parsed URL (the dialect modules call this).
pub(crate) fn lazy<D: Dialect>(
    options: ConnectOptions<D>,
    settings: Settings,
) -> Box<dyn ErasedSql> {
    Box::new(Lazy::<D> {
        options,
        settings,
        engine: OnceCell::new(),
    })
}
