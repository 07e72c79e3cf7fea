//! `satchel serve`: the tutorial app on http://127.0.0.1:5000.
//!
//! Startup does, in order: settings (flags, then Flask's keys from the environment), the secret
//! key (SECRET_KEY, else `--secret-key-file`, else in development a generated key kept in the
//! data directory) and its audit, the user table and the first-start `admin`, then listens and
//! prints `satchel listening on http://ADDR` (the bound address, so `--addr 127.0.0.1:0` works).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use satchel_session::client_addr::{ForwardedHeader, TrustedProxies};
use satchel_session::store::{IndexedStore, Store, StoreError};
use satchel_session::{SecretKey, SessionConfig, SessionLayer};

use crate::app::devices::Devices;
use crate::app::guards::MetricsAccess;
use crate::app::users::{ensure_admin, Users, DB_TIMEOUT};
use crate::app::{metrics::Metrics, throttle::Throttle, App, AppState};
use crate::connections::{self, ConnectionLimits};
use crate::cookie_cmd::Format;
use crate::usage_error;

/// `PERMANENT_SESSION_LIFETIME` unless the environment sets it: the tutorial's 7 days (Flask's
/// own default is 31).
pub const TUTORIAL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on: IP:PORT, or HOST:PORT with a name that resolves (`localhost:5000`
    /// is 127.0.0.1:5000). Port 0: any free port; the bound address is printed.
    #[arg(long, default_value = "127.0.0.1:5000", value_parser = listen_addr)]
    addr: SocketAddr,
    /// Cookie format (default: SESSION_FORMAT from the environment, else sealed).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Where sessions live: `cookie` (the data is in the cookie), `memory` (this process),
    /// `redis://HOST:PORT/DB`, `sqlite:PATH`, `postgres://…` or `mysql://…` (shared by every
    /// process using that server or file; `?table=NAME` picks the SQL table).
    #[arg(long, default_value = "cookie")]
    store: String,
    /// Cookie sessions: where logins are recorded so that logout, "log out everywhere" and
    /// `satchel sessions revoke` end every copy of a cookie (any store URL; default an SQLite
    /// file in the data directory), or `off` (a copied cookie then works until it expires).
    /// With a server-side `--store` the store itself keeps the index.
    #[arg(long, env = "SATCHEL_LEDGER")]
    ledger: Option<String>,
    /// Directory for the generated development key and the user database.
    #[arg(long, default_value = "satchel-data")]
    data_dir: PathBuf,
    /// A file holding the secret key (used when SECRET_KEY is not set).
    #[arg(long, env = "SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
    /// Seconds a connection may take to send a request head; also how long an idle
    /// keep-alive connection stays open.
    #[arg(long, env = "SATCHEL_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds a request's body and handling may take before a 408.
    #[arg(long, env = "SATCHEL_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// Connections served at once; more wait in the accept queue.
    #[arg(long, env = "SATCHEL_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Connections served at once from one client address (IPv6: one /64); more from it are
    /// closed at once. Trusted proxies are not capped.
    #[arg(
        long,
        env = "SATCHEL_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 64
    )]
    max_connections_per_address: usize,
    /// Reverse proxies in front of the app (CIDR ranges or addresses, comma-separated): a
    /// request from one of them is from the address it forwards (the right-most entry of
    /// `--forwarded-header` that is not a trusted proxy); from anyone else, the peer's. That
    /// address is the one the login throttle counts and a login records. Default: none.
    #[arg(
        long,
        env = "SATCHEL_TRUSTED_PROXIES",
        value_name = "CIDR,...",
        default_value = ""
    )]
    trusted_proxies: TrustedProxies,
    /// The header the trusted proxies write the client's address in: `x-forwarded-for` or
    /// `forwarded` (RFC 7239). Only that one is read: a proxy passes the other on untouched.
    #[arg(
        long,
        env = "SATCHEL_FORWARDED_HEADER",
        default_value = "x-forwarded-for"
    )]
    forwarded_header: ForwardedHeader,
    /// Production mode: requires an explicit secret key, Secure cookies and the `__Host-`
    /// cookie name prefix (so serve it behind HTTPS).
    #[arg(long)]
    production: bool,
    /// A bearer token for `/metrics`: when set, `/metrics` answers only requests with
    /// `Authorization: Bearer TOKEN` (from any address); when not, only loopback clients.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
}

