//! `to_value`: scalars, big integers, enums, structs, map keys and the Flask kinds.

use std::collections::{BTreeMap, HashMap};

use serde::ser;
use serde::Serialize;
use time::OffsetDateTime;

use crate::value::wrappers::{BIGINT, BYTES, DATETIME, TUPLE, UUID};
use crate::value::{
    to_value, FlaskBytes, FlaskDateTime, FlaskMarkup, FlaskTuple, FlaskUuid, Value,
};

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
