//! `satchel serve` startup rules, `satchel key audit` and `satchel users add`.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};

use common::{satchel, temp_dir, Server, KEY};

fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = satchel();
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    // A command that exits before reading stdin closes the pipe first: not an error here.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn key_audit_refuses_short_and_public_keys() {
    for key in [
        "your_secret_key",
        "dev",
        "changeme",
        "\x02\x01thisismyscretkey\x01\x02\\e\\y\\y\\h",
    ] {
        let out = run(&["key", "audit", key], &[], "");
        assert_eq!(out.status.code(), Some(1), "{key:?}");
        assert!(stderr(&out).contains("publicly known"), "{}", stderr(&out));
    }
    let short = run(
        &["key", "audit"],
        &[("SECRET_KEY", "short but not public")],
        "",
    );
    assert_eq!(short.status.code(), Some(1));
    assert!(stderr(&short).contains("at least 32"), "{}", stderr(&short));
    let good = run(&["key", "audit"], &[], &format!("{KEY}\n"));
    assert!(good.status.success(), "{}", stderr(&good));
}

#[test]
fn serve_refuses_a_public_key_at_startup() {
    let dir = temp_dir("public-key");
    let dir_arg = dir.to_str().unwrap();
    for (var, value) in [
        ("SECRET_KEY", "secret"),
        ("SECRET_KEY_FALLBACKS", r#"["dev"]"#),
    ] {
        let mut env = vec![("SECRET_KEY", KEY)];
        env.retain(|(k, _)| *k != var);
        env.push((var, value));
        let out = run(
            &["serve", "--addr", "127.0.0.1:0", "--data-dir", dir_arg],
            &env,
            "",
        );
        assert_eq!(out.status.code(), Some(2), "{var}");
        assert!(stderr(&out).contains("publicly known"), "{}", stderr(&out));
    }
}

/// A start `serve` must refuse: extra arguments, environment, what the error must name.
type Refusal = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn serve_refuses_unknown_stores_and_production_without_a_key() {
    let dir = temp_dir("refusals");
    let dir_arg = dir.to_str().unwrap();
    let cases: [Refusal; 3] = [
        (
            &["--store", "carrier-pigeon://loft"],
            &[("SECRET_KEY", KEY)],
            "or `cookie` (the default)",
        ),
        (&["--production"], &[], "SECRET_KEY"),
        (
            &["--production"],
            &[("SECRET_KEY", KEY), ("SESSION_COOKIE_SECURE", "false")],
            "Secure",
        ),
    ];
    for (extra, env, named) in cases {
        let mut args = vec!["serve", "--addr", "127.0.0.1:0", "--data-dir", dir_arg];
        args.extend_from_slice(extra);
        let out = run(&args, env, "");
        assert_eq!(out.status.code(), Some(2), "{extra:?} {env:?}");
        assert!(stderr(&out).contains(named), "{}", stderr(&out));
    }
    let out = run(&["serve", "--addr", "no port here"], &[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("like 127.0.0.1:5000"),
        "{}",
        stderr(&out)
    );
}

/// A store that can never work stops `serve` within seconds with one line naming the cause;
/// one that is merely down is a warning naming the cause, and the app starts (`/readyz` 503)
/// and serves once the store comes up.
#[test]
fn serve_stops_on_a_store_it_can_never_use_and_warns_on_one_that_is_down() {
    let postgres = "127.0.0.1:5432";
    let redis = "127.0.0.1:6379";
    let up = |addr: &str| std::net::TcpStream::connect(addr).is_ok();
    if !common::require_or_skip(
        up(postgres) && up(redis),
        "PostgreSQL and Redis",
        "start them",
    ) {
        return;
    }
    let dir = temp_dir("store-refusals");
    let dir_arg = dir.to_str().unwrap();
    let cases: [(&str, &str, &str); 5] = [
        (
            "--store",
            "rediss://127.0.0.1:6379/0",
            "TLS: the server does not offer TLS",
        ),
        (
            "--ledger",
            "rediss://127.0.0.1:6379/0",
            "TLS: the server does not offer TLS",
        ),
        (
            "--store",
            "postgres://no_such_role@127.0.0.1:5432/test",
            "authentication failed",
        ),
        (
            "--store",
            "postgres://postgres@127.0.0.1:5432/no_such_database",
            "the database does not exist",
        ),
        (
            "--store",
            "postgres://postgres@127.0.0.1:5432/test?table=Bad-Name",
            "table name",
        ),
    ];
    for (flag, url, named) in cases {
        let started = std::time::Instant::now();
        let args = [
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            dir_arg,
            flag,
            url,
        ];
        let out = run(&args, &[("SECRET_KEY", KEY)], "");
        let said = stderr(&out);
        let errors: Vec<&str> = said.lines().filter(|l| l.starts_with("error:")).collect();
        println!("{flag} {url}: {errors:?}");
        assert_eq!(out.status.code(), Some(2), "{flag} {url}: {said}");
        assert_eq!(errors.len(), 1, "one line: {said}");
        assert!(
            errors[0].contains(named) && errors[0].contains(flag),
            "{said}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
    // Down at startup: a warning naming the cause, 503s, then service once it comes up.
    let url = common::down_redis_url();
    let down = Server::start(&["--store", &url], &[]);
    let log = down.log();
    let warning = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("--store"));
    println!("down: {warning:?}");
    assert!(
        warning.is_some_and(|w| w.contains("connection refused")),
        "{log}"
    );
    assert_eq!(down.get("/readyz", None).status, 503);
    let port = url.rsplit(':').next().unwrap();
    let _redis = common::KillOnDrop(
        std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", port, "--save", ""])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts"),
    );
    common::wait_until("/readyz once Redis is up", || {
        down.get("/readyz", None).status == 200
    });
    let first = down.get("/counter", None);
    let cookie = first.cookie_pair("session").expect("a session cookie");
    let second = down.get("/counter", Some(&cookie));
    assert_eq!((first.text(), second.text()), ("1".into(), "2".into()));
}

/// Lease keys in the Redis database `db` (this test's own).
fn leases(db: &str) -> Vec<String> {
    let out = std::process::Command::new("redis-cli")
        .args([
            "-n",
            db,
            "--scan",
            "--pattern",
            "satchel:session:v2:*:lease",
        ])
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// SIGTERM while a login is in flight (its lease taken, its form half sent): the request
/// finishes and commits, the lease is released (not left to time out), the process exits 0,
/// and the login is there for the next process.
#[test]
fn sigterm_lets_a_request_in_flight_commit_and_release_its_lease() {
    use std::io::{Read as _, Write as _};
    let up = std::net::TcpStream::connect("127.0.0.1:6379").is_ok();
    if !common::require_or_skip(up, "Redis on 127.0.0.1:6379", "start redis-server") {
        return;
    }
    let (db, store) = ("11", "redis://127.0.0.1:6379/11");
    let mut server = Server::start(&["--store", store], &[]);
    let (cookie, token) = server.login_form(None);
    let body = format!(
        "username=admin&password={}&csrf_token={}",
        common::form_encode(common::ADMIN_PASSWORD),
        common::form_encode(&token)
    );
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    let (first, last) = body.split_at(body.len() - 1);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(first.as_bytes()).unwrap();
    common::wait_until("the login's lease", || !leases(db).is_empty());
    server.terminate();
    stream.write_all(last.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 303"), "{response}");
    assert!(server.wait_exit().success(), "{}", server.log());
    assert!(
        server.log().contains("SIGTERM: shutting down"),
        "{}",
        server.log()
    );
    assert_eq!(leases(db), Vec::<String>::new(), "the lease was released");
    let logged_in = response
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, cookie)| cookie.split(';').next())
        .find(|pair| pair.starts_with("session="))
        .unwrap_or_else(|| panic!("the login sets the session cookie: {response}"))
        .to_owned();
    let env = [
        ("SECRET_KEY", KEY),
        ("ADMIN_PASSWORD", common::ADMIN_PASSWORD),
    ];
    let next = Server::start_exact(&["--store", store], &env, &server.data_dir);
    let dashboard = next.get("/dashboard", Some(&logged_in));
    assert_eq!(dashboard.status, 200, "{response}\n{}", dashboard.text());
}

#[test]
fn first_start_without_settings_generates_a_key_and_prints_an_admin_password_once() {
    let dir = temp_dir("first-start");
    let server = Server::start_exact(&[], &[], &dir);
    let line = server
        .banner
        .iter()
        .find(|l| l.contains("created user `admin` with password"))
        .expect("the admin password is printed");
    let password = line.rsplit(' ').next().unwrap().to_owned();
    let (response, _) = server.login("admin", &password);
    assert_eq!(response.status, 303);
    let key_file = dir.join("secret_key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    drop(server);
    // Second start: same key (old cookies still valid), no new password.
    let again = Server::start_exact(&[], &[], &dir);
    assert!(
        again.banner.iter().all(|l| !l.contains("password")),
        "{:?}",
        again.banner
    );
}

#[test]
fn users_add_reads_the_password_from_stdin_and_the_user_can_log_in() {
    let dir = temp_dir("users-add");
    let dir_arg = dir.to_str().unwrap();
    let out = run(
        &["users", "add", "alice", "--data-dir", dir_arg],
        &[],
        "alice's password\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let again = run(
        &["users", "add", "alice", "--data-dir", dir_arg],
        &[],
        "another password\n",
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let server = Server::start_exact(&[], &[("SECRET_KEY", KEY)], &dir);
    assert_eq!(server.login("alice", "alice's password").0.status, 303);
}

#[test]
fn users_add_refuses_names_that_differ_only_in_case_or_look_alike() {
    let dir = temp_dir("users-alike");
    let dir_arg = dir.to_str().unwrap();
    let add = |name: &str| {
        run(
            &["users", "add", name, "--data-dir", dir_arg],
            &[],
            "a password\n",
        )
    };
    for existing in ["admin", "louis", "root"] {
        let out = add(existing);
        assert!(out.status.success(), "{existing}: {}", stderr(&out));
    }
    for alike in ["Admin", "ADMIN", "adrnin", "Iouis", "r00t"] {
        let out = add(alike);
        assert_eq!(out.status.code(), Some(1), "{alike} was accepted");
        assert!(
            stderr(&out).contains("already exists") || stderr(&out).contains("looks like"),
            "{alike}: {}",
            stderr(&out)
        );
    }
}
