//! Unit tests of `memory`.

use super::*;
use crate::store::SessionId;
use crate::value::Dict;

fn record(expires_at: u64) -> Record {
    Record::new(Dict::default(), 0, expires_at, expires_at)
}

fn limited(max_sessions: usize) -> MemoryStore {
    MemoryStore::with_limits(MemoryStoreLimits {
        max_sessions,
        ..MemoryStoreLimits::default()
    })
}

#[test]
fn a_full_store_sweeps_expired_sessions_first() {
    let store = limited(2);
    let (a, b, c) = (
        SessionId::generate().hash(),
        SessionId::generate().hash(),
        SessionId::generate().hash(),
    );
    assert_eq!(store.create_now(&a, &record(10), 0), Ok(true));
    assert_eq!(store.create_now(&b, &record(100), 0), Ok(true));
    // At 20, `a` is dead: swept to make room, and `b` stays.
    assert_eq!(store.create_now(&c, &record(100), 20), Ok(true));
    assert!(matches!(store.load_now(&b, 20, None), Loaded::Found(_)));
    assert_eq!(store.len(), 2);
}

fn logged_in(expires_at: u64) -> Record {
    let mut record = record(expires_at);
    record.login = Some(Login::new("admin", None, None));
    record
}

#[test]
fn a_flood_of_sessions_each_used_twice_logs_no_one_out() {
    // The attack of issue 24: every new session is used twice, so "never returned" does
    // not single it out, and each expires later than the users' sessions do.
    let store = limited(100);
    let idle_admin = SessionId::generate().hash();
    let remembered_admin = SessionId::generate().hash();
    let active_visitor = SessionId::generate().hash();
    store
        .create_now(&idle_admin, &logged_in(10_000), 0)
        .unwrap();
    store
        .create_now(&remembered_admin, &logged_in(1_000_000), 0)
        .unwrap();
    store
        .create_now(&active_visitor, &record(10_000), 0)
        .unwrap();
    for now in 1..=5_000 {
        let flood = SessionId::generate().hash();
        assert_eq!(store.create_now(&flood, &record(2_000_000), now), Ok(true));
        assert!(matches!(
            store.load_now(&flood, now, None),
            Loaded::Found(_)
        ));
        assert!(matches!(
            store.load_now(&flood, now, None),
            Loaded::Found(_)
        ));
        // An anonymous visitor who comes back every 20 flood sessions (the store holds 100).
        if now % 20 == 0 {
            let found = store.load_now(&active_visitor, now, None);
            assert!(
                matches!(found, Loaded::Found(_)),
                "visitor evicted at {now}"
            );
        }
    }
    assert!(store.len() <= 100);
    for id in [idle_admin, remembered_admin, active_visitor] {
        assert!(matches!(store.load_now(&id, 5_001, None), Loaded::Found(_)));
    }
    // The flood never locks a newcomer out.
    let newcomer = SessionId::generate().hash();
    assert_eq!(
        store.create_now(&newcomer, &record(2_000_000), 5_001),
        Ok(true)
    );
}

#[test]
fn anonymous_sessions_go_least_recently_used_first_and_leased_never() {
    let store = limited(2);
    let (used_long_ago, used_lately, next) = (
        SessionId::generate().hash(),
        SessionId::generate().hash(),
        SessionId::generate().hash(),
    );
    // `used_long_ago` expires last, but was last used first: it goes.
    store.create_now(&used_long_ago, &record(900), 0).unwrap();
    store.create_now(&used_lately, &record(50), 0).unwrap();
    assert!(matches!(
        store.load_now(&used_lately, 5, None),
        Loaded::Found(_)
    ));
    assert_eq!(store.create_now(&next, &record(500), 6), Ok(true));
    assert_eq!(store.load_now(&used_long_ago, 6, None), Loaded::Missing);
    // A leased one stays even when it is the least recently used.
    let lease = Lease::new(std::time::Duration::from_secs(60));
    assert!(matches!(
        store.load_now(&used_lately, 7, Some(&lease)),
        Loaded::Found(_)
    ));
    assert!(matches!(store.load_now(&next, 8, None), Loaded::Found(_)));
    let last = SessionId::generate().hash();
    assert_eq!(store.create_now(&last, &record(500), 9), Ok(true));
    assert_eq!(store.load_now(&next, 9, None), Loaded::Missing);
    assert!(matches!(
        store.load_now(&used_lately, 9, None),
        Loaded::Found(_)
    ));
}

#[test]
fn a_store_full_of_logged_in_sessions_refuses_a_newcomer_rather_than_evict_one() {
    let store = limited(2);
    let admins = [SessionId::generate().hash(), SessionId::generate().hash()];
    for admin in &admins {
        store.create_now(admin, &logged_in(500), 0).unwrap();
    }
    let newcomer = SessionId::generate().hash();
    assert_eq!(
        store.create_now(&newcomer, &record(500), 1),
        Err(StoreError::Full(2))
    );
    for admin in &admins {
        assert!(matches!(store.load_now(admin, 1, None), Loaded::Found(_)));
    }
}

#[test]
fn data_comes_back_as_stored_and_a_deleted_sessions_lease_goes_with_it() {
    let store = MemoryStore::default();
    let mut kept = record(100);
    kept.data
        .insert("z".into(), Value::List(vec![1.into(), "a".into()]));
    kept.data.insert("a".into(), Value::Bytes(b"hi".to_vec()));
    kept.data.insert("m".into(), Value::Float(f64::INFINITY));
    let id = SessionId::generate().hash();
    assert_eq!(store.create_now(&id, &kept, 0), Ok(true));
    let lease = Lease::new(std::time::Duration::from_secs(60));
    assert_eq!(store.load_now(&id, 1, Some(&lease)), Loaded::Found(kept));
    assert_eq!(store.lock().leases.len(), 1);
    assert_eq!(
        store.commit_now(&id, lease.token, Commit::Delete, 0),
        Ok(true)
    );
    let sessions = store.lock();
    assert!(sessions.records.is_empty() && sessions.leases.is_empty());
}

#[test]
fn records_over_the_size_cap_are_refused() {
    let store = MemoryStore::with_limits(MemoryStoreLimits {
        max_record_bytes: 16,
        ..MemoryStoreLimits::default()
    });
    let mut big = record(100);
    big.data.insert("k".into(), "x".repeat(32).into());
    let id = SessionId::generate().hash();
    assert!(matches!(
        store.create_now(&id, &big, 0),
        Err(StoreError::TooLarge { limit: 16, .. })
    ));
    assert!(store.is_empty());
}

#[test]
fn a_record_within_the_cap_is_kept_even_when_the_quick_bound_is_over_it() {
    // 30 ASCII bytes: the bound counts each as a 6-byte escape (over 100), the text is 38.
    let limit = 100;
    let store = MemoryStore::with_limits(MemoryStoreLimits {
        max_record_bytes: limit,
        ..MemoryStoreLimits::default()
    });
    let mut data = Dict::new();
    data.insert("k".into(), "x".repeat(30).into());
    assert!(flask_json::len_bound(&data) > limit);
    assert!(flask_json::to_string(&data).len() <= limit);
    let id = SessionId::generate().hash();
    assert_eq!(
        store.create_now(&id, &Record::new(data, 0, 10, 10), 0),
        Ok(true)
    );
}
