//! Flask's signed session cookie, byte for byte: itsdangerous 2.2's `URLSafeTimedSerializer` as
//! Flask 3.1's `SecureCookieSessionInterface` configures it.
//!
//! ```text
//! cookie    = payload "." timestamp "." signature
//! payload   = base64url(json)  |  "." base64url(zlib(json))     (zlib only when it saves ≥ 2 bytes)
//! timestamp = base64url(issued_at as big-endian bytes, leading zero bytes dropped)
//! signature = base64url(HMAC-SHA1(key, payload "." timestamp))
//! key       = HMAC-SHA1(SECRET_KEY, "cookie-session")            (key_derivation="hmac")
//! ```
//!
//! base64url is without padding; `json` is Flask's TaggedJSON ([`flask_json`]). Decoding
//! follows itsdangerous' order: the signature (any key in the ring), then the timestamp, then
//! the age (`now - issued_at` above `max_age`, or negative, is expired), then the payload.
//!
//! Where this is stricter than itsdangerous, on input no Flask app writes: base64 must be
//! canonical (Python skips stray characters and ignores leftover bits), and a payload that
//! inflates past 64 KiB is refused as too large (Python would inflate it). Where Flask answers a
//! verified but unreadable payload with a 500, this gives an empty session ([`RejectReason::Malformed`]).
//!
//! Work buffers and the zlib streams are kept per thread and reused (a zlib compressor holds
//! ~260 KiB, the inflate side ~100 KiB with its output buffer), so a request allocates little
//! more than the cookie and the session it returns.

use std::cell::RefCell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use zeroize::Zeroizing;

use super::deflate_bound::{deflate_cannot_fit, BoundScratch};
use super::{
    flask_json, within_cookie_limit, Codec, CookieFormat, Decoded, EncodeError, RejectReason,
    Rejected, Stamp, MAX_COOKIE_VALUE_LEN,
};
use crate::{value::Dict, KeyRing};

pub(crate) type HmacSha1 = Hmac<Sha1>;

/// Flask's `SecureCookieSessionInterface.salt`.
const SALT: &[u8] = b"cookie-session";

/// A compressed payload inflating past this is refused (a 4 KB cookie can hold megabytes).
const MAX_INFLATED_LEN: usize = 64 * 1024;

/// CPython's `zlib.compress` default (`Z_DEFAULT_COMPRESSION`).
const ZLIB_LEVEL: u32 = 6;

/// zlib output is never shorter than this: a 2-byte header, a final block of at least 10 bits,
/// a 4-byte Adler-32. Below it compression provably cannot save the 2 bytes itsdangerous asks.
const MIN_ZLIB_LEN: usize = 8;

/// An HMAC-SHA1 signature, raw and in unpadded base64url.
const SIG_LEN: usize = 20;
const SIG_B64_LEN: usize = 27;

/// Flask-compatible signed cookies (`SESSION_COOKIE_FORMAT=flask`): a Flask app and a satchel
/// service with the same `SECRET_KEY` read each other's sessions.
///
/// The current key signs; every key in the ring verifies, and a cookie only a fallback key
/// verified comes back with [`Decoded::by_fallback_key`] set. The data is signed, not
/// encrypted: anyone holding the cookie can read it.
///
/// ```
/// use satchel_session::codec::{Codec, Stamp};
/// use satchel_session::codec::FlaskCodec;
/// use satchel_session::{KeyRing, Value};
///
/// let codec = FlaskCodec::new(&KeyRing::new("dev", [""; 0]), 31 * 24 * 3600);
/// let mut data = satchel_session::value::Dict::new();
/// data.insert("user".into(), Value::from("kimi"));
/// let stamp = Stamp { issued_at: 1_700_000_000, created_at: 1_700_000_000, expires_at: 0 };
/// let cookie = codec.encode(&data, &stamp).unwrap();
/// assert_eq!(cookie, "eyJ1c2VyIjoia2ltaSJ9.ZVPxAA.nyowvj9HV4H7VR0MivQXHeL2ZIQ");
/// assert_eq!(codec.decode(&cookie, 1_700_000_100).unwrap().data, data);
/// ```
#[derive(Clone)]
pub struct FlaskCodec {
    /// HMAC states keyed with each derived key, the current key first.
    signers: Vec<HmacSha1>,
    max_age: u64,
}

