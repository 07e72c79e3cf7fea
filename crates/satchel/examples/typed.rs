//! The Flask session tutorial's routes with a struct as the session: `TypedSession<Visit>`.
//!
//! ```sh
//! cargo run -p satchel-session --example typed      # then open http://127.0.0.1:3000/set_session
//! ```
//!
//! A misspelt field or a wrong type is a compile error, not a `None` in production. Only a
//! change is saved (reading `/get_session` sends no cookie), keys the struct does not know (a
//! Flask app's `_flashes`, `_user_id`, …) are kept, and a stored session that no longer fits
//! the struct gives `Visit::default()`, counted and logged, never an error page. `SECRET_KEY`
//! comes from the environment (else a key for this run only); `ADDR` picks the address
//! (`127.0.0.1:0` for any free port).

use axum::{routing::get, Router};
use satchel_session::{Session, SessionConfig, SessionLayer, TypedSession};
use serde::{Deserialize, Serialize};

/// The session. `#[serde(default)]`: a field added later still loads older sessions.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Visit {
    username: Option<String>,
    age: Option<i64>,
    counter: u64,
}

async fn set_session(mut visit: TypedSession<Visit>) -> &'static str {
    visit.username = Some("Kimi".into());
    visit.age = Some(25);
    "Session data set!"
}

async fn get_session(visit: TypedSession<Visit>) -> String {
    let username = visit.username.as_deref().unwrap_or("Guest");
    let age = visit.age.unwrap_or(0);
    format!("Hello, {username}! Your age is {age}.")
}

async fn delete_session(mut visit: TypedSession<Visit>) -> &'static str {
    visit.username = None; // None removes the key, as Flask's session.pop("username")
    "Session data deleted!"
}

// Clearing is the whole session's business, keys outside the struct included: the dict
// `Session`, which shares the request's session with any `TypedSession`.
async fn clear_session(session: Session) -> &'static str {
    session.clear();
    "All session data cleared!"
}

async fn counter(mut visit: TypedSession<Visit>) -> String {
    visit.counter += 1;
    format!("You have visited this page {} times.", visit.counter)
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
