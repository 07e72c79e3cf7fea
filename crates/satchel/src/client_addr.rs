//! The client's address: the peer's, or behind trusted reverse proxies the one they forward.
//!
//! A forwarding header (`X-Forwarded-For`, or RFC 7239's `Forwarded`) is written by whoever
//! sends the request, so it is believed only as far as it was written by proxies you trust:
//!
//! 1. the peer (the TCP connection's address, [`ClientAddr`]) is not a trusted proxy → the
//!    peer is the client, whatever the headers say;
//! 2. else the header's entries are read **from the right** (each proxy appends the address it
//!    received the request from), skipping trusted proxies: the first untrusted entry is the
//!    client. It must parse as an IP address (an optional port is dropped); anything else
//!    (`unknown`, an obfuscated `_name`, garbage) means the peer is used;
//! 3. every entry trusted → the left-most (the request came from inside).
//!
//! Only one header is read, the one the proxies write ([`ForwardedHeader`], by default
//! `X-Forwarded-For`): a proxy passes on, untouched, any other forwarding header the client
//! sent. Reading is bounded: at most [`MAX_FORWARDED_BYTES`] from the right end of the header
//! and [`MAX_HOPS`] entries, never a panic.
//!
//! ```
//! use std::net::IpAddr;
//! use satchel_session::client_addr::TrustedProxies;
//! let proxies: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
//! let forwarded: &[&[u8]] = &[b"203.0.113.9, 198.51.100.23, 10.1.2.3"];
//! let ip = |octets: [u8; 4]| IpAddr::from(octets);
//! // From the proxy at 127.0.0.1: the right-most entry that is not a proxy.
//! assert_eq!(proxies.client_addr(ip([127, 0, 0, 1]), forwarded), ip([198, 51, 100, 23]));
//! // From anyone else: the peer itself.
//! assert_eq!(proxies.client_addr(ip([192, 0, 2, 1]), forwarded), ip([192, 0, 2, 1]));
//! ```

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use ipnet::IpNet;

/// The bytes of a forwarding header read, from its right end (the proxies' entries are
/// there; what the client sent is to their left).
pub const MAX_FORWARDED_BYTES: usize = 4096;
/// The entries read from the right before giving up (and using the peer).
pub const MAX_HOPS: usize = 32;

/// The client's address, as a request extension: the peer address of the connection (axum
/// keeps it in `ConnectInfo`, which this crate does not depend on; a small middleware copies
/// it here, see the example). Behind trusted proxies the client's own address is found from
/// it and the forwarding header ([`TrustedProxies::client_addr`]).
///
/// ```
/// use axum::{extract::{ConnectInfo, Request}, middleware::Next, response::Response};
/// use satchel_session::login::ClientAddr;
///
/// async fn client_addr(mut request: Request, next: Next) -> Response {
///     let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
///     if let Some(ip) = peer {
///         request.extensions_mut().insert(ClientAddr(ip));
///     }
///     next.run(request).await
/// }
/// let app: axum::Router = axum::Router::new().layer(axum::middleware::from_fn(client_addr));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Which header the trusted proxies write the client's address in.
///
/// ```
/// use satchel_session::client_addr::ForwardedHeader;
/// assert_eq!(ForwardedHeader::default().name(), "x-forwarded-for");
/// assert_eq!("forwarded".parse(), Ok(ForwardedHeader::Forwarded));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, Envoy, cloud load
    /// balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239's `Forwarded: for=client;proto=https, for="[2001:db8::1]:443"`.
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name, lowercase.
    ///
    /// ```
    /// assert_eq!(satchel_session::client_addr::ForwardedHeader::Forwarded.name(), "forwarded");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }
}

impl FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            other => Err(format!(
                "unknown forwarding header {other:?}: use x-forwarded-for or forwarded"
            )),
        }
    }
}

