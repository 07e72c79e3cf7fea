//! Login state and flash messages: the tutorial's login / dashboard / logout, with a message
//! flashed at each step and shown once.
//!
//! ```sh
//! cargo run -p satchel-session --example login_flash
//! # open http://127.0.0.1:3000/login?user=alice, then /dashboard, then /logout
//! ```
//!
//! [`LoginRequired`] guards the dashboard: visitors who are not logged in get a `303` to
//! `/login`. [`login`] starts a new session identity, so a session planted before login is
//! worthless after it. (A real app checks a password first: see `satchel serve`.)

use axum::extract::Query;
use axum::response::Redirect;
use axum::{routing::get, Router};
use satchel_session::login::{LoginRequired, SessionIdentifier};
use satchel_session::{flash, login, logout, take_flashes, Session, SessionConfig, SessionLayer};

#[derive(serde::Deserialize)]
struct Who {
    user: Option<String>,
}

/// Flashed messages, one per line, then `body`.
fn page(session: &Session, body: &str) -> String {
    let mut out = String::new();
    for message in take_flashes(session) {
        out.push_str(&format!("[{}] {}\n", message.category, message.message));
    }
    out.push_str(body);
    out
}

async fn log_in(session: Session, Query(who): Query<Who>) -> Result<Redirect, String> {
    let Some(user) = who.user.filter(|u| !u.is_empty()) else {
        return Err(page(&session, "log in with /login?user=NAME\n"));
    };
    login(&session, &user, &SessionIdentifier::new(None, None));
    flash(&session, "success", &format!("Welcome back, {user}!"));
    Ok(Redirect::to("/dashboard"))
}

async fn dashboard(user: LoginRequired) -> String {
    page(&user.session, &format!("Dashboard of {}\n", user.user_id))
}

async fn log_out(session: Session) -> Redirect {
    logout(&session);
    flash(&session, "info", "You are logged out.");
    Redirect::to("/login")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = SessionConfig::default().with_env()?;
    if config.secret_key.is_none() {
        config = config.with_secret_key(satchel_session::generate_secret_key());
    }
    config.cookie_secure = false; // plain http on loopback; keep it on in production
    let app = Router::new()
        .route("/login", get(log_in))
        .route("/dashboard", get(dashboard))
        .route("/logout", get(log_out))
        .layer(SessionLayer::new(config)?);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
