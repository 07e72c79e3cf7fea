//! The sealed cookie format (the default): the session is encrypted and authenticated (AEAD), so
//! the client can neither read nor change it. The byte layout, the checks made when opening, and
//! the usage bound of a key are documented on [`SealedCodec`], where rustdoc shows them.

use std::cell::RefCell;

use aes_gcm_siv::aead::{AeadInOut, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Key, Nonce, Tag};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::Rng as _;

use super::{
    flask_json, within_cookie_limit, Codec, CookieFormat, Decoded, EncodeError, RejectReason,
    Rejected, Stamp, MAX_COOKIE_VALUE_LEN,
};
use crate::{value::Dict, KeyRing, SecretKey};

/// The format version byte.
const VERSION: u8 = 0x01;
/// HKDF purpose of the AEAD key.
const AEAD_KEY_PURPOSE: &str = "satchel sealed cookie v1";
/// HKDF purpose of the key id.
const KEY_ID_PURPOSE: &str = "satchel sealed key id v1";

const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Version, key id, nonce.
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;
/// The three timestamps at the start of the plaintext.
const STAMP_LEN: usize = 3 * 8;
/// Everything before the JSON.
const PREFIX_LEN: usize = HEADER_LEN + STAMP_LEN;
/// The shortest `raw` that can be a sealed cookie (an empty JSON text never is, but the JSON
/// parser is the one to say so).
const MIN_RAW_LEN: usize = PREFIX_LEN + TAG_LEN;
/// How far in the future `issued_at` may be (clock skew between servers) before the cookie is
/// refused.
const MAX_CLOCK_SKEW_SECS: u64 = 60;

/// One key of the ring, ready to seal and open.
#[derive(Clone)]
struct SealingKey {
    id: [u8; KEY_ID_LEN],
    /// `version || key id || cookie name`.
    associated_data: Vec<u8>,
    cipher: Aes256GcmSiv,
}

impl SealingKey {
    fn new(secret: &SecretKey, cookie_name: &str) -> Self {
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&secret.derive(KEY_ID_PURPOSE)[..KEY_ID_LEN]);
        let mut associated_data = Vec::with_capacity(1 + KEY_ID_LEN + cookie_name.len());
        associated_data.push(VERSION);
        associated_data.extend_from_slice(&id);
        associated_data.extend_from_slice(cookie_name.as_bytes());
        let key = secret.derive(AEAD_KEY_PURPOSE);
        // Borrowed, not copied: the derived key stays only in its zeroizing buffer.
        let key: &Key<Aes256GcmSiv> = key[..].try_into().expect("HKDF gives 32 bytes");
        let cipher = Aes256GcmSiv::new(key);
        SealingKey {
            id,
            associated_data,
            cipher,
        }
    }
}

