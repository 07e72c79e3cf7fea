//! Wrapper types that keep Flask's extra kinds (tuple, bytes, `Markup`, UUID, datetime) through
//! serde.
//!
//! Plain serde has no tuple-vs-list, no `Markup`, no UUID and no datetime, so each wrapper
//! serializes as a newtype struct with a reserved name (`"$satchel::Tuple"`, `"$satchel::Bytes"`,
//! `"$satchel::Markup"`, `"$satchel::Uuid"`, `"$satchel::DateTime"`; big integers use
//! `"$satchel::BigInt"`). [`to_value`](super::to_value) and [`from_value`](super::from_value)
//! recognize these names and keep the kind; any other format (serde_json, …) just sees a
//! transparent newtype around a plain list, byte array, string or integer.
//!
//! A [`BigInt`] is an integer in other formats when it fits 128 bits, else its decimal string.
//! serde_json (without `arbitrary_precision`) reads integers beyond `u64` as floats, so reading
//! such a `BigInt` back from serde_json is an error rather than a rounded value.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde::ser::{Serialize, Serializer};
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::unexpected;
use super::{BigInt, Value, ValueError};

/// Newtype name of a [`FlaskTuple`]: its content is a sequence.
pub(super) const TUPLE: &str = "$satchel::Tuple";
/// Newtype name of a [`FlaskBytes`]: its content is a byte array.
pub(super) const BYTES: &str = "$satchel::Bytes";
/// Newtype name of a [`FlaskMarkup`]: its content is a string.
pub(super) const MARKUP: &str = "$satchel::Markup";
/// Newtype name of a [`FlaskUuid`]: its content is the hyphenated string.
pub(super) const UUID: &str = "$satchel::Uuid";
/// Newtype name of a [`FlaskDateTime`]: its content is an `i64` of unix seconds.
pub(super) const DATETIME: &str = "$satchel::DateTime";
/// Newtype name of a [`BigInt`]: its content is an `i128`/`u128` when it fits, else its text.
pub(super) const BIGINT: &str = "$satchel::BigInt";
/// Newtype name through which [`Value`]'s `Deserialize` asks [`from_value`](super::from_value)
/// for the Flask kinds (see `de/`).
pub(super) const VALUE: &str = "$satchel::Value";

/// A Python tuple (Flask tag `" t"`); as a plain list it would come back from Flask as a list.
///
/// ```
/// use satchel_session::value::{from_value, to_value, FlaskTuple};
/// use satchel_session::Value;
///
/// let t = FlaskTuple(vec![Value::from(1), Value::from("a")]);
/// let v = to_value(&t).unwrap();
/// assert!(matches!(v, Value::Tuple(_)));
/// assert_eq!(from_value::<FlaskTuple>(&v).unwrap(), t);
/// // Other formats see a plain array.
/// assert_eq!(serde_json::to_string(&t).unwrap(), r#"[1,"a"]"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlaskTuple(pub Vec<Value>);

/// Python `bytes` (Flask tag `" b"`).
///
/// ```
/// use satchel_session::value::{to_value, FlaskBytes};
/// use satchel_session::Value;
///
/// let v = to_value(&FlaskBytes(b"\x00\xff".to_vec())).unwrap();
/// assert_eq!(v, Value::Bytes(vec![0, 255]));
/// assert_eq!(FlaskBytes::try_from(&v).unwrap().0, vec![0, 255]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FlaskBytes(pub Vec<u8>);

/// Markupsafe `Markup`: a string of HTML marked safe (Flask tag `" m"`).
///
/// ```
/// use satchel_session::value::{to_value, FlaskMarkup};
/// use satchel_session::Value;
///
/// let v = to_value(&FlaskMarkup("<b>hi</b>".into())).unwrap();
/// assert_eq!(v, Value::Markup("<b>hi</b>".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FlaskMarkup(pub String);

/// A Python `uuid.UUID` (Flask tag `" u"`).
///
/// ```
/// use satchel_session::value::{from_value, to_value, FlaskUuid};
/// use satchel_session::Value;
///
/// let id = uuid::Uuid::from_u128(0x1234);
/// let v = to_value(&FlaskUuid(id)).unwrap();
/// assert_eq!(v, Value::Uuid(id));
/// assert_eq!(from_value::<FlaskUuid>(&v).unwrap(), FlaskUuid(id));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlaskUuid(pub Uuid);

