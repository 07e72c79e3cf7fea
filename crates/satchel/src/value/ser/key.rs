//! The serializer of dict keys: strings and chars as they are, integers and bools as their
//! text (as Python's `json` writes them), unit variants as their name; nothing else.

use serde::ser::{self, Impossible, Serialize};

use crate::value::ValueError;

/// Serializes a map key to its string: strings and chars as they are, integers and bools as
/// their text (Python's `json` does the same), unit variants as their name.
pub(super) struct KeySerializer;

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
