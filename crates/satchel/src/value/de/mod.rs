//! Deserialization out of a [`Value`] ([`from_value`]: a borrowed `Value` is a serde
//! `Deserializer`), and serde for `Value` itself.
//!
//! `mod.rs` is the `Deserializer` for `&Value`; `access.rs`, the sequence, map, key and enum
//! access it hands to visitors; `value_serde.rs`, `Value`'s own `Serialize` and
//! `Deserialize`.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{DeserializeOwned, Deserializer, Error as _, Visitor};
use serde::forward_to_deserialize_any;

pub(crate) use self::access::visit_entries;
use self::access::{visit_map, visit_seq, EnumDeserializer};
use super::wrappers::{BIGINT, BYTES, DATETIME, MARKUP, TUPLE, UUID, VALUE};
use super::{unexpected, Value, ValueError};

mod access;
#[cfg(test)]
mod tests;
mod value_serde;

/// Converts a [`Value`] to any `Deserialize` type.
///
/// Accepts what serde_json would for the same JSON, plus the Flask kinds: a tuple reads as a
/// sequence, `Markup` as a string, a UUID as its hyphenated string, a datetime as `i64` unix
/// seconds, bytes as a byte array; the wrapper types ([`FlaskTuple`](super::FlaskTuple), …) read their kind back.
/// Big integers read into `i128`/`u128` when they fit (or into [`BigInt`](super::BigInt) always). Errors say
/// what was expected and what was found.
///
/// ```
/// use satchel_session::value::{from_value, to_value};
///
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct User { name: String, age: u8, tags: Option<Vec<String>> }
///
/// let user = User { name: "Kimi".into(), age: 25, tags: None };
/// let v = to_value(&user).unwrap();
/// assert_eq!(from_value::<User>(&v).unwrap(), user);
///
/// let err = from_value::<u8>(&satchel_session::Value::from("x")).unwrap_err();
/// assert_eq!(err.to_string(), "invalid type: string \"x\", expected u8");
/// ```
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, ValueError> {
    T::deserialize(v)
}

/// The reserved newtype name of a Flask kind (see `wrappers.rs`), `None` for plain data.
fn kind_name(v: &Value) -> Option<&'static str> {
    match v {
        Value::Tuple(_) => Some(TUPLE),
        Value::Bytes(_) => Some(BYTES),
        Value::Markup(_) => Some(MARKUP),
        Value::Uuid(_) => Some(UUID),
        Value::DateTime(_) => Some(DATETIME),
        Value::BigInt(_) => Some(BIGINT),
        _ => None,
    }
}

/// A borrowed [`Value`] is a serde `Deserializer`; [`from_value`] is `T::deserialize(&value)`.
///
/// ```
/// use serde::Deserialize;
/// use satchel_session::Value;
///
/// let v = Value::from(vec![1, 2]);
/// assert_eq!(<(u8, i64)>::deserialize(&v).unwrap(), (1, 2));
/// ```
impl<'de> Deserializer<'de> for &'de Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(n) => visitor.visit_i64(*n),
            Value::BigInt(n) => {
                // u64 first: the primitive visitors below 128 bits only take i64/u64.
                if let Ok(n) = n.as_str().parse::<u64>() {
                    visitor.visit_u64(n)
                } else if let Some(small) = n.to_i128() {
                    visitor.visit_i128(small)
                } else if let Ok(big) = n.as_str().parse::<u128>() {
                    visitor.visit_u128(big)
                } else {
                    Err(ValueError(format!(
                        "integer {n} does not fit in 128 bits (read it as satchel_session::value::BigInt)"
                    )))
                }
            }
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) | Value::Markup(s) => visitor.visit_borrowed_str(s),
            Value::List(items) | Value::Tuple(items) => visit_seq(items, visitor),
            Value::Dict(map) => visit_map(map, visitor),
            Value::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Value::Uuid(id) => visitor.visit_str(
                id.hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer()),
            ),
            Value::DateTime(dt) => visitor.visit_i64(dt.unix_timestamp()),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match (name, self) {
            // `Value`'s own `Deserialize` asks for Flask kinds as an enum variant named after the
            // kind; only `ValueVisitor` ever sees this.
            (VALUE, _) => match kind_name(self) {
                Some(kind) => visitor.visit_enum(EnumDeserializer {
                    variant: kind,
                    content: Some(self),
                }),
                None => self.deserialize_any(visitor),
            },
            // A `BigInt` reads its text, which works at any size.
            (BIGINT, Value::BigInt(n)) => {
                visitor.visit_newtype_struct(BorrowedStrDeserializer::<ValueError>::new(n.as_str()))
            }
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        let access = match self {
            Value::Str(variant) => EnumDeserializer {
                variant,
                content: None,
            },
            Value::Dict(map) if map.len() == 1 => {
                let (variant, content) = map.iter().next().expect("one entry");
                EnumDeserializer {
                    variant,
                    content: Some(content),
                }
            }
            other => {
                return Err(ValueError::invalid_type(
                    unexpected(other),
                    &"an enum: a variant name or a map with a single key",
                ))
            }
        };
        visitor.visit_enum(access)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}
