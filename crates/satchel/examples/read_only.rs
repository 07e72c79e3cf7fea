//! Read-only handlers: [`ReadOnlySession`] reads the session without the lock and lease a
//! writer takes, so with a server-side store pages that only read never wait for writers, nor
//! make them wait. `Option<Session>` renders a public page even while the store is down.
//!
//! ```sh
//! cargo run -p satchel-session --example read_only
//! curl -c jar -b jar http://127.0.0.1:3000/visit   # writes (takes the session's lease)
//! curl -b jar http://127.0.0.1:3000/count          # reads only
//! ```

use std::sync::Arc;

use axum::{routing::get, Router};
use satchel_session::extract::ReadOnlySession;
use satchel_session::store::MemoryStore;
use satchel_session::{Session, SessionConfig, SessionLayer};

async fn visit(session: Session) -> String {
    let n = session.get_or("visits", 0) + 1;
    session.insert("visits", n);
    format!("visit {n}\n")
}

async fn count(session: ReadOnlySession) -> String {
    format!("{} visits so far\n", session.get_or("visits", 0))
}

async fn public(session: Option<Session>) -> String {
    match session {
        Some(session) => format!("hello, visitor #{}\n", session.get_or("visits", 0)),
        None => "hello (sessions are unavailable right now)\n".into(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = SessionConfig {
        cookie_secure: false, // plain http on loopback; keep it on in production
        ..SessionConfig::default()
    };
    let layer = SessionLayer::builder(config)
        .store(Arc::new(MemoryStore::default()))
        .build()?;
    let app = Router::new()
        .route("/visit", get(visit))
        .route("/count", get(count))
        .route("/", get(public))
        .layer(layer);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
