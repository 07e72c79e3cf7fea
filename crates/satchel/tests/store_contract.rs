//! The `Store` contract (tests/common/contract.rs), run against every backend: one module per
//! store, the same behaviours in each. A new backend adds a module and a factory.

mod common;
#[cfg(any(feature = "redis", feature = "postgres", feature = "mysql"))]
#[path = "store_contract/tls/mod.rs"]
mod tls;

mod memory {
    use std::sync::Arc;

    use satchel_session::store::{MemoryStore, Store};

    async fn store() -> Option<Arc<dyn Store>> {
        Some(Arc::new(MemoryStore::default()))
    }

    crate::store_contract!(store);
}

#[cfg(feature = "redis")]
mod redis {
    use std::sync::Arc;

    use satchel_session::store::Store;

    async fn store() -> Option<Arc<dyn Store>> {
        crate::common::redis_url().map(|url| crate::common::redis_store(&url))
    }

    crate::store_contract!(store);

    /// Keys this store did not write in its own layout (a first-layout hash, or a hash where a
    /// record belongs) are never read as sessions and never panic.
    #[tokio::test]
    async fn foreign_keys_are_missing_or_corrupt_never_a_panic() {
        use satchel_session::store::{Lease, Loaded, RedisStore, SessionId, StoreError};

        let Some(url) = crate::common::redis_url() else {
            return;
        };
        let prefix = crate::common::prefix();
        let store = RedisStore::open(&url).unwrap().with_prefix(prefix.as_str());
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let lease = Lease::new(std::time::Duration::from_secs(30));

        let old = SessionId::generate().hash();
        plant_hash(&mut connection, format!("{prefix}{}", old.to_hex())).await;
        assert_eq!(store.load(&old, 1, None).await.unwrap(), Loaded::Missing);
        assert_eq!(
            store.load(&old, 1, Some(&lease)).await.unwrap(),
            Loaded::Missing
        );

        let wrong = SessionId::generate().hash();
        plant_hash(&mut connection, format!("{prefix}v2:{}", wrong.to_hex())).await;
        for lease in [None, Some(&lease)] {
            assert!(matches!(
                store.load(&wrong, 1, lease).await,
                Err(StoreError::Corrupt(_))
            ));
        }
        // The corrupt load gave back the lease it took.
        let lease_key = format!("{prefix}v2:{}:lease", wrong.to_hex());
        let held: bool = redis::cmd("EXISTS")
            .arg(lease_key)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(!held);
        store.touch(&wrong, 100, 1).await.unwrap_err();

        // A string that is not a record (no time header): corrupt to load, left alone by touch.
        let garbage = SessionId::generate().hash();
        let garbage_key = format!("{prefix}v2:{}", garbage.to_hex());
        let _: () = redis::cmd("SET")
            .arg(&garbage_key)
            .arg("not a session record, though longer than its sixty-byte header would be")
            .arg("EX")
            .arg(60)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(matches!(
            store.load(&garbage, 1, None).await,
            Err(StoreError::Corrupt(_))
        ));
        store.touch(&garbage, 100, 1).await.unwrap();
        let kept: String = redis::cmd("GET")
            .arg(&garbage_key)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(kept.starts_with("not a session record"));
    }

    /// A hash under `key` (what the first layout stored), expiring in a minute.
    async fn plant_hash(connection: &mut redis::aio::MultiplexedConnection, key: String) {
        let _: () = redis::pipe()
            .cmd("HSET")
            .arg(&key)
            .arg("d")
            .arg("{}")
            .arg("c")
            .arg(1)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(60)
            .ignore()
            .query_async(connection)
            .await
            .unwrap();
    }
}

/// Flask-Session's layout: the contract but what it cannot keep (its records hold no
/// created-at or absolute deadline, and its deadline is the key's TTL, measured by Redis, not
/// by the clock the contract moves).
#[cfg(feature = "redis")]
mod flask_session {
    use std::sync::Arc;

    use satchel_session::store::{FlaskSessionStore, Store};

    async fn store() -> Option<Arc<dyn Store>> {
        let url = crate::common::redis_url()?;
        let store = FlaskSessionStore::open(&url)
            .unwrap()
            .with_prefix(crate::common::prefix());
        Some(Arc::new(store))
    }

    crate::store_contract!(@each store;
        unknown_id_is_missing,
        a_lease_asked_on_a_missing_id_is_not_kept,
        create_is_insert_only,
        a_lease_excludes_other_writers_not_readers,
        commit_saves_and_releases,
        release_keeps_the_record,
        commit_with_a_wrong_token_is_refused,
        an_expired_lease_is_taken_over_and_its_commit_refused,
        a_deleted_session_is_never_resurrected,
        rotate_moves_the_session_and_fences_the_old_id,
        renew_extends_only_the_holders_lease,
        a_renewed_lease_outlives_its_first_term,
    );
}

#[cfg(feature = "sqlite")]
mod sqlite {
    async fn store() -> Option<std::sync::Arc<dyn satchel_session::store::Store>> {
        crate::common::sql::Scratch::shared("sqlite")
    }

    crate::store_contract!(store);
}

#[cfg(feature = "postgres")]
mod postgres {
    async fn store() -> Option<std::sync::Arc<dyn satchel_session::store::Store>> {
        crate::common::sql::Scratch::shared("postgres")
    }

    crate::store_contract!(store);
}

#[cfg(feature = "mysql")]
mod mysql {
    async fn store() -> Option<std::sync::Arc<dyn satchel_session::store::Store>> {
        crate::common::sql::Scratch::shared("mysql")
    }

    crate::store_contract!(store);
}
