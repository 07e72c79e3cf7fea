//! Serialization into a [`Value`]: a serde `Serializer` that builds the value directly
//! (`mod.rs`, with the builders of lists and dicts), and the serializer of dict keys
//! (`key.rs`).

use serde::de::Error as _;
use serde::ser::{self, Serialize};

use self::key::KeySerializer;
use super::wrappers::{expecting, IntText, Kind, BIGINT, BYTES, DATETIME, MARKUP, TUPLE, UUID};
use super::{from_u128, unexpected};
use super::{BigInt, Dict, FlaskDateTime, FlaskUuid, Value, ValueError};

mod key;
#[cfg(test)]
mod tests;

/// Converts any `Serialize` type to a [`Value`].
///
/// Integers that fit `i64` become [`Value::Int`], larger ones [`Value::BigInt`]; floats keep NaN
/// and infinities; structs and maps become [`Value::Dict`] (map keys must be strings, integers or
/// bools; the latter two become their text, as Python's `json` does); enums are externally tagged
/// (`"Unit"`, `{"Variant": content}`). The wrapper types ([`FlaskTuple`](super::FlaskTuple), …)
/// keep their Flask kind.
///
/// ```
/// use satchel_session::value::{to_value, FlaskTuple};
/// use satchel_session::Value;
///
/// #[derive(serde::Serialize)]
/// struct User { name: String, age: u64, pos: FlaskTuple }
///
/// let v = to_value(&User {
///     name: "Kimi".into(),
///     age: 25,
///     pos: FlaskTuple(vec![1.into(), 2.into()]),
/// })
/// .unwrap();
/// let Value::Dict(d) = v else { panic!() };
/// assert_eq!(d["name"], Value::from("Kimi"));
/// assert_eq!(d["age"], Value::Int(25));
/// assert_eq!(d["pos"], Value::Tuple(vec![Value::Int(1), Value::Int(2)]));
/// assert!(matches!(to_value(&u128::MAX).unwrap(), Value::BigInt(_)));
/// ```
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, ValueError> {
    v.serialize(ValueSerializer)
}

/// `content`, or `{variant: content}` for an enum variant.
fn tagged(variant: Option<&'static str>, content: Value) -> Value {
    match variant {
        Some(name) => Value::Dict(Dict::from([(name.to_owned(), content)])),
        None => content,
    }
}

/// The value of a newtype struct named `name` whose content serialized to `inner`: the Flask
/// kind for a reserved name, else `inner` itself.
fn newtype(name: &'static str, inner: Value) -> Result<Value, ValueError> {
    match (name, inner) {
        (TUPLE, Value::List(items)) => Ok(Value::Tuple(items)),
        (BYTES, Value::Bytes(bytes)) => Ok(Value::Bytes(bytes)),
        (MARKUP, Value::Str(text)) => Ok(Value::Markup(text)),
        (UUID, Value::Str(text)) => FlaskUuid::from_inner(text).map(Value::from),
        (DATETIME, Value::Int(secs)) => FlaskDateTime::from_inner(secs).map(Value::from),
        (BIGINT, Value::Int(n)) => Ok(Value::BigInt(BigInt(n.to_string()))),
        (BIGINT, big @ Value::BigInt(_)) => Ok(big),
        (BIGINT, Value::Str(text)) => BigInt::from_inner(IntText(text)).map(Value::BigInt),
        (_, other) => match expecting(name) {
            Some(expected) => Err(ValueError::invalid_type(unexpected(&other), &expected)),
            None => Ok(other),
        },
    }
}

/// The serializer behind [`to_value`].
struct ValueSerializer;

/// `Serializer` methods that are `Value::from` of their argument.
macro_rules! serialize_via_from {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<Value, ValueError> {
            Ok(Value::from(v))
        }
    )*};
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    serialize_via_from!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_str(&str),
    );

    fn serialize_u128(self, v: u128) -> Result<Value, ValueError> {
        Ok(from_u128(v))
    }

    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::Str(v.to_string()))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ValueError> {
        Ok(Value::Bytes(v.to_vec()))
    }

    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ValueError> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::from(variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        newtype(name, v.serialize(self)?)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        Ok(tagged(Some(variant), v.serialize(self)?))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder::new(len, None))
    }

    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder::new(Some(len), None))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder::new(Some(len), None))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, ValueError> {
        Ok(SeqBuilder::new(Some(len), Some(variant)))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<MapBuilder, ValueError> {
        Ok(MapBuilder::new(None))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapBuilder, ValueError> {
        Ok(MapBuilder::new(None))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<MapBuilder, ValueError> {
        Ok(MapBuilder::new(Some(variant)))
    }
}

/// Builds a [`Value::List`] (tagged with the variant for a tuple variant).
struct SeqBuilder {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

impl SeqBuilder {
    fn new(len: Option<usize>, variant: Option<&'static str>) -> Self {
        let items = Vec::with_capacity(len.unwrap_or(0).min(4096));
        SeqBuilder { items, variant }
    }
}

/// The sequence-like `Serialize*` traits, all pushing onto a [`SeqBuilder`].
macro_rules! seq_builder {
    ($($trait:ident::$method:ident),* $(,)?) => {$(
        impl ser::$trait for SeqBuilder {
            type Ok = Value;
            type Error = ValueError;

            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
                self.items.push(to_value(v)?);
                Ok(())
            }

            fn end(self) -> Result<Value, ValueError> {
                Ok(tagged(self.variant, Value::List(self.items)))
            }
        }
    )*};
}

seq_builder!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

/// Builds a [`Value::Dict`] (tagged with the variant for a struct variant).
struct MapBuilder {
    map: Dict,
    key: Option<String>,
    variant: Option<&'static str>,
}

impl MapBuilder {
    fn new(variant: Option<&'static str>) -> Self {
        MapBuilder {
            map: Dict::new(),
            key: None,
            variant,
        }
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(tagged(self.variant, Value::Dict(self.map)))
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ValueError("serialize_value called before serialize_key".into()))?;
        self.map.insert(key, to_value(v)?);
        Ok(())
    }

    fn end(self) -> Result<Value, ValueError> {
        MapBuilder::end(self)
    }
}

/// The struct-like `Serialize*` traits, all inserting into a [`MapBuilder`].
macro_rules! struct_builder {
    ($($trait:ident),* $(,)?) => {$(
        impl ser::$trait for MapBuilder {
            type Ok = Value;
            type Error = ValueError;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), ValueError> {
                self.map.insert(key.to_owned(), to_value(v)?);
                Ok(())
            }

            fn end(self) -> Result<Value, ValueError> {
                MapBuilder::end(self)
            }
        }
    )*};
}

struct_builder!(SerializeStruct, SerializeStructVariant);
