//! Placeholder: sealed codec (being written).
use super::{Codec, CookieFormat, Decoded, EncodeError, Rejected, Stamp};
use crate::{value::Dict, KeyRing};

/// Flask codec (stub).
pub struct SealedCodec;
impl SealedCodec {
    /// Stub.
    pub fn new(_keys: &KeyRing, _cookie_name: &str) -> Self {
        SealedCodec
    }
}
impl Codec for SealedCodec {
    fn encode(&self, _data: &Dict, _stamp: &Stamp) -> Result<String, EncodeError> {
        todo!()
    }
    fn decode(&self, _value: &str, _now: u64) -> Result<Decoded, Rejected> {
        todo!()
    }
    fn format(&self) -> CookieFormat {
        CookieFormat::Sealed
    }
}
