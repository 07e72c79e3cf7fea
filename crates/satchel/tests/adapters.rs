//! One conformance table, two adapters. Every case runs, over real HTTP on 127.0.0.1, against
//! the same handlers served by axum (`SessionLayer`) and by actix-web (`SessionMiddleware`), on
//! each backend it applies to: sealed and flask cookies (with and without a login ledger), the
//! memory store, and Redis when it runs. What is expected is written once, in the table; an
//! adapter that saved, varied, cached or refused differently fails it.
#![cfg(all(feature = "axum", feature = "actix"))]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use common::adapters::{routes, serve, serve_behind, Adapter, ADAPTERS};
use satchel_session::login::{LoginRequired, SessionIdentifier};
use satchel_session::store::{MemoryStore, Store};
use satchel_session::{
    CookieFormat, ReadOnlySession, Session, SessionConfig, SessionLayer, TypedSession,
};
use satchel_testkit::http::{request, Response};

const KEY: &str = "a long secret key for the adapter conformance suite";

async fn set_session(session: Session) -> String {
    session.insert("username", "Kimi");
    session.insert("age", 25);
    "saved".into()
}

async fn get_session(session: ReadOnlySession) -> String {
    let name = session.get_or("username", "Guest".to_string());
    let age = session.get_or("age", 0);
    format!("{name} {age}")
}

async fn clear(session: Session) -> String {
    session.clear();
    "cleared".into()
}

async fn set_permanent(session: Session) -> String {
    session.set_permanent(true);
    session.insert("username", "Kimi");
    "permanent".into()
}

async fn untouched() -> String {
    "untouched".into()
}

async fn counter(session: Session) -> String {
    let n = session.get_or("n", 0) + 1;
    session.insert("n", n);
    n.to_string()
}

async fn big(session: Session) -> String {
    // 5,000 characters that do not compress (the flask format deflates when that pays).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let blob: String = (0..5000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'!' + (state % 90) as u8)
        })
        .collect();
    session.insert("blob", blob);
    "big".into()
}

async fn sign_in(session: Session) -> String {
    satchel_session::login(&session, "alice", &SessionIdentifier::new(None, None));
    "signed in".into()
}

async fn sign_out(session: Session) -> String {
    satchel_session::logout(&session);
    "signed out".into()
}

async fn flash_twice(session: Session) -> String {
    satchel_session::flash(&session, "info", "first");
    satchel_session::flash(&session, "error", "second");
    "flashed".into()
}

async fn show_flashes(session: Session) -> String {
    let shown: Vec<String> = satchel_session::take_flashes(&session)
        .into_iter()
        .map(|flash| format!("{}:{}", flash.category, flash.message))
        .collect();
    shown.join(",")
}

/// The client as the adapter reads it: the recorded address and Flask-Login's digest.
async fn whoami(client: SessionIdentifier) -> String {
    format!("{} {}", client.address().unwrap_or("-"), client.as_str())
}

/// The typed handlers' session: `n` (the dict counter's key) and a name.
#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(default)]
struct Visit {
    n: u64,
    username: Option<String>,
}

async fn typed_counter(mut visit: TypedSession<Visit>) -> String {
    visit.n += 1;
    visit.n.to_string()
}

async fn typed_read(visit: TypedSession<Visit>) -> String {
    format!(
        "{} {}",
        visit.username.as_deref().unwrap_or("Guest"),
        visit.n
    )
}

async fn private(user: LoginRequired) -> String {
    format!("hello {}", user.user_id)
}

routes! {
    "/set_session" => set_session,
    "/get_session" => get_session,
    "/clear" => clear,
    "/set_permanent" => set_permanent,
    "/untouched" => untouched,
    "/counter" => counter,
    "/big" => big,
    "/login" => sign_in,
    "/logout" => sign_out,
    "/private" => private,
    "/whoami" => whoami,
    "/flash" => flash_twice,
    "/flashes" => show_flashes,
    "/typed/counter" => typed_counter,
    "/typed/read" => typed_read,
}

/// Where sessions live in a run of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sealed,
    Flask,
    /// Sealed, with a login ledger (logouts are final).
    SealedLedger,
    Memory,
    Redis,
}

impl Kind {
    fn is_store(self) -> bool {
        matches!(self, Kind::Memory | Kind::Redis)
    }

    /// Whether a copy of a logged-out cookie stops working.
    fn logout_is_final(self) -> bool {
        !matches!(self, Kind::Sealed | Kind::Flask)
    }
}

