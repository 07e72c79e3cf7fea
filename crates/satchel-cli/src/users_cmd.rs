//! `satchel users add NAME`: adds a user to the app's SQLite file (password prompted on a
//! terminal, else read as one line from stdin).

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
}

#[derive(Args)]
pub struct AddArgs {
    /// The user name (letters, digits, '.', '_', '-').
    name: String,
    /// The app's data directory (as `satchel serve --data-dir`).
    #[arg(long, default_value = "satchel-data")]
    data_dir: PathBuf,
}

pub fn run(command: UsersCommand) -> ExitCode {
    let UsersCommand::Add(args) = command;
    let password = match read_password() {
        Ok(password) => password,
        Err(message) => return usage_error(message),
    };
    let users = match Users::open(&args.data_dir) {
        Ok(users) => users,
        Err(message) => return usage_error(message),
    };
    match users.add(&args.name, &password) {
        Ok(()) => {
            println!("added user {}", args.name);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
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