/// The reverse proxies whose forwarding header is believed, and which header they write.
/// None by default: the client is the peer. As a request extension (axum:
/// `.layer(axum::Extension(proxies))`; actix-web: `App::new().app_data(proxies)`), it is what
/// [`SessionIdentifier::from_request`](crate::login::SessionIdentifier::from_request) and
/// [`LoginRequired`](crate::login::LoginRequired) record as the login's address.
///
/// ```
/// use satchel_session::client_addr::{ForwardedHeader, TrustedProxies};
/// let proxies = TrustedProxies::parse("10.0.0.0/8,::1")?.with_header(ForwardedHeader::Forwarded);
/// assert!(proxies.is_trusted([10, 1, 2, 3].into()));
/// assert!(!proxies.is_trusted([192, 0, 2, 1].into()));
/// assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Arc<[IpNet]>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Proxies in `nets`, writing `X-Forwarded-For`.
    ///
    /// ```
    /// let net: ipnet::IpNet = "192.0.2.0/24".parse().unwrap();
    /// let proxies = satchel_session::client_addr::TrustedProxies::new([net]);
    /// assert!(proxies.is_trusted([192, 0, 2, 7].into()));
    /// ```
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> Self {
        TrustedProxies {
            nets: nets.into_iter().map(|n| n.trunc()).collect(),
            header: ForwardedHeader::default(),
        }
    }

    /// A comma-separated list of CIDR ranges or single addresses (`10.0.0.0/8, ::1`); empty
    /// is none.
    ///
    /// ```
    /// let proxies = satchel_session::client_addr::TrustedProxies::parse("")?;
    /// assert!(proxies.is_empty());
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(list: &str) -> Result<Self, String> {
        let nets = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is not an address or a CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies::new(nets))
    }

    /// The same proxies, writing `header`.
    ///
    /// ```
    /// use satchel_session::client_addr::{ForwardedHeader, TrustedProxies};
    /// let proxies = TrustedProxies::default().with_header(ForwardedHeader::Forwarded);
    /// assert_eq!(proxies.header(), ForwardedHeader::Forwarded);
    /// ```
    pub fn with_header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// The header they write.
    ///
    /// ```
    /// use satchel_session::client_addr::{ForwardedHeader, TrustedProxies};
    /// assert_eq!(TrustedProxies::default().header(), ForwardedHeader::XForwardedFor);
    /// ```
    pub fn header(&self) -> ForwardedHeader {
        self.header
    }

    /// Whether no proxy is trusted.
    ///
    /// ```
    /// assert!(satchel_session::client_addr::TrustedProxies::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether `ip` is one of the proxies (an IPv4-mapped IPv6 address as its IPv4 address).
    ///
    /// ```
    /// let proxies = satchel_session::client_addr::TrustedProxies::parse("127.0.0.1")?;
    /// assert!(proxies.is_trusted("::ffff:127.0.0.1".parse().unwrap()));
    /// # Ok::<(), String>(())
    /// ```
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` whose forwarding header
    /// ([`header`](Self::header)) has the values `lines` (one per header line, in order);
    /// see the [module docs](self) for the rules.
    ///
    /// ```
    /// let proxies = satchel_session::client_addr::TrustedProxies::parse("127.0.0.1")?;
    /// let garbage: &[&[u8]] = &[b"<b>not-an-ip</b>"];
    /// let proxy = std::net::IpAddr::from([127, 0, 0, 1]);
    /// assert_eq!(proxies.client_addr(proxy, garbage), proxy);
    /// # Ok::<(), String>(())
    /// ```
    pub fn client_addr(&self, peer: IpAddr, lines: &[&[u8]]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.is_trusted(peer) {
            return peer;
        }
        let mut inner = None;
        for (hop, entry) in entries_from_right(lines, self.header).enumerate() {
            if hop == MAX_HOPS {
                return peer;
            }
            let Some(ip) = entry.and_then(|e| parse_node(e, self.header)) else {
                return peer;
            };
            if !self.is_trusted(ip) {
                return ip;
            }
            inner = Some(ip);
        }
        inner.unwrap_or(peer)
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        TrustedProxies::parse(s)
    }
}

