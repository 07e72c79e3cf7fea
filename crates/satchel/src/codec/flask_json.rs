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
//! - nesting deeper than [`MAX_DEPTH`] is an error (Python's limit is its recursion limit);
//! - [`from_str`] wants an object (Flask would also make a session of a list of pairs);
//! - a tag whose content Python would turn into an exception (Flask answers 500) is an error.
//!   Contents Python converts loosely are converted the same way (`" t"` of a string is its
//!   characters, `" m"` of a number its text, `" d"` reads what `email.utils.parsedate_tz` reads
//!   and gives `None` for the rest, as Werkzeug does), except: `" b"` must be padded standard
//!   base64 (Python skips stray characters), `" u"` must be plain hex after `uuid.UUID`'s
//!   clean-up (Python's `int()` also takes `_` and `0x`), `" m"` of a container is an error,
//!   and `" t"` of an object lists its keys sorted (Python: in text order).

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use time::{Month, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::value::{BigInt, Dict, Value};

/// Objects and arrays nested deeper than this are refused (tags count as a level each).
///
/// ```
/// use satchel::codec::flask_json::{value_from_str, MAX_DEPTH};
/// assert!(value_from_str(&"[".repeat(MAX_DEPTH + 1)).is_err());
/// ```
pub const MAX_DEPTH: usize = 128;

/// Python refuses to convert integers with more digits than this (`sys.int_info`'s default
/// `max_str_digits`), so a cookie holding one is a 500 in Flask and malformed here.
const MAX_INT_DIGITS: usize = 4300;

/// The keys Flask's serializer registers; a one-key object with one of them is a tagged value.
const TAGS: [&str; 6] = [" di", " t", " b", " m", " u", " d"];

/// The text is not JSON as Python reads it, or holds a tag Flask could not load.
///
/// ```
/// let err = satchel::codec::flask_json::from_str("{\"a\":}").unwrap_err();
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

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/// The session as Flask writes it: tagged, sorted, compact, ASCII-only.
///
/// ```
/// use satchel::{value::Dict, Value};
/// let mut data = Dict::new();
/// data.insert("n".into(), Value::from(1e16));
/// data.insert("t".into(), Value::Tuple(vec![Value::from("é")]));
/// assert_eq!(satchel::codec::flask_json::to_string(&data), r#"{"n":1e+16,"t":{" t":["\u00e9"]}}"#);
/// ```
pub fn to_string(data: &Dict) -> String {
    let mut out = String::with_capacity(256);
    write_dict(data, &mut out);
    out
}

/// Appends the session's TaggedJSON text to `out` (clear it first to reuse its allocation).
///
/// ```
/// use satchel::{value::Dict, Value};
/// let mut data = Dict::new();
/// data.insert("a".into(), Value::Bytes(b"hi".to_vec()));
/// let mut out = String::new();
/// satchel::codec::flask_json::write_dict(&data, &mut out);
/// assert_eq!(out, r#"{"a":{" b":"aGk="}}"#);
/// ```
pub fn write_dict(data: &Dict, out: &mut String) {
    write_object(data, out);
}

/// One value's TaggedJSON text.
///
/// ```
/// use satchel::Value;
/// use satchel::codec::flask_json::value_to_string;
/// assert_eq!(value_to_string(&Value::Float(f64::NAN)), "NaN");
/// assert_eq!(value_to_string(&Value::from(0.1)), "0.1");
/// assert_eq!(value_to_string(&Value::from("\u{1F600}")), r#""\ud83d\ude00""#);
/// ```
pub fn value_to_string(v: &Value) -> String {
    let mut out = String::with_capacity(32);
    write_value(v, &mut out);
    out
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => write_int(*n, out),
        Value::BigInt(n) => out.push_str(n.as_str()),
        Value::Float(f) => write_float(*f, out),
        Value::Str(s) => write_str(s, out),
        Value::List(items) => write_array(items, out),
        Value::Dict(d) => write_object(d, out),
        Value::Tuple(items) => write_tagged(" t", out, |out| write_array(items, out)),
        Value::Bytes(b) => write_tagged(" b", out, |out| {
            out.push('"');
            STANDARD.encode_string(b, out);
            out.push('"');
        }),
        Value::Markup(s) => write_tagged(" m", out, |out| write_str(s, out)),
        Value::Uuid(u) => write_tagged(" u", out, |out| {
            out.push('"');
            out.push_str(u.simple().encode_lower(&mut uuid::Uuid::encode_buffer()));
            out.push('"');
        }),
        Value::DateTime(dt) => write_tagged(" d", out, |out| write_http_date(*dt, out)),
    }
}

