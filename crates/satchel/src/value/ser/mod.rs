//! Serialization into a [`Value`]: a serde `Serializer` that builds the value directly.

use serde::de::Error as _;
use serde::ser::{self, Impossible, Serialize};

use super::wrappers::{expecting, IntText, Kind, BIGINT, BYTES, DATETIME, MARKUP, TUPLE, UUID};
use super::{from_u128, unexpected};
use super::{BigInt, Dict, FlaskDateTime, FlaskUuid, Value, ValueError};

/// Converts any `Serialize` type to a [`Value`].
///
/// Integers that fit `i64` become [`Value::Int`], larger ones [`Value::BigInt`]; floats keep NaN
/// and infinities; structs and maps become [`Value::Dict`] (map keys must be strings, integers or
/// bools; the latter two become their text, as Python's `json` does); enums are externally tagged
/// (`"Unit"`, `{"Variant": content}`). The wrapper types ([`FlaskTuple`](super::FlaskTuple), …)
/// keep their Flask kind.
///
/// ```
/// use satchel::value::{to_value, FlaskTuple};
/// use satchel::Value;
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

/// Serializes a map key to its string: strings and chars as they are, integers and bools as
/// their text (Python's `json` does the same), unit variants as their name.
struct KeySerializer;

/// `Serializer` methods that use the `Display` text of their argument as the key.
macro_rules! key_via_display {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<String, ValueError> {
            Ok(v.to_string())
        }
    )*};
}

