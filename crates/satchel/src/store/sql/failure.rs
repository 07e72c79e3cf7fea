//! What a failed connection or schema setup means, in an operator's words: the database's own
//! refusals (authentication, an unknown database, a server that requires TLS, a table it will
//! not create) and, below them, the TLS and network causes every network store shares
//! ([`classify`]).

use crate::store::connect_error::{chain_text, classify, Trust};
use crate::store::StoreError;

/// A connection attempt's error: [`StoreError::Config`] for what will not mend by itself,
/// [`StoreError::Unavailable`] for an outage ("connection refused").
pub(super) fn connect_failure(error: &sqlx::Error, trust: &Trust) -> StoreError {
    if let sqlx::Error::Database(db) = error {
        let (code, message) = (db.code().unwrap_or_default(), db.message());
        let config = |what: &str| StoreError::Config(format!("{what}: {message}"));
        if message.contains("no encryption") || message.contains("insecure transport") {
            return config("the server requires TLS and refused a connection without it");
        }
        if code.starts_with("28") && trust.tls_off {
            return config(
                "authentication failed, or the server requires TLS, which this URL turns off",
            );
        }
        if code.starts_with("28") {
            return config("authentication failed");
        }
        if code == "3D000" || message.contains("Unknown database") {
            return config("the database does not exist");
        }
        if code.starts_with("42") {
            return config("the session table was refused");
        }
    }
    if let sqlx::Error::Configuration(e) = error {
        return StoreError::Config(e.to_string());
    }
    let text = chain_text(error);
    classify(&text, trust).unwrap_or(StoreError::Unavailable(text))
}