/// The sealed cookie format (the default): AES-256-GCM-SIV, bound to the cookie's name, with
/// its times inside the ciphertext.
///
/// The current key seals; every key of the ring opens, and a cookie opened by a fallback key
/// is reported with [`Decoded::by_fallback_key`] so the layer re-seals it.
///
/// # Format, version 1
///
/// The cookie value is `base64url-no-pad(raw)`, where `raw` is:
///
/// | offset  | bytes | field                                                              |
/// |---------|-------|--------------------------------------------------------------------|
/// | 0       | 1     | format version, `0x01`                                             |
/// | 1       | 4     | key id: the first 4 bytes of `HKDF(secret, "satchel sealed key id v1")` |
/// | 5       | 12    | nonce, 96 random bits from a CSPRNG seeded by the OS               |
/// | 17      | n     | ciphertext (same length as the plaintext)                          |
/// | 17 + n  | 16    | authentication tag                                                 |
///
/// The plaintext (`n` bytes) is:
///
/// | offset | bytes  | field                                                            |
/// |--------|--------|------------------------------------------------------------------|
/// | 0      | 8      | `created_at`, Unix seconds, big-endian                           |
/// | 8      | 8      | `issued_at`, Unix seconds, big-endian                            |
/// | 16     | 8      | `expires_at`, Unix seconds, big-endian                           |
/// | 24     | n - 24 | the session as JSON, written by [`flask_json`](super::flask_json) |
///
/// The AEAD is AES-256-GCM-SIV (RFC 8452) with the key `HKDF(secret, "satchel sealed cookie v1")`
/// (HKDF-SHA256, see [`SecretKey::derive`](crate::SecretKey::derive)). The associated data is
/// `version || key id || cookie name`: a cookie copied under another cookie name, or with its
/// header edited, does not open. The times are inside the ciphertext, so a client can neither
/// read nor extend them. Nothing is compressed: compressing before encrypting lets the
/// ciphertext's length leak the content (CRIME/BREACH). Overhead: 57 bytes before base64, so a
/// 4096-byte cookie value holds at most 3015 bytes of JSON.
///
/// Decoding checks, in this order, and gives the first [`RejectReason`] that applies:
/// `TooLarge` (value over 4096 bytes), `Malformed` (not canonical base64url,
/// too short, unknown version), `UnknownKey` (no key in the ring has that id), `Tampered` (the
/// tag does not verify under any key with that id), `Expired` (`now >= expires_at`, or
/// `issued_at` more than 60 s in the future), `Malformed` (the JSON inside does not parse).
///
/// # Why AES-256-GCM-SIV with random nonces, and for how long a key is safe
///
/// A key lives long, and refreshing the cookie on every request seals often, so the design
/// target is at least 2^48 seals per key. Of the constructions with room for that,
/// AES-256-GCM-SIV is the fastest with AES-NI: about 0.3 µs to seal a ~200-byte session against
/// about 1.5 µs for XChaCha20-Poly1305 (RustCrypto 0.10), as measured for the design notes;
/// `cargo bench -p satchel-session --bench codec` measures it again next to every other step of a
/// round trip. The nonce comes from `rand::rng()`, ChaCha12 seeded and periodically
/// reseeded from the OS (13 ns for 12 bytes, against 350 ns for a `getrandom` call each time).
///
/// The bound, stated honestly:
///
/// - The nonce is 96 random bits, so nonces *do* repeat at this scale: among `q` seals the
///   probability of any repeat is about `q^2 / 2^97` (2^-33 at `q = 2^32`, about 1/2 at
///   `q = 2^48`). With AES-GCM a repeat is catastrophic (keystream reuse and recovery of the
///   authentication key), which is why NIST SP 800-38D caps random-nonce GCM at 2^32 messages.
/// - AES-GCM-SIV is built to survive it. Every nonce derives its own message-encryption and
///   message-authentication keys from the key (RFC 8452 section 4), and the keystream starts
///   from the tag, which depends on the whole plaintext and associated data. A repeated nonce
///   with different plaintexts reveals nothing; with an identical (plaintext, associated data)
///   pair it reveals only that the two are equal (the ciphertexts are the same bytes). A
///   satchel plaintext carries its three timestamps and the whole session, so that is at most
///   "these two cookies, issued in the same second, hold the same session".
/// - The concrete bounds are in RFC 8452 section 9, which summarises the scheme's analysis
///   (Gueron, Langley and Lindell, "AES-GCM-SIV: Specification and Analysis", ePrint 2017/168,
///   its bound corrected after Iwata and Seurin, ePrint 2017/708; the effect of per-nonce key
///   derivation is analysed in Gueron and Lindell, "Better Bounds for Block Cipher Modes of
///   Operation via Nonce-Based Key Derivation", ACM CCS 2017, ePrint 2017/702). Because each
///   nonce gets fresh keys, the AES birthday bound applies to the few blocks of one message
///   rather than to everything sealed under the key, and the section tabulates, per maximum
///   message length, how many messages keep the adversary's advantage under 2^-32. No figure from
///   that table is quoted here because it could not be checked against the RFC's text when
///   this was written: read the row for messages of at most 3 KB (the largest sealed
///   plaintext is 3039 bytes) in the RFC itself. Note that those bounds
///   are for nonce-misuse-resistant (MRAE) security; in the strict IND-CPA sense random 96-bit
///   nonces reach the same ~2^48 collision point as GCM, and all a collision can reveal is the
///   equality described above.
/// - Rotate the secret (a fallback key keeps old cookies readable) long before 2^48 seals; at
///   10,000 seals a second that is nearly 900 years.
///
/// Sealing allocates once for the raw bytes (sized for the largest cookie, so it never grows)
/// and once for the base64 text; opening decodes the base64 into one buffer, decrypts it in
/// place and parses the JSON straight from it.
///
/// # Example
///
/// ```
/// use satchel_session::codec::{Codec, RejectReason, Stamp};
/// use satchel_session::codec::SealedCodec;
/// use satchel_session::{KeyRing, Value};
///
/// let old = SealedCodec::new(&KeyRing::new("old secret", [""; 0]), "session");
/// let rotated = SealedCodec::new(&KeyRing::new("new secret", ["old secret"]), "session");
///
/// let mut data = satchel_session::value::Dict::new();
/// data.insert("user".into(), Value::from("kimi"));
/// let stamp = Stamp { created_at: 100, issued_at: 100, expires_at: 200 };
/// let cookie = old.encode(&data, &stamp).unwrap();
///
/// let opened = rotated.decode(&cookie, 150).unwrap();
/// assert_eq!(opened.data, data);
/// assert!(opened.by_fallback_key);
///
/// // Bound to its name: the same value under another cookie name does not open.
/// let other = SealedCodec::new(&KeyRing::new("old secret", [""; 0]), "other");
/// assert_eq!(other.decode(&cookie, 150).unwrap_err().reason, RejectReason::Tampered);
/// ```
#[derive(Clone)]
pub struct SealedCodec {
    /// Every key of the ring, the current one first.
    keys: Vec<SealingKey>,
}

