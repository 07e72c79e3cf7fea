//! The writer: TaggedJSON values as Python's `json.dumps` writes them.

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use time::{OffsetDateTime, UtcOffset};

use super::tags::is_tag;
use crate::value::{Dict, Value};

pub(super) fn write_value(v: &Value, out: &mut String) {
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

/// An upper bound on the length [`write_value`] gives `v`, found without writing: each string
/// byte counted as its longest escape (`\u00XX`), each number and date as its longest text.
pub(super) fn value_len_bound(v: &Value) -> usize {
    /// `{"<two-letter tag>":` and `}` around a tagged body.
    const TAGGED: usize = 7;
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Int(_) => 20,
        Value::BigInt(n) => n.as_str().len(),
        // Python's float repr: at most 17 digits, sign, point and exponent (`-1.2345e-308`).
        Value::Float(_) => 32,
        Value::Str(s) => str_len_bound(s),
        Value::List(items) => array_len_bound(items),
        Value::Dict(d) => object_len_bound(d),
        Value::Tuple(items) => TAGGED + array_len_bound(items),
        Value::Bytes(b) => TAGGED + 2 + b.len().div_ceil(3) * 4,
        Value::Markup(s) => TAGGED + str_len_bound(s),
        Value::Uuid(_) => TAGGED + 34,
        // `"Wed, 25 Nov 2026 16:56:40 GMT"` with a year of up to 11 characters.
        Value::DateTime(_) => TAGGED + 40,
    }
}

/// As [`value_len_bound`], for a dict (Flask's escaped one-key form included).
pub(super) fn object_len_bound(d: &Dict) -> usize {
    /// `{" di":{` … `__` … `}}` around an escaped one-key dict.
    const TAG_DICT: usize = 12;
    TAG_DICT
        + d.iter()
            .map(|(key, value)| str_len_bound(key) + 2 + value_len_bound(value))
            .sum::<usize>()
}

fn array_len_bound(items: &[Value]) -> usize {
    2 + items
        .iter()
        .map(|item| value_len_bound(item) + 1)
        .sum::<usize>()
}

fn str_len_bound(s: &str) -> usize {
    2 + 6 * s.len()
}

/// `{"<tag>":<body>}`; tags are plain ASCII, so they need no escaping.
fn write_tagged(tag: &str, out: &mut String, body: impl FnOnce(&mut String)) {
    out.push_str("{\"");
    out.push_str(tag);
    out.push_str("\":");
    body(out);
    out.push('}');
}

pub(super) fn write_object(d: &Dict, out: &mut String) {
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
pub(super) fn write_float_repr(f: f64, out: &mut String) {
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
