//! Key names: a session's record and lease keys (`<p>v2:<h>`, `<p>v2:<h>:lease`), a user's
//! index set (`<p>v2:user:<k>`), and the id hash back from a record key.

use super::RedisStore;
use crate::store::{user_key, IdHash};

/// The layout tag, between the prefix and the id hash.
const VERSION_TAG: &str = "v2:";
const LEASE_SUFFIX: &str = ":lease";

/// A session's two key names in one allocation: `<p>v2:<h>:lease`, the record's name being
/// all of it but the suffix.
pub(super) struct Keys(String);

impl Keys {
    pub(super) fn record(&self) -> &str {
        &self.0[..self.0.len() - LEASE_SUFFIX.len()]
    }

    pub(super) fn lease(&self) -> &str {
        &self.0
    }

    /// Flask-Session's key for `sid` and satchel's lease beside it: `<prefix><sid>` and
    /// `<prefix><sid>:lease` ([`FlaskSessionStore`](crate::store::FlaskSessionStore)).
    pub(super) fn flask_session(prefix: &str, sid: &str) -> Keys {
        Keys(format!("{prefix}{sid}{LEASE_SUFFIX}"))
    }
}

impl RedisStore {
    pub(super) fn keys(&self, id: &IdHash) -> Keys {
        let mut name =
            String::with_capacity(self.prefix.len() + VERSION_TAG.len() + 64 + LEASE_SUFFIX.len());
        name.push_str(&self.prefix);
        name.push_str(VERSION_TAG);
        push_hex(&mut name, id);
        name.push_str(LEASE_SUFFIX);
        Keys(name)
    }

    pub(super) fn record_key(&self, id: &IdHash) -> String {
        let mut name = String::with_capacity(self.prefix.len() + VERSION_TAG.len() + 64);
        name.push_str(&self.prefix);
        name.push_str(VERSION_TAG);
        push_hex(&mut name, id);
        name
    }

    /// What the index's keys start with: `<p>v2:` (a user's set is `<p>v2:user:<key>`).
    pub(super) fn index_prefix(&self) -> String {
        format!("{}{VERSION_TAG}", self.prefix)
    }

    pub(super) fn user_set(&self, user_id: &str) -> String {
        format!("{}{VERSION_TAG}user:{}", self.prefix, user_key(user_id))
    }

    /// The id hash a record key names.
    pub(super) fn id_of(&self, record_key: &str) -> Option<IdHash> {
        let hex = record_key.strip_prefix(&self.index_prefix())?;
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(IdHash(bytes))
    }
}

/// Appends the 64 lowercase hex digits of `id`.
fn push_hex(out: &mut String, id: &IdHash) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in &id.0 {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}
