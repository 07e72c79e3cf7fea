//! The values a session holds.
//!
//! A Flask session can hold more than JSON: Python's `json` writes `NaN`/`Infinity` and integers of
//! any size, and Flask's TaggedJSON adds tuples, bytes, `Markup`, UUIDs and datetimes. [`Value`]
//! holds all of them, so a Flask cookie decodes and re-encodes without losing anything.
//!
//! Plain data goes in and out through serde ([`to_value`], [`from_value`], and the typed
//! [`Session`](crate::Session) accessors); the Flask-only kinds have wrapper types
//! ([`FlaskTuple`], [`FlaskBytes`], [`FlaskMarkup`], [`FlaskUuid`], [`FlaskDateTime`]) that keep
//! their kind through serde.

mod de;
mod error;
#[cfg(feature = "redis")]
pub(crate) mod msgpack;
mod python_repr;
mod ser;
mod wrappers;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::Unexpected;

pub use de::from_value;
pub(crate) use de::visit_entries;
pub use error::ValueError;
pub use ser::to_value;
pub use wrappers::{FlaskBytes, FlaskDateTime, FlaskMarkup, FlaskTuple, FlaskUuid};

/// A session's top level and every nested object: string keys, kept sorted (Flask writes its
/// JSON with `sort_keys=True`, so the order on the wire is the sorted one anyway).
pub type Dict = BTreeMap<String, Value>;

/// One value in a session.
///
/// ```
/// use satchel_session::Value;
/// let v = Value::from(25);
/// assert_eq!(v, Value::Int(25));
/// assert_eq!(Value::from("Kimi").as_str(), Some("Kimi"));
/// ```
#[derive(Debug, Clone)]
pub enum Value {
    /// JSON `null` / Python `None`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// An integer outside `i64` (Python integers have no size limit).
    BigInt(BigInt),
    /// A float, including NaN and ±infinity (Python writes them as `NaN`, `Infinity`).
    Float(f64),
    /// A string.
    Str(String),
    /// A JSON array / Python list.
    List(Vec<Value>),
    /// A JSON object / Python dict.
    Dict(Dict),
    /// A Python tuple (Flask tag `" t"`).
    Tuple(Vec<Value>),
    /// Python `bytes` (Flask tag `" b"`).
    Bytes(Vec<u8>),
    /// Markupsafe `Markup`: HTML marked safe (Flask tag `" m"`).
    Markup(String),
    /// A `uuid.UUID` (Flask tag `" u"`).
    Uuid(uuid::Uuid),
    /// A `datetime` (Flask tag `" d"`), in UTC, to the second: Flask writes it as an HTTP date.
    DateTime(time::OffsetDateTime),
}

impl Value {
    /// The string inside a [`Value::Str`], if it is one.
    ///
    /// ```
    /// assert_eq!(satchel_session::Value::from("a").as_str(), Some("a"));
    /// assert_eq!(satchel_session::Value::from(1).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside a [`Value::Int`], if it is one.
    ///
    /// ```
    /// assert_eq!(satchel_session::Value::from(7).as_i64(), Some(7));
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// Python's truthiness: `None`, `False`, zero, and empty containers are false.
    ///
    /// ```
    /// use satchel_session::Value;
    /// assert!(!Value::Null.is_truthy());
    /// assert!(Value::from("x").is_truthy());
    /// assert!(!Value::from("").is_truthy());
    /// ```
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::BigInt(_) => true,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) | Value::Markup(s) => !s.is_empty(),
            Value::List(v) | Value::Tuple(v) => !v.is_empty(),
            Value::Dict(d) => !d.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::Uuid(_) | Value::DateTime(_) => true,
        }
    }
}

/// Equality as Python sees it after a round trip: NaN equals NaN (so a decoded cookie compares
/// equal to what was encoded), otherwise structural.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (BigInt(a), BigInt(b)) => a == b,
            (Float(a), Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Str(a), Str(b)) | (Markup(a), Markup(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Dict(a), Dict(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Uuid(a), Uuid(b)) => a == b,
            (DateTime(a), DateTime(b)) => a == b,
            _ => false,
        }
    }
}

/// An integer outside `i64`, kept as its canonical decimal text (optional `-`, no leading zeros).
///
/// ```
/// use satchel_session::value::BigInt;
/// let n: BigInt = "123456789012345678901234567890".parse().unwrap();
/// assert_eq!(n.as_str(), "123456789012345678901234567890");
/// assert!("12x".parse::<BigInt>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BigInt(String);

impl BigInt {
    /// The decimal text.
    ///
    /// ```
    /// let n: satchel_session::value::BigInt = "-99999999999999999999".parse().unwrap();
    /// assert_eq!(n.as_str(), "-99999999999999999999");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as `i128`, if it fits.
    ///
    /// ```
    /// let n: satchel_session::value::BigInt = "18446744073709551616".parse().unwrap();
    /// assert_eq!(n.to_i128(), Some(18446744073709551616));
    /// ```
    pub fn to_i128(&self) -> Option<i128> {
        self.0.parse().ok()
    }
}

/// The text is not a canonical decimal integer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a canonical decimal integer")]
pub struct BigIntError;

impl std::str::FromStr for BigInt {
    type Err = BigIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix('-').unwrap_or(s);
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && s != "-0";
        if canonical {
            Ok(BigInt(s.to_owned()))
        } else {
            Err(BigIntError)
        }
    }
}

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a value is named in an error message ("invalid type: {this}, expected …").
fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Other("null"),
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Int(n) => Unexpected::Signed(*n),
        Value::BigInt(_) => Unexpected::Other("big integer"),
        Value::Float(f) => Unexpected::Float(*f),
        Value::Str(s) => Unexpected::Str(s),
        Value::List(_) => Unexpected::Seq,
        Value::Dict(_) => Unexpected::Map,
        Value::Tuple(_) => Unexpected::Other("tuple"),
        Value::Bytes(b) => Unexpected::Bytes(b),
        Value::Markup(_) => Unexpected::Other("Markup string"),
        Value::Uuid(_) => Unexpected::Other("UUID"),
        Value::DateTime(_) => Unexpected::Other("datetime"),
    }
}

/// An integer [`Value`] from a `u128`: `Int` when it fits `i64`, else `BigInt`.
fn from_u128(n: u128) -> Value {
    match i128::try_from(n) {
        Ok(n) => Value::from(n),
        Err(_) => Value::BigInt(BigInt(n.to_string())),
    }
}

/// Makes an integer [`Value`]: `Int` when it fits `i64`, else `BigInt`.
///
/// ```
/// use satchel_session::Value;
/// assert_eq!(Value::from(5u64), Value::Int(5));
/// assert!(matches!(Value::from(u64::MAX), Value::BigInt(_)));
/// ```
fn integer(n: i128) -> Value {
    match i64::try_from(n) {
        Ok(small) => Value::Int(small),
        Err(_) => Value::BigInt(BigInt(n.to_string())),
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                integer(n as i128)
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

impl From<i128> for Value {
    fn from(n: i128) -> Self {
        integer(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<f32> for Value {
    fn from(f: f32) -> Self {
        Value::Float(f64::from(f))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<BigInt> for Value {
    fn from(n: BigInt) -> Self {
        Value::BigInt(n)
    }
}

impl From<Dict> for Value {
    fn from(d: Dict) -> Self {
        Value::Dict(d)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
