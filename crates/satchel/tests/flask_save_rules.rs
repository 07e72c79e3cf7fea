//! Flask's save rules, response by response, against REAL Flask 3.1.
//!
//! `flask_save_rules.py` (next to this file) runs a few scenarios through a Flask app's test
//! client and prints the `Set-Cookie` and `Vary` headers of every response. Each scenario runs
//! here, over HTTP on 127.0.0.1, through both adapters (axum's `SessionLayer` and actix-web's
//! `SessionMiddleware`) in the flask format with the same settings and routes, and each
//! response must carry what Flask's did: a cookie or none, its Path, an Expires or none,
//! and `Vary: Cookie` or not. A step that sends a cookie sends Flask's own, so both sides read
//! the same session. Nothing expected is written here: it all comes from Flask when the test
//! runs.
//!
//! Needs a Python with Flask (see `flask_conformance.rs`); without one the test says how to
//! enable it and passes, unless `CI` is set.
#![cfg(all(feature = "axum", feature = "actix"))]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

mod common;

use common::adapters::{routes, serve, ADAPTERS};
use cookie::Cookie;
use satchel_session::{Session, SessionConfig, SessionLayer};
use serde_json::Value as Json;

const KEY: &str = "a long conformance secret key for the save rules";

fn python() -> Option<PathBuf> {
    satchel_testkit::python_with("flask")
}

fn flask_scenarios(python: &Path) -> Vec<Json> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flask_save_rules.py");
    let out = Command::new(python).arg(script).arg(KEY).output().unwrap();
    assert!(
        out.status.success(),
        "flask_save_rules.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Json = serde_json::from_slice(&out.stdout).unwrap();
    parsed["scenarios"].as_array().unwrap().clone()
}

/// The scenario's Flask settings, as satchel's.
fn config(flask: &Json) -> SessionConfig {
    let mut config = SessionConfig::flask_defaults().with_secret_key(KEY);
    for (key, value) in flask.as_object().unwrap() {
        match key.as_str() {
            "APPLICATION_ROOT" => config.application_root = value.as_str().unwrap().into(),
            "SESSION_COOKIE_PATH" => config.cookie_path = Some(value.as_str().unwrap().into()),
            "SESSION_REFRESH_EACH_REQUEST" => {
                config.refresh_each_request = value.as_bool().unwrap();
            }
            other => panic!("the test does not map Flask's {other} yet"),
        }
    }
    config
}

async fn set(session: Session) -> String {
    session.insert("n", 1);
    "set".into()
}

async fn set_permanent(session: Session) -> String {
    session.set_permanent(true);
    session.insert("n", 1);
    "set".into()
}

async fn untouched() -> String {
    "untouched".into()
}

async fn read(session: Session) -> String {
    format!("{:?}", session.get::<i64>("n"))
}

// The routes of `flask_save_rules.py`.
routes! {
    "/set" => set,
    "/set_permanent" => set_permanent,
    "/untouched" => untouched,
    "/read" => read,
}

/// What a response said about the session cookie, in the terms Flask's and satchel's can be
/// compared in (the values and the exact Expires differ with the signing time).
#[derive(Debug, PartialEq)]
struct Said {
    cookie: Option<CookieShape>,
    varies_on_cookie: bool,
}

#[derive(Debug, PartialEq)]
struct CookieShape {
    path: Option<String>,
    has_expires: bool,
    http_only: Option<bool>,
    deleted: bool,
}

fn shape(set_cookie: &[String]) -> Option<CookieShape> {
    let header = set_cookie.iter().find(|h| h.starts_with("session="))?;
    let cookie = Cookie::parse(header.clone()).unwrap();
    Some(CookieShape {
        path: cookie.path().map(str::to_owned),
        has_expires: cookie.expires().is_some(),
        http_only: cookie.http_only(),
        deleted: cookie.value().is_empty(),
    })
}

fn varies(vary: &[String]) -> bool {
    vary.iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("cookie"))
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Every value of the header `name`, in order.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn every_response_says_what_flasks_says_about_the_session_cookie_on_both_adapters() {
    let Some(python) = python() else { return };
    let scenarios = flask_scenarios(&python);
    assert!(scenarios.len() >= 7, "the script ran its scenarios");
    for (scenario, adapter) in scenarios
        .iter()
        .flat_map(|scenario| ADAPTERS.map(|adapter| (scenario, adapter)))
    {
        let name = format!("{} [{adapter:?}]", scenario["name"].as_str().unwrap());
        let config = config(&scenario["config"]);
        let lifetime = config.permanent_session_lifetime;
        let layer = SessionLayer::new(config).unwrap();
        let addr = serve(adapter, layer, axum_routes, actix_routes);
        // The cookie Flask's previous response set: both sides read the same session.
        let mut flask_cookie: Option<String> = None;
        for step in scenario["steps"].as_array().unwrap() {
            let path = step["path"].as_str().unwrap();
            let flask_set = strings(&step["set_cookie"]);
            let flask = Said {
                cookie: shape(&flask_set),
                varies_on_cookie: varies(&strings(&step["vary"])),
            };
            let cookie = step["cookie_sent"].as_bool().unwrap().then(|| {
                let value = flask_cookie.as_deref().expect("a cookie to send");
                format!("session={value}")
            });
            let headers: Vec<(&str, &str)> =
                cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
            let before = now();
            let reply = satchel_testkit::http::request(addr, "GET", path, &headers, b"");
            let after = now();
            let owned = |name| -> Vec<String> {
                reply
                    .headers_named(name)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            };
            let ours_set = owned("set-cookie");
            let ours_vary = owned("vary");
            let ours = Said {
                cookie: shape(&ours_set),
                varies_on_cookie: varies(&ours_vary),
            };
            assert_eq!(ours, flask, "{name}, {path}: satchel vs Flask");
            // A refreshed permanent cookie expires a lifetime from now, as Flask's does.
            if let Some(header) = ours_set.iter().find(|h| h.contains("Expires=")) {
                let expires = Cookie::parse(header.clone())
                    .unwrap()
                    .expires_datetime()
                    .unwrap()
                    .unix_timestamp() as u64;
                let lifetime = lifetime.as_secs();
                assert!(
                    (before + lifetime..=after + lifetime).contains(&expires),
                    "{name}, {path}: Expires {expires} is not now + {lifetime}"
                );
            }
            if let Some(cookie) = flask_set.iter().find(|h| h.starts_with("session=")) {
                let value = cookie.split(';').next().unwrap()["session=".len()..].to_owned();
                flask_cookie = Some(value);
            }
        }
    }
    // The scenarios cover both rules the layer once missed.
    let names: Vec<_> = scenarios
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"application_root_sets_the_path"));
    assert!(names.contains(&"permanent_refreshed_on_untouched_route"));
}
