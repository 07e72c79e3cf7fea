//! The seed's web app: every example of the Flask session tutorial, as routes.

use axum::routing::get;
use axum::Router;
use satchel::{Session, SessionLayer};

/// The app's routes behind `layer`.
pub fn router(layer: SessionLayer) -> Router {
    Router::new()
        .route("/set_session", get(set_session))
        .route("/get_session", get(get_session))
        .route("/delete_session", get(delete_session))
        .route("/clear_session", get(clear_session))
        .route("/counter", get(counter))
        .route("/healthz", get(healthz))
        .layer(layer)
}

async fn set_session(session: Session) -> &'static str {
    session.insert("username", "Kimi");
    session.insert("age", 25);
    "Session data set!"
}

async fn get_session(session: Session) -> String {
    let username: String = session.get_or("username", "Guest".to_owned());
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
    let n = session.get_or::<i64>("n", 0).saturating_add(1);
    session.insert("n", n);
    n.to_string()
}

async fn healthz() -> &'static str {
    "ok"
}