impl FlaskCodec {
    /// A codec signing with `keys`' current key and verifying with all of them; cookies older
    /// than `max_age_secs` (Flask's `PERMANENT_SESSION_LIFETIME`) are expired.
    ///
    /// ```
    /// use satchel_session::codec::{Codec, Stamp};
    /// use satchel_session::codec::FlaskCodec;
    /// use satchel_session::KeyRing;
    ///
    /// let stamp = Stamp { issued_at: 1000, created_at: 1000, expires_at: 4600 };
    /// let old = FlaskCodec::new(&KeyRing::new("old key", [""; 0]), 3600);
    /// let cookie = old.encode(&Default::default(), &stamp).unwrap();
    ///
    /// let rotated = FlaskCodec::new(&KeyRing::new("new key", ["old key"]), 3600);
    /// assert!(rotated.decode(&cookie, 2000).unwrap().by_fallback_key);
    /// assert!(rotated.decode(&cookie, 5000).is_err()); // more than an hour old
    /// ```
    pub fn new(keys: &KeyRing, max_age_secs: u64) -> Self {
        FlaskCodec {
            signers: keys.all().map(|k| signer(k.as_bytes(), SALT)).collect(),
            max_age: max_age_secs,
        }
    }

    fn sign(&self, signed: &[u8]) -> [u8; SIG_LEN] {
        self.signers[0]
            .clone()
            .chain_update(signed)
            .finalize()
            .into_bytes()
            .into()
    }

    /// The index of the key whose signature `sig` is, compared in constant time.
    fn verify(&self, signed: &[u8], sig: &str) -> Option<usize> {
        let mut raw = [0u8; SIG_LEN + 3];
        let len = URL_SAFE_NO_PAD.decode_slice(sig, &mut raw).ok()?;
        if sig.len() != SIG_B64_LEN || len != SIG_LEN {
            return None;
        }
        self.signers.iter().position(|m| {
            m.clone()
                .chain_update(signed)
                .verify_slice(&raw[..len])
                .is_ok()
        })
    }

    /// itsdangerous' age check: `age = now - ts`, refused when above `max_age` or negative.
    fn check_age(&self, issued_at: u64, now: u64) -> Result<(), RejectReason> {
        let age = i128::from(now) - i128::from(issued_at);
        if age < 0 || age > i128::from(self.max_age) {
            return Err(RejectReason::Expired);
        }
        Ok(())
    }

    fn encode_with(&self, data: &Dict, issued_at: u64, s: &mut Scratch) -> String {
        s.json.clear();
        flask_json::write_dict(data, &mut s.json);
        let compressed = s.deflate_if_shorter();
        let payload = if compressed {
            &s.zbytes[..]
        } else {
            s.json.as_bytes()
        };
        let mut out = String::with_capacity(payload.len() * 4 / 3 + 48);
        if compressed {
            out.push('.');
        }
        URL_SAFE_NO_PAD.encode_string(payload, &mut out);
        self.stamp_and_sign(out, issued_at)
    }

    /// The refresh path: when `previous`'s payload holds exactly the JSON `data` writes, that
    /// payload segment is kept and only the timestamp and signature are new. Whenever
    /// `previous` came from Flask or satchel this is byte for byte what [`encode_with`] gives
    /// (the same JSON always compresses to the same bytes), minus the deflate that dominates it.
    fn reencode_with(
        &self,
        data: &Dict,
        issued_at: u64,
        previous: &str,
        s: &mut Scratch,
    ) -> String {
        s.json.clear();
        flask_json::write_dict(data, &mut s.json);
        let payload = previous
            .rsplitn(3, '.')
            .nth(2)
            .filter(|payload| s.payload_is_json(payload));
        match payload {
            Some(payload) => {
                let mut out = String::with_capacity(payload.len() + 48);
                out.push_str(payload);
                self.stamp_and_sign(out, issued_at)
            }
            None => self.encode_with(data, issued_at, s),
        }
    }

    /// Appends `.timestamp.signature` to a payload segment.
    fn stamp_and_sign(&self, mut out: String, issued_at: u64) -> String {
        out.push('.');
        let ts = issued_at.to_be_bytes();
        URL_SAFE_NO_PAD.encode_string(&ts[issued_at.leading_zeros() as usize / 8..], &mut out);
        let sig = self.sign(out.as_bytes());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut out);
        out
    }
}

impl std::fmt::Debug for FlaskCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlaskCodec")
            .field("keys", &self.signers.len())
            .field("max_age_secs", &self.max_age)
            .finish()
    }
}

