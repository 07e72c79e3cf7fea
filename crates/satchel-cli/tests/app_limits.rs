//! Hostile-client limits of `satchel serve`, over real sockets on 127.0.0.1: the login
//! throttle under parallel guesses, bounded metrics labels, connection timeouts and caps.

mod common;

use std::sync::Arc;

use common::{form_encode, Server};

/// Sends `count` wrong-password logins at once (one connection each, all released together)
/// and returns the status codes.
fn parallel_logins(server: &Arc<Server>, count: usize, right_at: Option<usize>) -> Vec<u16> {
    let (cookie, token) = server.login_form(None);
    let barrier = Arc::new(std::sync::Barrier::new(count));
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let (server, barrier) = (server.clone(), barrier.clone());
            let (cookie, token) = (cookie.clone(), token.clone());
            std::thread::spawn(move || {
                let password = if Some(i) == right_at {
                    common::ADMIN_PASSWORD.to_owned()
                } else {
                    format!("wrong guess {i}")
                };
                let body = format!(
                    "username=admin&password={}&csrf_token={}",
                    form_encode(&password),
                    form_encode(&token)
                );
                barrier.wait();
                server.post_form("/login", Some(&cookie), &body).status
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn parallel_wrong_guesses_evaluate_at_most_the_throttle_limit() {
    let server = Arc::new(Server::start(&[], &[]));
    let statuses = parallel_logins(&server, 64, None);
    let evaluated = statuses.iter().filter(|&&s| s == 401).count();
    let throttled = statuses.iter().filter(|&&s| s == 429).count();
    assert!(
        evaluated <= 5,
        "{evaluated} guesses evaluated: {statuses:?}"
    );
    assert_eq!(evaluated + throttled, 64, "{statuses:?}");
}

#[test]
fn a_burst_with_the_right_password_inside_evaluates_at_most_the_limit() {
    // 200 at once from one address: above the per-address connection cap (64), which has a
    // test of its own; raised here so that every guess reaches the throttle.
    let server = Arc::new(Server::start(
        &["--max-connections-per-address", "256"],
        &[],
    ));
    let statuses = parallel_logins(&server, 200, Some(150));
    let evaluated = statuses.iter().filter(|&&s| s == 401 || s == 303).count();
    assert!(
        evaluated <= 5,
        "{evaluated} guesses evaluated: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [401, 303, 429].contains(s)),
        "{statuses:?}"
    );
}

#[test]
fn client_chosen_methods_and_paths_add_no_metric_series() {
    let server = Server::start(&[], &[]);
    let odd_requests = |range: std::ops::Range<usize>| {
        for i in range {
            let method = format!("M{i}{}", "X".repeat(500));
            common::request(server.addr, &method, &format!("/no/such/{i}"), &[], b"");
        }
    };
    let series = || {
        let text = server.get("/metrics", None).text();
        text.lines().filter(|l| !l.starts_with('#')).count()
    };
    odd_requests(0..5);
    series(); // the first scrape adds its own series (GET /metrics)
    let before = series();
    odd_requests(5..305);
    let text = server.get("/metrics", None).text();
    assert_eq!(series(), before, "new series appeared:\n{text}");
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(!text.contains("XXXX"), "{text}");
}

/// A raw connection to `server` that has sent `bytes`, with a read deadline.
fn stalled_client(server: &Server, bytes: &[u8]) -> std::net::TcpStream {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(common::DEADLINE)).unwrap();
    stream.write_all(bytes).unwrap();
    stream
}

/// Reads until the server closes; returns what it sent and how long that took.
fn read_until_closed(stream: &mut std::net::TcpStream) -> (String, std::time::Duration) {
    use std::io::Read;
    let start = std::time::Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open past the deadline: {e}"),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), start.elapsed())
}

const QUICK: &[&str] = &["--header-timeout", "1", "--request-timeout", "1"];

#[test]
fn a_client_that_never_finishes_its_headers_is_cut() {
    let server = Server::start(QUICK, &[]);
    let mut slow = stalled_client(&server, b"GET /counter HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    let (_, took) = read_until_closed(&mut slow);
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let server = Server::start(QUICK, &[]);
    let mut idle = stalled_client(&server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let (answer, took) = read_until_closed(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_body_that_never_arrives_gets_408_and_the_connection_closes() {
    let server = Server::start(QUICK, &[]);
    let head =
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 500\r\n\r\nusername=admin";
    let mut slow = stalled_client(&server, head.as_bytes());
    let (answer, took) = read_until_closed(&mut slow);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn connections_past_the_cap_wait_until_one_closes() {
    let server = Server::start(&["--max-connections", "2", "--header-timeout", "60"], &[]);
    // Two connections that hold their slots (each has sent part of a head).
    let first = stalled_client(&server, b"GET / HTTP/1.1\r\n");
    let _second = stalled_client(&server, b"GET / HTTP/1.1\r\n");
    let mut third = stalled_client(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    third
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = std::io::Read::read(&mut third, &mut byte);
    assert!(early.is_err(), "served past the cap: {early:?}");
    drop(first);
    third.set_read_timeout(Some(common::DEADLINE)).unwrap();
    let (answer, _) = read_until_closed(&mut third);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// A connection to `server` from the loopback address `from` (127.0.0.0/8 is all this
/// machine's), having sent `bytes`, with a read deadline of `wait`.
fn client_from(
    server: &Server,
    from: [u8; 4],
    bytes: &[u8],
    wait: std::time::Duration,
) -> std::net::TcpStream {
    use std::io::Write;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((from, 0).into()).unwrap();
        socket.connect(server.addr).await.unwrap()
    });
    let mut stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(bytes).unwrap();
    stream
}

#[test]
fn one_address_holding_connections_leaves_room_for_the_others() {
    let server = Server::start(
        &[
            "--max-connections",
            "8",
            "--max-connections-per-address",
            "2",
            "--header-timeout",
            "120",
        ],
        &[],
    );
    // One client opens more connections than the whole server serves and holds them idle.
    let hog: Vec<_> = (0..12)
        .map(|_| {
            client_from(
                &server,
                [127, 0, 0, 2],
                b"GET / HTTP/1.1\r\n",
                common::DEADLINE,
            )
        })
        .collect();
    // Another client is served at once, not after the hog's connections time out.
    let mut other = client_from(
        &server,
        [127, 0, 0, 3],
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        std::time::Duration::from_secs(10),
    );
    let (answer, _) = read_until_closed(&mut other);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The hog's connections past its cap were closed, its first two are still open.
    let mut closed = 0;
    for mut stream in hog.into_iter().skip(2) {
        let (answer, _) = read_until_closed(&mut stream);
        assert_eq!(answer, "", "a connection past the cap was served");
        closed += 1;
    }
    assert_eq!(closed, 10);
}
