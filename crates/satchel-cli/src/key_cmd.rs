//! `satchel key audit`: refuse secret keys that are short or publicly known. `satchel serve`
//! runs the same check at startup.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::usage_error;

/// Shortest accepted key, in bytes: `satchel keygen` gives 43, Flask's docs suggest
/// `secrets.token_hex()` (64).
pub const MIN_KEY_LEN: usize = 32;

/// Secret keys published in tutorials, docs and project defaults, compared after trimming and
/// ignoring ASCII case. Short ones are also caught by the length rule; they are listed so the
/// message says why.
const KNOWN_KEYS: &[&str] = &[
    // The seed tutorial's placeholder, and its common variants.
    "your_secret_key",
    "your-secret-key",
    "your secret key",
    "secret",
    "secret_key",
    "secret-key",
    "secretkey",
    "mysecretkey",
    "my_secret_key",
    "supersecretkey",
    "super-secret",
    "super secret key",
    "changeme",
    "change-me",
    "change_me",
    "dev",
    "development key",
    "default",
    "flask",
    "test",
    "keyboard cat",
    // Flask's old docs: `app.secret_key = b'_5#y2L"F4Q8z\n\xec]/'`.
    "_5#y2L\"F4Q8z\n\u{ec}]/",
    // The Flask Mega-Tutorial and Flask Web Development (Flasky).
    "you-will-never-guess",
    "hard to guess string",
    // Apache Superset's old default (CVE-2023-27524) and its current placeholder.
    "\x02\x01thisismyscretkey\x01\x02\\e\\y\\y\\h",
    "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET",
    "TEST_NON_DEV_SECRET",
    // Airflow's and Redash's old defaults.
    "temporary_key",
    "c292a0a3aa32397cdb050e233733900f",
];

/// Why `key` must not be used, or `Ok` if it passes.
pub fn audit(key: &[u8]) -> Result<(), String> {
    let trimmed = key.trim_ascii();
    if KNOWN_KEYS
        .iter()
        .any(|known| known.as_bytes().eq_ignore_ascii_case(trimmed))
    {
        return Err(
            "this secret key is publicly known (it appears in tutorials or project defaults): \
             anyone can forge sessions with it; generate one with `satchel keygen`"
                .into(),
        );
    }
    if key.len() < MIN_KEY_LEN {
        return Err(format!(
            "this secret key is {} bytes; use at least {MIN_KEY_LEN} random bytes \
             (`satchel keygen` prints one)",
            key.len()
        ));
    }
    let mut distinct = key.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 8 {
        return Err(format!(
            "this secret key uses only {} distinct characters: it is not random; \
             `satchel keygen` prints a good one",
            distinct.len()
        ));
    }
    Ok(())
}

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
    match audit(key.as_bytes()) {
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

#[cfg(test)]
mod tests {
    use super::audit;

    #[test]
    fn public_flask_keys_are_refused_as_known() {
        for key in [
            "your_secret_key",
            "SECRET",
            " changeme ",
            "dev",
            "development key",
            "\x02\x01thisismyscretkey\x01\x02\\e\\y\\y\\h",
            "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET",
        ] {
            let reason = audit(key.as_bytes()).unwrap_err();
            assert!(reason.contains("publicly known"), "{key:?}: {reason}");
        }
    }

    #[test]
    fn short_and_repetitive_keys_are_refused() {
        assert!(audit(b"a fine but short key")
            .unwrap_err()
            .contains("bytes"));
        assert!(audit(&[b'a'; 64]).unwrap_err().contains("distinct"));
    }

    #[test]
    fn generated_keys_pass() {
        assert_eq!(audit(crate::keygen::new_secret_key().as_bytes()), Ok(()));
    }
}
