//! TLS to every network store, against real servers with TLS on that the test starts
//! (servers.rs), through the URLs an operator writes (`store_from_url`, as `--store` does).
//! For each store: a good certificate connects; an unrelated CA, a wrong host name, a plain
//! connection to a TLS-only server and TLS asked of a server without it are each refused at
//! `Store::check` as a configuration error whose message names the cause.

mod servers;

use std::time::{Duration, Instant};

use satchel_session::store::{store_from_url, StoreError};

use servers::Pki;

/// `url`'s store checked: `Ok`, or the refusal's message.
async fn check(url: &str) -> Result<(), StoreError> {
    let store = store_from_url(url).unwrap();
    tokio::time::timeout(Duration::from_secs(20), store.check())
        .await
        .expect("the check answers within its bounds")
}

/// `url` must be refused as a configuration error whose message says `cause`.
async fn refused(case: &str, url: &str, cause: &str) {
    match check(url).await {
        Err(StoreError::Config(message)) => {
            println!("{case}: {message}");
            assert!(
                message.contains(cause),
                "{case}: {message:?} lacks {cause:?}"
            );
        }
        other => panic!("{case}: {url} gave {other:?}, not a configuration error"),
    }
}

/// The cases every store shares, through `url(host, ca)`: the server's CA connects; an
/// unrelated CA and a host name the certificate does not carry are refused.
async fn verified_only(store: &str, pki: &Pki, url: impl Fn(&str, &std::path::Path) -> String) {
    if let Err(e) = check(&url("127.0.0.1", &pki.ca)).await {
        panic!("{store}: the good certificate was refused: {e}");
    }
    let unrelated = url("127.0.0.1", &pki.other_ca);
    refused(&format!("{store}, unrelated CA"), &unrelated, UNTRUSTED).await;
    let wrong_host = url("localhost", &pki.ca);
    refused(&format!("{store}, wrong host"), &wrong_host, MISMATCH).await;
}

const UNTRUSTED: &str = "not signed by a trusted CA";
const MISMATCH: &str = "host name mismatch";
const NO_TLS: &str = "the server does not offer TLS";

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_over_tls_connects_only_to_a_verified_server() {
    let pki = Pki::new("redis");
    let Some(redis) = servers::Redis::start(&pki) else {
        return;
    };
    let ca = pki.ca.display();
    verified_only("redis", &pki, |host, ca| {
        format!("rediss://{host}:{}/0?ca={}", redis.tls_port, ca.display())
    })
    .await;
    refused(
        "redis, system roots",
        &format!("rediss://127.0.0.1:{}/0", redis.tls_port),
        "(the system's trust roots)",
    )
    .await;
    refused(
        "redis, plain to a TLS-only port",
        &format!("redis://127.0.0.1:{}/0", redis.tls_port),
        "does it require TLS",
    )
    .await;
    refused(
        "redis, TLS to a plain port",
        &format!("rediss://127.0.0.1:{}/0?ca={ca}", redis.plain_port),
        NO_TLS,
    )
    .await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_over_tls_connects_only_to_a_verified_server() {
    let pki = Pki::new("postgres");
    let Some(postgres) = servers::Postgres::start(&pki) else {
        return;
    };
    let url = |host: &str, query: &str| {
        format!(
            "postgres://postgres@{host}:{}/postgres?{query}",
            postgres.port
        )
    };
    let verified = |host: &str, ca: &std::path::Path| {
        url(
            host,
            &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        )
    };
    verified_only("postgres", &pki, verified).await;
    let plain = url("127.0.0.1", "sslmode=disable");
    refused(
        "postgres, plain to a TLS-only server",
        &plain,
        "requires TLS and refused a connection without it",
    )
    .await;
    postgres.turn_tls_off();
    let deadline = Instant::now() + Duration::from_secs(20);
    while check(&plain).await.is_err() {
        assert!(Instant::now() < deadline, "PostgreSQL never reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    refused(
        "postgres, TLS to a server without it",
        &verified("127.0.0.1", &pki.ca),
        NO_TLS,
    )
    .await;
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn mariadb_over_tls_connects_only_to_a_verified_server() {
    let pki = Pki::new("mariadb");
    let Some(mariadb) = servers::MariaDb::start(&pki) else {
        return;
    };
    let url =
        |host: &str, query: &str| format!("mysql://root@{host}:{}/test?{query}", mariadb.port);
    let verified = |host: &str, ca: &std::path::Path| {
        url(
            host,
            &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", ca.display()),
        )
    };
    verified_only("mariadb", &pki, verified).await;
    // MariaDB answers a plain login to a TLS-only server with "access denied".
    refused(
        "mariadb, plain to a TLS-only server",
        &url("127.0.0.1", "ssl-mode=DISABLED"),
        "the server requires TLS, which this URL turns off",
    )
    .await;
    // The shared MariaDB has no TLS.
    let Some(shared) = crate::common::sql::server(crate::common::sql::MYSQL_URL) else {
        return;
    };
    refused(
        "mariadb, TLS to a server without it",
        &format!(
            "{shared}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
            pki.ca.display()
        ),
        NO_TLS,
    )
    .await;
}