impl SealedCodec {
    /// A codec for the cookie called `cookie_name`, sealing with the ring's current key and
    /// opening with any of its keys. Derives every key once, here.
    ///
    /// ```
    /// use satchel_session::codec::{Codec, CookieFormat};
    /// let codec = satchel_session::codec::SealedCodec::new(&satchel_session::KeyRing::new("secret", ["older"]), "session");
    /// assert_eq!(codec.format(), CookieFormat::Sealed);
    /// ```
    pub fn new(keys: &KeyRing, cookie_name: &str) -> Self {
        SealedCodec {
            keys: keys
                .all()
                .map(|secret| SealingKey::new(secret, cookie_name))
                .collect(),
        }
    }

    /// The key that seals (the ring always has one).
    fn current(&self) -> &SealingKey {
        &self.keys[0]
    }
}

impl std::fmt::Debug for SealedCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCodec")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// The nonce in a sealed cookie's `header` (the last [`NONCE_LEN`] bytes).
fn nonce_of(header: &[u8]) -> Nonce {
    Nonce::try_from(&header[1 + KEY_ID_LEN..]).expect("the header ends in NONCE_LEN bytes")
}

/// Reads the big-endian `u64` at `at` in `bytes` (which the caller has checked is long enough).
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_be_bytes(word)
}

impl SealedCodec {
    /// Seals `data` using `raw` (this thread's buffer) for the plaintext and ciphertext.
    fn encode_into(
        &self,
        data: &Dict,
        stamp: &Stamp,
        raw: &mut Vec<u8>,
    ) -> Result<String, EncodeError> {
        let key = self.current();

        // The header and timestamps go in front of the JSON in the same buffer: written first
        // as NUL placeholders (valid UTF-8), overwritten once the JSON is appended.
        // Reset before the conversion: the buffer may hold an opened cookie's binary bytes,
        // and a failed conversion would throw its capacity away.
        raw.clear();
        raw.resize(PREFIX_LEN, 0);
        let mut text = String::from_utf8(std::mem::take(raw)).unwrap_or_default();
        flask_json::write_dict(data, &mut text);
        *raw = text.into_bytes();

        raw[0] = VERSION;
        raw[1..1 + KEY_ID_LEN].copy_from_slice(&key.id);
        rand::rng().fill_bytes(&mut raw[1 + KEY_ID_LEN..HEADER_LEN]);
        for (i, time) in [stamp.created_at, stamp.issued_at, stamp.expires_at]
            .into_iter()
            .enumerate()
        {
            let at = HEADER_LEN + 8 * i;
            raw[at..at + 8].copy_from_slice(&time.to_be_bytes());
        }

        let sealed_len = raw.len() + TAG_LEN;
        let (header, plaintext) = raw.split_at_mut(HEADER_LEN);
        let nonce = nonce_of(header);
        let tag = key
            .cipher
            .encrypt_inout_detached(&nonce, &key.associated_data, plaintext.into())
            .map_err(|_| EncodeError::too_large(sealed_len.div_ceil(3) * 4))?;
        raw.extend_from_slice(&tag);
        let mut value = String::with_capacity(raw.len().div_ceil(3) * 4);
        URL_SAFE_NO_PAD.encode_string(&raw, &mut value);
        Ok(value)
    }

