//! `satchel users add NAME`: adds a user to the app's SQLite file (password prompted on a
//! terminal, else read as one line from stdin). `satchel users passwd NAME` sets a new password
//! and `satchel users disable NAME` disables the account; both then end every session of the
//! user (in `--store`, by default the login ledger of `satchel serve`'s cookie sessions).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::app::users::Users;
use crate::usage_error;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a user (password prompted, or one line on stdin).
    Add(AddArgs),
    /// Set a user's password (prompted, or one line on stdin) and end all their sessions.
    Passwd(EndingArgs),
    /// Disable a user (their password no longer logs in) and end all their sessions.
    Disable(EndingArgs),
}

#[derive(Args)]
pub struct EndingArgs {
    /// The user name.
    name: String,
    /// The app's data directory (as `satchel serve --data-dir`).
    #[arg(long, default_value = "satchel-data")]
    data_dir: PathBuf,
    /// Where the user's sessions are (as `satchel serve --store`, or for cookie sessions its
    /// `--ledger`; default: the ledger in the data directory).
    #[arg(long)]
    store: Option<String>,
}

#[derive(Args)]
pub struct AddArgs {
    /// The user name (letters, digits, '.', '_', '-'); refused if it differs from an
    /// existing one only in case or Unicode form, or looks like one (`adrnin` beside `admin`).
    name: String,
    /// The app's data directory (as `satchel serve --data-dir`).
    #[arg(long, default_value = "satchel-data")]
    data_dir: PathBuf,
}

pub fn run(command: UsersCommand) -> ExitCode {
    let runtime = match crate::sessions_cmd::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(message),
    };
    runtime.block_on(async {
        match command {
            UsersCommand::Add(args) => add(args).await,
            UsersCommand::Passwd(args) => change(args, true).await,
            UsersCommand::Disable(args) => change(args, false).await,
        }
    })
}

async fn add(args: AddArgs) -> ExitCode {
    let password = match read_password() {
        Ok(password) => password,
        Err(message) => return usage_error(message),
    };
    let users = match Users::open(&args.data_dir).await {
        Ok(users) => users,
        Err(message) => return usage_error(message),
    };
    let code = match users.add(&args.name, &password).await {
        Ok(()) => {
            println!("added user {}", args.name);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    };
    users.close().await;
    code
}

/// `passwd` (`new_password`) or `disable`, then every session of the user ends.
async fn change(args: EndingArgs, new_password: bool) -> ExitCode {
    let users = match Users::open(&args.data_dir).await {
        Ok(users) => users,
        Err(message) => return usage_error(message),
    };
    let code = change_in(&users, args, new_password).await;
    users.close().await;
    code
}

async fn change_in(users: &Users, args: EndingArgs, new_password: bool) -> ExitCode {
    let index = match (crate::sessions_cmd::StoreArgs {
        store: args.store.clone(),
        data_dir: args.data_dir.clone(),
    })
    .open()
    {
        Ok(index) => index,
        Err(message) => return usage_error(message),
    };
    let changed = if new_password {
        match read_password() {
            Ok(password) => users.set_password(&args.name, &password).await,
            Err(message) => return usage_error(message),
        }
    } else {
        users.disable(&args.name).await
    };
    let name = match changed {
        Ok(Some(name)) => name,
        Ok(None) => {
            eprintln!("error: no user {:?}", args.name);
            return ExitCode::from(1);
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(1);
        }
    };
    let done = if new_password {
        "password changed"
    } else {
        "disabled"
    };
    match crate::sessions_cmd::end_user_sessions(&*index, &name).await {
        Ok(ended) => {
            println!("{name} {done}; ended {ended} session(s)");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "error: {} {done}, but their sessions could not be ended: {error} \
                 (run `satchel sessions revoke-user {}` once the store is back)",
                name, name
            );
            ExitCode::from(1)
        }
    }
}

fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords do not match".into());
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
