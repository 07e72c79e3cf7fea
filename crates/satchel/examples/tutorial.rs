//! The Flask session tutorial's routes on satchel: set, get, delete, clear, and a counter.
//!
//! ```sh
//! cargo run -p satchel-session --example tutorial      # then open http://127.0.0.1:3000/set_session
//! ```
//!
//! The session lives in a sealed (encrypted) cookie. `SECRET_KEY` comes from the environment;
//! without one the example makes a key for this run only (sessions end when it stops). `ADDR`
//! picks the address (`127.0.0.1:0` for any free port).

use axum::{routing::get, Router};
use satchel_session::{Session, SessionConfig, SessionLayer};

async fn set_session(session: Session) -> &'static str {
    session.insert("username", "Kimi");
    session.insert("age", 25);
    "Session data set!"
}

async fn get_session(session: Session) -> String {
    let username: String = session.get_or("username", "Guest".into());
    let age: i64 = session.get_or("age", 0);
    format!("Hello, {username}! Your age is {age}.")
}

async fn delete_session(session: Session) -> &'static str {
    session.remove("username");
    "Session data deleted!"
}

async fn clear_session(session: Session) -> &'static str {
    session.clear();
    "All session data cleared!"
}

async fn counter(session: Session) -> String {
    let visits = session.get_or("counter", 0) + 1;
    session.insert("counter", visits);
    format!("You have visited this page {visits} times.")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = SessionConfig::default().with_env()?;
    if config.secret_key.is_none() {
        eprintln!("no SECRET_KEY set: using a key made for this run (`satchel keygen` prints one)");
        config = config.with_secret_key(satchel_session::generate_secret_key());
    }
    // Plain http on loopback: browsers drop a Secure cookie there. Keep Secure on in production.
    config.cookie_secure = false;
    let app = Router::new()
        .route("/set_session", get(set_session))
        .route("/get_session", get(get_session))
        .route("/delete_session", get(delete_session))
        .route("/clear_session", get(clear_session))
        .route("/counter", get(counter))
        .layer(SessionLayer::new(config)?);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
