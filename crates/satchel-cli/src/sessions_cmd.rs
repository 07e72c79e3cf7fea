//! `satchel sessions …`: the admin's view of who is logged in, and ending sessions.
//!
//! Every command works on a store's per-user index (`--store URL`): a server-side store
//! (`redis://…`, `sqlite:…`, `postgres://…`, `mysql://…`), or the login ledger of cookie
//! sessions (by default the SQLite file `satchel serve` keeps in its data directory). Sessions
//! are named by a prefix of their id's SHA-256, never by the id: nothing printed here lets
//! anyone present a session.
//!
//! Exit codes: 0 done; 1 nothing matched (an unknown prefix or user) or the store failed; 2
//! bad usage (a malformed prefix, an ambiguous one, a bad URL).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use satchel_session::store::{
    revoke_prefix, IndexedStore, Revoked, SessionEntry, SqlStore, StoreError,
};

use crate::usage_error;

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// List logged-in sessions (most recently seen first).
    List(ListArgs),
    /// End one session, by a prefix of its id hash (as `list` shows it; at least 6 digits).
    Revoke(RevokeArgs),
    /// End every session of one user ("log out everywhere").
    RevokeUser(UserArgs),
    /// Delete expired sessions now (SQL stores; Redis and the memory store expire by
    /// themselves).
    PurgeExpired(StoreArgs),
}

#[derive(Args, Clone)]
pub struct StoreArgs {
    /// The store or login ledger (default: the ledger of `satchel serve --data-dir DIR`).
    #[arg(long)]
    pub store: Option<String>,
    /// The app's data directory (for the default ledger).
    #[arg(long, default_value = "satchel-data")]
    pub data_dir: PathBuf,
}

impl StoreArgs {
    /// The store URL these arguments name.
    pub fn url(&self) -> String {
        self.store
            .clone()
            .unwrap_or_else(|| crate::serve::default_ledger(&self.data_dir))
    }

    pub fn open(&self) -> Result<Arc<dyn IndexedStore>, String> {
        let url = self.url();
        satchel_session::store::indexed_store_from_url(&url).map_err(|e| format!("--store: {e}"))
    }
}

#[derive(Args)]
pub struct ListArgs {
    /// Only this user's sessions.
    #[arg(long)]
    user: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
pub struct RevokeArgs {
    /// A prefix of the session's id hash (hex, at least 6 digits).
    id_prefix: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
pub struct UserArgs {
    /// The user whose sessions end.
    name: String,
    #[command(flatten)]
    store: StoreArgs,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The commands' async runtime: one thread, timers and I/O.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn store_failed(error: &StoreError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(1)
}

fn line(entry: &SessionEntry, now: u64) -> String {
    format!(
        "{}  {:<16}  {:<15}  {:<30}  {}",
        entry.short_id(),
        entry.user_id,
        entry.address.as_deref().unwrap_or("-"),
        last_seen(entry.last_seen, now),
        entry.user_agent.as_deref().unwrap_or("-"),
    )
}

/// `2026-12-08 04:50 UTC (3 min ago)`: when a session was last seen, in UTC and as an age.
fn last_seen(unix: u64, now: u64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let Some(when) = i64::try_from(unix)
        .ok()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&format).ok())
    else {
        return unix.to_string();
    };
    let age = now.saturating_sub(unix);
    let ago = match age {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", age / 60),
        3600..86400 => format!("{} h ago", age / 3600),
        _ => format!("{} days ago", age / 86400),
    };
    format!("{when} ({ago})")
}

pub fn run(command: SessionsCommand) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(message),
    };
    runtime.block_on(run_async(command))
}

async fn run_async(command: SessionsCommand) -> ExitCode {
    match command {
        SessionsCommand::List(args) => {
            let index = match args.store.open() {
                Ok(index) => index,
                Err(message) => return usage_error(message),
            };
            let now = unix_now();
            match index.sessions(args.user.as_deref(), now).await {
                Ok(entries) => {
                    println!(
                        "SESSION       USER              ADDRESS          {:<30}  BROWSER",
                        "LAST SEEN"
                    );
                    for entry in &entries {
                        println!("{}", line(entry, now));
                    }
                    println!("{} session(s)", entries.len());
                    ExitCode::SUCCESS
                }
                Err(error) => store_failed(&error),
            }
        }
        SessionsCommand::Revoke(args) => {
            let index = match args.store.open() {
                Ok(index) => index,
                Err(message) => return usage_error(message),
            };
            match revoke_prefix(&*index, None, &args.id_prefix, unix_now()).await {
                Ok(Revoked::One(entry)) => {
                    println!("ended session {} of {}", entry.short_id(), entry.user_id);
                    ExitCode::SUCCESS
                }
                Ok(Revoked::NoMatch) => {
                    eprintln!(
                        "error: no live session's id hash starts with {}",
                        args.id_prefix
                    );
                    ExitCode::from(1)
                }
                Ok(Revoked::Ambiguous(n)) => usage_error(format!(
                    "{n} sessions start with {}: give more digits (nothing was ended)",
                    args.id_prefix
                )),
                Err(StoreError::Config(message)) => usage_error(message),
                Err(error) => store_failed(&error),
            }
        }
        SessionsCommand::RevokeUser(args) => {
            let index = match args.store.open() {
                Ok(index) => index,
                Err(message) => return usage_error(message),
            };
            match end_user_sessions(&*index, &args.name).await {
                Ok(ended) => {
                    println!("ended {ended} session(s) of {}", args.name);
                    ExitCode::SUCCESS
                }
                Err(error) => store_failed(&error),
            }
        }
        SessionsCommand::PurgeExpired(args) => purge(&args).await,
    }
}

/// Ends every session of `user` (for `revoke-user`, `users passwd`, `users disable`).
pub async fn end_user_sessions(index: &dyn IndexedStore, user: &str) -> Result<u64, StoreError> {
    index.revoke_user(user).await
}

async fn purge(args: &StoreArgs) -> ExitCode {
    let url = args.url();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("redis") || lower.starts_with("memory") {
        println!("this store expires sessions by itself: nothing to purge");
        return ExitCode::SUCCESS;
    }
    let store = match SqlStore::open(&url) {
        Ok(store) => store.with_sweep_interval(None),
        Err(error) => return usage_error(format!("--store: {error}")),
    };
    match store.sweep().await {
        Ok(removed) => {
            println!("deleted {removed} expired session(s)");
            ExitCode::SUCCESS
        }
        Err(error) => store_failed(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::last_seen;

    #[test]
    fn last_seen_is_a_utc_time_and_an_age() {
        // 2026-12-08 04:50:00 UTC is 1796705400.
        assert_eq!(
            last_seen(1_796_705_400, 1_796_705_400 + 200),
            "2026-12-08 04:50 UTC (3 min ago)"
        );
        assert_eq!(
            last_seen(1_796_705_400, 1_796_705_400),
            "2026-12-08 04:50 UTC (just now)"
        );
        assert!(last_seen(1_796_705_400, 1_796_705_400 + 3 * 86400).ends_with("(3 days ago)"));
    }
}