/// A Python `datetime` (Flask tag `" d"`). Flask stores it as an HTTP date, so it is UTC and
/// whole seconds: serializing drops the sub-second part, and [`FlaskDateTime::new`] (or the
/// conversion into a [`Value`]) normalizes to UTC.
///
/// ```
/// use satchel_session::value::{from_value, to_value, FlaskDateTime};
/// use satchel_session::Value;
/// use time::macros::datetime;
///
/// let d = FlaskDateTime(datetime!(2024-05-01 12:30:00 UTC));
/// let v = to_value(&d).unwrap();
/// assert_eq!(v, Value::DateTime(d.0));
/// assert_eq!(from_value::<FlaskDateTime>(&v).unwrap(), d);
/// // Other formats see unix seconds.
/// assert_eq!(serde_json::to_string(&d).unwrap(), "1714566600");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlaskDateTime(pub OffsetDateTime);

impl FlaskDateTime {
    /// Wraps `dt` as Flask keeps it: moved to UTC and truncated to whole seconds.
    ///
    /// ```
    /// use satchel_session::value::FlaskDateTime;
    /// use time::macros::datetime;
    ///
    /// let d = FlaskDateTime::new(datetime!(2024-05-01 14:30:00.75 +02:00));
    /// assert_eq!(d.0, datetime!(2024-05-01 12:30:00 UTC));
    /// assert_eq!(d.0.offset(), time::UtcOffset::UTC);
    /// ```
    pub fn new(dt: OffsetDateTime) -> Self {
        FlaskDateTime(utc_seconds(dt))
    }
}

/// `dt` in UTC (when representable there) and whole seconds.
fn utc_seconds(dt: OffsetDateTime) -> OffsetDateTime {
    dt.checked_to_offset(UtcOffset::UTC)
        .unwrap_or(dt)
        .truncate_to_second()
}

/// A borrowed Flask kind, serialized as its reserved newtype; shared by the wrappers' and
/// [`Value`]'s `Serialize`.
pub(super) enum KindRef<'a> {
    Tuple(&'a [Value]),
    Bytes(&'a [u8]),
    Markup(&'a str),
    Uuid(&'a Uuid),
    DateTime(&'a OffsetDateTime),
    /// The decimal text of a [`BigInt`].
    BigInt(&'a str),
}

impl Serialize for KindRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            KindRef::Tuple(items) => s.serialize_newtype_struct(TUPLE, items),
            KindRef::Bytes(bytes) => s.serialize_newtype_struct(BYTES, &RawBytes(bytes)),
            KindRef::Markup(text) => s.serialize_newtype_struct(MARKUP, text),
            KindRef::Uuid(id) => {
                let mut buf = Uuid::encode_buffer();
                s.serialize_newtype_struct(UUID, id.hyphenated().encode_lower(&mut buf))
            }
            KindRef::DateTime(dt) => s.serialize_newtype_struct(DATETIME, &dt.unix_timestamp()),
            KindRef::BigInt(text) => {
                if let Ok(n) = text.parse::<i128>() {
                    s.serialize_newtype_struct(BIGINT, &n)
                } else if let Ok(n) = text.parse::<u128>() {
                    s.serialize_newtype_struct(BIGINT, &n)
                } else {
                    s.serialize_newtype_struct(BIGINT, text)
                }
            }
        }
    }
}

/// Serializes a byte slice with `serialize_bytes` (a `&[u8]` alone would be a sequence).
struct RawBytes<'a>(&'a [u8]);

impl Serialize for RawBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// A type read through a reserved newtype name: what the newtype holds, and how to build the
/// type from it.
pub(super) trait Kind: Sized {
    const NAME: &'static str;
    const EXPECTING: &'static str;
    type Inner: DeserializeOwned;
    fn from_inner<E: de::Error>(inner: Self::Inner) -> Result<Self, E>;
}

/// Visits the reserved newtype of `K`; also accepts the bare content, for formats that do not
/// report newtypes.
struct KindVisitor<K>(PhantomData<K>);

/// Visitor methods that hand the visited value to `K::Inner`'s own `Deserialize`.
macro_rules! forward_to_inner {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<K, E> {
            K::from_inner(K::Inner::deserialize(IntoDeserializer::<E>::into_deserializer(v))?)
        }
    )*};
}

