//! What a failed connection to a network store (PostgreSQL, MySQL / MariaDB, Redis) means, in
//! an operator's words: a configuration error that will not mend by itself (a refused
//! certificate, a server without TLS, an unknown host: [`StoreError::Config`]) or an outage
//! that may ([`StoreError::Unavailable`]: "connection refused").
//!
//! The drivers wrap rustls' and the operating system's errors in their own, some in
//! `std::io::Error`s whose `source()` skips the wrapped error; so the cause is read from the
//! text of the whole chain, the one form every layer keeps.

use std::error::Error;

use crate::store::StoreError;

/// Where the certificates a store trusts come from, for the messages: `ca=PATH` when the URL
/// names a CA file, else the system's trust roots.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    /// The CA file's setting as the URL wrote it (`ca=…`, `sslrootcert=…`, `ssl-ca=…`).
    pub(crate) ca: Option<String>,
    /// Whether the URL turns TLS off (`sslmode=disable`, `ssl-mode=DISABLED`, `redis://`): a
    /// server that requires TLS may then answer with a plain "access denied" (MariaDB does) or
    /// hang up (Redis does).
    pub(crate) tls_off: bool,
}

impl Trust {
    /// `name=PATH` if the query of `url` sets one of `names`.
    pub(crate) fn from_url(url: &str, names: &[&str]) -> Self {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let ca = query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            names.contains(&name).then(|| format!("{name}={value}"))
        });
        let tls_off = query.split('&').any(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            name.replace('-', "").eq_ignore_ascii_case("sslmode")
                && (value.eq_ignore_ascii_case("disable") || value.eq_ignore_ascii_case("disabled"))
        });
        Trust { ca, tls_off }
    }

    fn describe(&self) -> String {
        self.ca
            .clone()
            .unwrap_or_else(|| "the system's trust roots".to_owned())
    }
}

/// The text of `error` and of every error below it, `: `-joined (an `io::Error`'s wrapped
/// error included, which its `source()` skips), leaving out a cause whose text the error
/// above it already shows.
pub(crate) fn chain_text(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut push = |text: String| {
        if !parts.last().is_some_and(|above| above.contains(&text)) {
            parts.push(text);
        }
    };
    let mut next = Some(error);
    while let Some(error) = next {
        push(error.to_string());
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            push(inner.to_string());
        }
        next = error.source();
    }
    parts.join(": ")
}

/// What a connection attempt's error `text` (see [`chain_text`]) means. `None`: nothing this
/// module knows; the caller decides (usually an outage, with the driver's words).
pub(crate) fn classify(text: &str, trust: &Trust) -> Option<StoreError> {
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    let config = |what: String| Some(StoreError::Config(what));
    if has(&["UnknownIssuer", "unknown issuer", "BadSignature"]) {
        return config(format!(
            "TLS: the server's certificate is not signed by a trusted CA ({})",
            trust.describe()
        ));
    }
    if has(&["NotValidForName", "not valid for name"]) {
        return config(format!(
            "TLS: host name mismatch: the server's certificate does not name the host in the \
             URL ({text})"
        ));
    }
    if has(&["Expired", "NotValidYet"]) {
        return config(format!(
            "TLS: the server's certificate is expired or not yet valid ({text})"
        ));
    }
    if has(&[
        "invalid peer certificate",
        "CertificateRequired",
        "certificate required",
    ]) {
        return config(format!("TLS: certificate refused: {text}"));
    }
    if has(&[
        "does not support TLS",
        "InvalidContentType",
        "corrupt message",
        "InvalidMessage",
    ]) {
        return config("TLS: the server does not offer TLS".to_owned());
    }
    if has(&[
        "failed to lookup address",
        "Name or service not known",
        "nodename nor servname",
        "No address associated",
    ]) {
        return config(format!("unknown host ({text})"));
    }
    if has(&[
        "Connection refused",
        "connection refused",
        "ConnectionRefused",
    ]) {
        return Some(StoreError::Unavailable(format!(
            "connection refused ({text})"
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_causes_become_an_operators_words() {
        let ca = Trust::from_url("rediss://h/?ca=/etc/ca.pem&x=1", &["ca"]);
        let system = Trust::default();
        let cases = [
            (
                "invalid peer certificate: UnknownIssuer",
                &ca,
                "not signed by a trusted CA (ca=/etc/ca.pem)",
            ),
            (
                "invalid peer certificate: UnknownIssuer",
                &system,
                "(the system's trust roots)",
            ),
            (
                "invalid peer certificate: certificate not valid for name \"x\"",
                &system,
                "host name mismatch",
            ),
            ("server does not support TLS", &system, "does not offer TLS"),
            (
                "received corrupt message of type InvalidContentType",
                &system,
                "does not offer TLS",
            ),
            (
                "failed to lookup address information: Name or service not known",
                &system,
                "unknown host",
            ),
            (
                "Connection refused (os error 111)",
                &system,
                "connection refused",
            ),
        ];
        for (text, trust, expected) in cases {
            let said = classify(text, trust).unwrap().to_string();
            assert!(said.contains(expected), "{text:?} gave {said:?}");
        }
        assert!(matches!(
            classify("Connection refused (os error 111)", &system),
            Some(StoreError::Unavailable(_))
        ));
        assert_eq!(classify("broken pipe", &system), None);
    }

    #[test]
    fn the_text_of_an_io_errors_wrapped_error_is_kept() {
        let inner = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        let text = chain_text(&inner);
        assert_eq!(text, "invalid peer certificate: UnknownIssuer");
    }
}
