//! Benchmark peer: the satchel-axum peer's routes and responses on actix-web 4 + the satchel
//! library (`satchel_session::actix::SessionMiddleware`), plus `/plain`, a handler outside the session
//! middleware (the ceiling for this stack). The handlers are the axum peer's own
//! ([`../satchel_peer.rs`](../../satchel_peer.rs)): `satchel_session::Session` is an extractor on both.
//!
//! ```text
//! SECRET_KEY=... satchel-actix-peer ADDR sealed | flask | memory?max_sessions=N | redis://127.0.0.1:6390
//! ```
//!
//! No `/floor/counter` (that is the axum peer's). actix-web starts one single-threaded worker
//! per CPU (its default, as tokio's multi-threaded runtime under the axum peers); a Redis
//! connection is opened on first use by whichever worker asks first, and shared.
use actix_web::{web, App, HttpServer};
use satchel_session::actix::SessionMiddleware;

#[path = "../../satchel_peer.rs"]
mod peer;
use peer::{counter, get_session, guest, login, set_permanent, set_session};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5006".into());
    let kind = args.next().unwrap_or_else(|| "memory".into());
    let (layer, _store) = peer::layer(&kind);
    let sessions = SessionMiddleware::from(layer);
    HttpServer::new(move || {
        App::new().route("/plain", web::get().to(guest)).service(
            web::scope("")
                .wrap(sessions.clone())
                .route("/login", web::get().to(login))
                .route("/set_session", web::get().to(set_session))
                .route("/get_session", web::get().to(get_session))
                .route("/counter", web::get().to(counter))
                .route("/set_permanent", web::get().to(set_permanent))
                // Inside the middleware, never extracts the session.
                .route("/untouched", web::get().to(guest)),
        )
    })
    .bind(addr)?
    .run()
    .await
}
