//! Logins kept the way Flask-Login 0.6 keeps them, so a Flask app using Flask-Login and a
//! satchel service sharing `SECRET_KEY` (flask cookie format) honour each other's logins.
//!
//! Flask-Login's `login_user` stores three keys, and `logout_user` pops them:
//!
//! | key | value |
//! |---|---|
//! | `_user_id` | the user's id, as a string (`UserMixin.get_id()` returns `str(id)`) |
//! | `_fresh` | `True` for a login with a password (as opposed to a "remember me" cookie) |
//! | `_id` | the session identifier: SHA-512 of the client's address and user agent ([`SessionIdentifier`]) |
//!
//! [`login`] also calls [`Session::cycle_id`] (Flask-Login leaves that to the app), so a
//! cookie planted before login is worth nothing after it. [`LoginRequired`] is the
//! `@login_required` of an axum handler: a 303 to the login page when nobody is logged in.
//! It applies Flask-Login's default "basic" session protection: a login used from another
//! address or browser than the one it was made in stays valid but is no longer fresh.
//!
//! Remember-me cookies are not implemented.
//!
//! **Logout and revocation.** A login is recorded for the per-user index
//! ([`SessionIndex`](crate::store::SessionIndex): list a user's sessions, end one, end all):
//! on the record with a server-side store, in the login ledger with cookie sessions
//! ([`SessionLayerBuilder::login_ledger`](crate::SessionLayerBuilder::login_ledger)). Then
//! [`logout`] (and clearing the session) ends the session for every copy of its cookie.
//! Cookie sessions without a ledger cannot do that: a copy keeps working until it expires.
//!
//! ```
//! use satchel::login::{current_user_id, login, logout, SessionIdentifier};
//! let session = satchel::Session::default();
//! let client = SessionIdentifier::new(Some([127, 0, 0, 1].into()), Some("curl/8.0"));
//! login(&session, "alice", &client);
//! assert_eq!(current_user_id(&session).as_deref(), Some("alice"));
//! assert_eq!(logout(&session).as_deref(), Some("alice"));
//! assert_eq!(current_user_id(&session), None);
//! ```

use std::borrow::Cow;
use std::net::IpAddr;

use sha2::{Digest, Sha512};
use smallvec::SmallVec;

pub use crate::client_addr::ClientAddr;
use crate::client_addr::TrustedProxies;

use crate::session::state::{user_id_of, LoginNote};
use crate::session::Session;
use crate::value::Value;

pub use crate::session::state::{SESSION_ID_KEY, USER_ID_KEY};
/// The key Flask-Login stores the freshness flag under.
///
/// ```
/// let session = satchel::Session::default();
/// session.insert(satchel::login::FRESH_KEY, true);
/// assert!(satchel::login::is_fresh(&session));
/// ```
pub const FRESH_KEY: &str = "_fresh";
/// The key Flask-Login stores the session identifier under.
///
/// ```
/// use satchel::login::{login, SessionIdentifier, IDENTIFIER_KEY};
/// let session = satchel::Session::default();
/// let client = SessionIdentifier::new(None, None);
/// login(&session, "alice", &client);
/// assert_eq!(session.get::<String>(IDENTIFIER_KEY).as_deref(), Some(client.as_str()));
/// ```
pub const IDENTIFIER_KEY: &str = "_id";

/// Flask-Login's session identifier, and the client's address recorded with a login.
///
/// **The digest** is Flask-Login 0.6.3's (the release on PyPI), `_create_identifier`: the
/// SHA-512 hex digest of `"{addr}|{agent}"` where each part is the Python `repr` of the UTF-8
/// bytes (`b'127.0.0.1'`), or `None` when absent, and the address is the first entry of
/// `X-Forwarded-For` if the request has one, else the peer address. It stays exactly that,
/// so a Flask app sharing the sessions agrees on which logins are fresh. The client can forge
/// that header, so the digest decides only freshness ([`protect`]), as in Flask-Login: a
/// copied cookie sent with its owner's first `X-Forwarded-For` entry and `User-Agent` stays
/// fresh. Do not let freshness alone guard what a stolen cookie must not do.
///
/// **The recorded address** ([`address`](Self::address), [`client_ip`](Self::client_ip),
/// what [`login`] files in the per-user index) is not read from the client's headers: it is
/// the peer's ([`ClientAddr`]), or behind proxies you trust ([`TrustedProxies`] as a request
/// extension) the address they forwarded. It is always an IP address.
///
/// ```
/// use satchel::login::SessionIdentifier;
/// let id = SessionIdentifier::new(None, None);
/// assert_eq!(id.as_str().len(), 128);
/// assert_ne!(id, SessionIdentifier::new(Some([10, 0, 0, 1].into()), None));
/// ```
#[derive(Debug, Clone)]
pub struct SessionIdentifier {
    digest: String,
    /// The client's address (never a header's text), for the per-user session index.
    client: Option<IpAddr>,
    address: Option<String>,
    /// The agent as read, for the per-user session index.
    user_agent: Option<String>,
}

