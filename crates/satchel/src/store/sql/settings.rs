//! The settings every SQL store shares (table, sweep, pool, timeout, …) with their defaults,
//! and the part of a store URL's query that sets them.

use std::time::Duration;

use crate::store::connect_error::Trust;
use crate::store::StoreError;
use crate::Clock;

const DEFAULT_TABLE: &str = "satchel_sessions";
const MAX_TABLE_LEN: usize = 48;

/// The settings every SQL store shares, with their defaults.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) table: String,
    pub(crate) sweep_interval: Option<Duration>,
    pub(crate) sweep_batch: u32,
    pub(crate) pool_size: u32,
    pub(crate) timeout: Duration,
    pub(crate) max_record_bytes: usize,
    pub(crate) clock: Clock,
    /// Whether the lease-only statements (take, renew, release) wait for their commit to be
    /// flushed, as the data writes always do (PostgreSQL; default `false`).
    pub(crate) synchronous_leases: bool,
    /// Where the server's certificate is checked against (the URL's CA file, or the system's
    /// trust roots), for the messages of a refused certificate.
    pub(crate) trust: Trust,
}

impl Settings {
    fn new(pool_size: u32) -> Self {
        Settings {
            table: DEFAULT_TABLE.to_owned(),
            sweep_interval: Some(Duration::from_secs(60)),
            sweep_batch: 1000,
            pool_size,
            timeout: Duration::from_secs(2),
            max_record_bytes: 64 * 1024,
            clock: Clock::system(),
            synchronous_leases: false,
            trust: Trust::default(),
        }
    }
}

/// Whether `name` may be a table name: 1 to 48 of `[a-z0-9_]`, not starting with a digit (so
/// it needs no quoting, means the same in all three databases, and leaves room for the index
/// name beside it).
fn valid_table(name: &str) -> bool {
    (1..=MAX_TABLE_LEN).contains(&name.len())
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Splits satchel's own settings (`table`, `sweep_interval`, `pool_size`, `lease_commit`) off a
/// store URL's query; the rest of the URL goes to the driver as it is.
pub(crate) fn split_url(url: &str, pool_size: u32) -> Result<(String, Settings), StoreError> {
    let mut settings = Settings::new(pool_size);
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), settings));
    };
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || {
            value.parse::<u32>().map_err(|_| {
                StoreError::Config(format!("{name} must be a whole number, not {value:?}"))
            })
        };
        match name {
            "table" => settings.table = checked_table(value)?,
            "sweep_interval" => {
                settings.sweep_interval =
                    Some(Duration::from_secs(number()?.into())).filter(|d| !d.is_zero());
            }
            "pool_size" => settings.pool_size = number()?.max(1),
            "lease_commit" => {
                settings.synchronous_leases = match value {
                    "sync" => true,
                    "async" => false,
                    _ => {
                        return Err(StoreError::Config(format!(
                            "lease_commit must be sync or async, not {value:?}"
                        )))
                    }
                }
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, settings))
}

/// Whether a network database's connection must be verified by default: its URL sets no TLS
/// mode (none of `mode_names` in its query, nor the environment variable `env` if the driver
/// reads one), and `host`
/// is not this machine (a name other than `localhost`, an address not in loopback, not a
/// socket path). libpq's own default, `prefer`, neither verifies the certificate nor insists
/// on TLS: fine on loopback, not across a network, where satchel asks for `verify-full`.
pub(crate) fn verify_by_default(
    url: &str,
    mode_names: &[&str],
    env: Option<&str>,
    host: &str,
) -> bool {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let mode_given = query
        .split('&')
        .any(|pair| mode_names.contains(&pair.split('=').next().unwrap_or_default()));
    let local = host.is_empty()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let env_given = env.is_some_and(|name| std::env::var_os(name).is_some());
    !mode_given && !env_given && !local
}

pub(super) fn checked_table(name: &str) -> Result<String, StoreError> {
    if valid_table(name) {
        Ok(name.to_owned())
    } else {
        Err(StoreError::Config(format!(
            "table name {name:?} is not 1 to {MAX_TABLE_LEN} of [a-z0-9_] (not starting with a digit)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["satchel_sessions", "s", "_x1", &"a".repeat(48)] {
            assert!(valid_table(good), "{good}");
        }
        for bad in [
            "",
            "1abc",
            "Sessions",
            "a-b",
            "a b",
            "a;drop",
            "\"x\"",
            &"a".repeat(49),
        ] {
            assert!(!valid_table(bad), "{bad}");
        }
    }

    #[test]
    fn connections_across_a_network_are_verified_unless_the_url_says_otherwise() {
        let modes = ["sslmode", "ssl-mode"];
        let verify = |url: &str, host: &str| verify_by_default(url, &modes, None, host);
        assert!(verify("postgres://u@db.example/x", "db.example"));
        assert!(verify("postgres://u@10.0.0.5/x?table=t", "10.0.0.5"));
        assert!(!verify(
            "postgres://u@db.example/x?sslmode=disable",
            "db.example"
        ));
        assert!(!verify(
            "mysql://u@db.example/x?ssl-mode=REQUIRED",
            "db.example"
        ));
        for local in [
            "127.0.0.1",
            "localhost",
            "[::1]",
            "::1",
            "/var/run/postgresql",
            "",
        ] {
            assert!(!verify("postgres://u@h/x", local), "{local}");
        }
    }

    #[test]
    fn satchels_settings_are_taken_off_the_url_and_the_rest_kept() {
        let (url, s) = split_url(
            "postgres://u@h/db?sslmode=disable&table=t1&sweep_interval=5&pool_size=3",
            10,
        )
        .unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=disable");
        assert_eq!(
            (s.table.as_str(), s.sweep_interval, s.pool_size),
            ("t1", Some(Duration::from_secs(5)), 3)
        );
        let (url, s) = split_url("sqlite:x.db?sweep_interval=0", 4).unwrap();
        assert_eq!((url.as_str(), s.sweep_interval), ("sqlite:x.db", None));
        assert!(split_url("mysql://h/db?pool_size=many", 10).is_err());
        assert!(split_url("mysql://h/db?table=x%3Bdrop", 10).is_err());
    }
}
