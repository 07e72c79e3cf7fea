//! The `Store` contract, written once over the trait. A backend's test file runs all of it
//! with `store_contract!(factory)`, where `factory()` gives `Option<Arc<dyn Store>>` (`None`:
//! the backend is not available here, and the test says so and returns).

use std::sync::Arc;
use std::time::Duration;

use satchel_session::store::{Commit, IdHash, Lease, LeaseToken, Loaded, Record, SessionId, Store};
use satchel_session::value::Dict;
use satchel_session::Value;

pub const NOW: u64 = 1_800_000_000;
const SHORT: Duration = Duration::from_millis(150);
const LONG: Duration = Duration::from_secs(30);

pub fn data(n: i64) -> Dict {
    let mut data = Dict::default();
    data.insert("n".into(), Value::from(n));
    data
}

fn record(n: i64) -> Record {
    Record::new(data(n), NOW, NOW + 600, NOW + 3600)
}

async fn created(store: &dyn Store, n: i64) -> IdHash {
    let id = SessionId::generate().hash();
    assert!(store.create(&id, &record(n), NOW).await.unwrap());
    id
}

async fn n_of(store: &dyn Store, id: &IdHash) -> Option<i64> {
    match store.load(id, NOW, None).await.unwrap() {
        Loaded::Found(r) => Some(r.data["n"].as_i64().unwrap()),
        Loaded::Missing => None,
        other => panic!("a load without a lease is found or missing, not {other:?}"),
    }
}

/// Waits (bounded) until `lease` can be taken: a lease's expiry is the store's to measure.
async fn acquire_eventually(store: &dyn Store, id: &IdHash, lease: &Lease) -> Record {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match store.load(id, NOW, Some(lease)).await.unwrap() {
            Loaded::Found(r) => return r,
            Loaded::Busy if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            other => panic!("expected the lease in time, got {other:?}"),
        }
    }
}

pub async fn unknown_id_is_missing(store: Arc<dyn Store>) {
    let id = SessionId::generate().hash();
    assert_eq!(store.load(&id, NOW, None).await.unwrap(), Loaded::Missing);
    let lease = Lease::new(LONG);
    assert_eq!(
        store.load(&id, NOW, Some(&lease)).await.unwrap(),
        Loaded::Missing
    );
}

pub async fn a_lease_asked_on_a_missing_id_is_not_kept(store: Arc<dyn Store>) {
    let id = SessionId::generate().hash();
    let early = Lease::new(LONG);
    assert_eq!(
        store.load(&id, NOW, Some(&early)).await.unwrap(),
        Loaded::Missing
    );
    // `Missing` took no lease: nothing to renew or commit with it...
    assert!(!store.renew(&id, &early).await.unwrap());
    // ...and once the id is filed, another writer gets it at once, not `Busy`.
    assert!(store.create(&id, &record(1), NOW).await.unwrap());
    let next = Lease::new(LONG);
    assert!(matches!(
        store.load(&id, NOW, Some(&next)).await.unwrap(),
        Loaded::Found(_)
    ));
    assert!(!store
        .commit(&id, early.token, Commit::Save(record(9)), NOW)
        .await
        .unwrap());
    assert!(store
        .commit(&id, next.token, Commit::Save(record(2)), NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &id).await, Some(2));
}

pub async fn create_is_insert_only(store: Arc<dyn Store>) {
    let id = created(&*store, 1).await;
    assert!(!store.create(&id, &record(2), NOW).await.unwrap());
    assert_eq!(n_of(&*store, &id).await, Some(1));
}

pub async fn records_round_trip(store: Arc<dyn Store>) {
    let id = SessionId::generate().hash();
    let mut rich = data(7);
    rich.insert("t".into(), Value::Tuple(vec![1.into(), "a".into()]));
    rich.insert("b".into(), Value::Bytes(vec![0, 255]));
    let record = Record::new(rich, NOW, NOW + 10, u64::MAX);
    assert!(store.create(&id, &record, NOW).await.unwrap());
    assert_eq!(
        store.load(&id, NOW, None).await.unwrap(),
        Loaded::Found(record)
    );
}

pub async fn a_lease_excludes_other_writers_not_readers(store: Arc<dyn Store>) {
    let id = created(&*store, 1).await;
    let first = Lease::new(LONG);
    assert!(matches!(
        store.load(&id, NOW, Some(&first)).await.unwrap(),
        Loaded::Found(_)
    ));
    let second = Lease::new(LONG);
    assert_eq!(
        store.load(&id, NOW, Some(&second)).await.unwrap(),
        Loaded::Busy
    );
    assert_eq!(n_of(&*store, &id).await, Some(1));
    // Re-asking with the same token is not a conflict (a retry after a lost reply).
    assert!(matches!(
        store.load(&id, NOW, Some(&first)).await.unwrap(),
        Loaded::Found(_)
    ));
}

