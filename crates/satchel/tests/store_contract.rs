//! The `Store` contract (tests/common/contract.rs), run against every backend: one module per
//! store, the same behaviours in each. A new backend adds a module and a factory.

mod common;

mod memory {
    use std::sync::Arc;

    use satchel::store::{MemoryStore, Store};

    async fn store() -> Option<Arc<dyn Store>> {
        Some(Arc::new(MemoryStore::default()))
    }

    crate::store_contract!(store);
}

#[cfg(feature = "redis")]
mod redis {
    use std::sync::Arc;

    use satchel::store::Store;

    async fn store() -> Option<Arc<dyn Store>> {
        crate::common::redis_url().map(|url| crate::common::redis_store(&url))
    }

    crate::store_contract!(store);
}
