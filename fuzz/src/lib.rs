//! What the fuzz targets share: the fixed key ring and clock the committed seed cookies were
//! made with, and helpers that wrap fuzzer-chosen bytes in a validly signed (flask) or sealed
//! cookie, so the decoding behind the signature check (inflate, JSON, stamps) is fuzzed too and
//! not only the part an attacker without the key can reach.

use std::sync::OnceLock;

use aes_gcm_siv::aead::{AeadInOut, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Key, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use satchel_session::codec::Codec;
use satchel_session::codec::{FlaskCodec, SealedCodec};
use satchel_session::{KeyRing, SecretKey};

/// The secret the seed cookies were made with.
pub const SECRET: &str = "satchel fuzz secret";
/// The cookie name the sealed seeds are bound to.
pub const COOKIE_NAME: &str = "session";
/// The clock every decode is run at (the seed cookies are valid then).
pub const NOW: u64 = 1_700_000_100;
/// Flask's default `PERMANENT_SESSION_LIFETIME`.
pub const MAX_AGE_SECS: u64 = 31 * 24 * 3600;

fn keys() -> KeyRing {
    KeyRing::new(SECRET, ["satchel fuzz fallback"])
}

/// The flask codec under test.
pub fn flask() -> &'static FlaskCodec {
    static CODEC: OnceLock<FlaskCodec> = OnceLock::new();
    CODEC.get_or_init(|| FlaskCodec::new(&keys(), MAX_AGE_SECS))
}

/// The sealed codec under test.
pub fn sealed() -> &'static SealedCodec {
    static CODEC: OnceLock<SealedCodec> = OnceLock::new();
    CODEC.get_or_init(|| SealedCodec::new(&keys(), COOKIE_NAME))
}

/// Decodes `value` at [`NOW`]; whatever opens must encode again and open to the same data.
pub fn decode_and_check(codec: &dyn Codec, value: &str) {
    let Ok(decoded) = codec.decode(value, NOW) else {
        return;
    };
    // Re-encoding may only fail for size (a well-compressed flask cookie can inflate to more
    // than one cookie holds).
    if let Ok(again) = codec.encode(&decoded.data, &decoded.stamp) {
        let reopened = codec
            .decode(&again, NOW)
            .expect("a re-encoded cookie opens");
        assert_eq!(
            reopened.data, decoded.data,
            "re-encoding changed the session"
        );
    }
}

fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut mac =
        <Hmac<sha1::Sha1>>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// `payload` signed as Flask signs a session cookie at [`NOW`] (itsdangerous
/// URLSafeTimedSerializer, salt `cookie-session`, `hmac` key derivation, SHA-1).
pub fn flask_sign(payload: &str) -> String {
    let derived = hmac_sha1(SECRET.as_bytes(), b"cookie-session");
    let timestamp = NOW.to_be_bytes();
    let first = timestamp.iter().position(|&b| b != 0).unwrap_or(7);
    let signed = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&timestamp[first..]));
    let signature = URL_SAFE_NO_PAD.encode(hmac_sha1(&derived, signed.as_bytes()));
    format!("{signed}.{signature}")
}

/// `plaintext` sealed as satchel's sealed format v1 does, under the current key.
pub fn seal(plaintext: &[u8]) -> String {
    let secret = SecretKey::new(SECRET);
    let key = secret.derive("satchel sealed cookie v1");
    let cipher = Aes256GcmSiv::new(&Key::<Aes256GcmSiv>::from(*key));
    let mut raw = vec![0x01];
    raw.extend_from_slice(&secret.derive("satchel sealed key id v1")[..4]);
    let associated_data = [&raw[..], COOKIE_NAME.as_bytes()].concat();
    let nonce = [0x42; 12];
    raw.extend_from_slice(&nonce);
    let mut body = plaintext.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(nonce), &associated_data, body.as_mut_slice().into())
        .expect("a fuzz input is short enough to seal");
    raw.extend_from_slice(&body);
    raw.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(raw)
}

/// A valid stamp for [`seal`]: created and issued at [`NOW`], expiring a day later.
pub fn valid_stamp() -> [u8; 24] {
    let mut stamp = [0u8; 24];
    stamp[..8].copy_from_slice(&NOW.to_be_bytes());
    stamp[8..16].copy_from_slice(&NOW.to_be_bytes());
    stamp[16..].copy_from_slice(&(NOW + 86_400).to_be_bytes());
    stamp
}

/// base64url without padding, for targets that build payloads.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