/// `{"<tag>":<body>}`; tags are plain ASCII, so they need no escaping.
fn write_tagged(tag: &str, out: &mut String, body: impl FnOnce(&mut String)) {
    out.push_str("{\"");
    out.push_str(tag);
    out.push_str("\":");
    body(out);
    out.push('}');
}

fn write_object(d: &Dict, out: &mut String) {
    if d.len() == 1 {
        if let Some((key, value)) = d.iter().next().filter(|(k, _)| is_tag(k)) {
            // Flask's TagDict: a one-key dict that would read back as a tag is escaped.
            return write_tagged(" di", out, |out| {
                out.push_str("{\"");
                out.push_str(key);
                out.push_str("__\":");
                write_value(value, out);
                out.push('}');
            });
        }
    }
    out.push('{');
    for (i, (key, value)) in d.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(key, out);
        out.push(':');
        write_value(value, out);
    }
    out.push('}');
}

fn write_array(items: &[Value], out: &mut String) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_value(item, out);
    }
    out.push(']');
}

fn is_tag(key: &str) -> bool {
    key.starts_with(' ') && TAGS.contains(&key)
}

/// True for the bytes Python's `ensure_ascii` writes as themselves.
fn is_plain(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_plain(b) {
            i += 1;
            continue;
        }
        out.push_str(&s[start..i]);
        let c = s[i..].chars().next().unwrap_or('\u{fffd}');
        write_escape(c, out);
        i += c.len_utf8();
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn write_escape(c: char, out: &mut String) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        _ => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write_u_escape(*unit, out);
            }
        }
    }
}

fn write_u_escape(unit: u16, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
    }
}

fn write_int(n: i64, out: &mut String) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push('-');
    }
    buf[i..].iter().for_each(|&d| out.push(char::from(d)));
}

/// Python's `json` float text: `NaN`, `Infinity`, `-Infinity`, else `repr(f)`.
fn write_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        write_float_repr(f, out);
    }
}