/// Two identifiers are equal when their digests are (as Flask-Login compares them).
impl PartialEq for SessionIdentifier {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest
    }
}

impl Eq for SessionIdentifier {}

impl SessionIdentifier {
    /// The identifier of a client at `remote_addr` sending `user_agent`.
    ///
    /// ```
    /// use satchel::login::SessionIdentifier;
    /// let a = SessionIdentifier::new(Some([127, 0, 0, 1].into()), Some("Mozilla/5.0"));
    /// assert_eq!(a, SessionIdentifier::new(Some([127, 0, 0, 1].into()), Some("Mozilla/5.0")));
    /// ```
    pub fn new(remote_addr: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        let addr = remote_addr.map(|ip| ip.to_string());
        Self::from_bytes(
            addr.as_deref().map(str::as_bytes),
            user_agent.map(str::as_bytes),
            remote_addr,
        )
    }

    fn from_bytes(addr: Option<&[u8]>, agent: Option<&[u8]>, client: Option<IpAddr>) -> Self {
        let base = format!("{}|{}", py_bytes_repr(addr), py_bytes_repr(agent));
        let digest = Sha512::digest(base.as_bytes());
        SessionIdentifier {
            digest: digest.iter().map(|b| format!("{b:02x}")).collect(),
            client,
            address: client.map(|ip| ip.to_string()),
            user_agent: agent.map(|b| String::from_utf8_lossy(b).into_owned()),
        }
    }

    /// The identifier of the client that sent a request: the digest from the first
    /// `X-Forwarded-For` entry (else the [`ClientAddr`] extension) and the `User-Agent` header
    /// (read as Latin-1, as Werkzeug reads headers, then UTF-8 encoded, as Flask-Login does);
    /// the recorded address from the [`ClientAddr`] extension and, when the request has a
    /// [`TrustedProxies`] extension, their forwarding header.
    ///
    /// ```
    /// use satchel::client_addr::TrustedProxies;
    /// use satchel::login::{ClientAddr, SessionIdentifier};
    /// let mut request = http::Request::builder()
    ///     .header("user-agent", "curl/8.0")
    ///     .header("x-forwarded-for", "198.51.100.23")
    ///     .body(())
    ///     .unwrap();
    /// request.extensions_mut().insert(ClientAddr([127, 0, 0, 1].into()));
    /// let (mut parts, _) = request.into_parts();
    /// let id = SessionIdentifier::from_request(&parts);
    /// // Flask-Login's digest hashes the header; the recorded address is the peer's.
    /// let flask = SessionIdentifier::new(Some([198, 51, 100, 23].into()), Some("curl/8.0"));
    /// assert_eq!(id, flask);
    /// assert_eq!(id.address(), Some("127.0.0.1"));
    /// // Behind a trusted proxy at 127.0.0.1, the address it forwarded.
    /// parts.extensions.insert(TrustedProxies::parse("127.0.0.1").unwrap());
    /// let id = SessionIdentifier::from_request(&parts);
    /// assert_eq!(id.address(), Some("198.51.100.23"));
    /// ```
    pub fn from_request(parts: &http::request::Parts) -> Self {
        Self::from_headers(
            |name| {
                parts
                    .headers
                    .get_all(name)
                    .iter()
                    .map(|v| v.as_bytes())
                    .collect()
            },
            parts.extensions.get::<ClientAddr>().map(|c| c.0),
            parts.extensions.get::<TrustedProxies>(),
        )
    }

