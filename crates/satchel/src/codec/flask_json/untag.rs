//! Untagging: each Flask tag's `to_python`, `None` where Python raises.

use base64::Engine as _;

use super::date::parse_rfc2822;
use super::write::write_float_repr;
use crate::value::{Dict, Value};

/// `TagDict.to_python`: `{key[:-2]: value[key]}` for the content's first key.
pub(super) fn untag_dict(content: Value, first_key: Option<String>) -> Option<Value> {
    let Value::Dict(mut inner) = content else {
        return None;
    };
    let (key, value) = if inner.len() == 1 {
        inner.pop_first()?
    } else {
        let key = first_key?;
        let value = inner.remove(&key)?;
        (key, value)
    };
    let cut = key.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
    let mut out = Dict::new();
    out.insert(key[..cut].to_owned(), value);
    Some(Value::Dict(out))
}

/// `tuple(value)`.
pub(super) fn untag_tuple(content: Value) -> Option<Value> {
    let chars = |s: &str| s.chars().map(|c| Value::Str(c.to_string())).collect();
    Some(Value::Tuple(match content {
        Value::List(items) | Value::Tuple(items) => items,
        Value::Str(s) | Value::Markup(s) => chars(&s),
        Value::Dict(d) => d.into_keys().map(Value::Str).collect(),
        Value::Bytes(b) => b.into_iter().map(Value::from).collect(),
        _ => return None,
    }))
}

/// `base64.b64decode(value)`, for the padded standard base64 Flask writes.
pub(super) fn untag_bytes(content: Value) -> Option<Value> {
    let decoded = match &content {
        Value::Str(s) | Value::Markup(s) => lenient_b64(s.as_bytes()),
        Value::Bytes(b) => lenient_b64(b),
        _ => None,
    };
    decoded.map(Value::Bytes)
}

/// Padded standard base64, ignoring leftover bits in the last character as Python does.
fn lenient_b64(text: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const PYTHON: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    PYTHON.decode(text).ok()
}

/// `Markup(value)`: text stays text; a scalar becomes Python's `str()` of it.
pub(super) fn untag_markup(content: Value) -> Option<Value> {
    let text = match content {
        Value::Str(s) | Value::Markup(s) => s,
        Value::Null => "None".to_owned(),
        Value::Bool(b) => (if b { "True" } else { "False" }).to_owned(),
        Value::Int(n) => n.to_string(),
        Value::BigInt(n) => n.as_str().to_owned(),
        Value::Float(f) if f.is_nan() => "nan".to_owned(),
        Value::Float(f) if f.is_infinite() => (if f > 0.0 { "inf" } else { "-inf" }).to_owned(),
        Value::Float(f) => {
            let mut s = String::new();
            write_float_repr(f, &mut s);
            s
        }
        _ => return None,
    };
    Some(Value::Markup(text))
}

/// `uuid.UUID(value)`: `urn:`/`uuid:` prefixes, braces and hyphens dropped, 32 hex digits left.
pub(super) fn untag_uuid(content: Value) -> Option<Value> {
    let (Value::Str(s) | Value::Markup(s)) = content else {
        return None;
    };
    let s = s.replace("urn:", "").replace("uuid:", "");
    let hex: String = s
        .trim_matches(|c| c == '{' || c == '}')
        .chars()
        .filter(|&c| c != '-')
        .collect();
    if hex.chars().count() != 32 {
        return None;
    }
    u128::from_str_radix(&hex, 16)
        .ok()
        .map(|n| Value::Uuid(uuid::Uuid::from_u128(n)))
}

/// Werkzeug's `parse_date(value)`: a datetime, or `None` for text it cannot read.
pub(super) fn untag_datetime(content: Value) -> Option<Value> {
    match content {
        Value::Str(s) | Value::Markup(s) => {
            Some(parse_rfc2822(&s).map_or(Value::Null, Value::DateTime))
        }
        other if !other.is_truthy() => Some(Value::Null),
        _ => None,
    }
}