pub fn run(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,satchel=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    let (layer, app) = match runtime.block_on(prepare(&args)) {
        Ok(prepared) => prepared,
        Err(message) => return usage_error(message),
    };
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(args.header_timeout.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        max_connections: args.max_connections.max(1),
        max_per_address: args.max_connections_per_address.max(1),
    };
    let proxies = args
        .trusted_proxies
        .clone()
        .with_header(args.forwarded_header);
    if !proxies.is_empty() {
        tracing::info!(?proxies, "trusted proxies");
    }
    runtime.block_on(serve(args.addr, limits, proxies, layer, app))
}

async fn serve(
    addr: SocketAddr,
    limits: ConnectionLimits,
    proxies: TrustedProxies,
    layer: SessionLayer,
    app: App,
) -> ExitCode {
    let metrics = match Metrics::install(layer.clone()) {
        Ok(metrics) => metrics,
        Err(message) => return usage_error(message),
    };
    let users = app.users.clone();
    let state = AppState::new(App { metrics, ..app });
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => return usage_error(format!("cannot listen on {addr}: {e}")),
    };
    let bound = listener.local_addr().unwrap_or(addr);
    println!("satchel listening on http://{bound}");
    println!("open http://{bound}/ in a browser: the home page walks Flask's session tutorial");
    let _ = std::io::stdout().flush();
    tracing::info!("serving the tutorial app on http://{bound}");
    tracing::info!(?limits, "connection limits");
    let shutdown = async {
        let signal = stop_signal().await;
        tracing::info!(
            "{signal}: shutting down; requests in flight finish (and commit) first, for up to \
             {:?}",
            connections::SHUTDOWN_GRACE
        );
    };
    let app = crate::app::router(layer, state);
    connections::serve(listener, app, limits, proxies, shutdown).await;
    // A stopped server leaves the user database one file (SQLite folds the WAL back in when
    // the last connection closes); a connection still in use is waited for, boundedly.
    let _ = tokio::time::timeout(DB_TIMEOUT, users.close()).await;
    ExitCode::SUCCESS
}

/// Waits for SIGTERM (what a service manager or an orchestrator sends) or Ctrl-C (SIGINT),
/// and names it.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

/// Everything that can fail before listening, as one readable message.
async fn prepare(args: &ServeArgs) -> Result<(SessionLayer, App), String> {
    let config = config(args)?;
    let ledger = ledger_url(&args.store, args.ledger.as_deref(), &args.data_dir);
    let (layer, store, index) = session_layer(&args.store, ledger.as_deref(), config.clone())?;
    match (&store, &index) {
        (Some(store), _) => check_store("--store", store.as_ref()).await?,
        (None, Some(ledger)) => check_store("--ledger", ledger.as_ref()).await?,
        (None, None) => {}
    }
    let users = Users::open(&args.data_dir).await?;
    let admin_password = std::env::var("ADMIN_PASSWORD").ok();
    match ensure_admin(&users, admin_password)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(password) => {
            println!(
                "first start: created user `admin` with password {password}\n\
                 (shown once; only its argon2 hash is stored. Add users with `satchel users add NAME`)"
            );
        }
        None => tracing::debug!("users present"),
    }
    let app = App {
        devices: Devices::new(&config),
        config,
        users,
        throttle: Throttle::default(),
        metrics: Metrics::disabled(),
        hashing: crate::app::password_checks::PasswordChecks::per_core(),
        store,
        index,
        metrics_access: MetricsAccess::new(args.metrics_token.clone()),
        key_source: key_source(args),
    };
    Ok((layer, app))
}

/// How long startup waits for the store's first answer.
const STARTUP_CHECK: Duration = Duration::from_secs(5);

