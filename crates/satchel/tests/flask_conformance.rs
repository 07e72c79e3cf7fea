//! The flask cookie format against REAL Flask 3.1, both ways.
//!
//! `flask_vectors.py` (next to this file) signs sessions with Flask's own session serializer
//! and decides, with itsdangerous, what each cookie should load as. Nothing here is a committed
//! expected output: every vector is made by Flask when the test runs.
//!
//! - Flask → satchel: each cookie decodes to data whose TaggedJSON is Flask's text, byte for
//!   byte; encoding Flask's data at Flask's timestamp gives Flask's cookie, byte for byte; and
//!   cookies Flask refuses are refused for the same reason.
//! - satchel → Flask: cookies satchel makes (from Flask's sessions and from generated ones
//!   holding every kind of value) are loaded by Flask into the same data.
//!
//! Needs a Python with Flask 3.1: `python3 -m venv .venv && .venv/bin/pip install 'flask==3.1.*'`
//! at the workspace root, or `SATCHEL_PYTHON=/path/to/python`. Without one the tests print how
//! to enable them and pass — unless `CI` is set, where they fail.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use satchel_session::codec::FlaskCodec;
use satchel_session::codec::{flask_json, Codec, RejectReason, Stamp};
use satchel_session::value::{BigInt, Dict};
use satchel_session::{KeyRing, Value};
use serde_json::{json, Value as Json};

const MAX_AGE: u64 = 31 * 24 * 3600;

/// The Python to run, or `None` (after saying how to enable the test) when there is none.
fn python() -> Option<PathBuf> {
    satchel_testkit::python_with("flask, itsdangerous")
}

/// Runs `flask_vectors.py <mode>` with `input` on stdin and parses what it prints.
fn run_script(python: &Path, mode: &str, input: Option<&Json>) -> Json {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flask_vectors.py");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flask_vectors.py");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(input) = input {
        stdin
            .write_all(input.to_string().as_bytes())
            .expect("write to flask_vectors.py");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("run flask_vectors.py");
    assert!(
        out.status.success(),
        "flask_vectors.py {mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("flask_vectors.py prints JSON")
}

fn generate(python: &Path) -> Vec<Json> {
    let out = run_script(python, "generate", None);
    println!("vectors from {}", out["versions"]);
    out["vectors"].as_array().expect("vectors").clone()
}

fn text<'a>(v: &'a Json, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {v}"))
}

fn number(v: &Json, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a number in {v}"))
}

fn ring(current: &str, fallbacks: &Json) -> KeyRing {
    let fallbacks = fallbacks.as_array().expect("fallbacks");
    KeyRing::new(
        current,
        fallbacks
            .iter()
            .map(|k| k.as_str().expect("key").to_owned()),
    )
}

fn stamp(issued_at: u64, max_age: u64) -> Stamp {
    Stamp {
        issued_at,
        created_at: issued_at,
        expires_at: issued_at + max_age,
    }
}

fn reason_name(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::Malformed => "malformed",
        RejectReason::Tampered => "tampered",
        RejectReason::Expired => "expired",
        RejectReason::UnknownKey => "unknown_key",
        RejectReason::TooLarge => "too_large",
    }
}

/// Checks one Flask vector; `Err` says what differs.
fn check_vector(v: &Json) -> Result<(), String> {
    let (max_age, ts, now) = (
        number(v, "max_age"),
        number(v, "timestamp"),
        number(v, "now"),
    );
    let codec = FlaskCodec::new(&ring(text(v, "secret_key"), &v["fallbacks"]), max_age);
    let expected = v["deviation"]["satchel"]
        .as_str()
        .unwrap_or_else(|| text(v, "outcome"));
    match (expected, codec.decode(text(v, "cookie"), now)) {
        ("ok", Ok(decoded)) => {
            let ours = flask_json::to_string(&decoded.data);
            if ours != text(v, "flask_json") {
                return Err(format!(
                    "decoded to {ours}\n   Flask has {}",
                    v["flask_json"]
                ));
            }
            if decoded.by_fallback_key != v["by_fallback_key"].as_bool().unwrap_or(false)
                || decoded.stamp != stamp(ts, max_age)
            {
                return Err(format!("wrong key flag or stamp: {decoded:?}"));
            }
        }
        (want, Ok(_)) => return Err(format!("decoded, but Flask's outcome is {want}")),
        (want, Err(r)) if reason_name(r.reason) != want => {
            return Err(format!(
                "rejected as {}, Flask's outcome is {want}",
                r.reason
            ))
        }
        (_, Err(_)) => {}
    }
    check_reencoding(v)
}

