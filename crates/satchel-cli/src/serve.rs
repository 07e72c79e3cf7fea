//! `satchel serve`: the seed's app on http://127.0.0.1:5000.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use satchel::{SessionConfig, SessionLayer};

use crate::cookie_cmd::Format;
use crate::{keygen, usage_error};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5000")]
    addr: SocketAddr,
    /// Cookie format (default: SESSION_FORMAT from the environment, else sealed).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Where sessions live: `cookie` (the data is in the cookie). Server-side stores are
    /// coming (memory, sqlite, postgres, redis).
    #[arg(long, default_value = "cookie")]
    store: String,
    /// Directory for the generated development key and the app's data.
    #[arg(long, default_value = "satchel-data")]
    data_dir: PathBuf,
    /// Production mode: requires SECRET_KEY and Secure cookies.
    #[arg(long)]
    production: bool,
}

pub fn run(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,satchel=info".into()),
        )
        .init();
    let config = match config(&args) {
        Ok(config) => config,
        Err(message) => return usage_error(message),
    };
    let layer = match SessionLayer::new(config) {
        Ok(layer) => layer,
        Err(e) => return usage_error(e),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.addr).await {
            Ok(listener) => listener,
            Err(e) => return usage_error(format!("cannot listen on {}: {e}", args.addr)),
        };
        tracing::info!("satchel serving the seed's app on http://{}", args.addr);
        let served = axum::serve(listener, crate::app::router(layer))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage_error(format!("server error: {e}")),
        }
    })
}

fn config(args: &ServeArgs) -> Result<SessionConfig, String> {
    if args.store != "cookie" {
        return Err(format!(
            "--store {}: only `cookie` is available in this version (memory, sqlite, postgres \
             and redis stores are not built yet)",
            args.store
        ));
    }
    let mut config = SessionConfig::default()
        .with_env()
        .map_err(|e| e.to_string())?;
    if let Some(format) = args.format {
        config.format = format.into();
    }
    if config.secret_key.is_none() {
        if args.production {
            return Err("--production needs SECRET_KEY set explicitly".into());
        }
        let key = development_key(&args.data_dir)?;
        config = config.with_secret_key(key);
    }
    if !args.production
        && std::env::var_os("SESSION_COOKIE_SECURE").is_none()
        && std::env::var_os("FLASK_SESSION_COOKIE_SECURE").is_none()
    {
        config.cookie_secure = false;
        tracing::warn!(
            "development mode: Secure cookie flag off so the session works over plain http; \
             use --production behind HTTPS"
        );
    }
    Ok(config)
}

/// The development key in `data_dir/secret_key`, created (mode 0600) on first use.
fn development_key(data_dir: &Path) -> Result<String, String> {
    let path = data_dir.join("secret_key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let key = keygen::new_secret_key();
    write_private(&path, &key).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tracing::warn!(
        "no SECRET_KEY set: generated a development key in {} (set SECRET_KEY in production)",
        path.display()
    );
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
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