    /// Opens `value`, base64-decoded into `raw` (this thread's buffer).
    fn decode_from(&self, value: &str, now: u64, raw: &mut Vec<u8>) -> Result<Decoded, Rejected> {
        raw.clear();
        URL_SAFE_NO_PAD
            .decode_vec(value, raw)
            .map_err(|_| RejectReason::Malformed)?;
        if raw.len() < MIN_RAW_LEN || raw[0] != VERSION {
            return Err(RejectReason::Malformed.into());
        }

        let (header, rest) = raw.split_at_mut(HEADER_LEN);
        let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
        let id = &header[1..1 + KEY_ID_LEN];
        let nonce = nonce_of(header);
        let tag = Tag::try_from(&*tag).expect("the tag is TAG_LEN bytes");

        // Two keys of a ring share an id only by a 2^-32 accident (or when the same secret is
        // listed twice); each candidate is tried, and a failed open leaves `body` as it was.
        let mut known_id = false;
        let mut opened_by = None;
        for (index, key) in self.keys.iter().enumerate() {
            if key.id != id {
                continue;
            }
            known_id = true;
            if key
                .cipher
                .decrypt_inout_detached(&nonce, &key.associated_data, (&mut *body).into(), &tag)
                .is_ok()
            {
                opened_by = Some(index);
                break;
            }
        }
        let index = match opened_by {
            Some(index) => index,
            None if known_id => return Err(RejectReason::Tampered.into()),
            None => return Err(RejectReason::UnknownKey.into()),
        };

        let stamp = Stamp {
            created_at: read_u64(body, 0),
            issued_at: read_u64(body, 8),
            expires_at: read_u64(body, 16),
        };
        if now >= stamp.expires_at || stamp.issued_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(RejectReason::Expired.into());
        }

        let json = std::str::from_utf8(&body[STAMP_LEN..]).map_err(|_| RejectReason::Malformed)?;
        let data = flask_json::from_str(json).map_err(|_| RejectReason::Malformed)?;
        Ok(Decoded {
            data,
            stamp,
            by_fallback_key: index != 0,
        })
    }
}

/// Runs `f` with this thread's work buffer (or a fresh one if it is busy or gone): sealing and
/// opening then allocate nothing but the cookie and the session they return.
fn with_buffer<R>(mut f: impl FnMut(&mut Vec<u8>) -> R) -> R {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUFFER
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut buffer| f(&mut buffer)))
        .ok()
        .flatten()
        .unwrap_or_else(|| f(&mut Vec::new()))
}

impl Codec for SealedCodec {
    fn encode(&self, data: &Dict, stamp: &Stamp) -> Result<String, EncodeError> {
        with_buffer(|raw| self.encode_into(data, stamp, raw)).and_then(within_cookie_limit)
    }

    fn decode(&self, value: &str, now: u64) -> Result<Decoded, Rejected> {
        if value.len() > MAX_COOKIE_VALUE_LEN {
            return Err(RejectReason::TooLarge.into());
        }
        with_buffer(|raw| self.decode_from(value, now, raw))
    }