/// The store (`--store`, or the `--ledger` of cookie sessions) checked once before listening:
/// what will not mend by itself (TLS or a certificate refused, authentication failed, an
/// unknown host or database, a table refused) stops the start with one line; a store that is
/// merely down is a warning naming the cause, and `/readyz` answers 503 until it answers.
async fn check_store(flag: &str, store: &dyn Store) -> Result<(), String> {
    let outage = match tokio::time::timeout(STARTUP_CHECK, store.check()).await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(error @ StoreError::Config(_))) => return Err(format!("{flag}: {error}")),
        Ok(Err(error)) => error.to_string(),
        Err(_) => format!("no answer within {STARTUP_CHECK:?}"),
    };
    tracing::warn!(
        "{flag}: {outage}; starting anyway: /readyz answers 503 and requests that need the \
         store get a 503 until it answers"
    );
    Ok(())
}

/// The default login ledger of cookie sessions: an SQLite file beside the user database.
pub fn default_ledger(data_dir: &Path) -> String {
    format!("sqlite:{}", data_dir.join("logins.sqlite3").display())
}

/// The ledger URL for cookie sessions (`None`: off, or a server-side store).
fn ledger_url(store: &str, ledger: Option<&str>, data_dir: &Path) -> Option<String> {
    match ledger {
        _ if store != "cookie" => None,
        Some("off") => None,
        Some(url) => Some(url.to_owned()),
        None => Some(default_ledger(data_dir)),
    }
}

/// What `--store` (and `--ledger`) make: the layer, the server-side store (for the readiness
/// probe) and the per-user index (`/session`, the dashboard; the store itself, or the ledger
/// of cookie sessions).
type Sessions = (
    SessionLayer,
    Option<Arc<dyn Store>>,
    Option<Arc<dyn IndexedStore>>,
);

fn session_layer(
    store: &str,
    ledger: Option<&str>,
    config: SessionConfig,
) -> Result<Sessions, String> {
    if store == "cookie" {
        let Some(url) = ledger else {
            tracing::warn!(
                "--ledger off: a copied session cookie keeps working after logout until it expires"
            );
            return Ok((
                SessionLayer::new(config).map_err(|e| e.to_string())?,
                None,
                None,
            ));
        };
        let ledger = satchel_session::store::indexed_store_from_url(url)
            .map_err(|e| format!("--ledger: {e}"))?;
        let layer = SessionLayer::builder(config)
            .login_ledger(ledger.clone())
            .build()
            .map_err(|e| e.to_string())?;
        return Ok((layer, None, Some(ledger)));
    }
    if store.starts_with("flask-session+") {
        // Flask-Session's layout: shared with a Flask app, no per-user index.
        let store =
            satchel_session::store::store_from_url(store).map_err(|e| format!("--store: {e}"))?;
        let layer = SessionLayer::builder(config)
            .store(store.clone())
            .build()
            .map_err(|e| e.to_string())?;
        return Ok((layer, Some(store), None));
    }
    let store = satchel_session::store::indexed_store_from_url(store).map_err(|e| match e {
        StoreError::Config(message) if message.starts_with("unknown store kind") => {
            format!("--store: {message}; or `cookie` (the default) for sessions in the cookie")
        }
        e => format!("--store: {e}"),
    })?;
    let layer = SessionLayer::builder(config)
        .store(store.clone())
        .build()
        .map_err(|e| e.to_string())?;
    Ok((layer, Some(store.clone()), Some(store)))
}

/// `--addr`: an IP address and port, or a host name that resolves (its first address).
fn listen_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let hint = "give HOST:PORT, like 127.0.0.1:5000, [::1]:5000 or localhost:5000";
    match std::net::ToSocketAddrs::to_socket_addrs(text) {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("{text:?} resolves to no address; {hint}")),
        Err(error) => Err(format!("{text:?}: {error}; {hint}")),
    }
}

/// Where the secret key comes from, as the home page says it.
fn key_source(args: &ServeArgs) -> String {
    if env_is_set("SECRET_KEY") {
        "from SECRET_KEY".to_owned()
    } else if args.secret_key_file.is_some() {
        "from --secret-key-file".to_owned()
    } else {
        format!(
            "generated for development in {}",
            args.data_dir.join("secret_key").display()
        )
    }
}

