//! The `satchel` command's interface: exit codes, output, and agreement with real Flask.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const KEY: &str = "cli test key, long and random enough";

fn satchel(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(args)
        .env_remove("SECRET_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("satchel runs");
    let mut pipe = child.stdin.take().unwrap();
    // A command that fails before reading stdin closes the pipe first: not an error here.
    let _ = pipe.write_all(stdin.unwrap_or("").as_bytes());
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end().to_owned()
}

#[test]
fn encode_then_decode_round_trips_in_both_formats() {
    let json = r#"{" t":["not a tag, a key"],"age":25,"n":[1,2.5,null],"username":"Kimi"}"#;
    for format in ["sealed", "flask"] {
        let encoded = satchel(
            &["cookie", "encode", "--format", format, "--secret-key", KEY],
            Some(json),
        );
        assert!(encoded.status.success(), "{}", text(&encoded.stderr));
        let cookie = text(&encoded.stdout);
        let decoded = satchel(
            &[
                "cookie",
                "decode",
                "--format",
                format,
                "--secret-key",
                KEY,
                &cookie,
            ],
            None,
        );
        assert!(
            decoded.status.success(),
            "{format}: {}",
            text(&decoded.stderr)
        );
        // Output is compact with keys sorted; this input is already in that form except for
        // the tag-like key, which the TaggedJSON writer escapes.
        let out = text(&decoded.stdout);
        assert!(
            out.contains(r#""age":25"#) && out.contains(r#""username":"Kimi""#),
            "{out}"
        );
    }
}

#[test]
fn rejected_cookie_exits_1_with_the_reason() {
    let encoded = satchel(
        &["cookie", "encode", "--format", "flask", "--secret-key", KEY],
        Some(r#"{"a":1}"#),
    );
    let cookie = text(&encoded.stdout);
    let out = satchel(
        &[
            "cookie",
            "decode",
            "--format",
            "flask",
            "--secret-key",
            "another key",
            &cookie,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "rejected: tampered");
    let out = satchel(&["cookie", "decode", "--secret-key", KEY, "garbage"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("rejected: "));
}

#[test]
fn old_cookie_is_rejected_as_expired_with_now_and_max_age() {
    let encoded = satchel(
        &[
            "cookie",
            "encode",
            "--format",
            "flask",
            "--secret-key",
            KEY,
            "--timestamp",
            "1000000000",
        ],
        Some(r#"{"a":1}"#),
    );
    let cookie = text(&encoded.stdout);
    let args = [
        "cookie",
        "decode",
        "--format",
        "flask",
        "--secret-key",
        KEY,
        "--max-age",
        "60",
    ];
    let fresh = satchel(
        &[&args[..], &["--now", "1000000030", &cookie]].concat(),
        None,
    );
    assert_eq!(text(&fresh.stdout), r#"{"a":1}"#);
    let stale = satchel(
        &[&args[..], &["--now", "1000000061", &cookie]].concat(),
        None,
    );
    assert_eq!(
        (stale.status.code(), text(&stale.stderr)),
        (Some(1), "rejected: expired".to_owned())
    );
}

#[test]
fn fallback_key_verifies() {
    let encoded = satchel(
        &[
            "cookie",
            "encode",
            "--format",
            "flask",
            "--secret-key",
            "old",
        ],
        Some(r#"{"a":1}"#),
    );
    let cookie = text(&encoded.stdout);
    let out = satchel(
        &[
            "cookie",
            "decode",
            "--format",
            "flask",
            "--secret-key",
            KEY,
            "--fallback-key",
            "old",
            &cookie,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn bad_input_is_a_one_line_error_and_exit_2() {
    let no_key = satchel(&["cookie", "encode"], Some("{}"));
    assert_eq!(no_key.status.code(), Some(2));
    assert_eq!(text(&no_key.stderr).lines().count(), 1);
    let bad_json = satchel(
        &["cookie", "encode", "--secret-key", KEY],
        Some("{not json"),
    );
    assert_eq!(bad_json.status.code(), Some(2));
    assert_eq!(text(&bad_json.stderr).lines().count(), 1);
    let not_object = satchel(&["cookie", "encode", "--secret-key", KEY], Some("[1,2]"));
    assert_eq!(not_object.status.code(), Some(2));
}

#[test]
fn secret_key_comes_from_the_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(["cookie", "decode", "x"])
        .env("SECRET_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the key was found, the cookie refused"
    );
}

#[test]
fn keygen_prints_a_256_bit_urlsafe_key() {
    let out = satchel(&["keygen"], None);
    let key = text(&out.stdout);
    assert_eq!(key.len(), 43);
    assert!(key
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
}

/// Python with Flask, or `None` (and a printed line) when it is not installed outside CI.
fn flask_python() -> Option<PathBuf> {
    let python = std::env::var_os("SATCHEL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../.venv/bin/python"
            ))
        });
    let ok = Command::new(&python)
        .args(["-c", "import flask"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI: Python with Flask missing at {}",
        python.display()
    );
    println!("skipped: no Python with Flask (run `bash scripts/test.sh` to set one up)");
    None
}

#[test]
fn decode_prints_exactly_the_payload_real_flask_signed() {
    let Some(python) = flask_python() else { return };
    let script = r#"
import sys
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
app = Flask(__name__); app.secret_key = sys.argv[1]
with app.test_request_context():
    s = SecureCookieSessionInterface().get_signing_serializer(app)
    value = {"username": "Kimi", "age": 25, "t": (1, "two"), "b": b"\x00bytes", "u": "\u00e9\U0001F600"}
    print(s.dumps(value)); print(s.serializer.dumps(value))
"#;
    let out = Command::new(python)
        .args(["-c", script, KEY])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let (cookie, payload) = stdout.split_once('\n').unwrap();
    let decoded = satchel(
        &[
            "cookie",
            "decode",
            "--format",
            "flask",
            "--secret-key",
            KEY,
            cookie,
        ],
        None,
    );
    assert!(decoded.status.success(), "{}", text(&decoded.stderr));
    assert_eq!(text(&decoded.stdout), payload);
}
