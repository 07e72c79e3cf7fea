//! The reader: Python's `json.loads`, untagging objects as it goes.

use super::tags::is_tag;
use super::untag::{
    untag_bytes, untag_datetime, untag_dict, untag_markup, untag_tuple, untag_uuid,
};
use super::{JsonError, MAX_DEPTH, MAX_INT_DIGITS};
use crate::value::{BigInt, Dict, Value};
/// One whole JSON text: a value and nothing after it but whitespace.
pub(super) fn document(text: &str) -> Result<Value, JsonError> {
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