    /// The identifier from a request's headers (`header(name)`: every value of the header
    /// called `name`, in order), its peer address and the trusted proxies, if any. Each
    /// adapter reads them from its framework's request; this is the one place they are read.
    pub(crate) fn from_headers<'a>(
        header: impl Fn(&str) -> SmallVec<[&'a [u8]; 2]>,
        peer: Option<IpAddr>,
        trusted: Option<&TrustedProxies>,
    ) -> Self {
        // Flask-Login's address: the first entry of the (first) X-Forwarded-For, verbatim.
        let flask_addr = match header("x-forwarded-for").first() {
            Some(list) => {
                let list = latin1_to_utf8(list);
                let first = list.split(|&b| b == b',').next().unwrap_or_default();
                Some(first.trim_ascii().to_vec())
            }
            None => peer.map(|ip| ip.to_string().into_bytes()),
        };
        let agent = header("user-agent").first().map(|v| latin1_to_utf8(v));
        let client = peer.map(|peer| match trusted {
            Some(proxies) if !proxies.is_empty() => {
                proxies.client_addr(peer, &header(proxies.header().name()))
            }
            _ => peer.to_canonical(),
        });
        Self::from_bytes(flask_addr.as_deref(), agent.as_deref(), client)
    }

    /// The hex digest.
    ///
    /// ```
    /// let id = satchel::login::SessionIdentifier::new(None, Some("x"));
    /// assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    /// ```
    pub fn as_str(&self) -> &str {
        &self.digest
    }

    /// The client's address, as text: the peer's, or behind trusted proxies the one they
    /// forwarded (see [`from_request`](Self::from_request)); never a header's own text.
    ///
    /// ```
    /// let id = satchel::login::SessionIdentifier::new(Some([10, 0, 0, 1].into()), None);
    /// assert_eq!(id.address(), Some("10.0.0.1"));
    /// ```
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// The client's address (as [`address`](Self::address)).
    ///
    /// ```
    /// let id = satchel::login::SessionIdentifier::new(Some([10, 0, 0, 1].into()), None);
    /// assert_eq!(id.client_ip(), Some([10, 0, 0, 1].into()));
    /// ```
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client
    }

    /// The `User-Agent` it was made from, if any.
    ///
    /// ```
    /// let id = satchel::login::SessionIdentifier::new(None, Some("curl/8.0"));
    /// assert_eq!(id.user_agent(), Some("curl/8.0"));
    /// ```
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }
}

/// Werkzeug decodes header bytes as Latin-1; Flask-Login encodes the text back as UTF-8.
fn latin1_to_utf8(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| char::from(b))
        .collect::<String>()
        .into_bytes()
}

