//! Properties of both cookie formats, over generated sessions holding every kind of [`Value`]:
//! any session round-trips, and any single-byte change to a valid cookie is refused.

use proptest::prelude::*;
use proptest::sample::Index;
use satchel_session::codec::{Codec, Stamp};
use satchel_session::codec::{FlaskCodec, SealedCodec};
use satchel_session::value::{BigInt, Dict};
use satchel_session::{KeyRing, Value};

const NOW: u64 = 1_700_000_000;
const MAX_AGE_SECS: u64 = 31 * 24 * 3600;
const STAMP: Stamp = Stamp {
    created_at: NOW - 3600,
    issued_at: NOW,
    expires_at: NOW + MAX_AGE_SECS,
};

/// 0100-01-01T00:00:00Z and 9999-12-31T23:59:59Z. A Python `datetime` goes down to year 1,
/// but Flask writes a datetime as an HTTP date and reads years 0-99 back as 1969-2068
/// (`email.utils` takes them for two-digit years), so earlier years do not round-trip in
/// Flask either.
const FIRST_SECOND: i64 = -59_011_459_200;
const LAST_SECOND: i64 = 253_402_300_799;

fn keys() -> KeyRing {
    KeyRing::new("property test secret", ["an older secret"])
}

fn codecs() -> [(&'static str, Box<dyn Codec>); 2] {
    [
        ("sealed", Box::new(SealedCodec::new(&keys(), "session"))),
        ("flask", Box::new(FlaskCodec::new(&keys(), MAX_AGE_SECS))),
    ]
}

/// Any string: every Unicode scalar value, control characters and NUL included.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter)
}

/// Dict keys, including the ones TaggedJSON must escape (a one-key dict whose key is a tag).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text(),
        1 => prop::sample::select(vec![" t", " b", " m", " u", " d", " di", "__html__"])
            .prop_map(String::from),
    ]
}

/// Integers outside `i64`, as Python has them.
fn big_int() -> impl Strategy<Value = Value> {
    prop_oneof![
        (i128::from(i64::MAX) + 1..=i128::MAX).prop_map(Value::from),
        (i128::MIN..i128::from(i64::MIN)).prop_map(Value::from),
        "-?[1-9][0-9]{19,45}"
            .prop_map(|digits| Value::BigInt(digits.parse::<BigInt>().expect("canonical digits"))),
    ]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1.0),
        Just(1e300),
        Just(5e-324),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        big_int(),
        float().prop_map(Value::Float),
        text().prop_map(Value::Str),
        prop::collection::vec(any::<u8>(), 0..24).prop_map(Value::Bytes),
        text().prop_map(Value::Markup),
        any::<u128>().prop_map(|n| Value::Uuid(uuid::Uuid::from_u128(n))),
        (FIRST_SECOND..=LAST_SECOND).prop_map(|secs| Value::DateTime(
            time::OffsetDateTime::from_unix_timestamp(secs).expect("in range")
        )),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Tuple),
            prop::collection::btree_map(key(), inner, 0..4).prop_map(Value::Dict),
        ]
    })
}

fn session() -> impl Strategy<Value = Dict> {
    prop::collection::btree_map(key(), value(), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_session_round_trips_through_both_formats(data in session()) {
        for (name, codec) in codecs() {
            let cookie = codec.encode(&data, &STAMP);
            let cookie = match cookie {
                Ok(cookie) => cookie,
                // Only a session too big for one cookie may fail to encode.
                Err(error) => {
                    let json = satchel_session::codec::flask_json::to_string(&data);
                    prop_assert!(json.len() > 2_000, "{name}: {error} for {json}");
                    continue;
                }
            };
            let decoded = codec.decode(&cookie, NOW + 1);
            prop_assert!(decoded.is_ok(), "{name}: {:?} for {cookie}", decoded.unwrap_err());
            let decoded = decoded.unwrap();
            prop_assert_eq!(&decoded.data, &data, "{}", name);
            prop_assert_eq!(decoded.stamp.issued_at, STAMP.issued_at, "{}", name);
            prop_assert!(!decoded.by_fallback_key);
        }
    }

    #[test]
    fn any_single_byte_change_is_rejected(
        data in session(),
        position in any::<Index>(),
        replacement in any::<u8>(),
    ) {
        for (name, codec) in codecs() {
            let Ok(cookie) = codec.encode(&data, &STAMP) else { continue };
            let mut bytes = cookie.clone().into_bytes();
            let at = position.index(bytes.len());
            if bytes[at] == replacement {
                continue;
            }
            bytes[at] = replacement;
            // A byte that breaks UTF-8 arrives as U+FFFD, as a lossy HTTP layer would give it.
            let changed = String::from_utf8_lossy(&bytes);
            let result = codec.decode(&changed, NOW + 1);
            prop_assert!(
                result.is_err(),
                "{name}: byte {at} changed to {replacement:#04x} still opens: {changed}"
            );
        }
    }
}

/// The exhaustive version of the property above on one small session: every position, every
/// other byte. Catches what random sampling rarely hits, such as a lenient base64 decoder that
/// ignores the spare low bits of a final character.
#[test]
fn every_single_byte_change_to_a_small_cookie_is_rejected() {
    let mut data = Dict::new();
    data.insert("_user_id".into(), Value::from("42"));
    data.insert(
        "t".into(),
        Value::Tuple(vec![Value::from(1), Value::Bytes(vec![0, 255])]),
    );
    for (name, codec) in codecs() {
        let cookie = codec.encode(&data, &STAMP).expect("a small session fits");
        assert!(codec.decode(&cookie, NOW + 1).is_ok());
        for at in 0..cookie.len() {
            for replacement in 0..=u8::MAX {
                let mut bytes = cookie.clone().into_bytes();
                if bytes[at] == replacement {
                    continue;
                }
                bytes[at] = replacement;
                let changed = String::from_utf8_lossy(&bytes);
                assert!(
                    codec.decode(&changed, NOW + 1).is_err(),
                    "{name}: byte {at} changed to {replacement:#04x} still opens: {changed}"
                );
            }
        }
    }
}

/// Inputs the fuzzers (fuzz/, scripts/fuzz.sh) found crashing a decoder. Each must be refused
/// or parsed, never panic.
#[test]
fn inputs_found_by_fuzzing_do_not_panic() {
    let json = [
        // HTTP dates whose zone offset overflows i64 arithmetic in `zone_offset` (found by
        // tagged_json, and through a signed payload by flask_cookie).
        r#"{" d":"Wed, 10 Oct 2015 07:2201-000000418765968184431229"}"#,
        r#"{" d":"We@, 82 Oct 055 7:00003456780000 7000034567800000000 GMV"}"#,
    ];
    for text in json {
        let _ = satchel_session::codec::flask_json::from_str(text);
    }
}
