//! A real browser: headless Chromium (Debian `chromium` + `chromium-driver`) driven over
//! WebDriver walks the tutorial app's home page (set → get → delete → clear → counter, the
//! panel checked after each), logs in with a wrong then the right password and "keep me signed
//! in", checks the cookie's expiry in the browser's own cookie jar and its flags, reaches the
//! dashboard, looks at `/session`, logs out and sees the flash once, and finds its way home
//! from the 404 page. Screenshots of each step
//! go to `target/screenshots/` (printed at the end; `failure.png` when a step fails).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{spawn_listening, temp_dir, KillOnDrop, Server, ADMIN_PASSWORD};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

/// Chromium and its driver, or `None` (skip outside CI).
fn chromium() -> Option<(PathBuf, PathBuf)> {
    let browser = which("chromium").or_else(|| which("chromium-browser"));
    let driver = which("chromedriver");
    let found = browser.is_some() && driver.is_some();
    common::require_or_skip(
        found,
        "Chromium and chromedriver",
        "apt-get install -y chromium chromium-driver",
    )
    .then(|| (browser.unwrap(), driver.unwrap()))
}

type Step = Result<(), String>;

fn fail(what: &str) -> impl Fn(fantoccini::error::CmdError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Polls until the browser's URL path is `path`.
async fn wait_for_path(client: &Client, path: &str) -> Step {
    let deadline = Instant::now() + common::DEADLINE;
    loop {
        let url = client.current_url().await.map_err(fail("current url"))?;
        if url.path() == path {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {path}; at {url}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn screenshot(client: &Client, name: &str) -> Step {
    let png = client.screenshot().await.map_err(fail("screenshot"))?;
    let path = screenshots_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The text of the element `css` matches, waiting for it to appear (page loads are async).
async fn text_of(client: &Client, css: &str) -> Result<String, String> {
    let element = client
        .wait()
        .at_most(common::DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .map_err(fail(css))?;
    element.text().await.map_err(fail(css))
}

async fn click(client: &Client, css: &str) -> Step {
    client
        .find(Locator::Css(css))
        .await
        .map_err(fail(css))?
        .click()
        .await
        .map_err(fail(css))
}

async fn submit_login(
    client: &Client,
    base: &str,
    user: &str,
    password: &str,
    remember: bool,
) -> Step {
    client
        .goto(&format!("{base}/login"))
        .await
        .map_err(fail("open /login"))?;
    for (css, value) in [("#username", user), ("#password", password)] {
        let field = client.find(Locator::Css(css)).await.map_err(fail(css))?;
        field.clear().await.map_err(fail(css))?;
        field.send_keys(value).await.map_err(fail(css))?;
    }
    if remember {
        click(client, "#remember").await?;
    }
    click(client, "#submit").await
}

/// Clicks a home-page control and checks the answer and the panel on the page it leads back
/// to: `answer` in the answer box, each of `shown` in the panel, none of `gone`.
async fn control(client: &Client, css: &str, answer: &str, shown: &[&str], gone: &[&str]) -> Step {
    click(client, css).await?;
    let said = text_of(client, "aside .answer").await?;
    if !said.ends_with(answer) {
        return Err(format!(
            "{css}: the answer box says {said:?}, not {answer:?}"
        ));
    }
    let panel = text_of(client, "aside").await?;
    if let Some(missing) = shown.iter().find(|s| !panel.contains(*s)) {
        return Err(format!("{css}: the panel lacks {missing:?}: {panel}"));
    }
    if let Some(stale) = gone.iter().find(|s| panel.contains(*s)) {
        return Err(format!("{css}: the panel still shows {stale:?}: {panel}"));
    }
    Ok(())
}

/// The home page: every tutorial control in turn, a screenshot after each.
async fn tutorial_walk(client: &Client, base: &str) -> Step {
    client.goto(base).await.map_err(fail("open /"))?;
    if text_of(client, "#empty").await? != "The session is empty." {
        return Err("a first visit should show an empty session".into());
    }
    screenshot(client, "home-1-empty").await?;
    control(client, "#set", "Session data set!", &["'Kimi'", "25"], &[]).await?;
    screenshot(client, "home-2-set").await?;
    let greeting = "Hello, Kimi! Your age is 25.";
    control(client, "#get", greeting, &["'Kimi'"], &[]).await?;
    screenshot(client, "home-3-get").await?;
    let deleted = "Session data deleted!";
    control(client, "#delete", deleted, &["age"], &["'Kimi'"]).await?;
    screenshot(client, "home-4-delete").await?;
    let cleared = "All session data cleared!";
    control(
        client,
        "#clear",
        cleared,
        &["The session is empty."],
        &["age"],
    )
    .await?;
    screenshot(client, "home-5-clear").await?;
    control(client, "#counter", "1", &["n", "1"], &[]).await?;
    control(client, "#counter", "2", &["n", "2"], &[]).await?;
    control(client, "#set", "Session data set!", &["'Kimi'", "n"], &[]).await?;
    // The README's picture: the whole page with a session in it.
    client
        .set_window_size(1280, 1700)
        .await
        .map_err(fail("resize"))?;
    client.goto(base).await.map_err(fail("open /"))?;
    screenshot(client, "home-6-counter").await?;
    client
        .set_window_size(1024, 768)
        .await
        .map_err(fail("resize"))
}

async fn journey(client: &Client, base: &str) -> Step {
    tutorial_walk(client, base).await?;
    // A wrong password: the form again, with the error.
    submit_login(client, base, "admin", "not the password", false).await?;
    let error = text_of(client, "#error").await?;
    if error != "Invalid credentials!" {
        return Err(format!("expected the credentials error, got {error:?}"));
    }
    screenshot(client, "login-failed").await?;

    client
        .goto(&format!("{base}/login"))
        .await
        .map_err(fail("open /login"))?;
    screenshot(client, "login").await?;
    let before = unix_now();
    submit_login(client, base, "admin", ADMIN_PASSWORD, true).await?;
    wait_for_path(client, "/dashboard").await?;
    check_permanent_expiry(client, before, unix_now()).await?;
    let heading = text_of(client, "h1").await?;
    let user = text_of(client, "#user").await?;
    if heading != "Welcome to the dashboard!" || user != "admin" {
        return Err(format!("dashboard shows {heading:?} for {user:?}"));
    }
    screenshot(client, "dashboard").await?;
    check_cookie_flags(client).await?;

    client
        .goto(&format!("{base}/session"))
        .await
        .map_err(fail("open /session"))?;
    let page = client.source().await.map_err(fail("source"))?;
    if !page.contains("_user_id") || !page.contains("_fresh") {
        return Err("the session page does not show the login keys".into());
    }
    screenshot(client, "session").await?;
    // Logged in and permanent: the longest the panel and the login table get.
    for width in [1280, 390] {
        for path in ["/", "/session", "/dashboard"] {
            fits(client, base, path, width).await?;
        }
    }
    client
        .set_window_size(1024, 768)
        .await
        .map_err(fail("resize"))?;

    client
        .goto(&format!("{base}/dashboard"))
        .await
        .map_err(fail("open /dashboard"))?;
    // A copy of the logged-in cookie, as a thief would take it, replayed after the logout.
    let copied = session_cookie(client).await?;
    click(client, "#logout").await?;
    wait_for_path(client, "/login").await?;
    let flash = text_of(client, ".flash").await?;
    if flash != "You have been logged out." {
        return Err(format!("expected the logout flash, got {flash:?}"));
    }
    screenshot(client, "logged-out").await?;
    client.refresh().await.map_err(fail("reload"))?;
    if !client
        .find_all(Locator::Css(".flash"))
        .await
        .map_err(fail(".flash"))?
        .is_empty()
    {
        return Err("the logout flash was shown twice".into());
    }
    client
        .goto(&format!("{base}/dashboard"))
        .await
        .map_err(fail("open /dashboard"))?;
    wait_for_path(client, "/login").await?;
    replay_copy(client, base, &copied).await?;

    // An unknown address is a page with a way home.
    client
        .goto(&format!("{base}/no-such-page"))
        .await
        .map_err(fail("open /no-such-page"))?;
    let status = text_of(client, "#status").await?;
    if status != "404 Not Found" {
        return Err(format!("the 404 page says {status:?}"));
    }
    screenshot(client, "not-found").await?;
    click(client, "#home").await?;
    wait_for_path(client, "/").await
}

/// Opens `path` in a window `width` px wide and checks that nothing runs off it: the page does
/// not scroll sideways, no table or panel overflows its box, and every "End" button is inside
/// the window. A screenshot of each (`fit-WIDTH-PAGE.png`).
async fn fits(client: &Client, base: &str, path: &str, width: u32) -> Step {
    client
        .set_window_size(width, 900)
        .await
        .map_err(fail("resize"))?;
    client
        .goto(&format!("{base}{path}"))
        .await
        .map_err(fail("open"))?;
    text_of(client, "h1").await?;
    let name = format!("fit-{width}-{}", path.trim_matches('/').replace('/', "-"));
    screenshot(client, &name).await?;
    let overflows = client
        .execute(
            r#"
            const problems = [];
            const page = document.documentElement;
            if (page.scrollWidth > page.clientWidth) {
                problems.push(`the page is ${page.scrollWidth}px wide in a ${page.clientWidth}px window`);
            }
            for (const box of document.querySelectorAll("aside, table, pre")) {
                if (box.scrollWidth > box.clientWidth + 1) {
                    problems.push(`${box.tagName.toLowerCase()}#${box.id}: ${box.scrollWidth}px of content in ${box.clientWidth}px`);
                }
            }
            for (const button of document.querySelectorAll("button.end")) {
                const right = button.getBoundingClientRect().right;
                if (right > page.clientWidth) {
                    problems.push(`an End button ends at ${Math.round(right)}px`);
                }
            }
            return problems;
            "#,
            vec![],
        )
        .await
        .map_err(fail("measure the page"))?;
    let problems: Vec<String> = serde_json::from_value(overflows).map_err(|e| e.to_string())?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{path} at {width}px: {}", problems.join("; ")))
    }
}

/// Puts `copied` (a session cookie taken before the logout) back in the jar and opens the
/// dashboard: it must land on /login.
async fn replay_copy(client: &Client, base: &str, copied: &cookie::Cookie<'_>) -> Step {
    let mut replay = cookie::Cookie::new("session", copied.value().to_owned());
    replay.set_path("/");
    // HttpOnly like the cookie it replaces (Chrome refuses to overwrite one with a non-HttpOnly).
    replay.set_http_only(true);
    replay.set_same_site(cookie::SameSite::Lax);
    if let Some(domain) = copied.domain() {
        replay.set_domain(domain.to_owned());
    }
    client
        .add_cookie(replay)
        .await
        .map_err(fail("put back the copied cookie"))?;
    client
        .goto(&format!("{base}/dashboard"))
        .await
        .map_err(fail("open /dashboard with the copy"))?;
    wait_for_path(client, "/login")
        .await
        .map_err(|e| format!("the copied cookie still opens the dashboard after logout: {e}"))?;

    Ok(())
}

/// Logs in, copies the session cookie, logs out, replays the copy.
async fn replay_after_logout(client: &Client, base: &str) -> Step {
    submit_login(client, base, "admin", ADMIN_PASSWORD, false).await?;
    wait_for_path(client, "/dashboard").await?;
    let copied = session_cookie(client).await?;
    click(client, "#logout").await?;
    wait_for_path(client, "/login").await?;
    replay_copy(client, base, &copied).await
}

/// The browser's session cookie.
async fn session_cookie(client: &Client) -> Result<cookie::Cookie<'static>, String> {
    let cookies = client.get_all_cookies().await.map_err(fail("cookies"))?;
    cookies
        .into_iter()
        .find(|c| c.name() == "session")
        .ok_or_else(|| "no session cookie to copy".to_owned())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// "Keep me signed in": the browser's own cookie jar holds the session cookie until the login
/// time plus 7 days (the tutorial's PERMANENT_SESSION_LIFETIME). The login (and the
/// dashboard's refresh) happened between `before` and `after`, in whole seconds, so the bound
/// is exact.
async fn check_permanent_expiry(client: &Client, before: i64, after: i64) -> Step {
    const SEVEN_DAYS: i64 = 7 * 24 * 3600;
    let cookies = client.get_all_cookies().await.map_err(fail("cookies"))?;
    let session = cookies
        .iter()
        .find(|c| c.name() == "session")
        .ok_or_else(|| format!("no session cookie in {cookies:?}"))?;
    let expires = session
        .expires_datetime()
        .map(|t| t.unix_timestamp())
        .ok_or_else(|| format!("the remembered login's cookie has no expiry: {session:?}"))?;
    if !(before + SEVEN_DAYS..=after + SEVEN_DAYS).contains(&expires) {
        return Err(format!(
            "the jar keeps the cookie until {expires}, not login + 7 days ({before}..={after} + {SEVEN_DAYS})"
        ));
    }
    Ok(())
}

/// The session cookie is HttpOnly (and invisible to scripts), SameSite=Lax, host-only, path /.
/// Secure is off: development mode on plain http (production mode is tested over HTTP).
async fn check_cookie_flags(client: &Client) -> Step {
    let cookies = client.get_all_cookies().await.map_err(fail("cookies"))?;
    let session = cookies
        .iter()
        .find(|c| c.name() == "session")
        .ok_or_else(|| format!("no session cookie in {cookies:?}"))?;
    let flags = (
        session.http_only(),
        session.same_site(),
        session.secure(),
        session.path(),
    );
    if flags
        != (
            Some(true),
            Some(cookie::SameSite::Lax),
            Some(false),
            Some("/"),
        )
    {
        return Err(format!("unexpected session cookie flags: {session:?}"));
    }
    let visible = client
        .execute("return document.cookie", vec![])
        .await
        .map_err(fail("document.cookie"))?;
    if visible.as_str().is_some_and(|c| c.contains("session=")) {
        return Err("the session cookie is visible to scripts".into());
    }
    Ok(())
}

/// A headless Chromium driven over WebDriver; the driver process ends with it.
struct Browser {
    client: Client,
    _driver: KillOnDrop,
}

impl Browser {
    async fn open(browser: PathBuf, driver: PathBuf) -> Self {
        let mut command = Command::new(driver);
        command.arg("--port=0").stderr(Stdio::null());
        let (child, driver_addr, _) = spawn_listening(command, |line| {
            let port = line
                .strip_prefix("ChromeDriver was started successfully on port ")?
                .trim_end_matches('.');
            Some(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                port.parse().ok()?,
            )))
        });
        let _driver = KillOnDrop(child);
        let profile = temp_dir("chromium-profile");
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": browser,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-dev-shm-usage", "--window-size=1024,768",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let webdriver = format!("http://{driver_addr}");
        let connect = tokio::time::timeout(common::DEADLINE, builder.connect(&webdriver))
            .await
            .expect("the WebDriver session starts within the deadline");
        let client = connect.unwrap_or_else(|e| panic!("WebDriver session: {e}"));
        Browser { client, _driver }
    }

    /// Closes the browser; on a failed `outcome`, after a screenshot, with a panic.
    async fn finish(self, outcome: Step) {
        if let Err(message) = &outcome {
            let _ = screenshot(&self.client, "failure").await;
            let _ = self.client.close().await;
            panic!(
                "{message} (screenshot: {})",
                screenshots_dir().join("failure.png").display()
            );
        }
        self.client.close().await.expect("the browser closes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_walks_the_tutorial_then_logs_in_remembered_and_out() {
    let Some((browser, driver)) = chromium() else {
        return;
    };
    let server = Server::start(&[], &[]);
    let base = format!("http://{}", server.addr);
    let _ = std::fs::remove_file(screenshots_dir().join("failure.png"));
    let browser = Browser::open(browser, driver).await;
    let outcome = tokio::time::timeout(Duration::from_secs(120), journey(&browser.client, &base))
        .await
        .unwrap_or_else(|_| Err("the browser journey took over 120 s".into()));
    browser.finish(outcome).await;
    for page in [
        "home-1-empty",
        "home-2-set",
        "home-3-get",
        "home-4-delete",
        "home-5-clear",
        "home-6-counter",
        "login-failed",
        "login",
        "dashboard",
        "session",
        "logged-out",
        "not-found",
    ] {
        assert!(screenshots_dir().join(format!("{page}.png")).is_file());
    }
    println!("screenshots: {}", screenshots_dir().display());
}

/// The same replay through a real browser with a server-side store (an SQLite file): the copy
/// of a logged-out session's id cookie is anonymous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_with_a_store_is_logged_out_when_it_replays_a_copied_cookie() {
    let Some((browser, driver)) = chromium() else {
        return;
    };
    let dir = temp_dir("browser-store");
    let store = format!("sqlite:{}", dir.join("sessions.sqlite3").display());
    let server = Server::start(&["--store", &store], &[]);
    let base = format!("http://{}", server.addr);
    let browser = Browser::open(browser, driver).await;
    let outcome = tokio::time::timeout(
        Duration::from_secs(120),
        replay_after_logout(&browser.client, &base),
    )
    .await
    .unwrap_or_else(|_| Err("the replay took over 120 s".into()));
    browser.finish(outcome).await;
}
