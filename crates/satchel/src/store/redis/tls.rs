//! A Redis URL's TLS settings: `rediss://` connects over TLS, verified against the system's
//! trust roots, or against the CA file in `?ca=PATH`; `cert=PATH&key=PATH` add a client
//! certificate. Those three are taken off the query (redis-rs does not read them) and the
//! files read at once, so a missing file is an error at startup.

use redis::{ClientTlsConfig, TlsCertificates};

use crate::store::connect_error::Trust;
use crate::store::StoreError;

/// The client for `url`, and where its server's certificate is checked against.
pub(super) fn client(url: &str) -> Result<(redis::Client, Trust), StoreError> {
    let bad_url = |e: redis::RedisError| StoreError::Config(format!("bad Redis URL: {e}"));
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut rest = Vec::new();
    let (mut ca, mut cert, mut key) = (None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("ca", path)) => ca = Some(path),
            Some(("cert", path)) => cert = Some(path),
            Some(("key", path)) => key = Some(path),
            _ => rest.push(pair),
        }
    }
    let trust = Trust {
        tls_off: !url.starts_with("rediss://"),
        ..Trust::from_url(url, &["ca"])
    };
    let plain_url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    if (ca, cert, key) == (None, None, None) {
        return Ok((redis::Client::open(plain_url).map_err(bad_url)?, trust));
    }
    if !url.starts_with("rediss://") {
        return Err(StoreError::Config(
            "ca, cert and key are TLS settings: they need a rediss:// URL".into(),
        ));
    }
    let client_tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read("cert", cert)?,
            client_key: read("key", key)?,
        }),
        (None, None) => None,
        _ => {
            return Err(StoreError::Config(
                "a client certificate needs both cert=PATH and key=PATH".into(),
            ))
        }
    };
    let root_cert = ca.map(|path| read("ca", path)).transpose()?;
    let certificates = TlsCertificates {
        client_tls,
        root_cert,
    };
    let client = redis::Client::build_with_tls(plain_url, certificates).map_err(bad_url)?;
    Ok((client, trust))
}

fn read(setting: &str, path: &str) -> Result<Vec<u8>, StoreError> {
    std::fs::read(path)
        .map_err(|e| StoreError::Config(format!("cannot read the {setting} file {path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::client;

    #[test]
    fn tls_settings_need_rediss_and_readable_files() {
        let said = |url: &str| client(url).unwrap_err().to_string();
        assert!(said("redis://h?ca=/x.pem").contains("rediss://"));
        assert!(said("rediss://h?ca=/no/such/ca.pem").contains("cannot read the ca file"));
        assert!(said("rediss://h?cert=/a.pem").contains("both cert=PATH and key=PATH"));
        assert!(client("rediss://h:6380/0").is_ok());
        assert!(client("redis://h:6379/0?protocol=resp3").is_ok());
    }
}
