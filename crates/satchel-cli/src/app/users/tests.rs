//! Unit tests of `users`.

use super::*;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "satchel-users-{name}-{}-{}",
        std::process::id(),
        crate::keygen::random_token(6)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn added_users_verify_and_others_do_not() {
    let users = Users::open(&temp_dir("verify")).await.unwrap();
    users.add("alice", "correct horse").await.unwrap();
    assert!(users.verify("alice", "correct horse").await.unwrap());
    assert!(!users.verify("alice", "wrong password").await.unwrap());
    assert!(!users.verify("bob", "correct horse").await.unwrap());
    let mut memory = Vec::new();
    let alice = users.stored_hash("alice").await.unwrap();
    assert!(alice
        .verify_with("correct horse", &mut memory)
        .unwrap()
        .is_some());
    assert!(alice.verify_with("wrong", &mut memory).unwrap().is_none());
    assert_eq!(memory.len(), Params::default().block_count());
    // Any case or compatibility form of the name is the same user, as stored.
    let upper = users.stored_hash("ＡＬＩＣＥ").await.unwrap();
    assert_eq!(
        upper.verify_with("correct horse", &mut memory).unwrap(),
        Some("alice".into())
    );
    assert!(matches!(
        users.add("alice", "another one").await,
        Err(UserError::Exists { .. })
    ));
}

#[tokio::test]
async fn bad_names_and_passwords_are_refused() {
    let users = Users::open(&temp_dir("bad")).await.unwrap();
    assert!(matches!(
        users.add("a b", "password1").await,
        Err(UserError::BadName(_))
    ));
    assert!(matches!(
        users.add("ok", "short").await,
        Err(UserError::BadPassword)
    ));
}

#[tokio::test]
async fn a_new_password_replaces_the_old_and_a_disabled_user_cannot_log_in() {
    let users = Users::open(&temp_dir("passwd")).await.unwrap();
    users.add("alice", "correct horse").await.unwrap();
    assert_eq!(
        users.set_password("alice", "battery staple").await.unwrap(),
        Some("alice".into())
    );
    assert!(!users.verify("alice", "correct horse").await.unwrap());
    assert!(users.verify("alice", "battery staple").await.unwrap());
    assert_eq!(
        users
            .set_password("nobody", "battery staple")
            .await
            .unwrap(),
        None
    );
    assert!(users.is_active("alice").await.unwrap());
    assert!(users.disable("ALICE").await.unwrap().is_some());
    assert!(!users.verify("alice", "battery staple").await.unwrap());
    assert!(!users.is_active("alice").await.unwrap());
    assert!(users.exists("alice").await.unwrap());
    assert_eq!(users.disable("nobody").await.unwrap(), None);
}

#[tokio::test]
async fn first_start_creates_admin_once() {
    let users = Users::open(&temp_dir("admin")).await.unwrap();
    let generated = ensure_admin(&users, None)
        .await
        .unwrap()
        .expect("a password");
    assert!(users.verify("admin", &generated).await.unwrap());
    assert_eq!(ensure_admin(&users, None).await.unwrap(), None);
}

/// A file made before accounts could be disabled (no `disabled` column) opens: its users
/// keep their passwords, get the column, and can then be disabled. Opening again is a
/// no-op.
#[tokio::test]
async fn a_file_without_the_disabled_column_is_migrated() {
    let dir = temp_dir("old");
    let old_hash = hash_password("correct horse").unwrap();
    let old = SqlitePoolOptions::new()
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.join("users.sqlite3"))
                .create_if_missing(true),
        )
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE users (
             name TEXT PRIMARY KEY NOT NULL,
             password_hash TEXT NOT NULL,
             created_at INTEGER NOT NULL DEFAULT (unixepoch())
         )",
    )
    .execute(&old)
    .await
    .unwrap();
    sqlx::query("INSERT INTO users (name, password_hash) VALUES ('alice', ?1)")
        .bind(&old_hash)
        .execute(&old)
        .await
        .unwrap();
    old.close().await;

    let users = Users::open(&dir).await.unwrap();
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('users') ORDER BY cid")
            .fetch_all(&users.pool)
            .await
            .unwrap();
    assert_eq!(
        columns,
        [
            "name",
            "password_hash",
            "created_at",
            "disabled",
            "name_key",
            "look_alike"
        ]
    );
    assert!(users.verify("alice", "correct horse").await.unwrap());
    assert!(users.is_active("alice").await.unwrap());
    assert!(users.disable("alice").await.unwrap().is_some());
    assert!(!users.verify("alice", "correct horse").await.unwrap());
    assert!(matches!(
        users.add("Alice", "correct horse").await,
        Err(UserError::Exists { .. })
    ));
    users.close().await;

    let again = Users::open(&dir).await.unwrap();
    assert!(again.exists("alice").await.unwrap());
    assert!(!again.is_active("alice").await.unwrap());
}

#[test]
fn names_differing_in_case_or_compatibility_form_share_a_key() {
    for alike in ["Admin", "ADMIN", "ａｄｍｉｎ", "admin"] {
        assert_eq!(name_key(alike), "admin", "{alike}");
    }
    assert_eq!(name_key("Straße"), name_key("STRASSE"));
    assert_ne!(name_key("admin"), name_key("admin1"));
}

#[test]
fn look_alike_names_share_a_look() {
    for (a, b) in [
        ("admin", "adrnin"),
        ("louis", "Iouis"),
        ("root", "r00t"),
        ("bill", "biII"),
    ] {
        assert_eq!(look_alike_key(a), look_alike_key(b), "{a} / {b}");
    }
    assert_ne!(look_alike_key("admin"), look_alike_key("alice"));
}

#[tokio::test]
async fn a_name_like_an_existing_one_is_refused_and_says_which() {
    let users = Users::open(&temp_dir("alike")).await.unwrap();
    users.add("admin", "correct horse").await.unwrap();
    let error = users.add("ADMIN", "correct horse").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"user "ADMIN" already exists (as "admin")"#
    );
    let error = users.add("adrnin", "correct horse").await.unwrap_err();
    assert!(matches!(&error, UserError::LooksLike { existing, .. } if existing == "admin"));
    assert_eq!(users.count().await.unwrap(), 1);
    assert_eq!(users.resolve("Admin").await.unwrap(), Some("admin".into()));
    assert_eq!(users.resolve("adrnin").await.unwrap(), None);
}
