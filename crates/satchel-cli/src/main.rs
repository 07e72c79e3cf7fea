//! The `satchel` command: the tutorial app (`satchel serve`, `satchel users add`), cookie
//! decode/encode, keygen, `satchel key audit` and `satchel sessions`.
#![forbid(unsafe_code)]

mod app;
mod connections;
mod cookie_cmd;
mod key_cmd;
mod keygen;
mod serve;
mod sessions_cmd;
mod users_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// satchel: Flask's session management, in Rust.
#[derive(Parser)]
#[command(name = "satchel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the tutorial app: Flask's session tutorial, live (open http://127.0.0.1:5000/).
    Serve(serve::ServeArgs),
    /// Decode or encode session cookies.
    #[command(subcommand)]
    Cookie(cookie_cmd::CookieCommand),
    /// Print a new random secret key (256 bits, URL-safe).
    Keygen,
    /// Check secret keys (`satchel key audit`).
    #[command(subcommand)]
    Key(key_cmd::KeyCommand),
    /// Manage the app's users (`satchel users add | passwd | disable NAME`).
    #[command(subcommand)]
    Users(users_cmd::UsersCommand),
    /// List and end logged-in sessions (`satchel sessions list | revoke | revoke-user |
    /// purge-expired`).
    #[command(subcommand)]
    Sessions(sessions_cmd::SessionsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Cookie(command) => cookie_cmd::run(command),
        Command::Key(command) => key_cmd::run(command),
        Command::Users(command) => users_cmd::run(command),
        Command::Sessions(command) => sessions_cmd::run(command),
        Command::Keygen => {
            println!("{}", satchel_session::generate_secret_key());
            ExitCode::SUCCESS
        }
    }
}

/// Prints a one-line error and returns exit code 2 (bad input or usage).
pub(crate) fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
