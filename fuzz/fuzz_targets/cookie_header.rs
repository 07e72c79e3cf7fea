//! The whole Cookie header as the session layer parses it, through a real `SessionLayer` in
//! front of a handler that reads the session. The first byte picks the format (even: sealed,
//! odd: flask) and whether the rest is the raw header (bit 1 clear) or a header built around a
//! validly sealed cookie holding the rest as JSON (bit 1 set, sealed only). Whatever the bytes,
//! the layer must answer without panicking and never with a 5xx.
#![no_main]

use std::sync::OnceLock;

use http::{header, HeaderValue, Request, Response};
use libfuzzer_sys::fuzz_target;
use satchel_session::{CookieFormat, Session, SessionConfig, SessionLayer};
use satchel_fuzz::{seal, valid_stamp, COOKIE_NAME, NOW, SECRET};
use tower::{Layer, Service, ServiceExt};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

fn layer(format: CookieFormat) -> SessionLayer {
    let mut config = SessionConfig::default().with_secret_key(SECRET);
    config.format = format;
    config.cookie_name = COOKIE_NAME.into();
    // The clock the seed cookies are valid at (the layer API may change: one call site).
    let (clock, _) = satchel_session::Clock::manual(NOW);
    // The fuzz fixtures' key is short on purpose (it signs the seed cookies); accept it.
    SessionLayer::builder(config)
        .clock(clock)
        .allow_weak_secret_key()
        .build()
        .expect("valid settings")
}

async fn handler(request: Request<()>) -> Result<Response<String>, std::convert::Infallible> {
    let session = request.extensions().get::<Session>().cloned();
    let keys = session.map_or(0, |s| s.to_dict().len());
    Ok(Response::new(keys.to_string()))
}

fuzz_target!(|data: &[u8]| {
    static SEALED: OnceLock<SessionLayer> = OnceLock::new();
    static FLASK: OnceLock<SessionLayer> = OnceLock::new();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let layer = if mode & 1 == 0 {
        SEALED.get_or_init(|| layer(CookieFormat::Sealed))
    } else {
        FLASK.get_or_init(|| layer(CookieFormat::Flask))
    };
    let header_bytes = if mode & 3 == 2 {
        let cookie = seal(&[&valid_stamp()[..], rest].concat());
        format!("a=b; {COOKIE_NAME}=; {COOKIE_NAME}={cookie}").into_bytes()
    } else {
        rest.to_vec()
    };
    let Ok(value) = HeaderValue::from_bytes(&header_bytes) else {
        return;
    };
    let request = Request::builder()
        .uri("/")
        .header(header::COOKIE, value)
        .body(())
        .expect("a request");
    let mut service = layer.layer(tower::service_fn(handler));
    let response = runtime().block_on(async {
        service.ready().await.expect("ready");
        service.call(request).await.expect("infallible")
    });
    assert!(
        !response.status().is_server_error(),
        "{} for header {:?}",
        response.status(),
        String::from_utf8_lossy(&header_bytes)
    );
});