/// itsdangerous' `derive_key` with `key_derivation="hmac"`: HMAC-SHA1(secret, salt), ready to
/// sign with (Flask's cookies use the salt `cookie-session`, Flask-Session's signed ids
/// `flask-session`).
pub(crate) fn signer(secret: &[u8], salt: &[u8]) -> HmacSha1 {
    let mut derived = Zeroizing::new([0u8; SIG_LEN]);
    derived.copy_from_slice(&hmac_sha1(secret).chain_update(salt).finalize().into_bytes());
    hmac_sha1(&derived[..])
}

fn hmac_sha1(key: &[u8]) -> HmacSha1 {
    <HmacSha1 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// itsdangerous' `bytes_to_int`: up to 8 big-endian bytes (none is 0).
fn decode_timestamp(text: &str) -> Option<u64> {
    let mut raw = [0u8; 12];
    let len = URL_SAFE_NO_PAD.decode_slice(text, &mut raw).ok()?;
    if len > 8 {
        return None;
    }
    Some(raw[..len].iter().fold(0, |acc, &b| acc << 8 | u64::from(b)))
}

impl Codec for FlaskCodec {
    fn encode(&self, data: &Dict, stamp: &Stamp) -> Result<String, EncodeError> {
        within_cookie_limit(with_scratch(|s| self.encode_with(data, stamp.issued_at, s)))
    }

    fn reencode(&self, data: &Dict, stamp: &Stamp, previous: &str) -> Result<String, EncodeError> {
        within_cookie_limit(with_scratch(|s| {
            self.reencode_with(data, stamp.issued_at, previous, s)
        }))
    }

    fn decode(&self, value: &str, now: u64) -> Result<Decoded, Rejected> {
        if value.len() > MAX_COOKIE_VALUE_LEN {
            return Err(RejectReason::TooLarge.into());
        }
        let (signed, sig) = value.rsplit_once('.').ok_or(RejectReason::Malformed)?;
        let key = self
            .verify(signed.as_bytes(), sig)
            .ok_or(RejectReason::Tampered)?;
        let (payload, ts) = signed.rsplit_once('.').ok_or(RejectReason::Malformed)?;
        let issued_at = decode_timestamp(ts).ok_or(RejectReason::Malformed)?;
        self.check_age(issued_at, now)?;
        let data = with_scratch(|s| s.load_payload(payload))?;
        Ok(Decoded {
            data,
            stamp: Stamp {
                issued_at,
                created_at: issued_at,
                expires_at: issued_at.saturating_add(self.max_age),
            },
            by_fallback_key: key > 0,
        })
    }

    fn format(&self) -> CookieFormat {
        CookieFormat::Flask
    }
}

/// Per-thread buffers and zlib streams, reused across calls.
#[derive(Default)]
struct Scratch {
    json: String,
    /// Deflate output when encoding; the base64-decoded payload when decoding.
    zbytes: Vec<u8>,
    inflated: Vec<u8>,
    /// The compressed payload `inflated` holds the text of (empty when none).
    inflated_from: String,
    deflate: Option<Compress>,
    /// Work space for the proof that compressing would not pay.
    bound: BoundScratch,
    inflate: Option<Decompress>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch space (or a fresh one if it is busy or gone).
fn with_scratch<R>(mut f: impl FnMut(&mut Scratch) -> R) -> R {
    SCRATCH
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut s| f(&mut s)))
        .ok()
        .flatten()
        .unwrap_or_else(|| f(&mut Scratch::default()))
}

impl Scratch {
    /// itsdangerous' choice: zlib-compress `json` into `zbytes` and use that only when
    /// `len(compressed) < len(json) - 1`. The output buffer is capped at that bound, so a stream
    /// that does not finish within it is one itsdangerous would not use; a stream that does is
    /// the same bytes `zlib.compress` gives, as zlib's choices do not depend on output space.
    fn deflate_if_shorter(&mut self) -> bool {
        let json = self.json.as_bytes();
        let Some(limit) = json.len().checked_sub(2).filter(|&l| l >= MIN_ZLIB_LEN) else {
            return false;
        };
        if deflate_cannot_fit(json, &mut self.bound) {
            return false;
        }
        self.zbytes.clear();
        self.zbytes.resize(limit, 0);
        let z = self
            .deflate
            .get_or_insert_with(|| Compress::new(Compression::new(ZLIB_LEVEL), true));
        z.reset();
        let status = z.compress(
            self.json.as_bytes(),
            &mut self.zbytes,
            FlushCompress::Finish,
        );
        let len = usize::try_from(z.total_out()).unwrap_or(usize::MAX);
        self.zbytes.truncate(len);
        matches!(status, Ok(Status::StreamEnd))
    }