fn config(args: &ServeArgs) -> Result<SessionConfig, String> {
    let mut config = SessionConfig::default()
        .with_env()
        .map_err(|e| e.to_string())?;
    if let Some(format) = args.format {
        config.format = format.into();
    }
    if !env_is_set("PERMANENT_SESSION_LIFETIME") {
        config.permanent_session_lifetime = TUTORIAL_LIFETIME;
    }
    if config.secret_key.is_none() {
        config.secret_key = Some(match &args.secret_key_file {
            Some(path) => read_key_file(path)?,
            None if args.production => {
                return Err(
                    "--production needs SECRET_KEY (or --secret-key-file) set explicitly; \
                            `satchel keygen` prints a key"
                        .into(),
                )
            }
            None => development_key(&args.data_dir)?.into(),
        });
    }
    audit_keys(&config)?;
    if args.production {
        production_cookie(&mut config)?;
    } else {
        development_cookie(&mut config, args.addr);
    }
    Ok(config)
}

/// The current key and every fallback must pass `satchel key audit`: a public fallback key
/// forges sessions as well as a public current key.
fn audit_keys(config: &SessionConfig) -> Result<(), String> {
    let current = config.secret_key.iter().map(|k| ("SECRET_KEY", k));
    let fallbacks = config
        .secret_key_fallbacks
        .iter()
        .map(|k| ("a SECRET_KEY_FALLBACKS key", k));
    for (name, key) in current.chain(fallbacks) {
        satchel_session::audit_secret_key(key.as_bytes())
            .map_err(|reason| format!("{name} refused: {reason}"))?;
    }
    Ok(())
}

fn env_is_set(key: &str) -> bool {
    std::env::var_os(key).is_some() || std::env::var_os(format!("FLASK_{key}")).is_some()
}

/// Production: Secure cookies and the `__Host-` prefix (the default name becomes
/// `__Host-session`; another name without the prefix is refused).
fn production_cookie(config: &mut SessionConfig) -> Result<(), String> {
    if !config.cookie_secure {
        return Err("--production needs Secure cookies: remove SESSION_COOKIE_SECURE=false".into());
    }
    if config.cookie_name == "session" && !env_is_set("SESSION_COOKIE_NAME") {
        config.cookie_name = "__Host-session".into();
    }
    if !config.cookie_name.starts_with("__Host-") {
        return Err(format!(
            "--production needs the __Host- cookie name prefix (browsers then refuse cookies \
             planted by other subdomains): SESSION_COOKIE_NAME={} should be __Host-{}",
            config.cookie_name, config.cookie_name
        ));
    }
    if config.cookie_domain.is_some() || config.effective_cookie_path() != "/" {
        return Err("a __Host- cookie must have no SESSION_COOKIE_DOMAIN and path /".into());
    }
    tracing::info!(cookie = %config.cookie_name, "production mode: Secure, __Host- cookie");
    Ok(())
}

/// Development: plain http on loopback, so Secure goes off unless the environment sets it.
fn development_cookie(config: &mut SessionConfig, addr: SocketAddr) {
    if !env_is_set("SESSION_COOKIE_SECURE") {
        config.cookie_secure = false;
        tracing::warn!(
            "development mode: Secure cookie flag off so the session works over plain http; \
             use --production behind HTTPS"
        );
    }
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "development mode on a non-loopback address: use --production");
    }
}

pub(crate) fn read_key_file(path: &Path) -> Result<SecretKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the secret key file {}: {e}", path.display()))?;
    let key = text.trim_end_matches(['\r', '\n']);
    if key.is_empty() {
        return Err(format!("the secret key file {} is empty", path.display()));
    }
    Ok(key.into())
}

/// The development key in `data_dir/secret_key`, created (mode 0600) on first use.
fn development_key(data_dir: &Path) -> Result<String, String> {
    let path = data_dir.join("secret_key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let key = satchel_session::generate_secret_key();
    write_private(&path, &key).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tracing::warn!(
        "no SECRET_KEY set: generated a development key in {} (set SECRET_KEY in production)",
        path.display()
    );
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    #[test]
    fn listen_addr_takes_an_address_or_a_name_that_resolves() {
        assert_eq!(super::listen_addr("[::1]:80").unwrap().port(), 80);
        let local = super::listen_addr("localhost:5058").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 5058, "{local}");
        assert!(super::listen_addr("localhost").is_err());
    }
}