/// A fixed buffer that `write!` can fill without allocating.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl StackBuf {
    /// `args` formatted, or `None` if they do not fit (no `f64` in `{:e}` form is that long).
    fn format(args: std::fmt::Arguments<'_>) -> Option<StackBuf> {
        let mut b = StackBuf {
            buf: [0; 40],
            len: 0,
        };
        b.write_fmt(args).ok()?;
        Some(b)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The digits of Python's `repr(a)` for a finite `a >= 0`, in `{:e}` form: as few as round-trip
/// and, among those, the closest to `a` (ties to even, as David Gay's `dtoa` that CPython uses).
/// Rust's `{:e}` finds the shortest length but can pick the other neighbour of an exact tie, so
/// the digits are re-rounded at that length by the exact formatter, which rounds ties to even.
fn shortest_digits(a: f64) -> Option<StackBuf> {
    let shortest = StackBuf::format(format_args!("{a:e}"))?;
    let mantissa = shortest.as_str().split('e').next().unwrap_or("");
    let precision = mantissa.len().saturating_sub(2); // digits after the point
    if precision == 0 {
        return Some(shortest);
    }
    let nearest = StackBuf::format(format_args!("{a:.precision$e}"))?;
    let round_trips = nearest.as_str().parse::<f64>() == Ok(a);
    Some(if round_trips { nearest } else { shortest })
}

/// Python's `float.__repr__` for a finite float, laid out as CPython's `format_float_short`
/// does: scientific when the decimal exponent is below -4 or at least 16, else positional with
/// at least `.0`.
fn write_float_repr(f: f64, out: &mut String) {
    let Some(sci) = shortest_digits(f.abs()) else {
        return out.push_str("0.0"); // cannot happen: 40 bytes hold any f64 in `{:e}` form
    };
    let (mantissa, exp) = sci.as_str().split_once('e').unwrap_or(("0", "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut n = 0;
    for b in mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .take(digits.len())
    {
        digits[n] = b;
        n += 1;
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    layout_float(&digits[..n], exp + 1, out);
}

/// Lays out `0.DIGITS × 10^decpt` as CPython's `repr` does.
fn layout_float(digits: &[u8], decpt: i32, out: &mut String) {
    let push_digits =
        |out: &mut String, ds: &[u8]| ds.iter().for_each(|&d| out.push(char::from(d)));
    let zeros = |out: &mut String, k: i32| (0..k).for_each(|_| out.push('0'));
    let n = digits.len() as i32;
    if decpt <= -4 || decpt > 16 {
        push_digits(out, &digits[..1]);
        if n > 1 {
            out.push('.');
            push_digits(out, &digits[1..]);
        }
        let e = decpt - 1;
        out.push_str(if e < 0 { "e-" } else { "e+" });
        if e.abs() < 10 {
            out.push('0');
        }
        write_int(i64::from(e.abs()), out);
    } else if decpt <= 0 {
        out.push_str("0.");
        zeros(out, -decpt);
        push_digits(out, digits);
    } else if decpt >= n {
        push_digits(out, digits);
        zeros(out, decpt - n);
        out.push_str(".0");
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        push_digits(out, int);
        out.push('.');
        push_digits(out, frac);
    }
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Werkzeug's `http_date`: `"Wed, 25 Nov 2026 16:56:40 GMT"`, in UTC, to the second. (A time
/// whose UTC date is past the year 9999, which Python cannot hold either, is written as is.)
fn write_http_date(dt: OffsetDateTime, out: &mut String) {
    let dt = dt.checked_to_offset(UtcOffset::UTC).unwrap_or(dt);
    let weekday = WEEKDAYS[usize::from(dt.weekday().number_days_from_monday())];
    let month = MONTHS[usize::from(u8::from(dt.month()) - 1)];
    let _ = write!(
        out,
        "\"{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT\"",
        dt.day(),
        dt.year(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/// Reads a session: Python's `json.loads`, then Flask's untagging. The top level must be an
/// object (after untagging).
///
/// ```
/// use satchel::Value;
/// let data = satchel::codec::flask_json::from_str(r#"{"t":{" t":[1,NaN]},"n":1e400}"#).unwrap();
/// assert_eq!(data["t"], Value::Tuple(vec![Value::from(1), Value::Float(f64::NAN)]));
/// assert_eq!(data["n"], Value::Float(f64::INFINITY));
/// assert!(satchel::codec::flask_json::from_str("[1]").is_err());
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
///
/// ```
/// use satchel::Value;
/// use satchel::codec::flask_json::value_from_str;
/// assert_eq!(value_from_str(r#"{" b":"aGk="}"#).unwrap(), Value::Bytes(b"hi".to_vec()));
/// assert_eq!(value_from_str(r#"{" di":{" t__":1}}"#).unwrap(),
///            Value::Dict([(" t".to_string(), Value::from(1))].into()));
/// assert!(value_from_str(r#""\ud800""#).is_err());
/// ```
pub fn value_from_str(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        di_first_key: None,
    };
    let v = p.value(0, false)?;
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(p.err("extra data"));
    }
    Ok(v)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// The first key, in text order, of the last multi-key object parsed as the content of a
    /// `" di"` tag: Flask's `TagDict.to_python` keeps that one (Python dicts keep insertion order).
    di_first_key: Option<String>,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> JsonError {
        JsonError {
            message: message.to_owned(),
            position: self.pos,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8, message: &str) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() != Some(b) {
            return Err(self.err(message));
        }
        self.pos += 1;
        Ok(())
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("expecting value"))
        }
    }

    /// One value; `di_content` marks the content of a `" di"` tag (see `di_first_key`).
    fn value(&mut self, depth: usize, di_content: bool) -> Result<Value, JsonError> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.object(depth + 1, di_content),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::Str),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'N') => self.literal("NaN", Value::Float(f64::NAN)),
            Some(b'I') => self.literal("Infinity", Value::Float(f64::INFINITY)),
            Some(b'-') if self.bytes.get(self.pos + 1) == Some(&b'I') => {
                self.literal("-Infinity", Value::Float(f64::NEG_INFINITY))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("expecting value")),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.enter(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::List(items));
        }
        loop {
            items.push(self.value(depth, false)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::List(items));
                }
                _ => return Err(self.err("expecting ',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize, di_content: bool) -> Result<Value, JsonError> {
        self.enter(depth)?;
        self.pos += 1;
        let mut map = Dict::new();
        let mut first_key = None;
        let mut di_first_key = None;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Dict(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expecting property name enclosed in double quotes"));
            }
            let key = self.string()?;
            self.expect(b':', "expecting ':' delimiter")?;
            let value = if key == " di" {
                self.di_first_key = None;
                let v = self.value(depth, true)?;
                di_first_key = self.di_first_key.take();
                v
            } else {
                self.value(depth, false)?
            };
            if di_content && first_key.is_none() {
                first_key = Some(key.clone());
            }
            map.insert(key, value);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => break,
                _ => return Err(self.err("expecting ',' or '}'")),
            }
        }
        self.pos += 1;
        if map.len() > 1 {
            if di_content {
                self.di_first_key = first_key;
            }
            return Ok(Value::Dict(map));
        }
        self.untag(map, di_first_key)
    }

    /// Flask's `TaggedJSONSerializer.untag` on a parsed object.
    fn untag(&self, mut map: Dict, di_first_key: Option<String>) -> Result<Value, JsonError> {
        if !map.first_key_value().is_some_and(|(k, _)| is_tag(k)) {
            return Ok(Value::Dict(map));
        }
        let Some((tag, content)) = map.pop_first() else {
            return Ok(Value::Dict(map));
        };
        let untagged = match tag.as_str() {
            " di" => untag_dict(content, di_first_key),
            " t" => untag_tuple(content),
            " b" => untag_bytes(content),
            " m" => untag_markup(content),
            " u" => untag_uuid(content),
            _ => untag_datetime(content),
        };
        untagged.ok_or_else(|| JsonError {
            message: format!("invalid content for Flask tag {tag:?}"),
            position: self.pos,
        })
    }

    /// A string; `self.pos` is on its opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(self.text[start..self.pos - 1].to_owned());
                }
                Some(b'\\') => break,
                Some(b) if b >= 0x20 => self.pos += 1,
                Some(_) => return Err(self.err("invalid control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
        let mut s = String::with_capacity(self.pos - start + 16);
        s.push_str(&self.text[start..self.pos]);
        self.string_tail(s)
    }

    /// The rest of a string that has escapes; `s` holds what came before the first one.
    fn string_tail(&mut self, mut s: String) -> Result<String, JsonError> {
        loop {
            let run = self.pos;
            while self
                .peek()
                .is_some_and(|b| b >= 0x20 && b != b'"' && b != b'\\')
            {
                self.pos += 1;
            }
            s.push_str(&self.text[run..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some(b'\\') => s.push(self.escape()?),
                Some(_) => return Err(self.err("invalid control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    /// One escape sequence; `self.pos` is on its backslash.
    fn escape(&mut self) -> Result<char, JsonError> {
        let c = match self.bytes.get(self.pos + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(),
            _ => return Err(self.err("invalid \\escape")),
        };
        self.pos += 2;
        Ok(c)
    }

    /// `\uXXXX`, or a surrogate pair of two of them.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let high = self.hex4(self.pos + 2)?;
        self.pos += 6;
        if !(0xd800..0xe000).contains(&high) {
            return char::from_u32(high).ok_or_else(|| self.err("invalid \\uXXXX escape"));
        }
        let low = match self.bytes.get(self.pos..self.pos + 2) {
            Some(b"\\u") if high < 0xdc00 => self.hex4(self.pos + 2)?,
            _ => return Err(self.err("lone surrogate in \\uXXXX escape")),
        };
        if !(0xdc00..0xe000).contains(&low) {
            return Err(self.err("lone surrogate in \\uXXXX escape"));
        }
        self.pos += 6;
        char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))
            .ok_or_else(|| self.err("invalid \\uXXXX escape"))
    }

    fn hex4(&self, at: usize) -> Result<u32, JsonError> {
        let digits = self.bytes.get(at..at + 4).unwrap_or(b"");
        if digits.len() != 4 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(self.err("invalid \\uXXXX escape"));
        }
        Ok(digits.iter().fold(0, |acc, &d| {
            acc * 16 + char::from(d).to_digit(16).unwrap_or(0)
        }))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number as Python's scanner reads one: `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, an
    /// integer when it has neither fraction nor exponent.
    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_digits = match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                1
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err("expecting value")),
        };
        let int_end = self.pos;
        if self.peek() == Some(b'.') && self.bytes.get(self.pos + 1).is_some_and(u8::is_ascii_digit)
        {
            self.pos += 1;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            let mark = self.pos;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                self.pos = mark;
            }
        }
        let text = &self.text[start..self.pos];
        if self.pos != int_end {
            return text
                .parse()
                .map(Value::Float)
                .map_err(|_| self.err("invalid number"));
        }
        self.integer(text, int_digits)
    }

    fn integer(&self, text: &str, digits: usize) -> Result<Value, JsonError> {
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Value::Int(n));
        }
        if digits > MAX_INT_DIGITS {
            return Err(self.err("integer exceeds Python's 4300-digit limit"));
        }
        text.parse::<BigInt>()
            .map(Value::BigInt)
            .map_err(|_| self.err("invalid number"))
    }
}