    /// The session in a verified payload: base64url, maybe zlib (a leading `.`), TaggedJSON.
    fn load_payload(&mut self, payload: &str) -> Result<Dict, RejectReason> {
        let json = self.payload_bytes(payload)?;
        let text = std::str::from_utf8(json).map_err(|_| RejectReason::Malformed)?;
        flask_json::from_str(text).map_err(|_| RejectReason::Malformed)
    }

    /// Whether `payload` holds exactly the text in `json`.
    fn payload_is_json(&mut self, payload: &str) -> bool {
        let json = std::mem::take(&mut self.json);
        let same = self.payload_bytes(payload) == Ok(json.as_bytes());
        self.json = json;
        same
    }

    /// A payload's JSON bytes: base64url-decoded into `zbytes`, then inflated into `inflated`
    /// when it starts with `.`. The last compressed payload inflated is remembered with its
    /// text, so the refresh that follows a decode (or the same cookie decoded again on this
    /// thread) does not inflate it a second time.
    fn payload_bytes(&mut self, payload: &str) -> Result<&[u8], RejectReason> {
        let (compressed, b64) = match payload.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, payload),
        };
        if compressed && self.inflated_from == payload {
            return Ok(&self.inflated);
        }
        self.zbytes.clear();
        URL_SAFE_NO_PAD
            .decode_vec(b64, &mut self.zbytes)
            .map_err(|_| RejectReason::Malformed)?;
        if compressed {
            self.inflated_from.clear();
            self.inflate()?;
            self.inflated_from.push_str(payload);
            Ok(&self.inflated)
        } else {
            Ok(&self.zbytes)
        }
    }

    /// Inflates `zbytes` into `inflated`, stopping past [`MAX_INFLATED_LEN`].
    fn inflate(&mut self) -> Result<(), RejectReason> {
        self.inflated.clear();
        self.inflated.reserve(MAX_INFLATED_LEN + 1);
        let z = self.inflate.get_or_insert_with(|| Decompress::new(true));
        z.reset(true);
        let status = z.decompress_vec(&self.zbytes, &mut self.inflated, FlushDecompress::Finish);
        if self.inflated.len() > MAX_INFLATED_LEN {
            return Err(RejectReason::TooLarge);
        }
        match status {
            Ok(Status::StreamEnd) => Ok(()),
            _ => Err(RejectReason::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    const MAX_AGE: u64 = 31 * 24 * 3600;
    const NOW: u64 = 1_700_000_000;

    fn codec() -> FlaskCodec {
        FlaskCodec::new(&KeyRing::new("dev", ["old"]), MAX_AGE)
    }

    fn stamp(issued_at: u64) -> Stamp {
        Stamp {
            issued_at,
            created_at: issued_at,
            expires_at: issued_at + MAX_AGE,
        }
    }

    fn session(pairs: &[(&str, Value)]) -> Dict {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn reason(cookie: &str, now: u64) -> RejectReason {
        codec().decode(cookie, now).unwrap_err().reason
    }

    #[test]
    fn compressed_cookies_read_back_right_in_any_order() {
        // Long repetitive values compress; each decode must give its own cookie's data however
        // the thread's remembered payload was left by the one before.
        let a = session(&[("blob", Value::from("a".repeat(300)))]);
        let b = session(&[("blob", Value::from("b".repeat(300)))]);
        let (ca, cb) = (
            codec().encode(&a, &stamp(NOW)).unwrap(),
            codec().encode(&b, &stamp(NOW)).unwrap(),
        );
        assert!(
            ca.starts_with('.') && cb.starts_with('.'),
            "both compressed"
        );
        for (cookie, data) in [(&ca, &a), (&cb, &b), (&ca, &a), (&ca, &a), (&cb, &b)] {
            assert_eq!(&codec().decode(cookie, NOW).unwrap().data, data);
            let later = stamp(NOW + 5);
            assert_eq!(
                codec().reencode(data, &later, cookie),
                codec().encode(data, &later)
            );
        }
    }

    #[test]
    fn cookie_signed_by_flask_decodes() {
        // From Flask 3.1.3: SECRET_KEY="dev", session["user"]="kimi" at 1_700_000_000.
        let cookie = "eyJ1c2VyIjoia2ltaSJ9.ZVPxAA.nyowvj9HV4H7VR0MivQXHeL2ZIQ";
        let decoded = codec().decode(cookie, NOW + 5).unwrap();
        assert_eq!(decoded.data, session(&[("user", Value::from("kimi"))]));
        assert_eq!(decoded.stamp, stamp(NOW));
        assert!(!decoded.by_fallback_key);
    }

    #[test]
    fn compressible_sessions_are_compressed_and_read_back() {
        let data = session(&[("x", Value::from("ab".repeat(500)))]);
        let cookie = codec().encode(&data, &stamp(NOW)).unwrap();
        assert!(cookie.starts_with('.') && cookie.len() < 100, "{cookie}");
        assert_eq!(codec().decode(&cookie, NOW).unwrap().data, data);
    }

    #[test]
    fn fallback_key_verifies_and_is_flagged() {
        let old = FlaskCodec::new(&KeyRing::new("old", [""; 0]), MAX_AGE);
        let cookie = old
            .encode(&session(&[("a", Value::from(1))]), &stamp(NOW))
            .unwrap();
        assert!(codec().decode(&cookie, NOW).unwrap().by_fallback_key);
        let stranger = FlaskCodec::new(&KeyRing::new("other", [""; 0]), MAX_AGE);
        assert_eq!(
            stranger.decode(&cookie, NOW).unwrap_err().reason,
            RejectReason::Tampered
        );
    }

    #[test]
    fn age_is_checked_as_itsdangerous_does() {
        let cookie = codec().encode(&Dict::new(), &stamp(NOW)).unwrap();
        assert!(codec().decode(&cookie, NOW + MAX_AGE).is_ok());
        assert_eq!(reason(&cookie, NOW + MAX_AGE + 1), RejectReason::Expired);
        assert_eq!(reason(&cookie, NOW - 1), RejectReason::Expired);
    }

    #[test]
    fn broken_cookies_are_rejected_with_a_reason() {
        let cookie = codec()
            .encode(&session(&[("a", Value::from(1))]), &stamp(NOW))
            .unwrap();
        let mut flipped = cookie.clone().into_bytes();
        flipped[2] ^= 1;
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(reason(&flipped, NOW), RejectReason::Tampered);
        assert_eq!(reason("nodots", NOW), RejectReason::Malformed);
        assert_eq!(
            reason(&cookie[..cookie.len() - 1], NOW),
            RejectReason::Tampered
        );
        assert_eq!(reason(&"a".repeat(5000), NOW), RejectReason::TooLarge);
    }

    #[test]
    fn verified_but_unreadable_payloads_are_malformed() {
        let c = codec();
        let signed = |payload: &str| {
            let unsigned = format!("{payload}.ZVPxAA");
            let sig = URL_SAFE_NO_PAD.encode(c.sign(unsigned.as_bytes()));
            format!("{unsigned}.{sig}")
        };
        for payload in ["", "W10", "e30x", ".e30", "!!"] {
            assert_eq!(
                c.decode(&signed(payload), NOW).unwrap_err().reason,
                RejectReason::Malformed
            );
        }
        assert!(c.decode(&signed("e30"), NOW).unwrap().data.is_empty());
    }

    #[test]
    fn session_too_big_for_a_cookie_is_refused_by_encode_and_reencode() {
        // Random-looking text neither compresses nor fits.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let text: String = (0..4_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b'!' + (seed % 90) as u8)
            })
            .collect();
        let data = session(&[("t", Value::from(text))]);
        assert!(codec()
            .encode(&data, &stamp(NOW))
            .unwrap_err()
            .is_too_large());
        let small = codec().encode(&Dict::new(), &stamp(NOW)).unwrap();
        assert!(codec()
            .reencode(&data, &stamp(NOW), &small)
            .unwrap_err()
            .is_too_large());
    }

    #[test]
    fn zlib_bombs_are_refused() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut z, &vec![b' '; 2 << 20]).unwrap();
        let bomb = z.finish().unwrap();
        let c = codec();
        let unsigned = format!(".{}.ZVPxAA", URL_SAFE_NO_PAD.encode(&bomb));
        let cookie = format!(
            "{unsigned}.{}",
            URL_SAFE_NO_PAD.encode(c.sign(unsigned.as_bytes()))
        );
        assert!(cookie.len() < MAX_COOKIE_VALUE_LEN);
        assert_eq!(
            c.decode(&cookie, NOW).unwrap_err().reason,
            RejectReason::TooLarge
        );
    }
}
