//! `from_value` and `Value`'s serde, through `to_value` and serde_json.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::macros::datetime;

use crate::value::{
    from_value, to_value, BigInt, Dict, FlaskBytes, FlaskDateTime, FlaskMarkup, FlaskTuple,
    FlaskUuid, Value,
};

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