// ---------------------------------------------------------------------------------------------
// Untagging: each tag's `to_python`, `None` where Python raises
// ---------------------------------------------------------------------------------------------

/// `TagDict.to_python`: `{key[:-2]: value[key]}` for the content's first key.
fn untag_dict(content: Value, first_key: Option<String>) -> Option<Value> {
    let Value::Dict(mut inner) = content else {
        return None;
    };
    let (key, value) = if inner.len() == 1 {
        inner.pop_first()?
    } else {
        let key = first_key?;
        let value = inner.remove(&key)?;
        (key, value)
    };
    let cut = key.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
    let mut out = Dict::new();
    out.insert(key[..cut].to_owned(), value);
    Some(Value::Dict(out))
}

/// `tuple(value)`.
fn untag_tuple(content: Value) -> Option<Value> {
    let chars = |s: &str| s.chars().map(|c| Value::Str(c.to_string())).collect();
    Some(Value::Tuple(match content {
        Value::List(items) | Value::Tuple(items) => items,
        Value::Str(s) | Value::Markup(s) => chars(&s),
        Value::Dict(d) => d.into_keys().map(Value::Str).collect(),
        Value::Bytes(b) => b.into_iter().map(Value::from).collect(),
        _ => return None,
    }))
}

/// `base64.b64decode(value)`, for the padded standard base64 Flask writes.
fn untag_bytes(content: Value) -> Option<Value> {
    let decoded = match &content {
        Value::Str(s) | Value::Markup(s) => lenient_b64(s.as_bytes()),
        Value::Bytes(b) => lenient_b64(b),
        _ => None,
    };
    decoded.map(Value::Bytes)
}

