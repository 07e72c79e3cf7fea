//! Benchmark peer: the satchel peers' routes and responses on axum 0.8 + axum_session 0.22,
//! plus `/plain`, a handler outside the session layer (the ceiling for this stack).
//!
//! ```text
//! axum-session-peer ADDR redis://127.0.0.1:6390        # axum_session_redispool
//! axum-session-peer ADDR postgres://HOST/DB [TABLE]    # axum_session_sqlx (PostgreSQL)
//! ```
//!
//! axum_session's defaults otherwise (`SessionConfig::default()`): every session is also kept
//! in this process's memory (60 minutes after its last use) and read from there; the store is
//! written through when a handler changed the session, and read only for a session not in
//! memory. The cookie is the session's UUID (no key set, so neither signed nor encrypted),
//! Secure off (its default).
use axum::{routing::get, Router};
use axum_session::{DatabasePool, Session, SessionConfig, SessionLayer, SessionStore};
use axum_session_redispool::SessionRedisPool;
use axum_session_sqlx::SessionPgPool;
use redis_pool::RedisPool;

async fn set_session<T: DatabasePool + Clone + std::fmt::Debug + Sync + Send + 'static>(
    s: Session<T>,
) -> &'static str {
    s.set("username", "Kimi");
    s.set("age", 25);
    "Session data set!"
}

async fn get_session<T: DatabasePool + Clone + std::fmt::Debug + Sync + Send + 'static>(
    s: Session<T>,
) -> String {
    let username: String = s.get("username").unwrap_or_else(|| "Guest".into());
    let age: i64 = s.get("age").unwrap_or(0);
    format!("Hello, {username}! Your age is {age}.")
}

async fn counter<T: DatabasePool + Clone + std::fmt::Debug + Sync + Send + 'static>(
    s: Session<T>,
) -> String {
    let n: i64 = s.get::<i64>("n").unwrap_or(0) + 1;
    s.set("n", n);
    n.to_string()
}

async fn app<T: DatabasePool + Clone + std::fmt::Debug + Sync + Send + 'static>(
    pool: T,
    config: SessionConfig,
) -> Router {
    let store = SessionStore::<T>::new(Some(pool), config)
        .await
        .expect("the session store starts");
    Router::new()
        .route("/set_session", get(set_session::<T>))
        .route("/get_session", get(get_session::<T>))
        .route("/counter", get(counter::<T>))
        .layer(SessionLayer::new(store))
        .route("/plain", get(|| async { "Hello, Guest! Your age is 0." }))
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5008".into());
    let store = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let table = args.next();
    let mut config = SessionConfig::default();
    if let Some(table) = table {
        config = config.with_table_name(table);
    }
    let app = if store.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&store)
            .await
            .expect("PostgreSQL is reachable");
        app(SessionPgPool::from(pool), config).await
    } else {
        let client = redis::Client::open(store).expect("a redis:// URL");
        app(SessionRedisPool::from(RedisPool::from(client)), config).await
    };
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
