//! `satchel key audit`: refuse secret keys that are short or publicly known (the library's
//! [`satchel_session::audit_secret_key`]; `satchel serve` and every `SessionLayer` run the same check).

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::usage_error;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Check a secret key (argument, SECRET_KEY, or stdin): exit 0 if usable, 1 with the reason.
    Audit(AuditArgs),
}

#[derive(Args)]
pub struct AuditArgs {
    /// The key (default: SECRET_KEY from the environment, else one line on stdin).
    #[arg(env = "SECRET_KEY", hide_env_values = true)]
    key: Option<String>,
}

pub fn run(command: KeyCommand) -> ExitCode {
    let KeyCommand::Audit(args) = command;
    let key = match args.key {
        Some(key) => key,
        None if std::io::stdin().is_terminal() => {
            return usage_error("no key: pass it as an argument, set SECRET_KEY, or pipe it in")
        }
        None => {
            let mut input = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut input) {
                return usage_error(format!("cannot read stdin: {e}"));
            }
            input.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    match satchel_session::audit_secret_key(key.as_bytes()) {
        Ok(()) => {
            println!("ok: the key is long enough and not a known public key");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("refused: {reason}");
            ExitCode::from(1)
        }
    }
}
