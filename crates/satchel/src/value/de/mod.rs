//! Deserialization out of a [`Value`], and serde for `Value` itself.

use std::collections::btree_map;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde::ser::{Serialize, Serializer};
use serde::{forward_to_deserialize_any, Deserialize};

use super::wrappers::{KindRef, BIGINT, BYTES, DATETIME, MARKUP, TUPLE, UUID, VALUE};
use super::{from_u128, unexpected};
use super::{
    BigInt, Dict, FlaskBytes, FlaskDateTime, FlaskMarkup, FlaskTuple, FlaskUuid, Value, ValueError,
};

/// Converts a [`Value`] to any `Deserialize` type.
///
/// Accepts what serde_json would for the same JSON, plus the Flask kinds: a tuple reads as a
/// sequence, `Markup` as a string, a UUID as its hyphenated string, a datetime as `i64` unix
/// seconds, bytes as a byte array; the wrapper types ([`FlaskTuple`], …) read their kind back.
/// Big integers read into `i128`/`u128` when they fit (or into [`BigInt`] always). Errors say
/// what was expected and what was found.
///
/// ```
/// use satchel::value::{from_value, to_value};
///
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct User { name: String, age: u8, tags: Option<Vec<String>> }
///
/// let user = User { name: "Kimi".into(), age: 25, tags: None };
/// let v = to_value(&user).unwrap();
/// assert_eq!(from_value::<User>(&v).unwrap(), user);
///
/// let err = from_value::<u8>(&satchel::Value::from("x")).unwrap_err();
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
/// use satchel::Value;
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
                        "integer {n} does not fit in 128 bits (read it as satchel::value::BigInt)"
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

/// Visits `items` as a sequence; every element must be consumed.
fn visit_seq<'de, V: Visitor<'de>>(
    items: &'de [Value],
    visitor: V,
) -> Result<V::Value, ValueError> {
    let mut seq = SeqDeserializer(items.iter());
    let out = visitor.visit_seq(&mut seq)?;
    match seq.0.len() {
        0 => Ok(out),
        left => Err(ValueError::invalid_length(
            items.len(),
            &format!("{} elements in sequence", items.len() - left).as_str(),
        )),
    }
}

/// Visits `map` as a map; every entry must be consumed.
fn visit_map<'de, V: Visitor<'de>>(map: &'de Dict, visitor: V) -> Result<V::Value, ValueError> {
    let mut access = MapDeserializer {
        iter: map.iter(),
        value: None,
    };
    let out = visitor.visit_map(&mut access)?;
    match access.iter.len() {
        0 => Ok(out),
        left => Err(ValueError::invalid_length(
            map.len(),
            &format!("{} entries in map", map.len() - left).as_str(),
        )),
    }
}

struct SeqDeserializer<'de>(std::slice::Iter<'de, Value>);

impl<'de> SeqAccess<'de> for SeqDeserializer<'de> {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        self.0.next().map(|v| seed.deserialize(v)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDeserializer<'de> {
    iter: btree_map::Iter<'de, String, Value>,
    value: Option<&'de Value>,
}

impl<'de> MapAccess<'de> for MapDeserializer<'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(KeyDeserializer(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<T::Value, ValueError> {
        let value = self
            .value
            .take()
            .ok_or_else(|| ValueError("next_value called before next_key".into()))?;
        seed.deserialize(value)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// A dict key. It reads as a string, or parses into the integer, bool or float asked for (the
/// serializer wrote such keys as text, as Python's `json` does).
struct KeyDeserializer<'de>(&'de str);

