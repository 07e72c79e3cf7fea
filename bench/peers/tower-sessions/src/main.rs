//! Benchmark peer: the seed's routes on axum + tower-sessions, plus `/plain`, a handler outside
//! any session layer (the ceiling for this stack).
//!
//! ```text
//! tower-sessions-peer ADDR memory
//! tower-sessions-peer ADDR redis://127.0.0.1:6390
//! tower-sessions-peer ADDR sqlite://PATH
//! tower-sessions-peer ADDR postgres://HOST/DB [TABLE]
//! tower-sessions-peer ADDR mysql://USER@HOST/DB [TABLE]
//! ```
//!
//! The SQL stores create their table (`migrate`) and delete expired rows every 60 s
//! (`continuously_delete_expired`), as their docs recommend.
use axum::{routing::get, Router};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer, SessionStore};
use tower_sessions::ExpiredDeletion;
use tower_sessions_redis_store::{fred::prelude::*, RedisStore};
use tower_sessions_sqlx_store::{sqlx, MySqlStore, PostgresStore, SqliteStore};

async fn set_session(s: Session) -> &'static str {
    s.insert("username", "Kimi").await.unwrap();
    s.insert("age", 25).await.unwrap();
    "Session data set!"
}

async fn get_session(s: Session) -> String {
    let username: String = s
        .get("username")
        .await
        .unwrap()
        .unwrap_or_else(|| "Guest".into());
    let age: i64 = s.get("age").await.unwrap().unwrap_or(0);
    format!("Hello, {username}! Your age is {age}.")
}

async fn counter(s: Session) -> String {
    let n: i64 = s.get("n").await.unwrap().unwrap_or(0) + 1;
    s.insert("n", n).await.unwrap();
    n.to_string()
}

fn app<S: SessionStore + Clone>(store: S) -> Router {
    Router::new()
        .route("/set_session", get(set_session))
        .route("/get_session", get(get_session))
        .route("/counter", get(counter))
        .layer(SessionManagerLayer::new(store).with_secure(false))
        .route("/plain", get(|| async { "Hello, Guest! Your age is 0." }))
}

/// The app on an SQL store, with its expired-row deletion running beside it.
fn sql_app<S: SessionStore + ExpiredDeletion + Clone>(store: S) -> Router {
    let deleter = store.clone();
    tokio::spawn(async move {
        let _ = deleter
            .continuously_delete_expired(std::time::Duration::from_secs(60))
            .await;
    });
    app(store)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5002".into());
    let store = args.next().unwrap_or_else(|| "memory".into());
    let table = args.next();
    let app = if store == "memory" {
        app(MemoryStore::default())
    } else if store.starts_with("sqlite:") {
        let options: sqlx::sqlite::SqliteConnectOptions = store.parse().expect("a sqlite URL");
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
            .await
            .expect("the SQLite file opens");
        let store = SqliteStore::new(pool);
        store.migrate().await.expect("the table is created");
        sql_app(store)
    } else if store.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&store).await.expect("PostgreSQL is reachable");
        let mut store = PostgresStore::new(pool);
        if let Some(table) = &table {
            store = store.with_table_name(table).expect("a valid table name");
        }
        store.migrate().await.expect("the table is created");
        sql_app(store)
    } else if store.starts_with("mysql") {
        let pool = sqlx::MySqlPool::connect(&store).await.expect("MySQL is reachable");
        let mut store = MySqlStore::new(pool);
        if let Some(table) = &table {
            store = store.with_table_name(table).expect("a valid table name");
        }
        store.migrate().await.expect("the table is created");
        sql_app(store)
    } else {
        let config = Config::from_url(&store).expect("a redis:// URL");
        let pool = Pool::new(config, None, None, None, 4).unwrap();
        pool.init().await.expect("Redis is reachable");
        app(RedisStore::new(pool))
    };
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