fn layer(kind: Kind) -> Option<SessionLayer> {
    layer_with(kind, SessionConfig::default().with_secret_key(KEY))
}

fn layer_with(kind: Kind, config: SessionConfig) -> Option<SessionLayer> {
    // Plain HTTP on loopback: the cookie must come back without TLS.
    let config = SessionConfig {
        cookie_secure: false,
        ..config
    };
    let builder = match kind {
        Kind::Sealed => SessionLayer::builder(config),
        Kind::Flask => SessionLayer::builder(SessionConfig {
            format: CookieFormat::Flask,
            ..config
        }),
        Kind::SealedLedger => {
            SessionLayer::builder(config).login_ledger(Arc::new(MemoryStore::default()))
        }
        Kind::Memory => SessionLayer::builder(config).store(Arc::new(MemoryStore::default())),
        Kind::Redis => {
            let url = common::redis_url()?;
            SessionLayer::builder(config).store(common::redis_store(&url))
        }
    };
    Some(builder.build().unwrap())
}

/// What a step sends as its session cookie.
#[derive(Debug, Clone, Copy)]
enum Sends {
    /// The cookie the last response set (none before the first).
    Jar,
    /// No cookie.
    Nothing,
    /// A cookie kept earlier under this name.
    Kept(&'static str),
    /// This value.
    Raw(&'static str),
}

/// What the response's `Set-Cookie` for the session says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cookie {
    /// None.
    Absent,
    /// A value, without `Expires`.
    Plain,
    /// A value with `Expires` (a permanent session).
    Permanent,
    /// The deleting cookie.
    Deleted,
    /// Whatever the backend sends: a store re-sends nothing for an unchanged id, a cookie
    /// session re-encodes a changed one; the table pins only what the backends share.
    Any,
    /// None, or one with `Expires`: never a permanent session's cookie without it.
    AbsentOrPermanent,
}

struct Step {
    path: &'static str,
    send: Sends,
    status: u16,
    /// The body, when it matters.
    body: Option<&'static str>,
    cookie: Cookie,
    varies_on_cookie: bool,
    /// Keep the cookie this step sent under a name (for a replay).
    keep_as: Option<&'static str>,
}

const fn step(path: &'static str, send: Sends, status: u16, cookie: Cookie, vary: bool) -> Step {
    Step {
        path,
        send,
        status,
        body: None,
        cookie,
        varies_on_cookie: vary,
        keep_as: None,
    }
}

impl Step {
    const fn body(mut self, body: &'static str) -> Self {
        self.body = Some(body);
        self
    }