pub async fn commit_saves_and_releases(store: Arc<dyn Store>) {
    let id = created(&*store, 1).await;
    let lease = Lease::new(LONG);
    store.load(&id, NOW, Some(&lease)).await.unwrap();
    assert!(store
        .commit(&id, lease.token, Commit::Save(record(2)), NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &id).await, Some(2));
    let next = Lease::new(LONG);
    assert!(matches!(
        store.load(&id, NOW, Some(&next)).await.unwrap(),
        Loaded::Found(_)
    ));
    // The old token is spent: a second commit with it is refused.
    assert!(!store
        .commit(&id, lease.token, Commit::Save(record(3)), NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &id).await, Some(2));
}

pub async fn release_keeps_the_record(store: Arc<dyn Store>) {
    let id = created(&*store, 1).await;
    let lease = Lease::new(LONG);
    store.load(&id, NOW, Some(&lease)).await.unwrap();
    assert!(store
        .commit(&id, lease.token, Commit::Release, NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &id).await, Some(1));
    let next = Lease::new(LONG);
    assert!(matches!(
        store.load(&id, NOW, Some(&next)).await.unwrap(),
        Loaded::Found(_)
    ));
}

pub async fn commit_with_a_wrong_token_is_refused(store: Arc<dyn Store>) {
    let id = created(&*store, 1).await;
    let lease = Lease::new(LONG);
    store.load(&id, NOW, Some(&lease)).await.unwrap();
    let stranger = LeaseToken::generate();
    assert!(!store
        .commit(&id, stranger, Commit::Save(record(9)), NOW)
        .await
        .unwrap());
    assert!(!store
        .commit(&id, stranger, Commit::Delete, NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &id).await, Some(1));
    // A commit without any lease taken is refused too.
    let other = created(&*store, 5).await;
    assert!(!store
        .commit(&other, stranger, Commit::Save(record(9)), NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &other).await, Some(5));
}

pub async fn an_expired_lease_is_taken_over_and_its_commit_refused(store: Arc<dyn Store>) {
    let id = created(&*store, 1).await;
    let slow = Lease::new(SHORT);
    store.load(&id, NOW, Some(&slow)).await.unwrap();
    let fast = Lease::new(LONG);
    acquire_eventually(&*store, &id, &fast).await;
    assert!(store
        .commit(&id, fast.token, Commit::Save(record(2)), NOW)
        .await
        .unwrap());
    assert!(!store
        .commit(&id, slow.token, Commit::Save(record(99)), NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &id).await, Some(2));
}

pub async fn a_deleted_session_is_never_resurrected(store: Arc<dyn Store>) {
    let id = created(&*store, 1).await;
    let late = Lease::new(SHORT);
    store.load(&id, NOW, Some(&late)).await.unwrap();
    let logout = Lease::new(LONG);
    acquire_eventually(&*store, &id, &logout).await;
    assert!(store
        .commit(&id, logout.token, Commit::Delete, NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &id).await, None);
    assert!(!store
        .commit(&id, late.token, Commit::Save(record(99)), NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &id).await, None);
}

pub async fn rotate_moves_the_session_and_fences_the_old_id(store: Arc<dyn Store>) {
    let old = created(&*store, 1).await;
    let late = Lease::new(SHORT);
    store.load(&old, NOW, Some(&late)).await.unwrap();
    let login = Lease::new(LONG);
    acquire_eventually(&*store, &old, &login).await;
    let new = SessionId::generate().hash();
    let rotate = Commit::Rotate {
        new_id: new,
        record: record(2),
    };
    assert!(store.commit(&old, login.token, rotate, NOW).await.unwrap());
    assert_eq!(n_of(&*store, &old).await, None);
    assert_eq!(n_of(&*store, &new).await, Some(2));
    assert!(!store
        .commit(&old, late.token, Commit::Save(record(99)), NOW)
        .await
        .unwrap());
    assert_eq!(n_of(&*store, &old).await, None);
    // The new id starts unleased.
    let next = Lease::new(LONG);
    assert!(matches!(
        store.load(&new, NOW, Some(&next)).await.unwrap(),
        Loaded::Found(_)
    ));
}