/// The entries of a forwarding header from the right: `None` for one cut by the byte bound.
fn entries_from_right<'a>(
    lines: &'a [&'a [u8]],
    header: ForwardedHeader,
) -> impl Iterator<Item = Option<&'a [u8]>> + 'a {
    let mut budget = MAX_FORWARDED_BYTES;
    lines
        .iter()
        .rev()
        .map_while(move |line| {
            if budget == 0 {
                return None;
            }
            let cut = line.len() > budget;
            let window = &line[line.len().saturating_sub(budget)..];
            budget -= window.len();
            Some((window, cut))
        })
        .flat_map(move |(window, cut)| {
            let mut elements = ElementsFromRight::new(window, header == ForwardedHeader::Forwarded);
            std::iter::from_fn(move || {
                let element = elements.next()?;
                // The left-most element of a cut window is a fragment.
                Some((!(cut && elements.done())).then_some(element))
            })
        })
}

/// A header line's comma-separated elements, right to left; with `quoted`, commas inside
/// RFC 7230 quoted strings (`for="[2001:db8::1]:80"`) do not separate. Reading from the right
/// keeps the proxies' elements whole whatever the client put to their left.
struct ElementsFromRight<'a> {
    line: &'a [u8],
    end: Option<usize>,
    quoted: bool,
}

impl<'a> ElementsFromRight<'a> {
    fn new(line: &'a [u8], quoted: bool) -> Self {
        ElementsFromRight {
            line,
            end: Some(line.len()),
            quoted,
        }
    }

    /// Whether the last element given was the left-most.
    fn done(&self) -> bool {
        self.end.is_none()
    }
}

impl<'a> Iterator for ElementsFromRight<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let end = self.end?;
        let mut in_quotes = false;
        let mut i = end;
        while i > 0 {
            i -= 1;
            match self.line[i] {
                b'"' if self.quoted => {
                    // Inside a quoted string a quote preceded by an odd number of
                    // backslashes is escaped; any other quote opens or closes one.
                    let backslashes = self.line[..i]
                        .iter()
                        .rev()
                        .take_while(|&&b| b == b'\\')
                        .count();
                    if !in_quotes || backslashes % 2 == 0 {
                        in_quotes = !in_quotes;
                    }
                }
                b',' if !in_quotes => {
                    self.end = Some(i);
                    return Some(&self.line[i + 1..end]);
                }
                _ => {}
            }
        }
        self.end = None;
        Some(&self.line[..end])
    }
}

/// The address an entry names: an X-Forwarded-For entry is the address itself; a
/// `Forwarded` element's is its one `for=` parameter. Either may carry a port
/// (`192.0.2.1:80`, `[2001:db8::1]:80`), dropped.
fn parse_node(entry: &[u8], header: ForwardedHeader) -> Option<IpAddr> {
    let entry = std::str::from_utf8(entry).ok()?.trim();
    let node = match header {
        ForwardedHeader::XForwardedFor => entry,
        ForwardedHeader::Forwarded => forwarded_for(entry)?,
    };
    let ip = if let Ok(ip) = node.parse::<IpAddr>() {
        ip
    } else if let Ok(socket) = node.parse::<SocketAddr>() {
        socket.ip()
    } else {
        let bracketed = node.strip_prefix('[')?.strip_suffix(']')?;
        IpAddr::V6(bracketed.parse::<Ipv6Addr>().ok()?)
    };
    Some(ip.to_canonical())
}