    const fn keep_as(mut self, name: &'static str) -> Self {
        self.keep_as = Some(name);
        self
    }
}

struct Case {
    name: &'static str,
    applies: fn(Kind) -> bool,
    steps: Vec<Step>,
}

fn always(_: Kind) -> bool {
    true
}

fn cookie_backends(kind: Kind) -> bool {
    !kind.is_store()
}

fn final_logouts(kind: Kind) -> bool {
    kind.logout_is_final()
}

fn table() -> Vec<Case> {
    use Cookie::*;
    use Sends::*;
    vec![
        Case {
            name: "the tutorial's routes: set, read, clear",
            applies: always,
            steps: vec![
                step("/get_session", Nothing, 200, Absent, true).body("Guest 0"),
                step("/set_session", Nothing, 200, Plain, true).body("saved"),
                step("/get_session", Jar, 200, Absent, true).body("Kimi 25"),
                step("/clear", Jar, 200, Deleted, true).body("cleared"),
                step("/get_session", Nothing, 200, Absent, true).body("Guest 0"),
            ],
        },
        Case {
            name: "a permanent cookie session carries Expires and is refreshed on every request",
            applies: cookie_backends,
            steps: vec![
                step("/set_permanent", Nothing, 200, Permanent, true),
                step("/untouched", Jar, 200, Permanent, true).body("untouched"),
                step("/get_session", Jar, 200, Permanent, true).body("Kimi 0"),
            ],
        },
        Case {
            // A store re-sends the id only when its Expires moves (the idle deadline is pushed
            // at most every tenth of the timeout), never without Expires.
            name: "a permanent store session carries Expires",
            applies: Kind::is_store,
            steps: vec![
                step("/set_permanent", Nothing, 200, Permanent, true),
                step("/untouched", Jar, 200, AbsentOrPermanent, true).body("untouched"),
                step("/get_session", Jar, 200, AbsentOrPermanent, true).body("Kimi 0"),
            ],
        },
        Case {
            name: "no cookie, no session: nothing varies, nothing is sent",
            applies: always,
            steps: vec![step("/untouched", Nothing, 200, Absent, false)],
        },
        Case {
            name: "a counter counts",
            applies: always,
            steps: vec![
                step("/counter", Nothing, 200, Plain, true).body("1"),
                step("/counter", Jar, 200, Any, true).body("2"),
                step("/counter", Jar, 200, Any, true).body("3"),
            ],
        },
        Case {
            name:
                "a typed session counts, keeps the keys it does not know, saves nothing unchanged",
            applies: always,
            steps: vec![
                step("/set_session", Nothing, 200, Plain, true),
                step("/typed/counter", Jar, 200, Any, true).body("1"),
                step("/typed/counter", Jar, 200, Any, true).body("2"),
                step("/typed/read", Jar, 200, Absent, true).body("Kimi 2"),
                step("/get_session", Jar, 200, Absent, true).body("Kimi 25"),
                step("/counter", Jar, 200, Any, true).body("3"),
            ],
        },
        Case {
            name: "flashed messages show once, in order",
            applies: always,
            steps: vec![
                step("/flash", Nothing, 200, Plain, true),
                step("/flashes", Jar, 200, Any, true).body("info:first,error:second"),
                step("/flashes", Jar, 200, Any, true).body(""),
            ],
        },
        Case {
            name: "a bad cookie is an empty session, never an error",
            applies: always,
            steps: vec![
                step("/get_session", Raw("not-a-session"), 200, Absent, true).body("Guest 0"),
                step("/counter", Raw("%%%;;;"), 200, Plain, true).body("1"),
            ],
        },
        Case {
            name: "an oversized cookie session is a 500, never a cookie the browser drops",
            applies: cookie_backends,
            steps: vec![step("/big", Nothing, 500, Absent, false)],
        },
        Case {
            name: "a logout is final: the old cookie replayed is logged out",
            applies: final_logouts,
            steps: vec![
                step("/private", Nothing, 303, Absent, true),
                step("/login", Nothing, 200, Plain, true),
                step("/private", Jar, 200, Any, true)
                    .body("hello alice")
                    .keep_as("signed in"),
                step("/logout", Jar, 200, Deleted, true),
                step("/private", Kept("signed in"), 303, Any, true),
            ],
        },
    ]
}

/// The session cookie a response set: its value (empty when deleted) and whether it carries
/// `Expires`.
fn set_cookie(response: &Response) -> Option<(String, bool)> {
    let header = response.set_cookie("session")?;
    let parsed = cookie::Cookie::parse(header.to_owned()).unwrap();
    Some((parsed.value().to_owned(), parsed.expires().is_some()))
}

fn varies_on_cookie(response: &Response) -> bool {
    response
        .headers_named("vary")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("cookie"))
}

fn run(case: &Case, kind: Kind, adapter: Adapter, addr: SocketAddr) {
    let mut jar: Option<String> = None;
    let mut kept: HashMap<&str, String> = HashMap::new();
    for (i, step) in case.steps.iter().enumerate() {
        let at = format!(
            "{} [{kind:?}, {adapter:?}] step {i} {}",
            case.name, step.path
        );
        let sent = match step.send {
            Sends::Jar => jar.clone(),
            Sends::Nothing => None,
            Sends::Kept(name) => kept.get(name).cloned(),
            Sends::Raw(value) => Some(value.to_owned()),
        };
        if let (Some(name), Some(value)) = (step.keep_as, &sent) {
            kept.insert(name, value.clone());
        }
        let header = sent.map(|value| format!("session={value}"));
        let headers: Vec<(&str, &str)> = header.iter().map(|h| ("Cookie", h.as_str())).collect();
        let response = request(addr, "GET", step.path, &headers, b"");
        assert_eq!(
            response.status,
            step.status,
            "{at}: status ({})",
            response.text()
        );
        if let Some(body) = step.body {
            assert_eq!(response.text(), body, "{at}: body");
        }
        assert_eq!(
            varies_on_cookie(&response),
            step.varies_on_cookie,
            "{at}: Vary"
        );
        let set = set_cookie(&response);
        let said = match &set {
            None => Cookie::Absent,
            Some((value, _)) if value.is_empty() => Cookie::Deleted,
            Some((_, true)) => Cookie::Permanent,
            Some((_, false)) => Cookie::Plain,
        };
        match step.cookie {
            Cookie::Any => {}
            Cookie::AbsentOrPermanent => assert!(
                matches!(said, Cookie::Absent | Cookie::Permanent),
                "{at}: Set-Cookie {said:?}"
            ),
            expected => assert_eq!(said, expected, "{at}: Set-Cookie"),
        }
        if set.is_some() {
            assert_eq!(
                response.header("cache-control"),
                Some("private"),
                "{at}: a response that sets a cookie is private"
            );
        }
        match set {
            Some((value, _)) if value.is_empty() => jar = None,
            Some((value, _)) => jar = Some(value),
            None => {}
        }
    }
}

