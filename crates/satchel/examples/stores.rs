//! Server-side sessions: the cookie carries only a random id; the data lives in a store. One
//! line picks the store from a URL; handlers do not change.
//!
//! ```sh
//! cargo run -p satchel-session --example stores                                   # memory
//! STORE=redis://127.0.0.1:6379 cargo run -p satchel-session --features redis --example stores
//! ```
//!
//! Concurrent requests of one session never lose an update: each writer holds a fenced lease
//! from load to commit. A store that is down is a 503 with a readable body, never an empty
//! session saved over the real one.

use axum::{routing::get, Router};
use satchel_session::{store, Session, SessionConfig, SessionLayer};

async fn counter(session: Session) -> String {
    let n = session.get_or("n", 0) + 1;
    session.insert("n", n);
    format!("{n}\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("STORE").unwrap_or_else(|_| "memory".into());
    let store = store::store_from_url(&url)?;
    let mut config = SessionConfig::default().with_env()?;
    config.cookie_secure = false; // plain http on loopback; keep it on in production
    let layer = SessionLayer::builder(config).store(store).build()?;
    let app = Router::new().route("/counter", get(counter)).layer(layer);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "sessions in {url}; listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
