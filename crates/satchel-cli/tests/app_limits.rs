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
    let server = Arc::new(Server::start(&[], &[]));
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