/// Python's `str(b)` of a `bytes` value (`b'...'`), or `None`.
fn py_bytes_repr(bytes: Option<&[u8]>) -> String {
    let Some(bytes) = bytes else {
        return "None".to_owned();
    };
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(char::from(quote));
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

/// Logs `user_id` in (Flask-Login's `login_user(user)`): starts a new session identity
/// ([`Session::cycle_id`]), then sets `_user_id`, `_fresh = true` and `_id`. The client's
/// address and user agent are recorded for the per-user session index
/// ([`SessionIndex`](crate::store::SessionIndex)): on a store session's record, or with a
/// login ledger in the ledger (cookie sessions; the cookie then also carries
/// [`SESSION_ID_KEY`]).
///
/// ```
/// use satchel::login::{is_fresh, login, SessionIdentifier};
/// let session = satchel::Session::default();
/// login(&session, "42", &SessionIdentifier::new(None, None));
/// assert_eq!(session.get::<String>("_user_id").as_deref(), Some("42"));
/// assert!(is_fresh(&session));
/// ```
pub fn login(session: &Session, user_id: &str, client: &SessionIdentifier) {
    session.cycle_id();
    session.note_login(LoginNote {
        user_agent: client.user_agent.clone(),
        address: client.address.clone(),
    });
    session.update([
        (USER_ID_KEY, Value::from(user_id)),
        (FRESH_KEY, Value::Bool(true)),
        (IDENTIFIER_KEY, Value::from(client.as_str())),
    ]);
}

/// Logs out (Flask-Login's `logout_user()`): pops `_user_id`, `_fresh` and `_id`, keeps the
/// rest of the session. Returns who was logged in.
///
/// ```
/// let session = satchel::Session::default();
/// session.insert("cart", 3);
/// assert_eq!(satchel::login::logout(&session), None);
/// assert!(session.contains_key("cart"));
/// ```
pub fn logout(session: &Session) -> Option<String> {
    let user = current_user_id(session);
    for key in [USER_ID_KEY, FRESH_KEY, IDENTIFIER_KEY] {
        session.remove(key);
    }
    user
}

/// The logged-in user's id, if any. Flask-Login stores whatever `get_id()` returned; a
/// string as a rule, an integer from some apps (given here as its decimal text).
///
/// ```
/// let session = satchel::Session::default();
/// assert_eq!(satchel::login::current_user_id(&session), None);
/// session.insert("_user_id", 7);
/// assert_eq!(satchel::login::current_user_id(&session).as_deref(), Some("7"));
/// ```
pub fn current_user_id(session: &Session) -> Option<String> {
    user_id_of(&session.get_value(USER_ID_KEY)?)
}

/// Whether the login was made with a password in this session (Flask-Login's
/// `login_fresh()`); false when logged out, or after use from another client.
///
/// ```
/// assert!(!satchel::login::is_fresh(&satchel::Session::default()));
/// ```
pub fn is_fresh(session: &Session) -> bool {
    session.get_value(FRESH_KEY).is_some_and(|v| v.is_truthy())
}

/// Flask-Login's default ("basic") session protection: a non-empty session whose `_id` is not
/// this client's identifier is marked not fresh (it stays logged in). [`LoginRequired`] calls
/// it on every request it guards; call it yourself outside axum.
///
/// ```
/// use satchel::login::{is_fresh, login, protect, SessionIdentifier};
/// let session = satchel::Session::default();
/// login(&session, "alice", &SessionIdentifier::new(Some([10, 0, 0, 1].into()), None));
/// protect(&session, &SessionIdentifier::new(Some([10, 0, 0, 9].into()), None));
/// assert!(!is_fresh(&session));
/// ```
pub fn protect(session: &Session, client: &SessionIdentifier) {
    if session.is_empty() {
        return;
    }
    let same = session
        .get_value(IDENTIFIER_KEY)
        .is_some_and(|id| id.as_str() == Some(client.as_str()));
    if !same && session.get_value(FRESH_KEY) != Some(Value::Bool(false)) {
        session.insert(FRESH_KEY, false);
    }
}

/// Where [`LoginRequired`] sends visitors who are not logged in: a request extension
/// (axum: add it with `axum::Extension(LoginUrl::new("/signin"))`; actix-web: as app data,
/// `App::new().app_data(LoginUrl::new("/signin"))`); `/login` when absent.
///
/// ```
/// # #[cfg(feature = "axum")]
/// let app: axum::Router = axum::Router::new()
///     .layer(axum::Extension(satchel::login::LoginUrl::new("/signin")));
/// assert_eq!(satchel::login::LoginUrl::default().as_str(), "/login");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginUrl(Cow<'static, str>);

impl LoginUrl {
    /// The login page's URL (a path, or an absolute URL).
    ///
    /// ```
    /// assert_eq!(satchel::login::LoginUrl::new("/signin").as_str(), "/signin");
    /// ```
    pub fn new(url: impl Into<Cow<'static, str>>) -> Self {
        LoginUrl(url.into())
    }

    /// The URL.
    ///
    /// ```
    /// assert_eq!(satchel::login::LoginUrl::default().as_str(), "/login");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LoginUrl {
    fn default() -> Self {
        LoginUrl(Cow::Borrowed("/login"))
    }
}

/// Flask-Login's `@login_required` as an extractor (axum and actix-web): the logged-in user's id and the
/// session, or a `303 See Other` to the [`LoginUrl`].
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{routing::get, Router};
/// use satchel::login::LoginRequired;
///
/// async fn dashboard(user: LoginRequired) -> String {
///     format!("Welcome, {}!", user.user_id)
/// }
/// let app: Router = Router::new().route("/dashboard", get(dashboard));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LoginRequired {
    /// The logged-in user's id (`_user_id`).
    pub user_id: String,
    /// The request's session.
    pub session: Session,
}

impl LoginRequired {
    /// The guard's verdict on an opened session: its login (with Flask-Login's session
    /// protection applied for `client`), or `None` when nobody is logged in (the adapter then
    /// redirects to the [`LoginUrl`]).
    #[cfg(any(feature = "axum", feature = "actix"))]
    pub(crate) fn of(session: Session, client: &SessionIdentifier) -> Option<Self> {
        let user_id = current_user_id(&session)?;
        protect(&session, client);
        Some(LoginRequired { user_id, session })
    }
}