/// Flask's JSON text parses and writes back unchanged, and encoding it at Flask's timestamp
/// with the key that signed it gives Flask's cookie. Skipped where Flask's own round trip is
/// lossy (what it loads is not what it wrote).
fn check_reencoding(v: &Json) -> Result<(), String> {
    let Some(json) = v["json"].as_str() else {
        return Ok(());
    };
    if v["flask_json"]
        .as_str()
        .is_some_and(|loaded| loaded != json)
    {
        return Ok(());
    }
    let data = flask_json::from_str(json).map_err(|e| format!("cannot parse Flask's JSON: {e}"))?;
    let written = flask_json::to_string(&data);
    if written != json {
        return Err(format!(
            "JSON rewritten as {written}\n          Flask wrote {json}"
        ));
    }
    let signer = KeyRing::new(text(v, "signed_with"), [""; 0]);
    let (max_age, ts) = (number(v, "max_age"), number(v, "timestamp"));
    let codec = FlaskCodec::new(&signer, max_age);
    let at = stamp(ts, max_age);
    // A session Flask signs into a cookie no browser keeps: satchel refuses to write it at all
    // (encode never returns a value decode would refuse).
    if text(v, "cookie").len() > satchel_session::BROWSER_COOKIE_LIMIT {
        return match codec.encode(&data, &at) {
            Err(e) if e.is_too_large() => Ok(()),
            other => Err(format!("a too-large session was not refused: {other:?}")),
        };
    }
    // The refresh path: a cookie issued earlier is re-issued at `ts`. With the same data its
    // payload is reused; with other data it must be encoded afresh. Both must give Flask's.
    let refreshed_from = |before: &Dict| {
        let earlier = codec.encode(before, &stamp(ts.saturating_sub(12_345), max_age))?;
        codec.reencode(&data, &at, &earlier)
    };
    let mut other = data.clone();
    other.insert("changed".into(), Value::from(1));
    for (how, made) in [
        ("encoded", codec.encode(&data, &at)),
        ("refreshed", refreshed_from(&data)),
        ("refreshed after a change", refreshed_from(&other)),
    ] {
        let made = made.map_err(|e| e.to_string())?;
        if made != text(v, "cookie") {
            return Err(format!("{how} as {made}\n     Flask made {}", v["cookie"]));
        }
    }
    Ok(())
}

#[test]
fn flask_cookies_decode_and_reencode_byte_identical() {
    let Some(python) = python() else { return };
    let vectors = generate(&python);
    assert!(vectors.len() > 50, "too few vectors: {}", vectors.len());
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| check_vector(v).err().map(|e| format!("{}: {e}", v["name"])))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} Flask vectors differ:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
    println!("{} Flask vectors agree", vectors.len());
}

