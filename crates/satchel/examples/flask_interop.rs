//! Sharing sessions — and logins — with a Flask app: the `flask` cookie format is
//! byte-compatible with Flask 3.1's signed cookie, and [`satchel_session::login`] writes the keys
//! Flask-Login reads. Run both behind one host with the same `SECRET_KEY` and a user logged in
//! on either is logged in on both.
//!
//! ```sh
//! SECRET_KEY=... cargo run -p satchel-session --example flask_interop
//! curl -i http://127.0.0.1:3000/login/alice        # a cookie Flask's `session` reads
//! ```
//!
//! The flask format is signed, not encrypted: anyone holding the cookie can read it (but not
//! change it). Use it where a Flask app must read the session; otherwise keep the sealed
//! default.

use axum::extract::Path;
use axum::{routing::get, Router};
use satchel_session::login::SessionIdentifier;
use satchel_session::{current_user_id, login, logout, Session, SessionConfig, SessionLayer};

async fn log_in(session: Session, Path(user): Path<String>) -> String {
    // Flask-Login's `_user_id` and `_fresh`, and a new session identity (fixation defence).
    login(&session, &user, &SessionIdentifier::new(None, None));
    format!(
        "logged in as {user}; a Flask app with the same SECRET_KEY sees current_user = {user}\n"
    )
}

async fn whoami(session: Session) -> String {
    match current_user_id(&session) {
        Some(user) => format!("logged in as {user}\n"),
        None => "anonymous\n".into(),
    }
}

async fn log_out(session: Session) -> &'static str {
    logout(&session);
    "logged out\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Flask's defaults, byte for byte (flask format, no SameSite, Secure off), then the env.
    let mut config = SessionConfig::flask_defaults().with_env()?;
    if config.secret_key.is_none() {
        eprintln!(
            "no SECRET_KEY set: using a key made for this run; give the Flask app the same one"
        );
        config = config.with_secret_key(satchel_session::generate_secret_key());
    }
    let app = Router::new()
        .route("/login/{user}", get(log_in))
        .route("/whoami", get(whoami))
        .route("/logout", get(log_out))
        .layer(SessionLayer::new(config)?);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