/// `Deserializer` methods that parse the key into the type asked for, falling back to the plain
/// string (so a mismatch reads "invalid type: string \"x\", expected u32").
macro_rules! parse_key {
    ($($method:ident => $visit:ident($ty:ty)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            match self.0.parse::<$ty>() {
                Ok(v) => visitor.$visit(v),
                Err(_) => visitor.visit_borrowed_str(self.0),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for KeyDeserializer<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_borrowed_str(self.0)
    }

    parse_key!(
        deserialize_bool => visit_bool(bool),
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_i128 => visit_i128(i128),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
        deserialize_u128 => visit_u128(u128),
        deserialize_f32 => visit_f32(f32),
        deserialize_f64 => visit_f64(f64),
    );

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_enum(BorrowedStrDeserializer::<ValueError>::new(self.0))
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// An enum variant: its name and, unless it is a unit variant, its content.
struct EnumDeserializer<'de> {
    variant: &'de str,
    content: Option<&'de Value>,
}

impl<'de> EnumAccess<'de> for EnumDeserializer<'de> {
    type Error = ValueError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), ValueError> {
        let name = seed.deserialize(BorrowedStrDeserializer::<ValueError>::new(self.variant))?;
        Ok((name, self))
    }
}

impl<'de> EnumDeserializer<'de> {
    /// The content of a variant that must have one.
    fn content(&self, expected: &'static str) -> Result<&'de Value, ValueError> {
        self.content
            .ok_or_else(|| ValueError::invalid_type(Unexpected::UnitVariant, &expected))
    }
}

impl<'de> VariantAccess<'de> for EnumDeserializer<'de> {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        // `{"Variant": null}` is accepted as a unit variant, as serde_json does.
        self.content.map_or(Ok(()), <()>::deserialize)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ValueError> {
        seed.deserialize(self.content("newtype variant")?)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.content("tuple variant")?.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.content("struct variant")?.deserialize_map(visitor)
    }
}

