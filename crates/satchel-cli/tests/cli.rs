//! The `satchel` command's interface: exit codes, output, and agreement with real Flask.

mod common;

use std::io::Write;
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

/// `satchel cookie encode` of `json`: the cookie value (the command must succeed).
fn encode(format: &str, key: &str, json: &str, extra: &[&str]) -> String {
    let args = [
        &["cookie", "encode", "--format", format, "--secret-key", key],
        extra,
    ]
    .concat();
    let out = satchel(&args, Some(json));
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// `satchel cookie decode` of `cookie`, with `extra` arguments before it.
fn decode(format: &str, key: &str, cookie: &str, extra: &[&str]) -> Output {
    let args = [
        &["cookie", "decode", "--format", format, "--secret-key", key],
        extra,
        &[cookie],
    ]
    .concat();
    satchel(&args, None)
}

#[test]
fn encode_then_decode_round_trips_in_both_formats() {
    let json = r#"{" t":["not a tag, a key"],"age":25,"n":[1,2.5,null],"username":"Kimi"}"#;
    for format in ["sealed", "flask"] {
        let cookie = encode(format, KEY, json, &[]);
        let decoded = decode(format, KEY, &cookie, &[]);
        assert!(
            decoded.status.success(),
            "{format}: {}",
            text(&decoded.stderr)
        );
        // The input is already canonical (compact, keys sorted, and a tag-like key in a
        // dict of several keys is not a tag), so it comes back unchanged.
        assert_eq!(text(&decoded.stdout), json, "{format}");
    }
}

#[test]
fn rejected_cookie_exits_1_with_the_reason() {
    let cookie = encode("flask", KEY, r#"{"a":1}"#, &[]);
    let out = decode("flask", "another key", &cookie, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "rejected: tampered");
    let out = decode("sealed", KEY, "garbage", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("rejected: "));
}

#[test]
fn old_cookie_is_rejected_as_expired_with_now_and_max_age() {
    let cookie = encode("flask", KEY, r#"{"a":1}"#, &["--timestamp", "1000000000"]);
    let fresh = decode(
        "flask",
        KEY,
        &cookie,
        &["--max-age", "60", "--now", "1000000030"],
    );
    assert_eq!(text(&fresh.stdout), r#"{"a":1}"#);
    let stale = decode(
        "flask",
        KEY,
        &cookie,
        &["--max-age", "60", "--now", "1000000061"],
    );
    assert_eq!(
        (stale.status.code(), text(&stale.stderr)),
        (Some(1), "rejected: expired".to_owned())
    );
}

#[test]
fn fallback_key_verifies() {
    let cookie = encode("flask", "old", r#"{"a":1}"#, &[]);
    let out = decode("flask", KEY, &cookie, &["--fallback-key", "old"]);
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
fn decode_takes_a_pasted_pair_or_cookie_header_and_a_key_file() {
    let cookie = encode("sealed", KEY, r#"{"a":1}"#, &[]);
    for pasted in [
        format!("session={cookie}"),
        format!("Cookie: theme=dark; session={cookie}"),
    ] {
        let out = decode("sealed", KEY, &pasted, &[]);
        assert!(out.status.success(), "{pasted}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), r#"{"a":1}"#);
    }
    let other = decode("sealed", KEY, &format!("theme={cookie}"), &[]);
    assert_eq!(other.status.code(), Some(2));
    assert!(text(&other.stderr).contains("none named \"session\""));

    let dir = common::temp_dir("cli-key-file");
    let key_file = dir.join("secret_key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let out = satchel(
        &[
            "cookie",
            "decode",
            "--secret-key-file",
            key_file.to_str().unwrap(),
            &cookie,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
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

#[test]
fn decode_prints_exactly_the_payload_real_flask_signed() {
    let Some(python) = common::python_with("flask") else {
        return;
    };
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