impl<'de, K: Kind> Visitor<'de> for KindVisitor<K> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(K::EXPECTING)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<K, D::Error> {
        K::from_inner(K::Inner::deserialize(d)?)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<K, A::Error> {
        K::from_inner(K::Inner::deserialize(SeqAccessDeserializer::new(seq))?)
    }

    forward_to_inner!(
        visit_i64(i64),
        visit_u64(u64),
        visit_i128(i128),
        visit_u128(u128),
        visit_str(&str),
        visit_bytes(&[u8]),
    );
}

/// `Kind`, `Serialize` and `Deserialize` for a type read and written through a reserved newtype.
macro_rules! kind_serde {
    ($ty:ident, $variant:ident, $name:expr, $expecting:literal, $inner:ty,
     |$x:ident| $from_inner:expr) => {
        impl Kind for $ty {
            const NAME: &'static str = $name;
            const EXPECTING: &'static str = $expecting;
            type Inner = $inner;

            fn from_inner<E: de::Error>($x: $inner) -> Result<Self, E> {
                $from_inner
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                KindRef::$variant(&self.0).serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_newtype_struct(<Self as Kind>::NAME, KindVisitor::<Self>(PhantomData))
            }
        }
    };
}

kind_serde!(FlaskTuple, Tuple, TUPLE, "a tuple", Vec<Value>, |items| Ok(
    FlaskTuple(items)
));
kind_serde!(FlaskBytes, Bytes, BYTES, "bytes", ByteBuf, |b| Ok(
    FlaskBytes(b.0)
));
kind_serde!(
    FlaskMarkup,
    Markup,
    MARKUP,
    "a Markup string",
    String,
    |s| Ok(FlaskMarkup(s))
);
kind_serde!(FlaskUuid, Uuid, UUID, "a UUID", String, |s| {
    Uuid::parse_str(&s)
        .map(FlaskUuid)
        .map_err(|_| E::invalid_value(de::Unexpected::Str(&s), &"a UUID"))
});
kind_serde!(
    FlaskDateTime,
    DateTime,
    DATETIME,
    "a datetime (unix seconds)",
    i64,
    |secs| {
        OffsetDateTime::from_unix_timestamp(secs)
            .map(FlaskDateTime)
            .map_err(|_| {
                E::invalid_value(
                    de::Unexpected::Signed(secs),
                    &"a unix timestamp in years -9999..=9999",
                )
            })
    }
);
kind_serde!(BigInt, BigInt, BIGINT, "an integer", IntText, |t| t
    .0
    .parse()
    .map_err(|_| E::invalid_value(
        de::Unexpected::Str(&t.0),
        &"a decimal integer"
    )));

/// The content of a [`FlaskBytes`]: a byte array, or a sequence of `u8` (serde_json's form).
pub(super) struct ByteBuf(Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(b) = seq.next_element()? {
                    out.push(b);
                }
                Ok(ByteBuf(out))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

/// The content of a [`BigInt`]: any integer, or its decimal text.
pub(super) struct IntText(pub(super) String);

/// Visitor methods turning an integer into its decimal text.
macro_rules! int_text {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<IntText, E> {
            Ok(IntText(v.to_string()))
        }
    )*};
}

impl<'de> Deserialize<'de> for IntText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IntText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            int_text!(
                visit_i64(i64),
                visit_u64(u64),
                visit_i128(i128),
                visit_u128(u128),
                visit_str(&str)
            );
        }
        d.deserialize_any(V)
    }
}

/// What the content of the reserved newtype `name` should have been, `None` if `name` is not
/// reserved.
pub(super) fn expecting(name: &str) -> Option<&'static str> {
    Some(match name {
        TUPLE => FlaskTuple::EXPECTING,
        BYTES => FlaskBytes::EXPECTING,
        MARKUP => FlaskMarkup::EXPECTING,
        UUID => FlaskUuid::EXPECTING,
        DATETIME => FlaskDateTime::EXPECTING,
        BIGINT => BigInt::EXPECTING,
        _ => return None,
    })
}

