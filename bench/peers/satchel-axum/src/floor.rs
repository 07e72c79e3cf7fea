//! `/floor/counter`: the `/counter` route with no session layer, its work done by hand with the
//! parts any implementation of the same contract must call (issue 13's floor).
//!
//! What it keeps is what `/counter` under the layer must do and no more: find the session
//! cookie with the `cookie` crate, open it (the sealed codec: base64, AES-256-GCM-SIV, JSON) or
//! load it (the store, under a lease, keyed by the id's SHA-256), add one, seal it again or commit
//! it fenced by the lease, and answer with the headers the layer sends (`Set-Cookie` for a
//! cookie session, `Vary: Cookie`, `Cache-Control: private`). What it leaves out is the layer:
//! the extractor and the request extensions, the save rules, the keyed lock and lease renewal,
//! timeouts, counters, the futures between them. Instructions of `/counter` minus those of
//! `/floor/counter` is the layer's own share; `/floor/counter` minus `/plain` is what the
//! contract costs on these crates whoever writes the layer.
//!
//! It is measurement only: no expiry checks beyond the codec's and the store's own, no new
//! sessions (a request without a valid session gets `0` and no cookie), no error handling
//! beyond answering 500.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use satchel_session::codec::{Codec, Stamp};
use satchel_session::store::{Commit, Lease, Loaded, SessionId, Store};
use satchel_session::codec::SealedCodec;
use satchel_session::Value;

/// The cookie both the layer and the floor use.
const COOKIE_NAME: &str = "session";
/// The layer's default `PERMANENT_SESSION_LIFETIME` (31 days): the sealed stamp's expiry.
const LIFETIME_SECS: u64 = 31 * 24 * 3600;

/// What `/floor/counter` works on: the layer's codec (same key and cookie name) or its store.
#[derive(Clone)]
pub enum Floor {
    Sealed(Arc<SealedCodec>),
    Store(Arc<dyn Store>),
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The session cookie in the request, parsed by the `cookie` crate (borrowing the header).
fn session_cookie(headers: &HeaderMap) -> Option<Cookie<'_>> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == COOKIE_NAME)
}

/// The `Set-Cookie` text around the value (`session=` and `; HttpOnly; SameSite=Lax; Path=/`),
/// written by the `cookie` crate once; each response only splices its value in, as the layer's
/// writer does.
static SET_COOKIE_AROUND: LazyLock<(String, String)> = LazyLock::new(|| {
    let text = Cookie::build((COOKIE_NAME, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .build()
        .to_string();
    let (before, after) = text.split_at(COOKIE_NAME.len() + 1);
    (before.to_owned(), after.to_owned())
});

fn set_cookie(value: &str) -> Option<HeaderValue> {
    let (before, after) = &*SET_COOKIE_AROUND;
    let mut text = String::with_capacity(before.len() + value.len() + after.len());
    text.push_str(before);
    text.push_str(value);
    text.push_str(after);
    HeaderValue::try_from(text).ok()
}

fn bump(data: &mut satchel_session::value::Dict) -> i64 {
    let n = data
        .get("n")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .saturating_add(1);
    data.insert("n".to_owned(), Value::from(n));
    n
}

fn answer(n: i64, set_cookie: Option<HeaderValue>) -> Response {
    let mut response = n.to_string().into_response();
    let headers = response.headers_mut();
    headers.append(VARY, HeaderValue::from_static("Cookie"));
    if let Some(value) = set_cookie {
        headers.append(SET_COOKIE, value);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
    }
    response
}

fn sealed(codec: &SealedCodec, headers: &HeaderMap) -> Response {
    let now = now();
    let Some(decoded) = session_cookie(headers).and_then(|c| codec.decode(c.value(), now).ok())
    else {
        return answer(0, None);
    };
    let mut data = decoded.data;
    let n = bump(&mut data);
    let stamp = Stamp {
        issued_at: now,
        created_at: decoded.stamp.created_at,
        expires_at: now + LIFETIME_SECS,
    };
    let Ok(value) = codec.encode(&data, &stamp) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    answer(n, set_cookie(&value))
}

async fn stored(store: &dyn Store, headers: &HeaderMap) -> Response {
    let now = now();
    let Some(id) = session_cookie(headers).and_then(|c| SessionId::parse(c.value())) else {
        return answer(0, None);
    };
    let hash = id.hash();
    let lease = Lease::new(Duration::from_secs(30));
    let Ok(Loaded::Found(mut record)) = store.load(&hash, now, Some(&lease)).await else {
        return answer(0, None);
    };
    let n = bump(&mut record.data);
    match store
        .commit(&hash, lease.token, Commit::Save(record), now)
        .await
    {
        Ok(true) => answer(n, None),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /floor/counter` (the request taken whole: a `HeaderMap` extractor would copy it).
pub async fn counter(State(floor): State<Floor>, request: Request) -> Response {
    let headers = request.headers();
    match &floor {
        Floor::Sealed(codec) => sealed(codec, headers),
        Floor::Store(store) => stored(store.as_ref(), headers).await,
    }
}
