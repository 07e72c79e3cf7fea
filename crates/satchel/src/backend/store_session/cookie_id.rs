//! The id in a store session's cookie, as the store's [`CookieIds`] says: satchel's (the id;
//! the store keys on its SHA-256) or Flask-Session's (the id, or with its signer
//! `id.signature`; the store keys on the id itself).
//!
//! Flask-Session's signer is itsdangerous' `Signer(SECRET_KEY, salt="flask-session",
//! key_derivation="hmac")`: `signature = base64url(HMAC-SHA1(HMAC-SHA1(SECRET_KEY,
//! "flask-session"), id))`. The current key signs; every key of the ring verifies.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Mac as _;

use crate::codec::{itsdangerous_signer, HmacSha1, RejectReason};
use crate::config::{ConfigError, SessionConfig};
use crate::store::{CookieIds, IdHash, SessionId};

/// Flask-Session's signer salt.
const SALT: &[u8] = b"flask-session";

/// Reads and writes the ids of one layer's cookies.
pub(crate) struct IdCookies {
    ids: CookieIds,
    /// Flask-Session's signers, current key first (empty unless ids are signed).
    signers: Vec<HmacSha1>,
}

impl IdCookies {
    /// The id cookies for a store that wants `ids`; signed ids need `config`'s `SECRET_KEY`.
    pub fn new(ids: CookieIds, config: &SessionConfig) -> Result<Self, ConfigError> {
        let signers = match ids {
            CookieIds::FlaskSession { signed: true } => config
                .validate()?
                .all()
                .map(|key| itsdangerous_signer(key.as_bytes(), SALT))
                .collect(),
            _ => Vec::new(),
        };
        Ok(IdCookies { ids, signers })
    }

    /// What the store is given for `id`.
    pub fn key(&self, id: &SessionId) -> IdHash {
        match self.ids {
            CookieIds::Satchel => id.hash(),
            CookieIds::FlaskSession { .. } => id.raw_key(),
        }
    }

    /// Whether a cookie that is not an id is counted as a rejection (Flask-Session's ids; a
    /// satchel id cookie that does not parse is simply no session, as before).
    pub fn counts_rejections(&self) -> bool {
        self.ids != CookieIds::Satchel
    }

    /// The id in a cookie value, or why there is none.
    pub fn parse(&self, value: &str) -> Result<SessionId, RejectReason> {
        let id = if self.signers.is_empty() {
            value
        } else {
            let (id, signature) = value.rsplit_once('.').ok_or(RejectReason::Malformed)?;
            let mut raw = [0u8; 24];
            let len = URL_SAFE_NO_PAD
                .decode_slice(signature, &mut raw)
                .map_err(|_| RejectReason::Tampered)?;
            let verified = self.signers.iter().any(|signer| {
                signer
                    .clone()
                    .chain_update(id.as_bytes())
                    .verify_slice(&raw[..len])
                    .is_ok()
            });
            if !verified {
                return Err(RejectReason::Tampered);
            }
            id
        };
        SessionId::parse(id).ok_or(RejectReason::Malformed)
    }

    /// The cookie value for `id`.
    pub fn encode(&self, id: &SessionId) -> String {
        let mut value = id.encode();
        if let Some(signer) = self.signers.first() {
            let signature = signer
                .clone()
                .chain_update(value.as_bytes())
                .finalize()
                .into_bytes();
            value.push('.');
            URL_SAFE_NO_PAD.encode_string(signature, &mut value);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &str) -> IdCookies {
        let config = SessionConfig::default().with_secret_key(key);
        IdCookies::new(CookieIds::FlaskSession { signed: true }, &config).unwrap()
    }

    #[test]
    fn a_signed_id_reads_back_and_a_bad_or_missing_signature_does_not() {
        let ids = signed("a long enough secret key for the test");
        let id = SessionId::generate();
        let value = ids.encode(&id);
        assert_eq!(value.len(), 43 + 1 + 27);
        assert_eq!(ids.parse(&value), Ok(id.clone()));
        let other = signed("another secret key entirely, for the test");
        assert_eq!(other.parse(&value), Err(RejectReason::Tampered));
        assert_eq!(ids.parse(&id.encode()), Err(RejectReason::Malformed));
        assert_eq!(ids.key(&id), id.raw_key());
        // Signed with the right key, but not a sid of Flask-Session's shape.
        let signature = ids.signers[0]
            .clone()
            .chain_update(b"short")
            .finalize()
            .into_bytes();
        let forged = format!("short.{}", URL_SAFE_NO_PAD.encode(signature));
        assert_eq!(ids.parse(&forged), Err(RejectReason::Malformed));
    }

    #[test]
    fn signed_ids_need_a_secret_key() {
        let ids = CookieIds::FlaskSession { signed: true };
        assert!(IdCookies::new(ids, &SessionConfig::default()).is_err());
    }
}
