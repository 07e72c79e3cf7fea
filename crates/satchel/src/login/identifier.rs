//! [`SessionIdentifier`]: Flask-Login's session identifier, and the client address recorded
//! with a login.

use std::net::IpAddr;

use sha2::{Digest, Sha512};
use smallvec::SmallVec;

use crate::client_addr::{ClientAddr, TrustedProxies};

/// Flask-Login's session identifier, and the client's address recorded with a login.
///
/// **The digest** is Flask-Login 0.6.3's (the release on PyPI), `_create_identifier`: the
/// SHA-512 hex digest of `"{addr}|{agent}"` where each part is the Python `repr` of the UTF-8
/// bytes (`b'127.0.0.1'`), or `None` when absent, and the address is the first entry of
/// `X-Forwarded-For` if the request has one, else the peer address. It stays exactly that,
/// so a Flask app sharing the sessions agrees on which logins are fresh. The client can forge
/// that header, so the digest decides only freshness ([`protect`](super::protect)), as in Flask-Login: a
/// copied cookie sent with its owner's first `X-Forwarded-For` entry and `User-Agent` stays
/// fresh. Do not let freshness alone guard what a stolen cookie must not do.
///
/// **The recorded address** ([`address`](Self::address), [`client_ip`](Self::client_ip),
/// what [`login`](super::login) files in the per-user index) is not read from the client's headers: it is
/// the peer's ([`ClientAddr`]), or behind proxies you trust ([`TrustedProxies`] as a request
/// extension) the address they forwarded. It is always an IP address.
///
/// ```
/// use satchel_session::login::SessionIdentifier;
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
    /// use satchel_session::login::SessionIdentifier;
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
    /// use satchel_session::client_addr::TrustedProxies;
    /// use satchel_session::login::{ClientAddr, SessionIdentifier};
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
    /// let id = satchel_session::login::SessionIdentifier::new(None, Some("x"));
    /// assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    /// ```
    pub fn as_str(&self) -> &str {
        &self.digest
    }

    /// The client's address, as text: the peer's, or behind trusted proxies the one they
    /// forwarded (see [`from_request`](Self::from_request)); never a header's own text.
    ///
    /// ```
    /// let id = satchel_session::login::SessionIdentifier::new(Some([10, 0, 0, 1].into()), None);
    /// assert_eq!(id.address(), Some("10.0.0.1"));
    /// ```
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// The client's address (as [`address`](Self::address)).
    ///
    /// ```
    /// let id = satchel_session::login::SessionIdentifier::new(Some([10, 0, 0, 1].into()), None);
    /// assert_eq!(id.client_ip(), Some([10, 0, 0, 1].into()));
    /// ```
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client
    }

    /// The `User-Agent` it was made from, if any.
    ///
    /// ```
    /// let id = satchel_session::login::SessionIdentifier::new(None, Some("curl/8.0"));
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
