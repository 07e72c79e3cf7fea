//! The same routes served by both adapters over real HTTP on 127.0.0.1: axum with
//! `SessionLayer`, actix-web with `SessionMiddleware`, each on a thread and runtime of its own,
//! so a test talks to them with the blocking client of `satchel_testkit::http` and cannot tell
//! them apart except by the address.
//!
//! Handlers are written once: `Session`, `ReadOnlySession` and `LoginRequired` are extractors
//! in both frameworks, and a `String` is a response in both. [`routes!`] registers one list of
//! them in an axum `Router` and in an actix `ServiceConfig`.

use std::net::{SocketAddr, TcpListener};

use satchel_session::client_addr::TrustedProxies;
use satchel_session::SessionLayer;

/// An adapter under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    Axum,
    Actix,
}

/// Both adapters, for tests that loop over them.
pub const ADAPTERS: [Adapter; 2] = [Adapter::Axum, Adapter::Actix];

/// Registers `GET path → handler` pairs: `axum_routes()` gives a `Router`, `actix_routes` a
/// function for `App::configure`.
#[allow(unused_macros)] // only the binaries that serve both adapters use it
macro_rules! routes {
    ($($path:literal => $handler:path),* $(,)?) => {
        fn axum_routes() -> axum::Router {
            axum::Router::new()$(.route($path, axum::routing::get($handler)))*
        }

        fn actix_routes(config: &mut actix_web::web::ServiceConfig) {
            $(config.route($path, actix_web::web::get().to($handler));)*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use routes;

/// Serves `routes` (the same list for both) with `layer`'s sessions on the given adapter; the
/// address to send requests to. The server lives as long as the test process.
pub fn serve(
    adapter: Adapter,
    layer: SessionLayer,
    axum_routes: fn() -> axum::Router,
    actix_routes: fn(&mut actix_web::web::ServiceConfig),
) -> SocketAddr {
    serve_behind(
        adapter,
        layer,
        TrustedProxies::default(),
        axum_routes,
        actix_routes,
    )
}

/// axum: the peer address as the library reads it (`ClientAddr`), as its docs show.
async fn client_addr(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer {
        request
            .extensions_mut()
            .insert(satchel_session::login::ClientAddr(ip));
    }
    next.run(request).await
}

/// [`serve`], with `proxies` trusted (axum: a request extension; actix-web: app data).
pub fn serve_behind(
    adapter: Adapter,
    layer: SessionLayer,
    proxies: TrustedProxies,
    axum_routes: fn() -> axum::Router,
    actix_routes: fn(&mut actix_web::web::ServiceConfig),
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    match adapter {
        Adapter::Axum => {
            listener.set_nonblocking(true).unwrap();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let app = axum_routes()
                        .layer(layer)
                        .layer(axum::Extension(proxies))
                        .layer(axum::middleware::from_fn(client_addr))
                        .into_make_service_with_connect_info::<SocketAddr>();
                    axum::serve(listener, app).await.unwrap();
                });
            });
        }
        Adapter::Actix => {
            let middleware = satchel_session::actix::SessionMiddleware::from(layer);
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    actix_web::HttpServer::new(move || {
                        actix_web::App::new()
                            .app_data(proxies.clone())
                            .wrap(middleware.clone())
                            .configure(actix_routes)
                    })
                    .workers(2)
                    .listen(listener)
                    .unwrap()
                    .run()
                    .await
                    .unwrap();
                });
            });
        }
    }
    addr
}
