//! Flask's TaggedJSON, written and read exactly as Python does.
//!
//! Flask stores a session as `TaggedJSONSerializer().dumps(session)`: the values JSON lacks are
//! wrapped in one-key objects (a *tag*), then the result goes through Python's `json.dumps` with
//! `separators=(",", ":")`, `sort_keys=True` and `ensure_ascii=True`. The signature of a Flask
//! cookie covers those exact bytes, so the writer here reproduces them byte for byte:
//!
//! | value                 | written as                                   |
//! |-----------------------|----------------------------------------------|
//! | [`Value::Tuple`]      | `{" t":[...]}`                               |
//! | [`Value::Bytes`]      | `{" b":"<standard base64, padded>"}`         |
//! | [`Value::Markup`]     | `{" m":"..."}`                               |
//! | [`Value::Uuid`]       | `{" u":"<32 lowercase hex digits>"}`         |
//! | [`Value::DateTime`]   | `{" d":"Wed, 25 Nov 2026 16:56:40 GMT"}`     |
//! | a one-key dict whose key is a tag, `{" t": v}` | `{" di":{" t__":v}}` |
//!
//! and Python's JSON text: every character outside `0x20..=0x7e` as a `\uXXXX` escape (lowercase
//! hex, surrogate pairs above U+FFFF), floats as Python's `repr` (`1e+16`, `1.5e-05`, `0.1`,
//! `-0.0`), `NaN`, `Infinity`, `-Infinity`, integers of any size verbatim.
//!
//! The reader is Python's `json.loads` followed by Flask's `_untag_scan`: it accepts `NaN` and
//! `Infinity`, integers of any size (up to Python's 4300-digit limit), duplicate keys (the last
//! wins), and untags objects bottom-up.
//!
//! Where this differs from Python, on input Flask itself never writes:
//! - a lone surrogate escape (`"\ud800"`) is an error: a Rust string cannot hold one;
//! - nesting deeper than 128 levels is an error (Python's limit is its recursion limit);
//! - [`from_str`] wants an object (Flask would also make a session of a list of pairs);
//! - a tag whose content Python would turn into an exception (Flask answers 500) is an error.
//!   Contents Python converts loosely are converted the same way (`" t"` of a string is its
//!   characters, `" m"` of a number its text, `" d"` reads what `email.utils.parsedate_tz` reads
//!   and gives `None` for the rest, as Werkzeug does), except: `" b"` must be padded standard
//!   base64 (Python skips stray characters), `" u"` must be plain hex after `uuid.UUID`'s
//!   clean-up (Python's `int()` also takes `_` and `0x`), `" m"` of a container is an error,
//!   and `" t"` of an object lists its keys sorted (Python: in text order).

use crate::value::{Dict, Value};

/// Objects and arrays nested deeper than this are refused (tags count as a level each).
pub(crate) const MAX_DEPTH: usize = 128;

/// Python refuses to convert integers with more digits than this (`sys.int_info`'s default
/// `max_str_digits`), so a cookie holding one is a 500 in Flask and malformed here.
const MAX_INT_DIGITS: usize = 4300;

/// The text is not JSON as Python reads it, or holds a tag Flask could not load.
///
/// ```
/// let err = satchel_session::codec::flask_json::from_str("{\"a\":}").unwrap_err();
/// assert_eq!(err.position, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {position}: {message}")]
pub struct JsonError {
    /// What was wrong.
    pub message: String,
    /// The byte offset in the text where it was noticed.
    pub position: usize,
}

mod date;
mod parse;
mod tags;
mod untag;
mod write;

use write::write_object;

/// The session as Flask writes it: tagged, sorted, compact, ASCII-only.
///
/// ```
/// use satchel_session::{value::Dict, Value};
/// let mut data = Dict::new();
/// data.insert("n".into(), Value::from(1e16));
/// data.insert("t".into(), Value::Tuple(vec![Value::from("é")]));
/// assert_eq!(satchel_session::codec::flask_json::to_string(&data), r#"{"n":1e+16,"t":{" t":["\u00e9"]}}"#);
/// ```
pub fn to_string(data: &Dict) -> String {
    let mut out = String::with_capacity(256);
    write_dict(data, &mut out);
    out
}

/// Appends the session's TaggedJSON text to `out` (clear it first to reuse its allocation).
pub(crate) fn write_dict(data: &Dict, out: &mut String) {
    write_object(data, out);
}

/// An upper bound on the length of [`write_dict`]'s text for `data`, found without writing it
/// (a store checks its size limit with it, and writes the text only when the bound is over).
pub(crate) fn len_bound(data: &Dict) -> usize {
    write::object_len_bound(data)
}

