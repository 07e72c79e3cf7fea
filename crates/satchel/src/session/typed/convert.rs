//! A typed session's `T` to and from the session's dict: [`decode`] reads `T` out of the dict
//! (a struct reads only its own keys, without copying them), [`Snapshot`] is `T` serialized as
//! a merge compares and writes it (a struct's fields under serde's own `&'static str` names,
//! so taking one allocates no key).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::forward_to_deserialize_any;
use serde::ser::{self, Impossible, Serialize};
use smallvec::SmallVec;

use crate::value::{self, Dict, Value, ValueError};

/// `T` out of the session's data, with what it read of `T`'s keys. A session holding none of a
/// struct's keys is a new one: `T::default()`.
pub(super) fn decode<T: DeserializeOwned + Default>(data: &Dict) -> (Result<T, ValueError>, Keys) {
    let mut keys = Keys::default();
    let mut shape = Shape::Unknown;
    let decoded = T::deserialize(DictDeserializer {
        data,
        shape: &mut shape,
        keys: &mut keys,
    });
    match (decoded, shape) {
        (Ok(value), Shape::Struct) => (Ok(value), keys),
        (Err(_), Shape::Struct) if keys.loaded.is_empty() => (Ok(T::default()), keys),
        (Err(error), Shape::Struct) => (Err(error), keys),
        // Not a struct: the whole dict, through `Value`'s own deserializer.
        (_, Shape::Unknown) => {
            let whole = Value::Dict(data.clone());
            (value::from_value(&whole), Keys::default())
        }
    }
}

/// A struct `T`'s keys as serde named them, and which of them the session held at loading.
#[derive(Debug, Default)]
pub(super) struct Keys {
    /// The field names and aliases (empty for a map `T`).
    pub fields: &'static [&'static str],
    /// Those the session held when `T` was loaded (all of them, when the load succeeded or
    /// failed on the last; up to the failing one otherwise).
    pub loaded: SmallVec<[&'static str; 4]>,
}

impl Keys {
    /// Whether a field the handler did not change, missing from the dict, is written: a struct
    /// field the session did not hold at loading (a default, a renamed field read from its
    /// alias), never one removed through the dict since (nor a map entry: all were loaded).
    pub fn fills(&self, key: &str) -> bool {
        !self.fields.is_empty() && !self.loaded.contains(&key)
    }
}

/// What serde asked the session's data to be.
enum Shape {
    /// Not a struct (yet): read the whole dict as a `Value`.
    Unknown,
    /// A struct.
    Struct,
}

/// The session's data as a struct, without copying it: the struct's own fields only (so
/// `deny_unknown_fields` works beside Flask's keys). Anything but a struct is refused, and
/// `decode` reads the whole dict instead.
struct DictDeserializer<'de, 's> {
    data: &'de Dict,
    shape: &'s mut Shape,
    keys: &'s mut Keys,
}

