//! serde for [`Value`] itself: it serializes as the data it holds (the Flask kinds as their
//! reserved newtypes), and deserializes from any self-describing format, or from a `Value`
//! with every Flask kind kept.

use std::fmt;

use serde::de::{self, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use serde::Deserialize;

use crate::value::wrappers::{KindRef, BIGINT, BYTES, DATETIME, MARKUP, TUPLE, UUID, VALUE};
use crate::value::{
    from_u128, BigInt, Dict, FlaskBytes, FlaskDateTime, FlaskMarkup, FlaskTuple, FlaskUuid, Value,
};

/// `Value` serializes as the data it holds; the Flask kinds as their reserved newtypes (see
/// [`FlaskTuple`] and the other wrappers), so [`to_value`](crate::value::to_value) gets them back and
/// serde_json sees plain JSON (NaN and infinities become `null`, as serde_json writes them).
///
/// ```
/// use satchel_session::value::{to_value, FlaskTuple};
/// use satchel_session::Value;
///
/// let v = Value::from(FlaskTuple(vec![Value::from(1), Value::Float(f64::NAN)]));
/// assert_eq!(to_value(&v).unwrap(), v);
/// assert_eq!(serde_json::to_string(&v).unwrap(), "[1,null]");
/// ```
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(n) => s.serialize_i64(*n),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(text) => s.serialize_str(text),
            Value::List(items) => s.collect_seq(items),
            Value::Dict(map) => s.collect_map(map),
            Value::BigInt(n) => KindRef::BigInt(n.as_str()).serialize(s),
            Value::Tuple(items) => KindRef::Tuple(items).serialize(s),
            Value::Bytes(bytes) => KindRef::Bytes(bytes).serialize(s),
            Value::Markup(text) => KindRef::Markup(text).serialize(s),
            Value::Uuid(id) => KindRef::Uuid(id).serialize(s),
            Value::DateTime(dt) => KindRef::DateTime(dt).serialize(s),
        }
    }
}

/// `Value` deserializes from any self-describing format (serde_json, …); from a `Value` (through
/// [`from_value`](crate::value::from_value)) it keeps every Flask kind, so a `Value` nested in a user struct round trips.
///
/// ```
/// use satchel_session::value::{from_value, to_value};
/// use satchel_session::Value;
///
/// let v: Value = serde_json::from_str(r#"{"a": [1, 2.5, null], "b": 18446744073709551615}"#).unwrap();
/// let Value::Dict(d) = &v else { panic!() };
/// assert_eq!(d["a"], Value::List(vec![Value::Int(1), Value::Float(2.5), Value::Null]));
/// assert_eq!(d["b"], Value::from(u64::MAX)); // a `Value::BigInt`
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Wrapper { extra: Value }
/// let bytes = Value::Bytes(vec![1, 2]);
/// let w: Wrapper = from_value(&to_value(&Wrapper { extra: bytes.clone() }).unwrap()).unwrap();
/// assert_eq!(w.extra, bytes);
/// ```
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(VALUE, ValueVisitor)
    }
}

struct ValueVisitor;

/// `Visitor` methods that are `Value::from` of their argument.
macro_rules! visit_via_from {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Value, E> {
            Ok(Value::from(v))
        }
    )*};
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    visit_via_from!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_i128(i128),
        visit_f64(f64),
        visit_str(&str),
        visit_string(String),
    );

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(from_u128(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        // Not `Value::deserialize(d)`: that would ask for the newtype again.
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut dict = Dict::new();
        while let Some((KeyText(key), value)) = map.next_entry()? {
            dict.insert(key, value);
        }
        Ok(Value::Dict(dict))
    }

    /// A Flask kind from [`from_value`] (variant named after the kind); from other formats an
    /// enum is `{variant: content}`.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (name, variant): (String, _) = data.variant()?;
        match name.as_str() {
            TUPLE => variant.newtype_variant::<FlaskTuple>().map(Value::from),
            BYTES => variant.newtype_variant::<FlaskBytes>().map(Value::from),
            MARKUP => variant.newtype_variant::<FlaskMarkup>().map(Value::from),
            UUID => variant.newtype_variant::<FlaskUuid>().map(Value::from),
            DATETIME => variant.newtype_variant::<FlaskDateTime>().map(Value::from),
            BIGINT => variant.newtype_variant::<BigInt>().map(Value::BigInt),
            _ => {
                let content = variant.newtype_variant::<Value>()?;
                Ok(Value::Dict(Dict::from([(name, content)])))
            }
        }
    }
}

/// A map key from another format: a string, or an integer or bool as its text.
struct KeyText(String);

/// `Visitor` methods turning a key into its text.
macro_rules! key_text {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<KeyText, E> {
            Ok(KeyText(v.to_string()))
        }
    )*};
}

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, integer or bool map key")
            }
            key_text!(
                visit_bool(bool),
                visit_i64(i64),
                visit_u64(u64),
                visit_i128(i128),
                visit_u128(u128),
                visit_str(&str),
            );
            fn visit_string<E: de::Error>(self, v: String) -> Result<KeyText, E> {
                Ok(KeyText(v))
            }
        }
        d.deserialize_any(V)
    }
}