#[test]
fn every_case_holds_on_both_adapters_and_every_backend() {
    let kinds = [
        Kind::Sealed,
        Kind::Flask,
        Kind::SealedLedger,
        Kind::Memory,
        Kind::Redis,
    ];
    let mut runs = 0;
    for kind in kinds {
        for adapter in ADAPTERS {
            let Some(layer) = layer(kind) else { continue };
            let addr = serve(adapter, layer, axum_routes, actix_routes);
            for case in table().iter().filter(|case| (case.applies)(kind)) {
                run(case, kind, adapter, addr);
                runs += 1;
            }
        }
    }
    assert!(
        runs >= 2 * 4 * 6,
        "the table ran on both adapters ({runs} runs)"
    );
}

/// Sends `/counter` with `cookie`: the status and the count it answered.
fn count(addr: SocketAddr, cookie: Option<&str>) -> (u16, Response) {
    let header = cookie.map(|value| format!("session={value}"));
    let headers: Vec<(&str, &str)> = header.iter().map(|h| ("Cookie", h.as_str())).collect();
    let response = request(addr, "GET", "/counter", &headers, b"");
    (response.status, response)
}

#[test]
fn a_cookie_under_a_fallback_key_opens_and_is_reissued_under_the_current_key_on_both_adapters() {
    let old_key = "the old secret key of the adapter conformance suite, now a fallback";
    for format in [CookieFormat::Sealed, CookieFormat::Flask] {
        let config = |key: &str| SessionConfig {
            cookie_secure: false,
            format,
            ..SessionConfig::default().with_secret_key(key)
        };
        let before = SessionLayer::new(config(old_key)).unwrap();
        let minted = serve(Adapter::Axum, before, axum_routes, actix_routes);
        let set = request(minted, "GET", "/set_session", &[], b"");
        let old = set_cookie(&set).expect("a cookie under the old key").0;
        for adapter in ADAPTERS {
            let mut rotated = config(KEY);
            rotated.secret_key_fallbacks = vec![old_key.into()];
            let addr = serve(
                adapter,
                SessionLayer::new(rotated).unwrap(),
                axum_routes,
                actix_routes,
            );
            let header = format!("session={old}");
            let response = request(addr, "GET", "/get_session", &[("Cookie", &header)], b"");
            let at = format!("[{format:?}, {adapter:?}]");
            assert_eq!(response.text(), "Kimi 25", "{at} the old cookie opens");
            let (new, _) = set_cookie(&response).expect("re-issued on that same response");
            assert!(!new.is_empty() && new != old, "{at} a new value");
            // The re-issued cookie opens where only the current key is known.
            let current = serve(
                adapter,
                SessionLayer::new(config(KEY)).unwrap(),
                axum_routes,
                actix_routes,
            );
            let header = format!("session={new}");
            let response = request(current, "GET", "/get_session", &[("Cookie", &header)], b"");
            assert_eq!(
                response.text(),
                "Kimi 25",
                "{at} the new cookie is under the current key"
            );
        }
    }
}

#[test]
fn a_users_live_logins_are_capped_and_the_newest_always_stays() {
    let keep = 3;
    for kind in [Kind::Memory, Kind::Redis, Kind::SealedLedger] {
        let config = SessionConfig {
            max_logins_per_user: Some(keep),
            ..SessionConfig::default().with_secret_key(KEY)
        };
        let Some(layer) = layer_with(kind, config) else {
            continue;
        };
        let addr = serve(Adapter::Axum, layer, axum_routes, actix_routes);
        let logins: Vec<String> = (0..keep + 2)
            .map(|_| {
                let response = request(addr, "GET", "/login", &[], b"");
                set_cookie(&response).expect("a login cookie").0
            })
            .collect();
        let live: Vec<bool> = logins
            .iter()
            .map(|cookie| {
                let header = format!("session={cookie}");
                request(addr, "GET", "/private", &[("Cookie", &header)], b"").status == 200
            })
            .collect();
        assert_eq!(
            live.iter().filter(|&&up| up).count(),
            keep,
            "[{kind:?}] {live:?}"
        );
        assert!(live[keep + 1], "[{kind:?}] the newest login always stays");
    }
}

