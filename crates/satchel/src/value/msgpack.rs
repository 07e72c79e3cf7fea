//! Flask-Session 0.8's session value: the session dict as MessagePack, the way its
//! `MsgSpecSerializer` (`msgspec.msgpack.Encoder().encode(dict(session))`) writes it and its
//! `msgspec.msgpack.Decoder()` reads it.
//!
//! # The type table
//!
//! What a satchel [`Value`] becomes in Redis, what a Flask view then reads, and what satchel
//! reads back (checked against real Flask-Session and msgspec by
//! `crates/satchel-cli/tests/app_flask_interop.rs`, module `flask_session`):
//!
//! | satchel writes | MessagePack | Flask reads | satchel reads back |
//! |---|---|---|---|
//! | `Null`, `Bool`, `Str` | nil, bool, str | `None`, `bool`, `str` | the same |
//! | `Int` (any `i64`) | int | `int` | `Int` |
//! | `BigInt` within `u64` | uint 64 | `int` | `BigInt` |
//! | `BigInt` beyond 64 bits | — refused at save | | |
//! | `Float` (NaN, ±inf too) | float 64 | `float` | `Float` |
//! | `List`, `Dict` | array, map | `list`, `dict` | the same |
//! | `Tuple` | array | `list` | `List` (as msgspec does to tuples) |
//! | `Bytes` | bin | `bytes` | `Bytes` |
//! | `Uuid` | str (`8-4-4-4-12`) | `str` | `Str` (as msgspec does to UUIDs) |
//! | `DateTime` (UTC) | timestamp extension (-1) | aware `datetime` in UTC | `DateTime` |
//! | `Markup` | — refused at save | | |
//!
//! And what Flask writes, read by satchel: `tuple`, `set`, `frozenset` → array → `List`;
//! naive `datetime`, `date`, `time`, `UUID`, `Decimal` → str → `Str`; aware `datetime` →
//! `DateTime` (to the nanosecond); `bytes`, `bytearray` → `Bytes`; ints beyond 64 bits and
//! `Markup` cannot be saved by Flask-Session either (msgspec raises).
//!
//! Reading is strict where Flask-Session is lax: it falls back to JSON and then to **pickle**
//! when a value is not MessagePack; satchel never unpickles. A value that is not MessagePack,
//! not a map with string keys, or holds an extension other than the timestamp is refused
//! (counted as `RejectReason::Malformed`): the session opens empty and the value is left alone.

use rmpv::Value as Mp;
use time::OffsetDateTime;

use super::{BigInt, Dict, Value};

/// How deep a stored value may nest (msgspec's own limit is deeper; a session never is).
const MAX_DEPTH: usize = 64;

/// MessagePack's timestamp extension type.
const TIMESTAMP: i8 = -1;

/// A value Flask-Session could not read back (what and where), refused before anything is
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MsgpackError(pub String);

/// The session dict as Flask-Session writes it.
pub(crate) fn encode(data: &Dict) -> Result<Vec<u8>, MsgpackError> {
    let value = dict(data, "")?;
    let mut out = Vec::with_capacity(128);
    rmpv::encode::write_value(&mut out, &value).expect("writing to a Vec cannot fail");
    Ok(out)
}

/// The tag of a refused stored value (the store counts it as malformed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Foreign;

/// A stored value back as a session dict, or [`Foreign`] when it is not one.
pub(crate) fn decode(bytes: &[u8]) -> Result<Dict, Foreign> {
    let mut reader = bytes;
    let value =
        rmpv::decode::read_value_with_max_depth(&mut reader, MAX_DEPTH).map_err(|_| Foreign)?;
    if !reader.is_empty() {
        return Err(Foreign);
    }
    match from_mp(value)? {
        Value::Dict(dict) => Ok(dict),
        _ => Err(Foreign),
    }
}

fn dict(data: &Dict, path: &str) -> Result<Mp, MsgpackError> {
    data.iter()
        .map(|(key, value)| {
            Ok((
                Mp::from(key.as_str()),
                to_mp(value, &format!("{path}/{key}"))?,
            ))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Mp::Map)
}

fn list(items: &[Value], path: &str) -> Result<Mp, MsgpackError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| to_mp(item, &format!("{path}/{i}")))
        .collect::<Result<Vec<_>, _>>()
        .map(Mp::Array)
}

fn to_mp(value: &Value, path: &str) -> Result<Mp, MsgpackError> {
    Ok(match value {
        Value::Null => Mp::Nil,
        Value::Bool(b) => Mp::Boolean(*b),
        Value::Int(n) => Mp::from(*n),
        Value::BigInt(n) => match n.as_str().parse::<u64>() {
            Ok(n) => Mp::from(n),
            Err(_) => {
                return Err(MsgpackError(format!(
                    "the integer {} at {path} does not fit in 64 bits",
                    n.as_str()
                )))
            }
        },
        Value::Float(f) => Mp::F64(*f),
        Value::Str(s) => Mp::from(s.as_str()),
        Value::List(items) | Value::Tuple(items) => list(items, path)?,
        Value::Dict(d) => dict(d, path)?,
        Value::Bytes(b) => Mp::Binary(b.clone()),
        Value::Uuid(u) => Mp::from(u.hyphenated().to_string()),
        Value::DateTime(t) => Mp::Ext(TIMESTAMP, timestamp(*t)),
        Value::Markup(_) => {
            return Err(MsgpackError(format!(
                "Markup at {path} (msgspec cannot encode it; store the plain string)"
            )))
        }
    })
}