/// Padded standard base64, ignoring leftover bits in the last character as Python does.
fn lenient_b64(text: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const PYTHON: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    PYTHON.decode(text).ok()
}

/// `Markup(value)`: text stays text; a scalar becomes Python's `str()` of it.
fn untag_markup(content: Value) -> Option<Value> {
    let text = match content {
        Value::Str(s) | Value::Markup(s) => s,
        Value::Null => "None".to_owned(),
        Value::Bool(b) => (if b { "True" } else { "False" }).to_owned(),
        Value::Int(n) => n.to_string(),
        Value::BigInt(n) => n.as_str().to_owned(),
        Value::Float(f) if f.is_nan() => "nan".to_owned(),
        Value::Float(f) if f.is_infinite() => (if f > 0.0 { "inf" } else { "-inf" }).to_owned(),
        Value::Float(f) => {
            let mut s = String::new();
            write_float_repr(f, &mut s);
            s
        }
        _ => return None,
    };
    Some(Value::Markup(text))
}

/// `uuid.UUID(value)`: `urn:`/`uuid:` prefixes, braces and hyphens dropped, 32 hex digits left.
fn untag_uuid(content: Value) -> Option<Value> {
    let (Value::Str(s) | Value::Markup(s)) = content else {
        return None;
    };
    let s = s.replace("urn:", "").replace("uuid:", "");
    let hex: String = s
        .trim_matches(|c| c == '{' || c == '}')
        .chars()
        .filter(|&c| c != '-')
        .collect();
    if hex.chars().count() != 32 {
        return None;
    }
    u128::from_str_radix(&hex, 16)
        .ok()
        .map(|n| Value::Uuid(uuid::Uuid::from_u128(n)))
}