#[test]
fn concurrent_increments_of_one_session_are_never_lost_on_either_adapter() {
    let mut stores: Vec<(&str, Arc<dyn Store>)> =
        vec![("memory", Arc::new(MemoryStore::default()))];
    if let Some(url) = common::redis_url() {
        stores.push(("redis", common::redis_store(&url)));
    }
    let (clients, rounds) = (4, common::rounds());
    for (name, store) in stores {
        for adapter in ADAPTERS {
            let config = SessionConfig {
                cookie_secure: false,
                ..SessionConfig::default()
            };
            let layer = SessionLayer::builder(config)
                .store(store.clone())
                .build()
                .unwrap();
            let addr = serve(adapter, layer, axum_routes, actix_routes);
            let (status, first) = count(addr, None);
            assert_eq!(status, 200);
            let cookie = set_cookie(&first).expect("a new session's cookie").0;
            let done: usize = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..clients)
                    .map(|_| {
                        scope.spawn(|| {
                            (0..rounds)
                                .filter(|_| {
                                    let (status, response) = count(addr, Some(&cookie));
                                    assert!(
                                        status == 200 || status == 503,
                                        "[{name}, {adapter:?}] {status}: {}",
                                        response.text()
                                    );
                                    status == 200
                                })
                                .count()
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).sum()
            });
            let (status, last) = count(addr, Some(&cookie));
            assert_eq!(status, 200);
            let total: usize = last.text().parse().unwrap();
            assert_eq!(
                total,
                done + 2,
                "[{name}, {adapter:?}] every acknowledged increment is in the count"
            );
            assert!(
                done > 0,
                "[{name}, {adapter:?}] some increments went through"
            );
        }
    }
}

#[cfg(feature = "redis")]
#[test]
fn a_store_that_is_down_is_a_503_with_retry_after_on_both_adapters() {
    // A port nothing listens on: the store is down from the start.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for adapter in ADAPTERS {
        let store = satchel_session::store::RedisStore::open(&format!("redis://127.0.0.1:{port}"))
            .unwrap()
            .with_timeout(std::time::Duration::from_millis(300));
        let layer = SessionLayer::builder(SessionConfig::default())
            .store(Arc::new(store))
            .build()
            .unwrap();
        let addr = serve(adapter, layer, axum_routes, actix_routes);
        // A new visitor needs the store only to save; one with a cookie needs it to load.
        for cookie in [None, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] {
            let (status, response) = count(addr, cookie);
            assert_eq!(
                status,
                503,
                "[{adapter:?}, cookie {cookie:?}] {}",
                response.text()
            );
            assert_eq!(response.header("retry-after"), Some("1"), "[{adapter:?}]");
            assert!(
                response.text().contains("session store is not answering"),
                "[{adapter:?}] {}",
                response.text()
            );
        }
        // A route that never touches its session is served all the same.
        let response = request(addr, "GET", "/untouched", &[], b"");
        assert_eq!(response.status, 200, "[{adapter:?}]");
    }
}

#[test]
fn both_adapters_record_the_trusted_address_and_hash_flask_logins_identifier() {
    let forwarded = "203.0.113.9, 198.51.100.23";
    let headers = [("X-Forwarded-For", forwarded), ("User-Agent", "curl/8.0")];
    // Flask-Login hashes the first entry, whoever sent it.
    let flask = SessionIdentifier::new(Some([203, 0, 113, 9].into()), Some("curl/8.0"));
    for adapter in ADAPTERS {
        let behind = |proxies: &str| {
            let proxies = satchel_session::client_addr::TrustedProxies::parse(proxies).unwrap();
            let layer = layer(Kind::Sealed).unwrap();
            let addr = serve_behind(adapter, layer, proxies, axum_routes, actix_routes);
            request(addr, "GET", "/whoami", &headers, b"").text()
        };
        let direct = behind("");
        assert_eq!(
            direct,
            format!("127.0.0.1 {}", flask.as_str()),
            "{adapter:?}"
        );
        let proxied = behind("127.0.0.1");
        assert_eq!(
            proxied,
            format!("198.51.100.23 {}", flask.as_str()),
            "{adapter:?}"
        );
    }
}