/// The timestamp extension's 96-bit form (nanoseconds as u32, seconds as i64), which msgspec
/// reads like the shorter ones.
fn timestamp(t: OffsetDateTime) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&t.nanosecond().to_be_bytes());
    out.extend_from_slice(&t.unix_timestamp().to_be_bytes());
    out
}

/// The timestamp extension's three forms (32, 64 and 96 bits) as a UTC time.
fn datetime(data: &[u8]) -> Option<OffsetDateTime> {
    let (secs, nanos) = match data.len() {
        4 => (i64::from(u32::from_be_bytes(data.try_into().ok()?)), 0),
        8 => {
            let both = u64::from_be_bytes(data.try_into().ok()?);
            ((both & 0x3_ffff_ffff) as i64, (both >> 34) as u32)
        }
        12 => (
            i64::from_be_bytes(data[4..].try_into().ok()?),
            u32::from_be_bytes(data[..4].try_into().ok()?),
        ),
        _ => return None,
    };
    if nanos >= 1_000_000_000 {
        return None;
    }
    let t = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    Some(t + time::Duration::nanoseconds(i64::from(nanos)))
}

fn from_mp(value: Mp) -> Result<Value, Foreign> {
    Ok(match value {
        Mp::Nil => Value::Null,
        Mp::Boolean(b) => Value::Bool(b),
        Mp::Integer(n) => match n.as_i64() {
            Some(n) => Value::Int(n),
            None => {
                let n = n.as_u64().ok_or(Foreign)?;
                Value::BigInt(n.to_string().parse::<BigInt>().expect("a decimal u64"))
            }
        },
        Mp::F32(f) => Value::Float(f64::from(f)),
        Mp::F64(f) => Value::Float(f),
        Mp::String(s) => Value::Str(s.into_str().ok_or(Foreign)?),
        Mp::Binary(b) => Value::Bytes(b),
        Mp::Array(items) => Value::List(items.into_iter().map(from_mp).collect::<Result<_, _>>()?),
        Mp::Map(entries) => {
            let mut dict = Dict::new();
            for (key, value) in entries {
                let Mp::String(key) = key else {
                    return Err(Foreign);
                };
                let key = key.into_str().ok_or(Foreign)?;
                dict.insert(key, from_mp(value)?);
            }
            Value::Dict(dict)
        }
        Mp::Ext(TIMESTAMP, data) => Value::DateTime(datetime(&data).ok_or(Foreign)?),
        Mp::Ext(..) => return Err(Foreign),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: Value) -> Value {
        let mut data = Dict::new();
        data.insert("v".into(), value);
        decode(&encode(&data).unwrap())
            .unwrap()
            .remove("v")
            .unwrap()
    }

    #[test]
    fn tuples_come_back_as_lists_and_uuids_as_strings() {
        let t = Value::Tuple(vec![1.into(), "a".into()]);
        assert_eq!(round_trip(t), Value::List(vec![1.into(), "a".into()]));
        let u = uuid::Uuid::from_u128(0x1234);
        assert_eq!(
            round_trip(Value::Uuid(u)),
            Value::Str("00000000-0000-0000-0000-000000001234".into())
        );
    }

    #[test]
    fn every_timestamp_form_reads_as_the_same_instant() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
            + time::Duration::nanoseconds(5);
        assert_eq!(round_trip(Value::DateTime(t)), Value::DateTime(t));
        let whole = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(datetime(&1_700_000_000u32.to_be_bytes()), Some(whole));
        let packed = (5u64 << 34) | 1_700_000_000;
        assert_eq!(datetime(&packed.to_be_bytes()), Some(t));
        assert_eq!(datetime(&[0; 5]), None);
    }

    #[test]
    fn values_flask_session_cannot_hold_are_refused() {
        let mut data = Dict::new();
        data.insert("m".into(), Value::Markup("<b>".into()));
        assert!(encode(&data).unwrap_err().0.contains("Markup at /m"));
        let mut data = Dict::new();
        let big: BigInt = "18446744073709551616".parse().unwrap();
        data.insert("n".into(), Value::List(vec![Value::BigInt(big)]));
        assert!(encode(&data).unwrap_err().0.contains("at /n/0"));
        let max: BigInt = "18446744073709551615".parse().unwrap();
        assert_eq!(round_trip(Value::BigInt(max.clone())), Value::BigInt(max));
    }

    #[test]
    fn foreign_values_are_malformed() {
        // A pickle, a JSON document, a list, a map with an integer key, a trailing byte.
        for bad in [
            &b"\x80\x04\x95"[..],
            b"{\"a\": 1}",
            b"\x91\x01",
            b"\x81\x01\x01",
            b"\x80\x00",
            b"\x81\xa1a\xd4\x05\x00",
        ] {
            assert_eq!(decode(bad), Err(Foreign), "{bad:?}");
        }
        assert_eq!(decode(b"\x80"), Ok(Dict::new()));
    }
}