/// `From<wrapper> for Value` and strict `TryFrom<Value>` / `TryFrom<&Value>` (the exact kind
/// only; [`from_value`](super::from_value) is as lenient as serde_json, e.g. a list makes a
/// tuple).
macro_rules! conversions {
    ($ty:ident, $variant:ident, $normalize:path) => {
        impl From<$ty> for Value {
            fn from(w: $ty) -> Value {
                Value::$variant($normalize(w.0))
            }
        }

        impl TryFrom<Value> for $ty {
            type Error = ValueError;

            fn try_from(v: Value) -> Result<Self, ValueError> {
                match v {
                    Value::$variant(x) => Ok($ty(x)),
                    other => Err(mismatch(&other, <$ty as Kind>::EXPECTING)),
                }
            }
        }

        impl TryFrom<&Value> for $ty {
            type Error = ValueError;

            fn try_from(v: &Value) -> Result<Self, ValueError> {
                match v {
                    Value::$variant(x) => Ok($ty(x.clone())),
                    other => Err(mismatch(other, <$ty as Kind>::EXPECTING)),
                }
            }
        }
    };
}

conversions!(FlaskTuple, Tuple, std::convert::identity);
conversions!(FlaskBytes, Bytes, std::convert::identity);
conversions!(FlaskMarkup, Markup, std::convert::identity);
conversions!(FlaskUuid, Uuid, std::convert::identity);
conversions!(FlaskDateTime, DateTime, utc_seconds);