    fn format(&self) -> CookieFormat {
        CookieFormat::Sealed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    const STAMP: Stamp = Stamp {
        created_at: 1_000,
        issued_at: 1_100,
        expires_at: 2_000,
    };

    fn ring() -> KeyRing {
        KeyRing::new("current secret", ["fallback secret"])
    }

    fn session() -> Dict {
        let mut data = Dict::new();
        data.insert("user_id".into(), Value::from(42));
        data.insert("name".into(), Value::from("Kimi Räikkönen 🏁"));
        data.insert("nan".into(), Value::Float(f64::NAN));
        data.insert("raw".into(), Value::Bytes(vec![0, 1, 254, 255]));
        data
    }

    fn seal(keys: &KeyRing, name: &str) -> String {
        SealedCodec::new(keys, name)
            .encode(&session(), &STAMP)
            .unwrap()
    }

    fn raw_of(cookie: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(cookie).unwrap()
    }

    fn reason(codec: &SealedCodec, value: &str, now: u64) -> RejectReason {
        codec.decode(value, now).unwrap_err().reason
    }

    #[test]
    fn sealed_cookie_round_trips_with_its_stamp() {
        let codec = SealedCodec::new(&ring(), "session");
        let decoded = codec.decode(&seal(&ring(), "session"), 1_500).unwrap();
        assert_eq!(decoded.data, session());
        assert_eq!(decoded.stamp, STAMP);
        assert!(!decoded.by_fallback_key);
    }

    #[test]
    fn empty_session_round_trips() {
        let codec = SealedCodec::new(&ring(), "session");
        let cookie = codec.encode(&Dict::new(), &STAMP).unwrap();
        assert_eq!(codec.decode(&cookie, 1_500).unwrap().data, Dict::new());
    }

    #[test]
    fn layout_is_version_key_id_nonce_ciphertext_tag() {
        let cookie = seal(&ring(), "session");
        let raw = raw_of(&cookie);
        let json_len = flask_json::to_string(&session()).len();
        assert_eq!(raw.len(), HEADER_LEN + STAMP_LEN + json_len + TAG_LEN);
        assert_eq!(raw[0], VERSION);
        let id = ring().current().derive(KEY_ID_PURPOSE);
        assert_eq!(raw[1..5], id[..4]);
        assert!(!cookie.contains(['=', '+', '/']));
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let codec = SealedCodec::new(&ring(), "session");
        let a = raw_of(&codec.encode(&session(), &STAMP).unwrap());
        let b = raw_of(&codec.encode(&session(), &STAMP).unwrap());
        assert_ne!(a[5..17], b[5..17]);
        assert_ne!(a[17..], b[17..]);
    }

    #[test]
    fn plaintext_does_not_appear_in_the_cookie() {
        let raw = raw_of(&seal(&ring(), "session"));
        let needle = "Kimi".as_bytes();
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn cookie_sealed_by_a_fallback_key_opens_and_is_flagged() {
        let old_ring = KeyRing::new("fallback secret", [""; 0]);
        let decoded = SealedCodec::new(&ring(), "session")
            .decode(&seal(&old_ring, "session"), 1_500)
            .unwrap();
        assert_eq!(decoded.data, session());
        assert!(decoded.by_fallback_key);
    }

    #[test]
    fn cookie_from_a_key_not_in_the_ring_is_unknown_key() {
        let stranger = KeyRing::new("someone else's secret", [""; 0]);
        let codec = SealedCodec::new(&ring(), "session");
        assert_eq!(
            reason(&codec, &seal(&stranger, "session"), 1_500),
            RejectReason::UnknownKey
        );
    }

    #[test]
    fn cookie_renamed_to_another_cookie_name_is_tampered() {
        let codec = SealedCodec::new(&ring(), "other_session");
        assert_eq!(
            reason(&codec, &seal(&ring(), "session"), 1_500),
            RejectReason::Tampered
        );
    }

    #[test]
    fn flipped_ciphertext_bit_is_tampered() {
        let mut raw = raw_of(&seal(&ring(), "session"));
        raw[HEADER_LEN + 3] ^= 0x01;
        let codec = SealedCodec::new(&ring(), "session");
        assert_eq!(
            reason(&codec, &URL_SAFE_NO_PAD.encode(&raw), 1_500),
            RejectReason::Tampered
        );
    }

    #[test]
    fn cookie_at_or_after_its_expiry_is_expired() {
        let codec = SealedCodec::new(&ring(), "session");
        let cookie = seal(&ring(), "session");
        assert!(codec.decode(&cookie, STAMP.expires_at - 1).is_ok());
        assert_eq!(
            reason(&codec, &cookie, STAMP.expires_at),
            RejectReason::Expired
        );
    }

    #[test]
    fn cookie_issued_more_than_a_minute_in_the_future_is_expired() {
        let codec = SealedCodec::new(&ring(), "session");
        let cookie = seal(&ring(), "session");
        let skew_limit = STAMP.issued_at - MAX_CLOCK_SKEW_SECS;
        assert!(codec.decode(&cookie, skew_limit).is_ok());
        assert_eq!(
            reason(&codec, &cookie, skew_limit - 1),
            RejectReason::Expired
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let codec = SealedCodec::new(&ring(), "session");
        for value in ["", "not base64!", "AQ", "eyJ1c2VyIjoxfQ", "a.b.c"] {
            assert_eq!(
                reason(&codec, value, 1_500),
                RejectReason::Malformed,
                "{value:?}"
            );
        }
    }

    #[test]
    fn unknown_version_is_malformed() {
        let mut raw = raw_of(&seal(&ring(), "session"));
        raw[0] = 0x02;
        let codec = SealedCodec::new(&ring(), "session");
        assert_eq!(
            reason(&codec, &URL_SAFE_NO_PAD.encode(&raw), 1_500),
            RejectReason::Malformed
        );
    }

    #[test]
    fn non_canonical_base64_is_malformed() {
        // The last character of a length-2 (mod 3) encoding carries 2 spare bits; setting them
        // must not give a second spelling of the same cookie.
        let codec = SealedCodec::new(&ring(), "session");
        let mut data = Dict::new();
        let mut cookie = String::new();
        for n in 0..3 {
            data.insert("pad".into(), Value::from("x".repeat(n)));
            cookie = codec.encode(&data, &STAMP).unwrap();
            if cookie.len() % 4 == 3 {
                break;
            }
        }
        assert_eq!(cookie.len() % 4, 3);
        let last = cookie.pop().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let position = alphabet.find(last).unwrap();
        cookie.push(alphabet.as_bytes()[position | 1] as char);
        assert_eq!(reason(&codec, &cookie, 1_500), RejectReason::Malformed);
    }

    #[test]
    fn over_long_value_is_too_large_before_any_work() {
        let codec = SealedCodec::new(&ring(), "session");
        let value = "A".repeat(MAX_COOKIE_VALUE_LEN + 1);
        assert_eq!(reason(&codec, &value, 1_500), RejectReason::TooLarge);
    }

    #[test]
    fn session_too_big_for_a_cookie_is_refused_by_encode() {
        let codec = SealedCodec::new(&ring(), "session");
        let mut data = Dict::new();
        data.insert("big".into(), Value::from("x".repeat(3_100)));
        let error = codec.encode(&data, &STAMP).unwrap_err();
        assert!(error.is_too_large(), "{error}");
    }

    #[test]
    fn control_characters_that_escape_six_fold_are_refused_not_sealed_unreadable() {
        // 0x7f is one byte in the session but `\u007f` (six) in the JSON inside the cookie:
        // 600 of them fit a cookie as raw bytes, not once escaped.
        let codec = SealedCodec::new(&ring(), "session");
        let mut data = Dict::new();
        data.insert("d".into(), Value::from("\u{7f}".repeat(600)));
        assert!(codec.encode(&data, &STAMP).unwrap_err().is_too_large());
        data.insert("d".into(), Value::from("\u{7f}".repeat(400)));
        let cookie = codec.encode(&data, &STAMP).unwrap();
        assert_eq!(codec.decode(&cookie, 1_500).unwrap().data, data);
    }

    #[test]
    fn largest_session_that_fits_round_trips() {
        let codec = SealedCodec::new(&ring(), "session");
        let mut data = Dict::new();
        // {"b":"…"} is 8 bytes of JSON around the string: 3015 bytes of JSON in all.
        data.insert("b".into(), Value::from("x".repeat(3_015 - 8)));
        let cookie = codec.encode(&data, &STAMP).unwrap();
        assert_eq!(cookie.len(), MAX_COOKIE_VALUE_LEN);
        assert_eq!(codec.decode(&cookie, 1_500).unwrap().data, data);
    }

    #[test]
    fn debug_output_shows_no_key_material() {
        let codec = SealedCodec::new(&ring(), "session");
        assert_eq!(format!("{codec:?}"), "SealedCodec { keys: 2, .. }");
    }
}
