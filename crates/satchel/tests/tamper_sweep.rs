//! Tamper sweep over both cookie formats: for 1,000 valid cookies of each, every single-byte
//! substitution at every position and every truncation must be refused.
//!
//! Which substitution bytes: a cookie value is base64url text (flask adds `.` separators), so a
//! byte outside that 65-character alphabet fails the base64 decode before any cryptography
//! runs; the bytes that reach the MAC or AEAD check are the alphabet's. So for the first 20
//! cookies of each format every alphabet character is tried at every position (the complete
//! sweep), and for the other 980 four alphabet characters and one byte from outside it,
//! rotating with the position and the cookie so that across the set every (position,
//! character) pair of each cookie shape is covered many times. About a million decodes per
//! format, spread over the machine's cores.
//!
//! Where Flask is laxer: itsdangerous decodes base64 ignoring leftover bits, so a Flask app
//! accepts a cookie whose signature's last character differs only in its two spare bits.
//! satchel refuses that spelling (canonical base64 only), so no substitution at all may open
//! here, and none does.

use satchel_session::codec::{Codec, Stamp};
use satchel_session::codec::{FlaskCodec, SealedCodec};
use satchel_session::value::Dict;
use satchel_session::{KeyRing, Value};

const NOW: u64 = 1_700_000_000;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
const COOKIES: usize = 1_000;
const COMPLETE: usize = 20;

fn session(i: usize) -> Dict {
    let mut data = Dict::new();
    data.insert("n".into(), Value::from(i as i64));
    data.insert("user".into(), Value::from(format!("user{i}")));
    if i.is_multiple_of(3) {
        // Compressible: the flask format zlib-compresses these.
        data.insert("blob".into(), Value::from("ab".repeat(i % 30)));
    }
    if i.is_multiple_of(5) {
        data.insert("raw".into(), Value::Bytes(vec![i as u8; i % 20]));
    }
    data
}

fn substitutes(cookie: usize, position: usize, original: u8) -> Vec<u8> {
    if cookie < COMPLETE {
        return ALPHABET
            .iter()
            .copied()
            .filter(|&b| b != original)
            .collect();
    }
    let mut out: Vec<u8> = (0..4)
        .map(|j| ALPHABET[(cookie * 7 + position * 13 + j * 17) % ALPHABET.len()])
        .filter(|&b| b != original)
        .collect();
    let outside = (cookie * 31 + position * 11) % 256;
    let outside = u8::try_from(outside).unwrap();
    if !ALPHABET.contains(&outside) && outside != original {
        out.push(outside);
    }
    out
}

/// Every mutation of cookies `range` that `codec` opens, as (cookie, description).
fn sweep(codec: &dyn Codec, cookies: &[String], range: std::ops::Range<usize>) -> Vec<String> {
    let mut accepted = Vec::new();
    for i in range {
        let cookie = cookies[i].as_bytes();
        for position in 0..cookie.len() {
            for byte in substitutes(i, position, cookie[position]) {
                let mut mutated = cookie.to_vec();
                mutated[position] = byte;
                let Ok(text) = String::from_utf8(mutated) else {
                    continue; // not a header value a client can send as a str
                };
                if codec.decode(&text, NOW + 1).is_ok() {
                    accepted.push(format!("cookie {i}: byte {position} -> {byte:#04x}"));
                }
            }
        }
        for len in 0..cookie.len() {
            if codec.decode(&cookies[i][..len], NOW + 1).is_ok() {
                accepted.push(format!("cookie {i}: truncated to {len}"));
            }
        }
    }
    accepted
}

fn sweep_all(codec: &(dyn Codec + Sync)) {
    let stamp = Stamp {
        issued_at: NOW,
        created_at: NOW,
        expires_at: NOW + 3600,
    };
    let cookies: Vec<String> = (0..COOKIES)
        .map(|i| codec.encode(&session(i), &stamp).unwrap())
        .collect();
    for cookie in &cookies {
        assert!(
            codec.decode(cookie, NOW + 1).is_ok(),
            "a valid cookie opens"
        );
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = COOKIES.div_ceil(threads);
    let accepted: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let cookies = &cookies;
                let range = t * chunk..((t + 1) * chunk).min(COOKIES);
                scope.spawn(move || sweep(codec, cookies, range))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(accepted.is_empty(), "mutations that opened: {accepted:?}");
}

fn ring() -> KeyRing {
    KeyRing::new("tamper sweep secret", ["tamper sweep fallback"])
}

#[test]
fn no_single_byte_substitution_or_truncation_of_a_sealed_cookie_opens() {
    sweep_all(&SealedCodec::new(&ring(), "session"));
}

#[test]
fn no_single_byte_substitution_or_truncation_of_a_flask_cookie_opens() {
    sweep_all(&FlaskCodec::new(&ring(), 31 * 24 * 3600));
}
