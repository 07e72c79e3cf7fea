//! Cookie codec benchmarks: a full round trip (decode + encode, what a request that changes
//! its session costs) and a refresh (decode + re-issue unchanged) for both formats, next to each primitive the round trip is built from,
//! on a ~200-byte and a ~3 KB session.
//!
//! ```text
//! cargo bench -p satchel-session --bench codec                  # full run
//! cargo bench -p satchel-session --bench codec -- --quick       # a quick look
//! cargo bench -p satchel-session --bench codec -- 200B          # one size only
//! python scripts/bench_itsdangerous.py                  # Flask's own, for comparison
//! ```
//!
//! Read a format's round trip against the sum of its primitives. Sealed: seal, open, base64
//! encode and decode, JSON write and parse. Flask: two HMAC-SHA1, base64 encode and decode,
//! JSON write and parse, and deflate and inflate when Flask compresses (it does for the 3 KB
//! session).

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use aes_gcm_siv::aead::{AeadInOut, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Key, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use flate2::write::{ZlibDecoder, ZlibEncoder};
use flate2::Compression;
use hmac::{Hmac, Mac};
use rand::{Rng as _, TryRng as _};
use satchel_session::codec::{flask_json, Codec, Stamp};
use satchel_session::codec::{FlaskCodec, SealedCodec};
use satchel_session::value::Dict;
use satchel_session::{KeyRing, Value};

const NOW: u64 = 1_700_000_000;
const MAX_AGE_SECS: u64 = 31 * 24 * 3600;
const STAMP: Stamp = Stamp {
    created_at: NOW,
    issued_at: NOW,
    expires_at: NOW + MAX_AGE_SECS,
};

/// A logged-in user's session, as Flask-Login and Flask-WTF leave it (~200 bytes of JSON).
fn small_session() -> Dict {
    let mut data = Dict::new();
    data.insert("_fresh".into(), Value::Bool(true));
    data.insert(
        "_id".into(),
        Value::from("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    );
    data.insert("_user_id".into(), Value::from("42"));
    data.insert(
        "csrf_token".into(),
        Value::from("2f1e0c56a3b0d5e8f7c9a4b1d2e3f40516273849"),
    );
    data.insert("theme".into(), Value::from("dark"));
    data.insert("cart".into(), Value::from(vec![3, 14, 15]));
    data
}

/// The small session plus a shopping cart, to ~2.9 KB of JSON (just under the 3015 bytes a
/// sealed cookie holds).
fn large_session() -> Dict {
    let mut data = small_session();
    let mut cart = Vec::new();
    while flask_json::to_string(&data).len() < 2_800 {
        let n = cart.len();
        let mut item = Dict::new();
        item.insert(
            "sku".into(),
            Value::from(format!("SKU-{:06}", 100_003 * n % 999_983)),
        );
        item.insert("qty".into(), Value::from(n % 4 + 1));
        item.insert(
            "name".into(),
            Value::from(format!("Item number {n} in the cart")),
        );
        item.insert("price".into(), Value::Float(9.99 + n as f64));
        cart.push(Value::Dict(item));
        data.insert("items".into(), Value::List(cart.clone()));
    }
    data
}

fn keys() -> KeyRing {
    KeyRing::new("a benchmark secret key, long enough", [""; 0])
}

/// Decode a valid cookie and encode the session again (`round_trip`: what a request that
/// changed the session pays for its cookie, as the data is encoded afresh), or re-issue it
/// unchanged (`refresh`).
fn round_trip(c: &mut Criterion, label: &str, data: &Dict) {
    let codecs: [(&str, Box<dyn Codec>); 2] = [
        ("sealed", Box::new(SealedCodec::new(&keys(), "session"))),
        ("flask", Box::new(FlaskCodec::new(&keys(), MAX_AGE_SECS))),
    ];
    // 64 sessions that differ in one field, one cookie each, taken in turn: a server sees a
    // different cookie on every request, and the flask codec remembers the last payload it
    // inflated on a thread (which the refresh after a decode uses), so one cookie decoded over
    // and over would measure that memo, not a request.
    let variants: Vec<Dict> = (0..64)
        .map(|i| {
            let mut variant = data.clone();
            variant.insert("v".into(), Value::from(i));
            variant
        })
        .collect();
    for (format, codec) in codecs {
        let cookies: Vec<String> = variants
            .iter()
            .map(|d| codec.encode(d, &STAMP).expect("the session fits a cookie"))
            .collect();
        eprintln!(
            "{format}/{label}: cookie value is {} bytes",
            cookies[0].len()
        );
        let mut group = c.benchmark_group(format!("{format}/{label}"));
        let mut turn = cookies.iter().cycle();
        group.bench_function("round_trip", |b| {
            b.iter(|| {
                let cookie = turn.next().expect("endless");
                let decoded = codec.decode(black_box(cookie), NOW + 1).expect("valid");
                codec.encode(&decoded.data, &STAMP).expect("fits")
            })
        });
        // The same request when nothing changed and the session is permanent: Flask re-signs
        // it with a new timestamp (SESSION_REFRESH_EACH_REQUEST), satchel via `reencode`.
        group.bench_function("refresh", |b| {
            b.iter(|| {
                let cookie = turn.next().expect("endless");
                let decoded = codec.decode(black_box(cookie), NOW + 1).expect("valid");
                codec
                    .reencode(&decoded.data, &STAMP, black_box(cookie))
                    .expect("fits")
            })
        });
        group.bench_function("encode", |b| {
            b.iter(|| codec.encode(black_box(data), &STAMP))
        });
        group.bench_function("decode", |b| {
            b.iter(|| codec.decode(black_box(turn.next().expect("endless")), NOW + 1))
        });
        group.finish();
    }
}

/// Each primitive on the sizes the round trip gives it.
fn primitives(c: &mut Criterion, label: &str, data: &Dict) {
    let json = flask_json::to_string(data);
    // What the sealed format encrypts (stamps + JSON) and what it base64-encodes.
    let plaintext: Vec<u8> = [&[0u8; 24][..], json.as_bytes()].concat();
    let raw_len = 17 + plaintext.len() + 16;
    let raw = vec![0x5a_u8; raw_len];
    let encoded = URL_SAFE_NO_PAD.encode(&raw);
    eprintln!("{label}: JSON is {} bytes", json.len());

    let mut group = c.benchmark_group(format!("primitives/{label}"));

    let cipher = Aes256GcmSiv::new(&Key::<Aes256GcmSiv>::from([7u8; 32]));
    let nonce = Nonce::from([1u8; 12]);
    let ad = b"\x01abcdsession";
    group.bench_function("aes256gcmsiv_seal", |b| {
        b.iter_batched_ref(
            || plaintext.clone(),
            |buffer| cipher.encrypt_inout_detached(&nonce, ad, buffer.as_mut_slice().into()),
            BatchSize::SmallInput,
        )
    });
    let mut sealed = plaintext.clone();
    let tag = cipher
        .encrypt_inout_detached(&nonce, ad, sealed.as_mut_slice().into())
        .expect("seal");
    group.bench_function("aes256gcmsiv_open", |b| {
        b.iter_batched_ref(
            || sealed.clone(),
            |buffer| cipher.decrypt_inout_detached(&nonce, ad, buffer.as_mut_slice().into(), &tag),
            BatchSize::SmallInput,
        )
    });

    // Flask signs the base64 text of the payload plus a timestamp.
    let signed_text = format!("{}.ZVbPgA", URL_SAFE_NO_PAD.encode(json.as_bytes()));
    let hmac_key = [9u8; 20];
    group.bench_function("hmac_sha1", |b| {
        b.iter(|| {
            let mut mac = <Hmac<sha1::Sha1>>::new_from_slice(&hmac_key).expect("any key length");
            mac.update(black_box(signed_text.as_bytes()));
            mac.finalize().into_bytes()
        })
    });

    group.bench_function("base64_encode", |b| {
        b.iter(|| URL_SAFE_NO_PAD.encode(black_box(&raw)))
    });
    group.bench_function("base64_decode", |b| {
        b.iter(|| URL_SAFE_NO_PAD.decode(black_box(&encoded)))
    });

    group.bench_function("json_write", |b| {
        b.iter(|| flask_json::to_string(black_box(data)))
    });
    group.bench_function("json_parse", |b| {
        b.iter(|| flask_json::from_str(black_box(&json)))
    });

    group.bench_function("zlib6_deflate", |b| {
        b.iter(|| {
            let mut encoder = ZlibEncoder::new(Vec::with_capacity(json.len()), Compression::new(6));
            encoder
                .write_all(black_box(json.as_bytes()))
                .expect("in memory");
            encoder.finish().expect("in memory")
        })
    });
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::new(6));
    encoder.write_all(json.as_bytes()).expect("in memory");
    let deflated = encoder.finish().expect("in memory");
    group.bench_function("zlib_inflate", |b| {
        b.iter(|| {
            let mut decoder = ZlibDecoder::new(Vec::with_capacity(json.len()));
            decoder.write_all(black_box(&deflated)).expect("in memory");
            decoder.finish().expect("in memory")
        })
    });
    group.finish();
}

fn nonces(c: &mut Criterion) {
    let mut group = c.benchmark_group("primitives/nonce");
    group.bench_function("thread_rng_12_bytes", |b| {
        b.iter(|| {
            let mut nonce = [0u8; 12];
            rand::rng().fill_bytes(&mut nonce);
            nonce
        })
    });
    group.bench_function("os_rng_12_bytes", |b| {
        b.iter(|| {
            let mut nonce = [0u8; 12];
            rand::rngs::SysRng.try_fill_bytes(&mut nonce).unwrap();
            nonce
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    for (label, data) in [("200B", small_session()), ("3KB", large_session())] {
        round_trip(c, label, &data);
        primitives(c, label, &data);
    }
    nonces(c);
}

criterion_group! {
    name = codec;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40);
    targets = benches
}
criterion_main!(codec);