/// "invalid type: {found}, expected {expected}".
fn mismatch(found: &Value, expected: &str) -> ValueError {
    de::Error::invalid_type(unexpected(found), &expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{from_value, to_value};
    use time::macros::datetime;

    #[test]
    fn wrappers_round_trip_through_value() {
        let t = FlaskTuple(vec![Value::from(1), Value::Tuple(vec![Value::Null])]);
        let v = to_value(&t).unwrap();
        assert_eq!(
            v,
            Value::Tuple(vec![Value::Int(1), Value::Tuple(vec![Value::Null])])
        );
        assert_eq!(from_value::<FlaskTuple>(&v).unwrap(), t);

        let b = FlaskBytes(vec![0, 1, 255]);
        let v = to_value(&b).unwrap();
        assert_eq!(v, Value::Bytes(vec![0, 1, 255]));
        assert_eq!(from_value::<FlaskBytes>(&v).unwrap(), b);

        let m = FlaskMarkup("<i>x</i>".into());
        let v = to_value(&m).unwrap();
        assert_eq!(v, Value::Markup("<i>x</i>".into()));
        assert_eq!(from_value::<FlaskMarkup>(&v).unwrap(), m);

        let u = FlaskUuid(Uuid::from_u128(0xdead_beef));
        let v = to_value(&u).unwrap();
        assert_eq!(v, Value::Uuid(u.0));
        assert_eq!(from_value::<FlaskUuid>(&v).unwrap(), u);

        let d = FlaskDateTime(datetime!(1969-07-20 20:17:40 UTC));
        let v = to_value(&d).unwrap();
        assert_eq!(v, Value::DateTime(d.0));
        assert_eq!(from_value::<FlaskDateTime>(&v).unwrap(), d);
    }

    #[test]
    fn wrappers_are_transparent_to_serde_json() {
        let json = serde_json::to_string(&(
            FlaskTuple(vec![Value::from(1)]),
            FlaskBytes(vec![7]),
            FlaskMarkup("m".into()),
            FlaskUuid(Uuid::from_u128(1)),
            FlaskDateTime(datetime!(1970-01-01 00:01:00 UTC)),
        ))
        .unwrap();
        assert_eq!(
            json,
            r#"[[1],[7],"m","00000000-0000-0000-0000-000000000001",60]"#
        );
        let back: (
            FlaskTuple,
            FlaskBytes,
            FlaskMarkup,
            FlaskUuid,
            FlaskDateTime,
        ) = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0, FlaskTuple(vec![Value::Int(1)]));
        assert_eq!(back.1, FlaskBytes(vec![7]));
        assert_eq!(back.2, FlaskMarkup("m".into()));
        assert_eq!(back.3, FlaskUuid(Uuid::from_u128(1)));
        assert_eq!(back.4, FlaskDateTime(datetime!(1970-01-01 00:01:00 UTC)));
    }

    #[test]
    fn datetime_is_utc_whole_seconds() {
        let local = datetime!(2024-01-01 01:00:00.999 +01:00);
        assert_eq!(
            Value::from(FlaskDateTime(local)),
            Value::DateTime(datetime!(2024-01-01 00:00:00 UTC))
        );
        let v = to_value(&FlaskDateTime(local)).unwrap();
        assert_eq!(v, Value::DateTime(datetime!(2024-01-01 00:00:00 UTC)));
        let Value::DateTime(dt) = v else {
            panic!("not a datetime: {v:?}")
        };
        assert_eq!(dt.offset(), UtcOffset::UTC);
    }

    #[test]
    fn try_from_is_strict_and_says_what_it_found() {
        let list = Value::List(vec![Value::from(1)]);
        let err = FlaskTuple::try_from(&list).unwrap_err();
        assert_eq!(err.to_string(), "invalid type: sequence, expected a tuple");
        let err = FlaskBytes::try_from(Value::from("x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: string \"x\", expected bytes"
        );
        assert_eq!(
            FlaskMarkup::try_from(Value::Markup("a".into())).unwrap(),
            FlaskMarkup("a".into())
        );
        assert!(FlaskUuid::try_from(Value::from("00000000-0000-0000-0000-000000000001")).is_err());
        assert!(FlaskDateTime::try_from(&Value::Int(0)).is_err());
    }

    #[test]
    fn from_value_is_lenient_like_serde_json() {
        let list = Value::List(vec![Value::from(1)]);
        assert_eq!(
            from_value::<FlaskTuple>(&list).unwrap(),
            FlaskTuple(vec![Value::Int(1)])
        );
        let id = "00000000-0000-0000-0000-000000000002";
        assert_eq!(
            from_value::<FlaskUuid>(&Value::from(id)).unwrap(),
            FlaskUuid(Uuid::from_u128(2))
        );
        assert_eq!(
            from_value::<FlaskDateTime>(&Value::Int(86_400)).unwrap(),
            FlaskDateTime(datetime!(1970-01-02 00:00:00 UTC))
        );
        assert_eq!(
            from_value::<FlaskBytes>(&Value::from(vec![1u8, 2])).unwrap(),
            FlaskBytes(vec![1, 2])
        );
    }

    #[test]
    fn bad_contents_are_errors() {
        let err = from_value::<FlaskUuid>(&Value::from("nope")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value: string \"nope\", expected a UUID"
        );
        let err = from_value::<FlaskDateTime>(&Value::Int(i64::MAX)).unwrap_err();
        assert!(
            err.to_string().contains("expected a unix timestamp"),
            "{err}"
        );
        let err = from_value::<FlaskBytes>(&Value::from(vec![300])).unwrap_err();
        assert_eq!(err.to_string(), "invalid value: integer `300`, expected u8");
        let err = from_value::<FlaskMarkup>(&Value::from(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: integer `1`, expected a string"
        );
    }

    #[test]
    fn big_int_serde() {
        let huge: BigInt = "-123456789012345678901234567890123456789012"
            .parse()
            .unwrap();
        let v = to_value(&huge).unwrap();
        assert_eq!(v, Value::BigInt(huge.clone()));
        assert_eq!(from_value::<BigInt>(&v).unwrap(), huge);
        assert_eq!(
            serde_json::to_string(&huge).unwrap(),
            "\"-123456789012345678901234567890123456789012\""
        );

        let fits: BigInt = "340282366920938463463374607431768211455".parse().unwrap();
        let json = serde_json::to_string(&fits).unwrap();
        assert_eq!(json, "340282366920938463463374607431768211455");
        // serde_json (without `arbitrary_precision`) reports integers beyond u64 as floats:
        // reading one fails loudly instead of rounding.
        let err = serde_json::from_str::<BigInt>(&json).unwrap_err();
        assert!(err.to_string().contains("expected an integer"), "{err}");
        let max: BigInt = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(max.as_str(), "18446744073709551615");
        assert_eq!(to_value(&fits).unwrap(), Value::BigInt(fits.clone()));
        assert_eq!(
            from_value::<BigInt>(&Value::Int(-5)).unwrap().as_str(),
            "-5"
        );
        assert!(from_value::<BigInt>(&Value::from("0x10")).is_err());
    }
}