/// `Serializer` methods whose argument cannot be a key.
macro_rules! reject_key {
    ($(fn $method:ident $(<$g:ident>)? ($($arg:ident: $ty:ty),*) -> $ok:ty = $found:literal;)*) => {$(
        fn $method $(<$g: Serialize + ?Sized>)? (self, $($arg: $ty),*) -> Result<$ok, ValueError> {
            Err(ValueError(format!(
                "map key must be a string, an integer or a bool, found {}",
                $found
            )))
        }
    )*};
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = ValueError;
    type SerializeSeq = Impossible<String, ValueError>;
    type SerializeTuple = Impossible<String, ValueError>;
    type SerializeTupleStruct = Impossible<String, ValueError>;
    type SerializeTupleVariant = Impossible<String, ValueError>;
    type SerializeMap = Impossible<String, ValueError>;
    type SerializeStruct = Impossible<String, ValueError>;
    type SerializeStructVariant = Impossible<String, ValueError>;

    key_via_display!(
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
        serialize_u128(u128),
        serialize_char(char),
        serialize_str(&str),
    );

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, ValueError> {
        Ok(variant.to_owned())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<String, ValueError> {
        v.serialize(self)
    }

    reject_key! {
        fn serialize_f32(_v: f32) -> String = "a float";
        fn serialize_f64(_v: f64) -> String = "a float";
        fn serialize_bytes(_v: &[u8]) -> String = "bytes";
        fn serialize_none() -> String = "None";
        fn serialize_some<T>(_v: &T) -> String = "an option";
        fn serialize_unit() -> String = "a unit";
        fn serialize_unit_struct(_name: &'static str) -> String = "a unit struct";
        fn serialize_newtype_variant<T>(
            _name: &'static str, _index: u32, _variant: &'static str, _v: &T
        ) -> String = "an enum variant with content";
        fn serialize_seq(_len: Option<usize>) -> Self::SerializeSeq = "a sequence";
        fn serialize_tuple(_len: usize) -> Self::SerializeTuple = "a tuple";
        fn serialize_tuple_struct(
            _name: &'static str, _len: usize
        ) -> Self::SerializeTupleStruct = "a tuple struct";
        fn serialize_tuple_variant(
            _name: &'static str, _index: u32, _variant: &'static str, _len: usize
        ) -> Self::SerializeTupleVariant = "an enum variant with content";
        fn serialize_map(_len: Option<usize>) -> Self::SerializeMap = "a map";
        fn serialize_struct(_name: &'static str, _len: usize) -> Self::SerializeStruct = "a struct";
        fn serialize_struct_variant(
            _name: &'static str, _index: u32, _variant: &'static str, _len: usize
        ) -> Self::SerializeStructVariant = "an enum variant with content";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{FlaskBytes, FlaskMarkup, FlaskTuple};
    use serde::Serialize;
    use std::collections::{BTreeMap, HashMap};
    use time::OffsetDateTime;

    fn dict<const N: usize>(entries: [(&str, Value); N]) -> Value {
        Value::Dict(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    #[test]
    fn scalars() {
        assert_eq!(to_value(&()).unwrap(), Value::Null);
        assert_eq!(to_value(&true).unwrap(), Value::Bool(true));
        assert_eq!(to_value(&-3i8).unwrap(), Value::Int(-3));
        assert_eq!(to_value(&1.5f32).unwrap(), Value::Float(1.5));
        assert_eq!(to_value(&'x').unwrap(), Value::from("x"));
        assert_eq!(to_value("s").unwrap(), Value::from("s"));
        assert_eq!(to_value(&None::<u8>).unwrap(), Value::Null);
        assert_eq!(to_value(&Some(4u8)).unwrap(), Value::Int(4));
        assert_eq!(
            to_value(&RawBytes(b"ab")).unwrap(),
            Value::Bytes(b"ab".to_vec())
        );
        match to_value(&f64::NAN).unwrap() {
            Value::Float(f) => assert!(f.is_nan()),
            other => panic!("not a float: {other:?}"),
        }
        assert_eq!(
            to_value(&f64::NEG_INFINITY).unwrap(),
            Value::Float(f64::NEG_INFINITY)
        );
    }

    /// Plain bytes, without the reserved newtype name.
    struct RawBytes<'a>(&'a [u8]);
    impl Serialize for RawBytes<'_> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    #[test]
    fn integers_beyond_i64_are_big() {
        assert_eq!(to_value(&i64::MIN).unwrap(), Value::Int(i64::MIN));
        assert_eq!(to_value(&(i64::MAX as u64)).unwrap(), Value::Int(i64::MAX));
        let big = |s: &str| Value::BigInt(s.parse().unwrap());
        assert_eq!(to_value(&u64::MAX).unwrap(), big("18446744073709551615"));
        assert_eq!(
            to_value(&i128::MIN).unwrap(),
            big("-170141183460469231731687303715884105728")
        );
        assert_eq!(
            to_value(&u128::MAX).unwrap(),
            big("340282366920938463463374607431768211455")
        );
        assert_eq!(to_value(&5u128).unwrap(), Value::Int(5));
    }

    #[derive(Serialize)]
    enum Shape {
        Empty,
        Circle(f64),
        Rect(u32, u32),
        Named { name: String },
    }

    #[test]
    fn enums_are_externally_tagged() {
        assert_eq!(to_value(&Shape::Empty).unwrap(), Value::from("Empty"));
        assert_eq!(
            to_value(&Shape::Circle(1.0)).unwrap(),
            dict([("Circle", Value::Float(1.0))])
        );
        assert_eq!(
            to_value(&Shape::Rect(1, 2)).unwrap(),
            dict([("Rect", Value::from(vec![1, 2]))])
        );
        assert_eq!(
            to_value(&Shape::Named { name: "n".into() }).unwrap(),
            dict([("Named", dict([("name", Value::from("n"))]))])
        );
    }

    #[derive(Serialize)]
    struct Unit;
    #[derive(Serialize)]
    struct Meters(f64);
    #[derive(Serialize)]
    struct Pair(u8, &'static str);
    #[derive(Serialize)]
    struct Cart {
        items: Vec<&'static str>,
        counts: BTreeMap<&'static str, u32>,
        unit: Unit,
        length: Meters,
        pair: Pair,
        note: Option<String>,
    }

    #[test]
    fn structs_and_containers() {
        let cart = Cart {
            items: vec!["a", "b"],
            counts: BTreeMap::from([("a", 2)]),
            unit: Unit,
            length: Meters(2.5),
            pair: Pair(1, "x"),
            note: None,
        };
        assert_eq!(
            to_value(&cart).unwrap(),
            dict([
                ("items", Value::from(vec!["a", "b"])),
                ("counts", dict([("a", Value::Int(2))])),
                ("unit", Value::Null),
                ("length", Value::Float(2.5)),
                ("pair", Value::List(vec![Value::Int(1), Value::from("x")])),
                ("note", Value::Null),
            ])
        );
        assert_eq!(
            to_value(&(1, "a")).unwrap(),
            Value::List(vec![Value::Int(1), Value::from("a")])
        );
    }

    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    enum Color {
        Red,
    }

    #[test]
    fn map_keys_become_strings_like_python_json() {
        let ints = HashMap::from([(1u64, "one"), (u64::MAX, "max")]);
        assert_eq!(
            to_value(&ints).unwrap(),
            dict([
                ("1", Value::from("one")),
                ("18446744073709551615", Value::from("max"))
            ])
        );
        let bools = BTreeMap::from([(true, 1), (false, 0)]);
        assert_eq!(
            to_value(&bools).unwrap(),
            dict([("false", Value::Int(0)), ("true", Value::Int(1))])
        );
        let colors = BTreeMap::from([(Color::Red, 1)]);
        assert_eq!(to_value(&colors).unwrap(), dict([("Red", Value::Int(1))]));

        let err = to_value(&HashMap::from([((1, 2), 3)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "map key must be a string, an integer or a bool, found a tuple"
        );
        let err = to_value(&BTreeMap::from([(Some(1), 3)])).unwrap_err();
        assert!(err.to_string().ends_with("found an option"), "{err}");
    }

    #[test]
    fn flask_kinds_nest() {
        let v = to_value(&vec![
            Value::from(FlaskTuple(vec![FlaskBytes(vec![1]).into()])),
            FlaskMarkup("m".into()).into(),
            FlaskUuid(uuid::Uuid::nil()).into(),
            FlaskDateTime(OffsetDateTime::UNIX_EPOCH).into(),
        ])
        .unwrap();
        assert_eq!(
            v,
            Value::List(vec![
                Value::Tuple(vec![Value::Bytes(vec![1])]),
                Value::Markup("m".into()),
                Value::Uuid(uuid::Uuid::nil()),
                Value::DateTime(OffsetDateTime::UNIX_EPOCH),
            ])
        );
    }

    /// A newtype using a reserved name around the wrong content.
    struct Bad<T>(&'static str, T);
    impl<T: Serialize> Serialize for Bad<T> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_newtype_struct(self.0, &self.1)
        }
    }

    #[test]
    fn reserved_names_check_their_content() {
        let err = to_value(&Bad(TUPLE, "x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: string \"x\", expected a tuple"
        );
        let err = to_value(&Bad(BYTES, vec![1])).unwrap_err();
        assert_eq!(err.to_string(), "invalid type: sequence, expected bytes");
        let err = to_value(&Bad(UUID, "not-a-uuid")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value: string \"not-a-uuid\", expected a UUID"
        );
        let err = to_value(&Bad(DATETIME, i64::MIN)).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid value: integer"),
            "{err}"
        );
        let err = to_value(&Bad(BIGINT, "1.5")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value: string \"1.5\", expected a decimal integer"
        );
        assert_eq!(to_value(&Bad("Other", 1)).unwrap(), Value::Int(1));
    }
}