/// `Value` serializes as the data it holds; the Flask kinds as their reserved newtypes (see
/// [`FlaskTuple`] and the other wrappers), so [`to_value`](super::to_value) gets them back and
/// serde_json sees plain JSON (NaN and infinities become `null`, as serde_json writes them).
///
/// ```
/// use satchel::value::{to_value, FlaskTuple};
/// use satchel::Value;
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
/// [`from_value`]) it keeps every Flask kind, so a `Value` nested in a user struct round trips.
///
/// ```
/// use satchel::value::{from_value, to_value};
/// use satchel::Value;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::to_value;
    use serde::Serialize;
    use std::collections::{BTreeMap, HashMap};
    use time::macros::datetime;

    fn round_trip<T>(t: &T) -> T
    where
        T: Serialize + DeserializeOwned + fmt::Debug + PartialEq,
    {
        let v = to_value(t).unwrap();
        let back: T = from_value(&v).unwrap();
        assert_eq!(&back, t, "through {v:?}");
        back
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Shape {
        Empty,
        Circle(f64),
        Rect(u32, u32),
        Named { name: String, big: Option<u128> },
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Meters(f64);

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Unit;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Everything {
        flag: bool,
        small: i8,
        big: u64,
        huge: i128,
        c: char,
        text: String,
        length: Meters,
        unit: Unit,
        maybe: Option<Option<u8>>,
        none: Option<String>,
        shapes: Vec<Shape>,
        pair: (u8, String),
        nested: BTreeMap<String, BTreeMap<String, Vec<i32>>>,
        by_id: HashMap<u32, String>,
        by_flag: BTreeMap<bool, u8>,
        tuple: FlaskTuple,
        bytes: FlaskBytes,
        markup: FlaskMarkup,
        id: FlaskUuid,
        when: FlaskDateTime,
        any: Value,
    }

    fn everything() -> Everything {
        Everything {
            flag: true,
            small: -8,
            big: u64::MAX,
            huge: i128::MIN,
            c: 'é',
            text: "hi".into(),
            length: Meters(1.5),
            unit: Unit,
            maybe: Some(Some(3)),
            none: None,
            shapes: vec![
                Shape::Empty,
                Shape::Circle(2.0),
                Shape::Rect(3, 4),
                Shape::Named {
                    name: "n".into(),
                    big: Some(u128::MAX),
                },
            ],
            pair: (1, "one".into()),
            nested: BTreeMap::from([("a".into(), BTreeMap::from([("b".into(), vec![1, -2])]))]),
            by_id: HashMap::from([(7, "seven".into()), (u32::MAX, "max".into())]),
            by_flag: BTreeMap::from([(true, 1), (false, 0)]),
            tuple: FlaskTuple(vec![Value::from(1), Value::Markup("m".into())]),
            bytes: FlaskBytes(vec![0, 255]),
            markup: FlaskMarkup("<b>".into()),
            id: FlaskUuid(uuid::Uuid::from_u128(42)),
            when: FlaskDateTime(datetime!(2020-02-29 23:59:59 UTC)),
            any: Value::Tuple(vec![
                Value::Bytes(vec![9]),
                Value::Uuid(uuid::Uuid::from_u128(7)),
                Value::DateTime(datetime!(2000-01-01 00:00:00 UTC)),
                Value::BigInt(
                    "-99999999999999999999999999999999999999999"
                        .parse()
                        .unwrap(),
                ),
                Value::Float(f64::NAN),
            ]),
        }
    }

    #[test]
    fn structs_enums_options_maps_and_wrappers_round_trip() {
        round_trip(&everything());
    }

    #[test]
    fn flask_kinds_keep_their_kind_in_the_value() {
        let v = to_value(&everything()).unwrap();
        let Value::Dict(d) = v else {
            panic!("not a dict")
        };
        assert!(matches!(d["tuple"], Value::Tuple(_)));
        assert!(matches!(d["bytes"], Value::Bytes(_)));
        assert!(matches!(d["markup"], Value::Markup(_)));
        assert!(matches!(d["id"], Value::Uuid(_)));
        assert!(matches!(d["when"], Value::DateTime(_)));
        assert!(matches!(d["big"], Value::BigInt(_)));
        assert_eq!(d["maybe"], Value::Int(3));
        assert_eq!(d["none"], Value::Null);
        let Value::Dict(by_id) = &d["by_id"] else {
            panic!("not a dict")
        };
        assert_eq!(by_id.keys().collect::<Vec<_>>(), ["4294967295", "7"]);
    }

    #[test]
    fn value_round_trips_losslessly() {
        let v = to_value(&everything()).unwrap();
        assert_eq!(to_value(&v).unwrap(), v);
        assert_eq!(from_value::<Value>(&v).unwrap(), v);
    }

    #[test]
    fn value_through_serde_json() {
        let v = Value::Dict(Dict::from([
            ("t".to_owned(), Value::Tuple(vec![Value::Int(1)])),
            ("b".to_owned(), Value::Bytes(vec![1, 2])),
            ("m".to_owned(), Value::Markup("<i>".into())),
            ("u".to_owned(), Value::Uuid(uuid::Uuid::from_u128(1))),
            (
                "d".to_owned(),
                Value::DateTime(datetime!(1970-01-01 00:00:10 UTC)),
            ),
            (
                "big".to_owned(),
                Value::BigInt("99999999999999999999".parse().unwrap()),
            ),
            ("nan".to_owned(), Value::Float(f64::NAN)),
        ]));
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(
            json,
            r#"{"b":[1,2],"big":99999999999999999999,"d":10,"m":"<i>","nan":null,"t":[1],"u":"00000000-0000-0000-0000-000000000001"}"#
        );
        let back: Value = serde_json::from_str(&json).unwrap();
        let Value::Dict(d) = back else {
            panic!("not a dict")
        };
        assert_eq!(d["t"], Value::from(vec![1]));
        // serde_json (without `arbitrary_precision`) reads integers beyond u64 as floats.
        assert_eq!(d["big"], Value::Float(1e20));
        assert_eq!(d["nan"], Value::Null);
    }

    #[test]
    fn nan_and_infinity_survive() {
        let back: f64 = from_value(&to_value(&f64::NAN).unwrap()).unwrap();
        assert!(back.is_nan());
        let back: Vec<f64> = from_value(&Value::from(vec![f64::INFINITY, -0.0])).unwrap();
        assert_eq!(back, [f64::INFINITY, -0.0]);
        let back: Value = from_value(&Value::Float(f64::NAN)).unwrap();
        assert!(matches!(back, Value::Float(f) if f.is_nan()));
    }

    #[test]
    fn big_integers_read_when_they_fit() {
        let v = to_value(&u128::MAX).unwrap();
        assert_eq!(from_value::<u128>(&v).unwrap(), u128::MAX);
        let err = from_value::<u64>(&v).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: integer `340282366920938463463374607431768211455` as u128, expected u64"
        );
        assert_eq!(
            from_value::<u64>(&to_value(&u64::MAX).unwrap()).unwrap(),
            u64::MAX
        );
        let neg = Value::BigInt("-9223372036854775809".parse().unwrap());
        assert_eq!(from_value::<i128>(&neg).unwrap(), i128::from(i64::MIN) - 1);
        assert!(from_value::<i64>(&neg).is_err());
        let huge = Value::BigInt(
            "1000000000000000000000000000000000000000000"
                .parse()
                .unwrap(),
        );
        let err = from_value::<i128>(&huge).unwrap_err();
        assert!(
            err.to_string().contains("does not fit in 128 bits"),
            "{err}"
        );
        assert_eq!(
            from_value::<BigInt>(&huge).unwrap().as_str(),
            "1000000000000000000000000000000000000000000"
        );
    }

    #[test]
    fn flask_kinds_read_as_plain_data() {
        let id = uuid::Uuid::from_u128(0xabc);
        assert_eq!(
            from_value::<String>(&Value::Uuid(id)).unwrap(),
            id.hyphenated().to_string()
        );
        assert_eq!(
            from_value::<String>(&Value::Markup("<b>".into())).unwrap(),
            "<b>"
        );
        assert_eq!(
            from_value::<(u8, u8)>(&Value::Tuple(vec![1.into(), 2.into()])).unwrap(),
            (1, 2)
        );
        assert_eq!(
            from_value::<i64>(&Value::DateTime(datetime!(1970-01-01 00:01:00 UTC))).unwrap(),
            60
        );
    }

    #[test]
    fn type_mismatches_say_expected_and_found() {
        let cases: Vec<(String, &str)> = vec![
            (from_value::<u8>(&Value::from("x")).unwrap_err().0, "invalid type: string \"x\", expected u8"),
            (from_value::<u8>(&Value::Int(300)).unwrap_err().0, "invalid value: integer `300`, expected u8"),
            (from_value::<String>(&Value::Int(1)).unwrap_err().0, "invalid type: integer `1`, expected a string"),
            (from_value::<bool>(&Value::List(vec![])).unwrap_err().0, "invalid type: sequence, expected a boolean"),
            (
                from_value::<(u8, u8)>(&Value::from(vec![1, 2, 3])).unwrap_err().0,
                "invalid length 3, expected 2 elements in sequence",
            ),
            (
                from_value::<Shape>(&Value::Int(1)).unwrap_err().0,
                "invalid type: integer `1`, expected an enum: a variant name or a map with a single key",
            ),
            (
                from_value::<Shape>(&Value::from("Nope")).unwrap_err().0,
                "unknown variant `Nope`, expected one of `Empty`, `Circle`, `Rect`, `Named`",
            ),
            (
                from_value::<Shape>(&Value::from("Circle")).unwrap_err().0,
                "invalid type: unit variant, expected newtype variant",
            ),
            (
                from_value::<Meters>(&Value::Null).unwrap_err().0,
                "invalid type: unit value, expected f64",
            ),
            (
                from_value::<HashMap<u32, u8>>(&to_value(&BTreeMap::from([("x", 1)])).unwrap()).unwrap_err().0,
                "invalid type: string \"x\", expected u32",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn missing_and_unknown_struct_fields() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Login {
            user: String,
            remember: Option<bool>,
        }
        let v = Value::Dict(Dict::from([("other".to_owned(), Value::Int(1))]));
        assert_eq!(
            from_value::<Login>(&v).unwrap_err().0,
            "missing field `user`"
        );
        let v = Value::Dict(Dict::from([
            ("user".to_owned(), Value::from("u")),
            ("other".to_owned(), Value::Int(1)),
        ]));
        let login = from_value::<Login>(&v).unwrap();
        assert_eq!(login.user, "u");
        assert_eq!(login.remember, None);
    }

    #[test]
    fn unit_variant_accepts_null_content() {
        let v = Value::Dict(Dict::from([("Empty".to_owned(), Value::Null)]));
        assert_eq!(from_value::<Shape>(&v).unwrap(), Shape::Empty);
    }
}