impl<'de> de::Deserializer<'de> for DictDeserializer<'de, '_> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ValueError> {
        Err(ValueError("not a struct".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        *self.shape = Shape::Struct;
        self.keys.fields = fields;
        let (data, loaded) = (self.data, &mut self.keys.loaded);
        let held = fields.iter().filter_map(|field| {
            let entry = data.get_key_value(*field)?;
            loaded.push(field);
            Some(entry)
        });
        value::visit_entries(held, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// `T` serialized, as a merge compares and writes it.
#[derive(Debug, PartialEq)]
pub(super) enum Snapshot {
    /// A struct's fields, in its order, under serde's names.
    Fields(SmallVec<[(&'static str, Value); 4]>),
    /// A map's entries (or a struct serde writes as a map: `flatten`).
    Map(Dict),
}

impl Snapshot {
    /// `value` serialized; an error if it is not a struct or a map with string keys.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Snapshot, ValueError> {
        match value.serialize(FieldsSerializer) {
            Ok(snapshot) => Ok(snapshot),
            Err(NotFields::Value(error)) => Err(error),
            Err(NotFields::NotAStruct) => match value::to_value(value)? {
                Value::Dict(map) => Ok(Snapshot::Map(map)),
                other => Err(ValueError(format!(
                    "a typed session must serialize to a map (a struct with named fields, or \
                     a map), not to {}",
                    kind(&other)
                ))),
            },
        }
    }

    /// Nothing: what a `T` that could not be serialized is compared with.
    pub fn empty() -> Snapshot {
        Snapshot::Fields(SmallVec::new())
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Snapshot::Fields(fields) => fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            Snapshot::Map(map) => map.get(key),
        }
    }

    /// Whether `key` is there.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let (fields, map) = match self {
            Snapshot::Fields(fields) => (Some(fields), None),
            Snapshot::Map(map) => (None, Some(map)),
        };
        let fields = fields.into_iter().flatten().map(|(k, _)| *k);
        fields.chain(map.into_iter().flatten().map(|(k, _)| k.as_str()))
    }

    /// The entries, by value.
    pub fn into_entries(self) -> impl Iterator<Item = (Cow<'static, str>, Value)> {
        let (fields, map) = match self {
            Snapshot::Fields(fields) => (Some(fields), None),
            Snapshot::Map(map) => (None, Some(map)),
        };
        let fields = fields
            .into_iter()
            .flatten()
            .map(|(k, v)| (Cow::Borrowed(k), v));
        fields.chain(map.into_iter().flatten().map(|(k, v)| (Cow::Owned(k), v)))
    }
}

/// What kind of value `value` is, for an error message (never the value: it is session data).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Int(_) | Value::BigInt(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Str(_) | Value::Markup(_) => "a string",
        Value::List(_) | Value::Tuple(_) => "a sequence",
        Value::Dict(_) => "a map",
        Value::Bytes(_) => "bytes",
        Value::Uuid(_) => "a UUID",
        Value::DateTime(_) => "a datetime",
    }
}

/// Why [`FieldsSerializer`] gave no snapshot.
#[derive(Debug)]
enum NotFields {
    /// Not a struct: serialize it as a `Value` instead.
    NotAStruct,
    /// A field could not be serialized.
    Value(ValueError),
}

impl fmt::Display for NotFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotFields::NotAStruct => f.write_str("not a struct"),
            NotFields::Value(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for NotFields {}

impl ser::Error for NotFields {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        NotFields::Value(ValueError(msg.to_string()))
    }
}

/// Serializes a struct into [`Snapshot::Fields`]; anything else is [`NotFields::NotAStruct`].
struct FieldsSerializer;

/// `Serializer` methods for what is not a struct.
macro_rules! not_a_struct {
    ($($method:ident($($arg:ty),*) -> $ok:ty;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ok, NotFields> {
            Err(NotFields::NotAStruct)
        }
    )*};
}

impl ser::Serializer for FieldsSerializer {
    type Ok = Snapshot;
    type Error = NotFields;
    type SerializeSeq = Impossible<Snapshot, NotFields>;
    type SerializeTuple = Impossible<Snapshot, NotFields>;
    type SerializeTupleStruct = Impossible<Snapshot, NotFields>;
    type SerializeTupleVariant = Impossible<Snapshot, NotFields>;
    type SerializeMap = Impossible<Snapshot, NotFields>;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Impossible<Snapshot, NotFields>;

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Fields, NotFields> {
        Ok(Fields(SmallVec::with_capacity(len)))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Snapshot, NotFields> {
        value.serialize(self)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<Snapshot, NotFields> {
        Err(NotFields::NotAStruct)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Snapshot, NotFields> {
        Err(NotFields::NotAStruct)
    }

    not_a_struct! {
        serialize_bool(bool) -> Snapshot;
        serialize_i8(i8) -> Snapshot;
        serialize_i16(i16) -> Snapshot;
        serialize_i32(i32) -> Snapshot;
        serialize_i64(i64) -> Snapshot;
        serialize_i128(i128) -> Snapshot;
        serialize_u8(u8) -> Snapshot;
        serialize_u16(u16) -> Snapshot;
        serialize_u32(u32) -> Snapshot;
        serialize_u64(u64) -> Snapshot;
        serialize_u128(u128) -> Snapshot;
        serialize_f32(f32) -> Snapshot;
        serialize_f64(f64) -> Snapshot;
        serialize_char(char) -> Snapshot;
        serialize_str(&str) -> Snapshot;
        serialize_bytes(&[u8]) -> Snapshot;
        serialize_none() -> Snapshot;
        serialize_unit() -> Snapshot;
        serialize_unit_struct(&'static str) -> Snapshot;
        serialize_unit_variant(&'static str, u32, &'static str) -> Snapshot;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
}

/// A struct's fields as they are serialized.
struct Fields(SmallVec<[(&'static str, Value); 4]>);

impl ser::SerializeStruct for Fields {
    type Ok = Snapshot;
    type Error = NotFields;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NotFields> {
        let value = value::to_value(value).map_err(NotFields::Value)?;
        self.0.push((key, value));
        Ok(())
    }

    fn end(self) -> Result<Snapshot, NotFields> {
        Ok(Snapshot::Fields(self.0))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    /// A dict of these pairs.
    pub fn dict(pairs: &[(&str, Value)]) -> Dict {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn a_struct_reads_only_its_own_keys() {
        #[derive(Deserialize, Default, Debug, PartialEq)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            counter: u64,
        }
        let data = dict(&[("counter", 3.into()), ("_flashes", Value::List(vec![]))]);
        let (decoded, keys) = decode::<Strict>(&data);
        assert_eq!(decoded.unwrap(), Strict { counter: 3 });
        assert_eq!(
            (keys.fields, keys.loaded.as_slice()),
            (&["counter"][..], &["counter"][..])
        );
    }

    #[test]
    fn a_session_without_any_of_the_structs_keys_is_a_new_default_one() {
        #[derive(Deserialize, Default, Debug, PartialEq)]
        struct Required {
            counter: u64,
        }
        let data = dict(&[("csrf_token", "t".into())]);
        assert_eq!(decode::<Required>(&data).0.unwrap(), Required::default());
    }

    #[test]
    fn a_map_type_reads_the_whole_dict() {
        let data = dict(&[("a", 1.into()), ("b", 2.into())]);
        let (decoded, keys) = decode::<std::collections::BTreeMap<String, i64>>(&data);
        assert_eq!(decoded.unwrap().len(), 2);
        assert!(keys.fields.is_empty());
    }

    #[test]
    fn a_struct_snapshot_holds_its_fields_in_order_and_a_map_its_entries() {
        #[derive(Serialize)]
        struct Visit {
            username: Option<String>,
            counter: u64,
        }
        let visit = Snapshot::of(&Visit {
            username: None,
            counter: 2,
        })
        .unwrap();
        assert_eq!(visit.keys().collect::<Vec<_>>(), ["username", "counter"]);
        assert_eq!(visit.get("counter"), Some(&Value::Int(2)));
        let map = Snapshot::of(&std::collections::HashMap::from([("a", 1)])).unwrap();
        assert_eq!(map, Snapshot::Map(dict(&[("a", 1.into())])));
    }

    #[test]
    fn a_typed_session_that_is_not_a_map_cannot_be_snapshot() {
        let error = Snapshot::of(&5u32).unwrap_err().to_string();
        assert!(error.contains("must serialize to a map"), "{error}");
        assert!(error.ends_with("not to an integer"), "{error}");
    }
}