/// The value of a `Forwarded` element's `for` parameter, unquoted (`None`: absent, repeated,
/// or a quoted string with escapes, which no address has).
fn forwarded_for(element: &str) -> Option<&str> {
    let mut found = None;
    for pair in element.split(';') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("for") {
            continue;
        }
        if found.is_some() {
            return None;
        }
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(quoted) => quoted
                .strip_suffix('"')
                .filter(|v| !v.contains(['"', '\\']))?,
            None => value,
        };
        found = Some(value);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    const PROXY: [u8; 4] = [127, 0, 0, 1];

    fn xff(list: &TrustedProxies, lines: &[&str]) -> IpAddr {
        let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        list.client_addr(PROXY.into(), &lines)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        assert_eq!(xff(&none, &["198.51.100.23"]), ip("127.0.0.1"));
        let other = proxies("10.0.0.0/8");
        assert_eq!(xff(&other, &["198.51.100.23"]), ip("127.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let list = proxies("127.0.0.1, 10.0.0.0/8");
        assert_eq!(xff(&list, &["1.1.1.1, 2.2.2.2, 10.0.0.3"]), ip("2.2.2.2"));
        // Several header lines are one list, in order.
        assert_eq!(xff(&list, &["1.1.1.1", "2.2.2.2,10.0.0.3"]), ip("2.2.2.2"));
        assert_eq!(xff(&list, &["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(xff(&list, &["192.0.2.1:8080"]), ip("192.0.2.1"));
        assert_eq!(xff(&list, &["::ffff:192.0.2.1"]), ip("192.0.2.1"));
        // No header, or every entry a proxy: the left-most known.
        assert_eq!(xff(&list, &[]), ip("127.0.0.1"));
        assert_eq!(xff(&list, &["10.0.0.9, 10.0.0.3"]), ip("10.0.0.9"));
    }

    #[test]
    fn an_entry_that_is_no_address_means_the_peer() {
        let list = proxies("127.0.0.1");
        for bad in [
            "<b>not-an-ip</b>",
            "unknown",
            "",
            "1.1.1.1, ",
            "300.1.1.1",
            "_hidden",
        ] {
            assert_eq!(xff(&list, &[bad]), ip("127.0.0.1"), "{bad:?}");
        }
    }

    #[test]
    fn the_header_is_read_boundedly_from_its_right_end() {
        let list = proxies("127.0.0.1, 10.0.0.0/8");
        let padding = format!("{}, 198.51.100.23", "x".repeat(100_000));
        assert_eq!(xff(&list, &[&padding]), ip("198.51.100.23"));
        // An entry cut by the byte bound is no address.
        let long = format!("{}198.51.100.23", " ".repeat(MAX_FORWARDED_BYTES));
        assert_eq!(xff(&list, &[&long]), ip("127.0.0.1"));
        let hops = vec!["10.0.0.1"; MAX_HOPS + 1].join(",");
        assert_eq!(xff(&list, &[&format!("1.1.1.1,{hops}")]), ip("127.0.0.1"));
    }

    #[test]
    fn forwarded_elements_are_read_with_their_quotes() {
        let list = proxies("127.0.0.1, 10.0.0.0/8").with_header(ForwardedHeader::Forwarded);
        let cases = [
            (r#"for=192.0.2.60;proto=http;by=203.0.113.43"#, "192.0.2.60"),
            (r#"for="[2001:db8:cafe::17]:4711""#, "2001:db8:cafe::17"),
            (r#"For="192.0.2.1:80", for=10.0.0.2"#, "192.0.2.1"),
            // A client's quoted comma cannot split the proxy's element.
            (
                r#"for="1.1.1.1, for=2.2.2.2", for=198.51.100.9"#,
                "198.51.100.9",
            ),
            (
                r#"for="x\", for=2.2.2.2", for=198.51.100.9"#,
                "198.51.100.9",
            ),
            (r#"for=_hidden"#, "127.0.0.1"),
            (r#"for=unknown"#, "127.0.0.1"),
            (r#"for=1.1.1.1;for=2.2.2.2"#, "127.0.0.1"),
            (r#"proto=https"#, "127.0.0.1"),
        ];
        for (header, expected) in cases {
            assert_eq!(xff(&list, &[header]), ip(expected), "{header}");
        }
    }

    #[test]
    fn a_list_of_proxies_parses_or_says_what_is_wrong() {
        let list = proxies(" 10.0.0.0/8 ,, ::1, 192.0.2.7 ");
        assert!(list.is_trusted(ip("10.255.0.1")));
        assert!(list.is_trusted(ip("::1")));
        assert!(list.is_trusted(ip("192.0.2.7")));
        assert!(!list.is_trusted(ip("192.0.2.8")));
        // Host bits are ignored, as in a route.
        assert!(proxies("10.1.2.3/8").is_trusted(ip("10.9.9.9")));
        let error = TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err();
        assert!(error.contains("proxy.local"), "{error}");
    }
}
