//! The client address behind trusted proxies (`satchel_session::client_addr`), on arbitrary
//! forwarding headers. The first byte picks the header (even: X-Forwarded-For, odd: RFC 7239
//! Forwarded); the rest, split at newlines, is its lines. Whatever the bytes:
//! - nothing panics, and an untrusted peer is the client whatever it sent;
//! - what a trusted proxy appends wins: after a line naming an untrusted address, as the proxy
//!   in front writes it, the client is that address, whatever the client put before it;
//! - through `SessionIdentifier::from_request`, the recorded address is always an IP address.
#![no_main]

use std::net::IpAddr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use satchel_session::client_addr::{ClientAddr, ForwardedHeader, TrustedProxies};
use satchel_session::login::SessionIdentifier;

const PROXY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
const STRANGER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

fn proxies(header: ForwardedHeader) -> &'static TrustedProxies {
    static XFF: OnceLock<TrustedProxies> = OnceLock::new();
    static FORWARDED: OnceLock<TrustedProxies> = OnceLock::new();
    let make = || {
        TrustedProxies::parse("10.0.0.0/8, 127.0.0.1, 2001:db8::/32")
            .expect("valid ranges")
            .with_header(header)
    };
    match header {
        ForwardedHeader::XForwardedFor => XFF.get_or_init(make),
        ForwardedHeader::Forwarded => FORWARDED.get_or_init(make),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let header = if mode & 1 == 0 {
        ForwardedHeader::XForwardedFor
    } else {
        ForwardedHeader::Forwarded
    };
    let proxies = proxies(header);
    let mut lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();

    let client = proxies.client_addr(PROXY, &lines);
    assert_eq!(proxies.client_addr(STRANGER, &lines), STRANGER);

    let appended = match header {
        ForwardedHeader::XForwardedFor => b"198.51.100.7".as_slice(),
        ForwardedHeader::Forwarded => b"for=198.51.100.7;proto=https".as_slice(),
    };
    lines.push(appended);
    assert_eq!(proxies.client_addr(PROXY, &lines), CLIENT, "{lines:?}");
    lines.pop();

    let mut request = http::Request::builder();
    for line in &lines {
        let Ok(value) = http::HeaderValue::from_bytes(line) else {
            return;
        };
        request = request.header(header.name(), value);
    }
    let Ok(request) = request.body(()) else {
        return;
    };
    let (mut parts, ()) = request.into_parts();
    parts.extensions.insert(ClientAddr(PROXY));
    parts.extensions.insert(proxies.clone());
    let id = SessionIdentifier::from_request(&parts);
    let recorded = id.address().expect("a peer gives an address");
    assert!(recorded.parse::<IpAddr>().is_ok(), "{recorded:?}");
    assert_eq!(id.client_ip(), Some(client));
});