/// itsdangerous compresses a session only when that saves 2 bytes; satchel skips zlib where it
/// can prove compression cannot (src/codec/deflate_bound.rs). On 20,000 random sessions signed
/// by Flask, most near that boundary, every cookie must come out the same.
#[test]
fn compression_choices_match_flask_on_generated_sessions() {
    let Some(python) = python() else { return };
    let out = run_script(
        &python,
        "bulk",
        Some(&serde_json::json!({"seed": 13, "count": 20_000})),
    );
    let (max_age, ts) = (number(&out, "max_age"), number(&out, "timestamp"));
    let codec = FlaskCodec::new(&KeyRing::new(text(&out, "secret_key"), [""; 0]), max_age);
    let items = out["items"].as_array().expect("items");
    let (mut compressed, mut failures) = (0, Vec::new());
    for item in items {
        let (json, cookie) = (text(item, "json"), text(item, "cookie"));
        compressed += usize::from(cookie.starts_with('.'));
        let data = flask_json::from_str(json).expect("Flask's JSON parses");
        match codec.encode(&data, &stamp(ts, max_age)) {
            Ok(made) if made == cookie => {}
            other => failures.push(format!("{json}\n  satchel {other:?}\n  Flask   {cookie}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        items.len(),
        failures[..failures.len().min(5)].join("\n")
    );
    let plain = items.len() - compressed;
    assert!(
        compressed > 2_000 && plain > 2_000,
        "compressed {compressed}, plain {plain}"
    );
    println!(
        "{} sessions agree ({compressed} compressed by Flask)",
        items.len()
    );
}

#[test]
fn satchel_cookies_are_read_by_flask() {
    let Some(python) = python() else { return };
    let mut sessions: Vec<Dict> = generate(&python)
        .iter()
        .filter(|v| v["outcome"] == "ok" && v["deviation"].is_null())
        .filter_map(|v| flask_json::from_str(v["json"].as_str()?).ok())
        .collect();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    sessions.extend((0..300).map(|_| random_session(&mut rng)));

    let current = FlaskCodec::new(&KeyRing::new("rust key", [""; 0]), MAX_AGE);
    let old = FlaskCodec::new(&KeyRing::new("older rust key", [""; 0]), MAX_AGE);
    let mut items = Vec::new();
    let mut expected = Vec::new();
    for (i, data) in sessions.iter().enumerate() {
        let ts = 1_600_000_000 + (i as u64) * 7919;
        let (codec, now, outcome) = match i % 10 {
            0 => (&old, ts + 10, "ok"),
            1 => (&current, ts + MAX_AGE + 1, "expired"),
            _ => (&current, ts + (i as u64 % 3) * MAX_AGE / 2, "ok"),
        };
        let cookie = codec.encode(data, &stamp(ts, MAX_AGE)).expect("encode");
        items.push(json!({
            "secret_key": "rust key", "fallbacks": ["older rust key"], "max_age": MAX_AGE,
            "now": now, "cookie": cookie,
        }));
        expected.push((outcome, flask_json::to_string(data)));
    }
    let answers = run_script(&python, "verify", Some(&json!({ "items": items })));
    let answers = answers.as_array().expect("answers");
    assert_eq!(answers.len(), expected.len());
    let failures: Vec<String> = answers
        .iter()
        .zip(&expected)
        .zip(&items)
        .filter(|((got, (outcome, json)), _)| {
            got["outcome"] != *outcome || (*outcome == "ok" && got["json"] != json.as_str())
        })
        .map(|((got, (outcome, json)), item)| {
            format!("{}\n  want {outcome} {json}\n  Flask {got}", item["cookie"])
        })
        .collect();
    assert!(
        failures.is_empty(),
        "Flask read {} of {} satchel cookies differently:\n{}",
        failures.len(),
        answers.len(),
        failures.join("\n")
    );
    println!("Flask read all {} satchel cookies", answers.len());
}

/// Texts Flask's reader takes loosely, or refuses: satchel must read each the same way.
const TRICKY_TEXTS: &[&str] = &[
    " {\t\"a\" :\r\n[ 1 , 2 ] } ",
    r#"{"a":"\u00E9\u00e9\/\"\\\b\f\n\r\t\uD83D\uDE00"}"#,
    r#"{"a":1,"b":2,"a":3}"#,
    r#"{"n":[-0,-0.0,1E5,1e400,-1e400,1.0e-7,1e-400,123456789012345678901234567890]}"#,
    r#"{"n":[NaN,Infinity,-Infinity,0.1,1.5E+300]}"#,
    r#"{" di":{"b__":1,"a__":2}}"#,
    r#"{"x":{" di":{"b__":1,"a__":2,"b__":3}}}"#,
    r#"{"x":{" di":{" di":{"y____":1}}}}"#,
    r#"{"t":{" t":"ab"},"u":{" t":{"x":1,"y":2}},"v":{" t":{" b":"AAE="}}}"#,
    r#"{"m":[{" m":null},{" m":1.5},{" m":true},{" m":123},{" m":{" m":"x"}},{" m":1e300}]}"#,
    r#"{"u":[{" u":"0123456789ABCDEF0123456789abcdef"},{" u":"{01234567-89ab-cdef-0123-456789abcdef}"}]}"#,
    r#"{"u":[{" u":"urn:uuid:01234567-89ab-cdef-0123-456789abcdef"},{" u":"+123456789abcdef0123456789abcdef"}]}"#,
    r#"{"b":[{" b":"QR=="},{" b":""},{" b":"AAAA"},{" b":{" b":"UVE9PQ=="}}]}"#,
    r#"{"d":[{" d":"25 Nov 26 16:56 +0200"},{" d":"Nov 25 2026 16:56:40"},{" d":"x"},{" d":""}]}"#,
    r#"{"d":[{" d":"wed,25 november 2026 16.56.40 EST"},{" d":"Sat, 25-Nov-2026 16:56:40 -0130"}]}"#,
    r#"{"d":[{" d":"25 Nov 2026 16:56:40 +05"},{" d":"1 Nov 2026 24:00"},{" d":0},{" d":[]}]}"#,
    r#"{"d":[{" d":"Mon, 01 Jan 0001 00:00:00 GMT"},{" d":"1 Nov 2026 1:2 -0000"}]}"#,
    r#"{" t":[1]}"#,
    r#"[1]"#,
    r#"{"a":1,}"#,
    "{\"a\":\"\u{1}\"}",
    r#"{"a":"\x"}"#,
    r#"{"a":01}"#,
    r#"{"a":{" u":"xyz"}}"#,
    r#"{"a":{" b":"QQ"}}"#,
    r#"{"a":{" t":1}}"#,
    r#"{"a":{" di":{}}}"#,
    r#"{"a":1} x"#,
];

#[test]
fn flask_json_reader_matches_flask_loads() {
    let Some(python) = python() else { return };
    let mut rng = Rng(0xdead_beef_1234_5678);
    let mut texts: Vec<String> = TRICKY_TEXTS.iter().map(|t| t.to_string()).collect();
    texts.extend(
        (0..300).map(|_| noisy(&flask_json::to_string(&random_session(&mut rng)), &mut rng)),
    );
    let answers = run_script(&python, "parse", Some(&json!({ "texts": texts })));
    let answers = answers.as_array().expect("answers");
    let failures: Vec<String> = texts
        .iter()
        .zip(answers)
        .filter_map(|(text, flask)| {
            let ours = flask_json::from_str(text).map(|d| flask_json::to_string(&d));
            let agree = match (&ours, flask.as_str()) {
                (Ok(ours), Some(flask)) => ours == flask,
                (Err(_), None) => true,
                _ => false,
            };
            (!agree).then(|| format!("{text}\n  satchel {ours:?}\n  Flask   {flask}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "satchel reads {} of {} texts differently from Flask:\n{}",
        failures.len(),
        texts.len(),
        failures.join("\n")
    );
    println!("satchel reads all {} texts as Flask does", texts.len());
}

/// `text` (compact JSON) as a sloppier writer might have made it: whitespace around the
/// punctuation, some characters escaped as `\uXXXX` in either case, `/` as `\/`.
fn noisy(text: &str, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let (mut in_string, mut after_backslash, mut hex_left) = (false, false, 0);
    for c in text.chars() {
        if hex_left > 0 || after_backslash {
            // inside an escape sequence already there: copy it as it is
            hex_left = if after_backslash && c == 'u' {
                4
            } else {
                hex_left.max(1) - 1
            };
            after_backslash = false;
            out.push(c);
        } else if !in_string {
            out.push(c);
            in_string = c == '"';
            if "{[:,".contains(c) && rng.below(3) == 0 {
                out.push_str(rng.pick::<&str>(&[" ", "\n", "\t ", "\r\n  "]));
            }
        } else if c == '"' || c == '\\' {
            out.push(c);
            (in_string, after_backslash) = (c == '\\', c == '\\');
        } else if c == '/' && rng.below(3) == 0 {
            out.push_str("\\/");
        } else if (c as u32) < 0x10000 && rng.below(4) == 0 {
            let hex = format!("{:04x}", c as u32);
            let hex = if rng.below(2) == 0 {
                hex.to_uppercase()
            } else {
                hex
            };
            out.push_str(&format!("\\u{hex}"));
        } else {
            out.push(c);
        }
    }
    out
}

// --- generated sessions ---------------------------------------------------------------------

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn random_text(rng: &mut Rng) -> String {
    const POOL: &[char] = &[
        'a',
        'Z',
        '0',
        ' ',
        '"',
        '\\',
        '/',
        '\n',
        '\t',
        '\0',
        '\u{1f}',
        '\u{7f}',
        '\u{80}',
        'é',
        '€',
        '<',
        '&',
        '\u{2028}',
        '\u{fffd}',
        '\u{ffff}',
        '😀',
        '\u{10ffff}',
        '日',
    ];
    (0..rng.below(12))
        .map(|_| match rng.below(3) {
            0 => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('x'),
            _ => *rng.pick(POOL),
        })
        .collect()
}

fn random_key(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => rng
            .pick(&[" t", " b", " m", " u", " d", " di", " t__"])
            .to_string(),
        _ => random_text(rng),
    }
}

fn random_float(rng: &mut Rng) -> f64 {
    match rng.below(3) {
        0 => f64::from_bits(rng.next()),
        1 => (rng.next() as i64 as f64) / 10f64.powi(rng.below(40) as i32 - 10),
        _ => *rng.pick(&[
            0.0,
            -0.0,
            1e16,
            1e-5,
            0.1,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]),
    }
}

fn random_scalar(rng: &mut Rng) -> Value {
    match rng.below(11) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 => Value::Int((rng.next() as i64) >> rng.below(64)),
        3 => {
            let digits: String = (0..20 + rng.below(40))
                .map(|_| char::from(b'1' + rng.below(9) as u8))
                .collect();
            let sign = if rng.below(2) == 0 { "-" } else { "" };
            Value::BigInt(
                format!("{sign}{digits}")
                    .parse::<BigInt>()
                    .expect("canonical"),
            )
        }
        4 => Value::Float(random_float(rng)),
        5 | 6 => Value::Str(random_text(rng)),
        7 => Value::Bytes((0..rng.below(20)).map(|_| rng.next() as u8).collect()),
        8 => Value::Uuid(uuid::Uuid::from_u64_pair(rng.next(), rng.next())),
        9 => Value::Markup(random_text(rng)),
        _ => {
            // Python reads years below 100 back as 19xx/20xx, so stay in 1900..2200.
            let secs = -2_208_988_800 + rng.below(9_500_000_000) as i64;
            Value::DateTime(time::OffsetDateTime::from_unix_timestamp(secs).expect("in range"))
        }
    }
}

fn random_value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth >= 4 { 1 } else { 5 }) {
        0 | 1 => random_scalar(rng),
        2 => Value::List(
            (0..rng.below(5))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        3 => Value::Tuple(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Dict(random_dict(rng, depth + 1)),
    }
}

fn random_dict(rng: &mut Rng, depth: u32) -> Dict {
    (0..rng.below(5))
        .map(|_| (random_key(rng), random_value(rng, depth)))
        .collect()
}

fn random_session(rng: &mut Rng) -> Dict {
    random_dict(rng, 0)
}