pub async fn renew_extends_only_the_holders_lease(store: Arc<dyn Store>) {
    let id = created(&*store, 1).await;
    let lease = Lease::new(LONG);
    store.load(&id, NOW, Some(&lease)).await.unwrap();
    assert!(store.renew(&id, &lease).await.unwrap());
    assert!(!store.renew(&id, &Lease::new(LONG)).await.unwrap());
    assert!(store
        .commit(&id, lease.token, Commit::Release, NOW)
        .await
        .unwrap());
    assert!(!store.renew(&id, &lease).await.unwrap());
}

pub async fn a_renewed_lease_outlives_its_first_term(store: Arc<dyn Store>) {
    let id = created(&*store, 1).await;
    let lease = Lease::new(Duration::from_millis(300));
    store.load(&id, NOW, Some(&lease)).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(store.renew(&id, &lease).await.unwrap());
    }
    // 400 ms after it was taken, the 300 ms lease still holds thanks to renewal.
    assert_eq!(
        store.load(&id, NOW, Some(&Lease::new(LONG))).await.unwrap(),
        Loaded::Busy
    );
    assert!(store
        .commit(&id, lease.token, Commit::Save(record(2)), NOW)
        .await
        .unwrap());
}

pub async fn deadlines_are_enforced_on_load(store: Arc<dyn Store>) {
    let idle = SessionId::generate().hash();
    let r = Record::new(data(1), NOW, NOW + 10, NOW + 3600);
    assert!(store.create(&idle, &r, NOW).await.unwrap());
    assert!(matches!(
        store.load(&idle, NOW + 9, None).await.unwrap(),
        Loaded::Found(_)
    ));
    assert_eq!(
        store.load(&idle, NOW + 10, None).await.unwrap(),
        Loaded::Missing
    );
    let absolute = SessionId::generate().hash();
    let r = Record::new(data(1), NOW, NOW + 3600, NOW + 20);
    assert!(store.create(&absolute, &r, NOW).await.unwrap());
    let lease = Lease::new(LONG);
    assert_eq!(
        store.load(&absolute, NOW + 20, Some(&lease)).await.unwrap(),
        Loaded::Missing
    );
}

pub async fn touch_moves_the_idle_deadline_forward_only(store: Arc<dyn Store>) {
    let id = SessionId::generate().hash();
    let r = Record::new(data(1), NOW, NOW + 10, NOW + 100);
    assert!(store.create(&id, &r, NOW).await.unwrap());
    store.touch(&id, NOW + 50, NOW + 5).await.unwrap();
    assert!(matches!(
        store.load(&id, NOW + 40, None).await.unwrap(),
        Loaded::Found(_)
    ));
    store.touch(&id, NOW + 20, NOW + 6).await.unwrap(); // backwards: ignored
    let Loaded::Found(r) = store.load(&id, NOW + 40, None).await.unwrap() else {
        panic!()
    };
    assert_eq!((r.idle_deadline, r.data), (NOW + 50, data(1)));
    store.touch(&id, NOW + 500, NOW + 7).await.unwrap(); // capped by the absolute deadline
    assert_eq!(
        store.load(&id, NOW + 100, None).await.unwrap(),
        Loaded::Missing
    );
    // Touching a session that does not exist creates nothing.
    let ghost = SessionId::generate().hash();
    store.touch(&ghost, NOW + 50, NOW).await.unwrap();
    assert_eq!(
        store.load(&ghost, NOW, None).await.unwrap(),
        Loaded::Missing
    );
}

/// Runs every behaviour above against the store `$factory().await` gives.
#[macro_export]
macro_rules! store_contract {
    ($factory:expr) => {
        $crate::store_contract!(@each $factory;
            unknown_id_is_missing,
            a_lease_asked_on_a_missing_id_is_not_kept,
            create_is_insert_only,
            records_round_trip,
            a_lease_excludes_other_writers_not_readers,
            commit_saves_and_releases,
            release_keeps_the_record,
            commit_with_a_wrong_token_is_refused,
            an_expired_lease_is_taken_over_and_its_commit_refused,
            a_deleted_session_is_never_resurrected,
            rotate_moves_the_session_and_fences_the_old_id,
            renew_extends_only_the_holders_lease,
            a_renewed_lease_outlives_its_first_term,
            deadlines_are_enforced_on_load,
            touch_moves_the_idle_deadline_forward_only,
        );
    };
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                if let Some(store) = $factory().await {
                    $crate::common::contract::$name(store).await;
                }
            }
        )*
    };
}