/// Werkzeug's `parse_date(value)`: a datetime, or `None` for text it cannot read.
fn untag_datetime(content: Value) -> Option<Value> {
    match content {
        Value::Str(s) | Value::Markup(s) => {
            Some(parse_rfc2822(&s).map_or(Value::Null, Value::DateTime))
        }
        other if !other.is_truthy() => Some(Value::Null),
        _ => None,
    }
}

/// `email.utils.parsedate_to_datetime` as Werkzeug's `parse_date` uses it (no zone means UTC),
/// converted to UTC; `None` where Python raises.
fn parse_rfc2822(text: &str) -> Option<OffsetDateTime> {
    let f = parsedate_tz(text)?;
    let year = i32::try_from(f.year)
        .ok()
        .filter(|y| (1..=9999).contains(y))?;
    let month = Month::try_from(f.month).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(f.day).ok()?).ok()?;
    let [h, m, s] = [f.hour, f.minute, f.second].map(|n| u8::try_from(n).ok());
    let clock = time::Time::from_hms(h?, m?, s?).ok()?;
    let offset = match f.offset {
        None => UtcOffset::UTC,
        Some(secs) if secs.abs() < 86_400 => UtcOffset::from_whole_seconds(secs as i32).ok()?,
        Some(_) => return None,
    };
    PrimitiveDateTime::new(date, clock)
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
}

