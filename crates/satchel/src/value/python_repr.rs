//! Values written as Python's `repr` writes them: a Flask developer reading a session (the
//! tutorial app's `/session` page, `satchel cookie decode`) sees `(1, 'two')` and `b'\x00'` as
//! the Flask app would print them.

use std::fmt::Write;

use super::Value;

/// A value displays as Python's `repr(value)` of the value Flask would load from the cookie.
///
/// ```
/// use satchel_session::value::FlaskTuple;
/// use satchel_session::Value;
/// let pair = Value::from(FlaskTuple(vec![1.into(), "two".into()]));
/// assert_eq!(pair.to_string(), "(1, 'two')");
/// assert_eq!(Value::Bool(true).to_string(), "True");
/// assert_eq!(Value::from("it's").to_string(), r#""it's""#);
/// ```
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        write_value(&mut out, self);
        f.write_str(&out)
    }
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::BigInt(n) => out.push_str(n.as_str()),
        Value::Float(f) => write_float(out, *f),
        Value::Str(s) => write_str(out, s),
        Value::List(items) => write_seq(out, "[", items, "]"),
        Value::Tuple(items) if items.len() == 1 => write_seq(out, "(", items, ",)"),
        Value::Tuple(items) => write_seq(out, "(", items, ")"),
        Value::Dict(dict) => {
            out.push('{');
            for (i, (key, item)) in dict.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, key);
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
        Value::Bytes(bytes) => write_bytes(out, bytes),
        Value::Markup(s) => {
            out.push_str("Markup(");
            write_str(out, s);
            out.push(')');
        }
        Value::Uuid(u) => {
            let _ = write!(out, "UUID('{u}')");
        }
        Value::DateTime(dt) => {
            let _ = write!(
                out,
                "datetime.datetime({}, {}, {}, {}, {}",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
            );
            // Python leaves out a zero microsecond, then a zero second.
            let (second, micro) = (dt.second(), dt.microsecond());
            if micro != 0 {
                let _ = write!(out, ", {second}, {micro}");
            } else if second != 0 {
                let _ = write!(out, ", {second}");
            }
            out.push_str(", tzinfo=datetime.timezone.utc)");
        }
    }
}

fn write_seq(out: &mut String, open: &str, items: &[Value], close: &str) {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_value(out, item);
    }
    out.push_str(close);
}

fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("nan");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
    } else {
        let _ = write!(out, "{f:?}");
    }
}

/// Python's quote choice: single quotes unless the text has a single quote and no double one.
fn write_str(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c == '\u{ad}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if !printable(c) && (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if !printable(c) => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable` for the characters it is false for that text meets: the
/// separators (Zs but the space, Zl, Zp), the format characters (Cf) and private use. (Python
/// also escapes unassigned code points, which this does not know.)
fn printable(c: char) -> bool {
    !matches!(c as u32,
        0x1680 | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f
        | 0x3000 | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0xfeff | 0xfff9..=0xfffb
        | 0xe000..=0xf8ff | 0xf0000..)
}

fn write_bytes(out: &mut String, bytes: &[u8]) {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    out.push('b');
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(b)),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::Value;

    fn python_repr(value: &Value) -> String {
        value.to_string()
    }

    #[test]
    fn values_print_as_python_prints_them() {
        let tuple = Value::Tuple(vec![1.into(), "two".into()]);
        assert_eq!(python_repr(&tuple), "(1, 'two')");
        assert_eq!(python_repr(&Value::Tuple(vec![1.into()])), "(1,)");
        assert_eq!(
            python_repr(&Value::Bytes(b"\x00\xffbytes'".to_vec())),
            r#"b"\x00\xffbytes'""#
        );
        assert_eq!(python_repr(&Value::from("it's")), r#""it's""#);
        assert_eq!(
            python_repr(&Value::List(vec![Value::Null, true.into()])),
            "[None, True]"
        );
        assert_eq!(python_repr(&Value::Float(2.5)), "2.5");
        assert_eq!(python_repr(&Value::Float(f64::NAN)), "nan");
        let odd = Value::from("a\u{85}\u{a0}\u{2028}\u{feff}\u{10fffd}é");
        assert_eq!(python_repr(&odd), r"'a\x85\xa0\u2028\ufeff\U0010fffdé'");
    }
}
