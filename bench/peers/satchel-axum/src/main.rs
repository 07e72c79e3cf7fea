//! Benchmark peer: the tower-sessions peer's routes and responses on bare axum + the satchel
//! library, plus `/plain`, a handler outside any session layer (the ceiling for this stack).
//! Library against library, where `satchel serve` is the whole app (metrics, CSRF, headers).
//!
//! ```text
//! SECRET_KEY=... satchel-axum-peer ADDR memory?max_sessions=N | redis://127.0.0.1:6390 | sealed | flask
//! SECRET_KEY=... satchel-axum-peer ADDR sealed+ledger=STORE_URL   # cookie sessions with a login ledger
//! ```
//!
//! The handlers and the session settings are [`../satchel_peer.rs`](../../satchel_peer.rs), shared
//! with the satchel-on-actix-web peer. `/login` logs a fresh user in (mint with it to measure
//! logged-in requests). `/typed/counter` is `/counter` through `TypedSession<Counter>` (a
//! struct with the one field `n`); `/dict/counter` is `/counter` itself on a path of the same
//! shape, so the pair shows what the typed view costs over the dict alone.
//! `/floor/counter` (sealed and store kinds) is `/counter` done by hand without the layer
//! (`floor.rs`): what the contract costs on these crates, against which the layer's share shows.
use axum::{routing::get, Router};
use satchel_session::codec::SealedCodec;
use satchel_session::{KeyRing, SessionLayer, TypedSession};
use serde::{Deserialize, Serialize};

mod floor;
use floor::Floor;

#[path = "../../satchel_peer.rs"]
mod peer;
use peer::{counter, get_session, guest, login, set_permanent, set_session};

/// `/counter`'s session as a struct: the key `n` (other keys, such as `/set_session`'s, are
/// left as they are).
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Counter {
    n: i64,
}

async fn typed_counter(mut counter: TypedSession<Counter>) -> String {
    counter.n = counter.n.saturating_add(1);
    counter.n.to_string()
}

fn app(layer: SessionLayer, floor: Option<Floor>) -> Router {
    let floor = floor.map_or_else(Router::new, |floor| {
        Router::new()
            .route("/floor/counter", get(floor::counter))
            .with_state(floor)
    });
    Router::new()
        .route("/login", get(login))
        .route("/set_session", get(set_session))
        .route("/get_session", get(get_session))
        .route("/counter", get(counter))
        .route("/typed/counter", get(typed_counter))
        .route("/dict/counter", get(counter))
        .route("/set_permanent", get(set_permanent))
        // Inside the layer, never extracts the session: what the layer costs a route that
        // ignores the session (a permanent one is still refreshed, as Flask does).
        .route("/untouched", get(guest))
        .layer(layer)
        .route("/plain", get(guest))
        .merge(floor)
}

/// The layer for `kind` (`peer::layer`) and, for `sealed` or a store, the floor route's codec
/// or store (the layer's own).
fn layer(kind: &str) -> (SessionLayer, Option<Floor>) {
    let (layer, store) = peer::layer(kind);
    let floor = match (kind, store) {
        ("sealed", _) => {
            let config = peer::config();
            let secret = std::env::var("SECRET_KEY").expect("SECRET_KEY in the environment");
            let keys = KeyRing::new(secret, [""; 0]);
            let codec = SealedCodec::new(&keys, &config.cookie_name);
            Some(Floor::Sealed(std::sync::Arc::new(codec)))
        }
        (_, Some(store)) => Some(Floor::Store(store)),
        _ => None,
    };
    (layer, floor)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5003".into());
    let kind = args.next().unwrap_or_else(|| "memory".into());
    let (layer, floor) = layer(&kind);
    let app = app(layer, floor);
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