/// What `email._parseaddr._parsedate_tz` returns.
struct DateFields {
    year: i64,
    month: u8,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// Seconds east of UTC; `None` for no zone (or `-0000`).
    offset: Option<i64>,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MONTH_NAMES: [&str; 24] = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const ZONES: [(&str, i64); 14] = [
    ("UT", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("AST", -400),
    ("ADT", -300),
    ("EST", -500),
    ("EDT", -400),
    ("CST", -600),
    ("CDT", -500),
    ("MST", -700),
    ("MDT", -600),
    ("PST", -800),
    ("PDT", -700),
];

/// A port of CPython's `_parsedate_tz` (the lenient RFC 2822 reader behind `parse_date`).
fn parsedate_tz(text: &str) -> Option<DateFields> {
    let [dd, mm, yy, tm, tz] = date_words(text)?;
    let (mut dd, mut mm) = (dd, mm.to_lowercase());
    if !MONTH_NAMES.contains(&mm.as_str()) {
        (dd, mm) = (mm, dd.to_lowercase());
    }
    let month = MONTH_NAMES.iter().position(|&n| n == mm)? % 12 + 1;
    let dd = dd.strip_suffix(',').unwrap_or(&dd);
    let (mut yy, mut tm, mut tz) = (yy.as_str(), tm.as_str(), tz.as_str());
    if yy.find(':').is_some_and(|i| i > 0) {
        (yy, tm) = (tm, yy);
    }
    if let Some(stripped) = yy.strip_suffix(',') {
        yy = Some(stripped).filter(|y| !y.is_empty())?;
    }
    if !yy.chars().next()?.is_ascii_digit() {
        (yy, tz) = (tz, yy);
    }
    let [hour, minute, second] = clock_fields(tm.strip_suffix(',').unwrap_or(tm))?;
    let year = py_int(yy)?;
    Some(DateFields {
        year: if year < 100 {
            year + if year > 68 { 1900 } else { 2000 }
        } else {
            year
        },
        month: month as u8,
        day: py_int(dd)?,
        hour: py_int(hour)?,
        minute: py_int(minute)?,
        second: py_int(second)?,
        offset: zone_offset(tz),
    })
}

/// `_parsedate_tz`'s first half: the words `[day, month, year, time, zone]`.
fn date_words(text: &str) -> Option<[String; 5]> {
    let mut data: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    let first = data.first()?;
    if first.ends_with(',') || DAY_NAMES.contains(&first.to_lowercase().as_str()) {
        data.remove(0);
    } else if let Some(i) = first.rfind(',') {
        data[0] = first[i + 1..].to_owned();
    }
    if data.len() == 3 {
        let stuff: Vec<String> = data[0].split('-').map(str::to_owned).collect();
        if stuff.len() == 3 {
            data.splice(0..1, stuff);
        }
    }
    if data.len() == 4 {
        let s = data[3].clone();
        match s.find('+').or_else(|| s.find('-')) {
            Some(i) if i > 0 => {
                data[3] = s[..i].to_owned();
                data.push(s[i..].to_owned());
            }
            _ => data.push(String::new()),
        }
    }
    data.truncate(5);
    let words: [String; 5] = data.try_into().ok()?;
    let given = |w: &String| !w.is_empty();
    (given(&words[0]) && given(&words[1]) && given(&words[2])).then_some(words)
}

/// `HH:MM`, `HH:MM:SS`, or the same with dots.
fn clock_fields(tm: &str) -> Option<[&str; 3]> {
    let sep = if tm.contains(':') || !tm.contains('.') {
        ':'
    } else {
        '.'
    };
    let parts: Vec<&str> = tm.split(sep).collect();
    match parts.as_slice() {
        [h, m] => Some([h, m, "0"]),
        [h, m, s] => Some([h, m, s]),
        _ => None,
    }
}

/// A zone name or `±hhmm` as seconds east of UTC; `None` when absent, unknown, or `-0000`.
fn zone_offset(tz: &str) -> Option<i64> {
    let tz = tz.to_uppercase();
    let hhmm = match ZONES.iter().find(|(name, _)| *name == tz) {
        Some(&(_, hhmm)) => hhmm,
        None => py_int(&tz).filter(|&n| n != 0 || !tz.starts_with('-'))?,
    };
    let (sign, abs) = (hhmm.signum(), hhmm.abs());
    Some(sign * ((abs / 100) * 3600 + (abs % 100) * 60))
}

/// Python's `int(text)` for ASCII text: a sign, digits, single underscores between digits.
fn py_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__");
    if !well_formed {
        return None;
    }
    let mut n: i64 = 0;
    for b in digits.bytes().filter(|&b| b != b'_') {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let dt = OffsetDateTime::from_unix_timestamp(1_795_625_800).unwrap();
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