#[cfg(feature = "axum")]
mod guard {
    use axum_core::extract::FromRequestParts;
    use axum_core::response::{IntoResponse, Response};
    use http::request::Parts;
    use http::{header, HeaderValue, StatusCode};

    use super::{LoginRequired, LoginUrl, SessionIdentifier};

    impl<S: Send + Sync> FromRequestParts<S> for LoginRequired {
        type Rejection = Response;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
            // The same slot as a `Session` extractor in the same handler: one load, one lock.
            let session =
                crate::extract::session_from_parts(parts, crate::session::access::Access::Write)
                    .await
                    .map_err(IntoResponse::into_response)?;
            LoginRequired::of(session, &SessionIdentifier::from_request(parts)).ok_or_else(|| {
                let url = parts.extensions.get::<LoginUrl>().cloned();
                redirect(&url.unwrap_or_default())
            })
        }
    }

    /// The client's identifier from the request ([`SessionIdentifier::from_request`]).
    ///
    /// ```
    /// use satchel::login::SessionIdentifier;
    /// async fn sign_in(session: satchel::Session, client: SessionIdentifier) -> &'static str {
    ///     satchel::login(&session, "alice", &client);
    ///     "welcome"
    /// }
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/sign_in", axum::routing::post(sign_in));
    /// ```
    impl<S: Send + Sync> FromRequestParts<S> for SessionIdentifier {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Self, Self::Rejection> {
            Ok(SessionIdentifier::from_request(parts))
        }
    }

    fn redirect(url: &LoginUrl) -> Response {
        match HeaderValue::from_str(url.as_str()) {
            Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
            Err(_) => {
                tracing::error!(
                    url = url.as_str(),
                    "LoginUrl is not a valid Location header"
                );
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::session::Session;
        use crate::{SessionConfig, SessionLayer};
        use axum::routing::get;
        use axum::Router;
        use tower::ServiceExt;

        async fn guarded(user: LoginRequired) -> String {
            user.user_id
        }

        async fn sign_in(session: Session) -> &'static str {
            crate::login::login(&session, "alice", &SessionIdentifier::new(None, None));
            "in"
        }

        fn app(login_url: Option<&'static str>) -> Router {
            let config = SessionConfig::default()
                .with_secret_key("a test key for the login guard, long enough");
            let router = Router::new()
                .route("/private", get(guarded))
                .route("/sign_in", get(sign_in))
                .layer(SessionLayer::new(config).unwrap());
            match login_url {
                Some(url) => router.layer(axum::Extension(LoginUrl::new(url))),
                None => router,
            }
        }

        async fn call(app: Router, uri: &str, cookie: Option<&str>) -> Response {
            let mut request = http::Request::builder().uri(uri);
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            app.oneshot(request.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap()
        }

        #[tokio::test]
        async fn anonymous_visitors_are_sent_to_the_login_url_with_303() {
            for (url, expected) in [(None, "/login"), (Some("/signin"), "/signin")] {
                let response = call(app(url), "/private", None).await;
                assert_eq!(response.status(), StatusCode::SEE_OTHER);
                assert_eq!(response.headers()[header::LOCATION], expected);
            }
        }

        #[tokio::test]
        async fn logged_in_users_get_through_with_their_id() {
            let signed = call(app(None), "/sign_in", None).await;
            let cookie = signed.headers()[header::SET_COOKIE].to_str().unwrap();
            let pair = cookie.split(';').next().unwrap().to_owned();
            let response = call(app(None), "/private", Some(&pair)).await;
            assert_eq!(response.status(), StatusCode::OK);
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            assert_eq!(&body[..], b"alice");
        }

        #[tokio::test]
        async fn no_session_layer_is_a_500_not_a_redirect() {
            let router = Router::new().route("/private", get(guarded));
            let response = call(router, "/private", None).await;
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_is_flask_login_0_6_3s() {
        // Python: hashlib.sha512(b"b'127.0.0.1'|b'curl/8.0'").hexdigest()
        let id = SessionIdentifier::new(Some([127, 0, 0, 1].into()), Some("curl/8.0"));
        assert_eq!(
            id.as_str(),
            "eac370e1c22deba1b8cc2d3d359a5b7c8d626a9717282cdc8e132391d9799c1d\
             9b5ed98c275c38b76d8ba4931d280079fc43cd48b0768366e344c2025e804bf4"
        );
        // Python: hashlib.sha512(b"None|None").hexdigest()
        assert!(SessionIdentifier::new(None, None)
            .as_str()
            .starts_with("892f7fec2c158356"));
    }

    #[test]
    fn bytes_repr_is_pythons() {
        assert_eq!(py_bytes_repr(Some(b"a'b")), r#"b"a'b""#);
        assert_eq!(py_bytes_repr(Some(b"a'\"b")), r#"b'a\'"b'"#);
        assert_eq!(py_bytes_repr(Some("é\t\\".as_bytes())), r"b'\xc3\xa9\t\\'");
        assert_eq!(py_bytes_repr(None), "None");
    }

    #[test]
    fn forwarded_for_and_latin1_agents_hash_as_flask_login_reads_them() {
        let request = http::Request::builder()
            .header("x-forwarded-for", " 10.0.0.7 , 10.0.0.8")
            .header(
                "user-agent",
                http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
            )
            .body(())
            .unwrap();
        let (parts, _) = request.into_parts();
        assert_eq!(
            SessionIdentifier::from_request(&parts),
            SessionIdentifier::new(Some([10, 0, 0, 7].into()), Some("café"))
        );
    }

    #[test]
    fn login_sets_flask_logins_keys_and_cycles_the_id() {
        let session = Session::default();
        session.insert("csrf_token", "t");
        let client = SessionIdentifier::new(None, Some("ua"));
        login(&session, "alice", &client);
        assert_eq!(session.get::<String>(USER_ID_KEY).as_deref(), Some("alice"));
        assert_eq!(session.get_value(FRESH_KEY), Some(Value::Bool(true)));
        assert_eq!(
            session.get::<String>(IDENTIFIER_KEY).as_deref(),
            Some(client.as_str())
        );
        assert!(session.contains_key("csrf_token"));
    }

    #[test]
    fn logout_pops_only_flask_logins_keys() {
        let session = Session::default();
        login(&session, "alice", &SessionIdentifier::new(None, None));
        session.insert("other", 1);
        assert_eq!(logout(&session).as_deref(), Some("alice"));
        assert_eq!(session.keys(), ["other"]);
    }

    #[test]
    fn non_string_user_ids_are_not_logins() {
        let session = Session::default();
        session.insert(USER_ID_KEY, Value::List(vec![]));
        assert_eq!(current_user_id(&session), None);
    }

    #[test]
    fn basic_protection_marks_a_login_from_another_client_not_fresh() {
        let session = Session::default();
        let home = SessionIdentifier::new(Some([10, 0, 0, 1].into()), Some("ua"));
        login(&session, "alice", &home);
        protect(&session, &home);
        assert!(is_fresh(&session));
        protect(
            &session,
            &SessionIdentifier::new(Some([10, 0, 0, 2].into()), Some("ua")),
        );
        assert!(!is_fresh(&session));
        assert_eq!(current_user_id(&session).as_deref(), Some("alice"));
    }

    #[test]
    fn the_recorded_address_is_the_peer_or_what_a_trusted_proxy_forwarded() {
        let request = http::Request::builder()
            .header("x-forwarded-for", "<b>not-an-ip</b>")
            .header("x-forwarded-for", "198.51.100.23")
            .header("forwarded", "for=203.0.113.5")
            .body(())
            .unwrap();
        let (mut parts, _) = request.into_parts();
        let id = SessionIdentifier::from_request(&parts);
        assert_eq!((id.address(), id.client_ip()), (None, None));
        parts.extensions.insert(ClientAddr([127, 0, 0, 1].into()));
        assert_eq!(
            SessionIdentifier::from_request(&parts).address(),
            Some("127.0.0.1")
        );
        // The digest stays Flask-Login's: the first entry of the first header, verbatim.
        let flask = SessionIdentifier::from_bytes(Some(b"<b>not-an-ip</b>"), None, None);
        assert_eq!(SessionIdentifier::from_request(&parts), flask);
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        parts.extensions.insert(proxies.clone());
        assert_eq!(
            SessionIdentifier::from_request(&parts).address(),
            Some("198.51.100.23")
        );
        parts
            .extensions
            .insert(proxies.with_header(crate::client_addr::ForwardedHeader::Forwarded));
        let id = SessionIdentifier::from_request(&parts);
        assert_eq!(id.client_ip(), Some([203, 0, 113, 5].into()));
        assert_eq!(id, flask);
    }
}