/// Reads a session: Python's `json.loads`, then Flask's untagging. The top level must be an
/// object (after untagging).
///
/// ```
/// use satchel_session::Value;
/// let data = satchel_session::codec::flask_json::from_str(r#"{"t":{" t":[1,NaN]},"n":1e400}"#).unwrap();
/// assert_eq!(data["t"], Value::Tuple(vec![Value::from(1), Value::Float(f64::NAN)]));
/// assert_eq!(data["n"], Value::Float(f64::INFINITY));
/// assert!(satchel_session::codec::flask_json::from_str("[1]").is_err());
/// ```
pub fn from_str(text: &str) -> Result<Dict, JsonError> {
    match value_from_str(text)? {
        Value::Dict(d) => Ok(d),
        _ => Err(JsonError {
            message: "the session is not an object".into(),
            position: 0,
        }),
    }
}

/// Reads one value: Python's `json.loads`, then Flask's untagging.
pub(crate) fn value_from_str(text: &str) -> Result<Value, JsonError> {
    parse::document(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Float),
            any::<String>().prop_map(Value::Str),
            any::<String>().prop_map(Value::Markup),
            prop::collection::vec(any::<u8>(), 0..24).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Tuple),
                prop::collection::btree_map(any::<String>(), inner, 0..4).prop_map(Value::Dict),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_length_bound_is_never_below_the_length(
            data in prop::collection::btree_map(any::<String>(), any_value(), 0..6)
        ) {
            let json = to_string(&data);
            prop_assert!(len_bound(&data) >= json.len(), "bound below {} for {json}", json.len());
        }
    }
    use write::write_value;

    /// One value's TaggedJSON text.
    fn value_to_string(v: &Value) -> String {
        let mut out = String::with_capacity(32);
        write_value(v, &mut out);
        out
    }

    #[test]
    fn the_crate_internal_helpers() {
        {
            assert!(value_from_str(&"[".repeat(MAX_DEPTH + 1)).is_err());
        }
        {
            let mut data = Dict::new();
            data.insert("a".into(), Value::Bytes(b"hi".to_vec()));
            let mut out = String::new();
            write_dict(&data, &mut out);
            assert_eq!(out, r#"{"a":{" b":"aGk="}}"#);
        }
        {
            let mut data = Dict::new();
            data.insert("name".into(), Value::from("Kimi \u{1F3C1}"));
            data.insert("age".into(), Value::from(25));
            let mut out = String::new();
            write_dict(&data, &mut out);
            assert!(len_bound(&data) >= out.len());
        }
        {
            assert_eq!(value_to_string(&Value::Float(f64::NAN)), "NaN");
            assert_eq!(value_to_string(&Value::from(0.1)), "0.1");
            assert_eq!(
                value_to_string(&Value::from("\u{1F600}")),
                r#""\ud83d\ude00""#
            );
        }
        {
            assert_eq!(
                value_from_str(r#"{" b":"aGk="}"#).unwrap(),
                Value::Bytes(b"hi".to_vec())
            );
            assert_eq!(
                value_from_str(r#"{" di":{" t__":1}}"#).unwrap(),
                Value::Dict([(" t".to_string(), Value::from(1))].into())
            );
            assert!(value_from_str(r#""\ud800""#).is_err());
        }
    }

    fn roundtrip(text: &str) -> String {
        value_to_string(&value_from_str(text).unwrap())
    }

    #[test]
    fn floats_are_written_as_python_repr() {
        let cases = [
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e-7, "1e-07"),
            (0.0001, "0.0001"),
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (123.456, "123.456"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
            (-2.5e100, "-2.5e+100"),
            // exact ties between two shortest candidates go to the even digit, as in CPython
            (1059438285926254.0 + 0.25, "1059438285926254.2"),
            (-108868734838530.0 - 0.125, "-108868734838530.12"),
            (26363981746409.0 + 0.3125, "26363981746409.312"),
        ];
        for (f, want) in cases {
            assert_eq!(value_to_string(&Value::Float(f)), want, "{f:?}");
        }
    }

    #[test]
    fn strings_are_escaped_like_ensure_ascii() {
        let s = "a\"\\\n\r\t\u{8}\u{c}\u{1}\u{7f}é\u{1F600}/";
        assert_eq!(
            value_to_string(&Value::from(s)),
            r#""a\"\\\n\r\t\b\f\u0001\u007f\u00e9\ud83d\ude00/""#
        );
    }

    #[test]
    fn tagged_values_are_written_as_flask_tags() {
        let mut d = Dict::new();
        d.insert(" t".into(), Value::Tuple(vec![Value::Bytes(vec![0, 255])]));
        let dt = time::OffsetDateTime::from_unix_timestamp(1_795_625_800).unwrap();
        let uuid = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let v = Value::List(vec![
            Value::Dict(d),
            Value::Markup("<b>".into()),
            Value::Uuid(uuid),
            Value::DateTime(dt),
        ]);
        let text = value_to_string(&v);
        assert_eq!(
            text,
            r#"[{" di":{" t__":{" t":[{" b":"AP8="}]}}},{" m":"<b>"},{" u":"0123456789abcdef0123456789abcdef"},{" d":"Wed, 25 Nov 2026 16:56:40 GMT"}]"#
        );
        assert_eq!(value_from_str(&text).unwrap(), v);
    }

    #[test]
    fn python_json_extensions_are_read() {
        assert_eq!(
            roundtrip("[NaN, Infinity, -Infinity, 1E400, -0, -0.0]"),
            "[NaN,Infinity,-Infinity,Infinity,0,-0.0]"
        );
        let big = "123456789012345678901234567890";
        assert_eq!(roundtrip(big), big);
        assert_eq!(roundtrip("-9223372036854775809"), "-9223372036854775809");
        assert_eq!(roundtrip("9223372036854775807"), "9223372036854775807");
        assert_eq!(roundtrip(" {\"b\":1,\"a\":2,\"b\":3} "), r#"{"a":2,"b":3}"#);
        assert_eq!(
            roundtrip(r#""\ud83d\ude00\u00E9\/""#),
            r#""\ud83d\ude00\u00e9/""#
        );
    }

    #[test]
    fn invalid_json_is_refused_without_panicking() {
        let bad = [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "1e",
            "-",
            "nan",
            "\"\u{1}\"",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\u12\"",
            "[1] x",
            "{1:2}",
            "\u{feff}{}",
            "-Inf",
            "tru",
            "\"abc",
            "{\"a\" 1}",
            "[1 2]",
        ];
        for text in bad {
            assert!(value_from_str(text).is_err(), "{text:?}");
        }
        let digits = "9".repeat(MAX_INT_DIGITS + 1);
        assert!(value_from_str(&digits).is_err());
        assert!(value_from_str(&digits[1..]).is_ok());
    }

    #[test]
    fn nesting_is_capped() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(value_from_str(&ok).is_ok());
        let deep = "[".repeat(100_000);
        assert!(value_from_str(&deep).is_err());
    }

    #[test]
    fn di_escape_keeps_the_first_key_of_its_content() {
        let v = value_from_str(r#"{" di":{"b__":1,"a__":2}}"#).unwrap();
        assert_eq!(value_to_string(&v), r#"{"b":1}"#);
        let v = value_from_str(r#"{" di":{" di":{"x____":1}}}"#).unwrap();
        assert_eq!(value_to_string(&v), r#"{"x":1}"#);
        assert!(value_from_str(r#"{" di":{}}"#).is_err());
        assert!(value_from_str(r#"{" di":[1]}"#).is_err());
    }

    #[test]
    fn loose_tag_contents_follow_python() {
        let v = |t: &str| value_to_string(&value_from_str(t).unwrap());
        assert_eq!(v(r#"{" t":"ab"}"#), r#"{" t":["a","b"]}"#);
        assert_eq!(v(r#"{" m":1.5}"#), r#"{" m":"1.5"}"#);
        assert_eq!(v(r#"{" d":"nonsense"}"#), "null");
        assert_eq!(v(r#"{" d":0}"#), "null");
        let dates = [
            ("25 Nov 26 16:56 +0200", "Wed, 25 Nov 2026 14:56:00 GMT"),
            ("Nov 25 2026 16:56:40", "Wed, 25 Nov 2026 16:56:40 GMT"),
            (
                "wed,25 november 2026 16.56.40 EST",
                "Wed, 25 Nov 2026 21:56:40 GMT",
            ),
            (
                "Sat, 25-Nov-2026 16:56:40 -0130",
                "Wed, 25 Nov 2026 18:26:40 GMT",
            ),
            ("25 Nov 2026 16:56:40 +05", "Wed, 25 Nov 2026 16:51:40 GMT"),
            (
                "Mon, 01 Jan 0001 00:00:00 GMT",
                "Mon, 01 Jan 2001 00:00:00 GMT",
            ),
        ];
        for (text, want) in dates {
            let got = v(&format!(r#"{{" d":"{text}"}}"#));
            assert_eq!(got, format!(r#"{{" d":"{want}"}}"#), "{text}");
        }
        // (Python reads the year-9999 one but cannot write it back: its UTC date is past 9999.)
        let unreadable = [
            "1 Nov 2026 24:00",
            "31 Dec 9999 23:00 -0100",
            "1 Nov 2026 1:2 +2400",
        ];
        for text in unreadable {
            assert_eq!(v(&format!(r#"{{" d":"{text}"}}"#)), "null", "{text}");
        }
        assert_eq!(
            v(r#"{" u":"{urn:uuid:01234567-89AB-cdef-0123-456789abcdef}"}"#),
            r#"{" u":"0123456789abcdef0123456789abcdef"}"#
        );
        assert_eq!(v(r#"{" b":"QR=="}"#), r#"{" b":"QQ=="}"#);
        for bad in [
            r#"{" u":"xyz"}"#,
            r#"{" b":"QQ"}"#,
            r#"{" b":1}"#,
            r#"{" t":1}"#,
            r#"{" m":[]}"#,
        ] {
            assert!(value_from_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn top_level_must_be_an_object() {
        assert!(from_str(r#"{" t":[1]}"#).is_err());
        assert_eq!(from_str(r#"{" di":{" t__":[1]}}"#).unwrap().len(), 1);
    }
}
