//! What a visitor of a `Value` is handed: a list's or tuple's elements ([`visit_seq`]), a
//! dict's entries ([`visit_map`], or some of them: [`visit_entries`]) with their keys as a
//! [`KeyDeserializer`], and an enum's variant ([`EnumDeserializer`]).

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};
use serde::{forward_to_deserialize_any, Deserialize};

use crate::value::{Dict, Value, ValueError};

/// Visits `items` as a sequence; every element must be consumed.
pub(super) fn visit_seq<'de, V: Visitor<'de>>(
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
pub(super) fn visit_map<'de, V: Visitor<'de>>(
    map: &'de Dict,
    visitor: V,
) -> Result<V::Value, ValueError> {
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

/// Visits `entries` of a dict as a map: a struct reads the entries that are its fields (a
/// [`TypedSession`](crate::TypedSession) reads its own keys of the session's dict this way).
pub(crate) fn visit_entries<'de, V: Visitor<'de>>(
    entries: impl Iterator<Item = (&'de String, &'de Value)>,
    visitor: V,
) -> Result<V::Value, ValueError> {
    visitor.visit_map(MapDeserializer {
        iter: entries,
        value: None,
    })
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

struct MapDeserializer<'de, I> {
    iter: I,
    value: Option<&'de Value>,
}

impl<'de, I: Iterator<Item = (&'de String, &'de Value)>> MapAccess<'de>
    for MapDeserializer<'de, I>
{
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
        match self.iter.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        }
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
pub(super) struct EnumDeserializer<'de> {
    pub(super) variant: &'de str,
    pub(super) content: Option<&'de Value>,
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
