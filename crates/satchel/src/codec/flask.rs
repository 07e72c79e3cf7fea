//! Placeholder: Flask / itsdangerous codec (being written).
use super::{Codec, CookieFormat, Decoded, EncodeError, Rejected, Stamp};
use crate::{value::Dict, KeyRing};

/// Flask codec (stub).
pub struct FlaskCodec;
impl FlaskCodec {
    /// Stub.
    pub fn new(_keys: &KeyRing, _max_age_secs: u64) -> Self {
        FlaskCodec
    }
}
impl Codec for FlaskCodec {
    fn encode(&self, _data: &Dict, _stamp: &Stamp) -> Result<String, EncodeError> {
        todo!()
    }
    fn decode(&self, _value: &str, _now: u64) -> Result<Decoded, Rejected> {
        todo!()
    }
    fn format(&self) -> CookieFormat {
        CookieFormat::Flask
    }
}
