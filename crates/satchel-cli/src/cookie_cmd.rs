//! `satchel cookie decode|encode`: look inside a session cookie, or make one.
//!
//! The JSON is Flask's TaggedJSON text (tags such as `{" t": [...]}` kept), compact, keys sorted:
//! for `--format flask` exactly the payload Flask signed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};
use satchel_session::codec::{flask_json, Codec, Stamp};
use satchel_session::{CookieFormat, KeyRing, SecretKey};

use crate::usage_error;

/// Flask's default PERMANENT_SESSION_LIFETIME, in seconds.
const DEFAULT_MAX_AGE: u64 = satchel_session::FLASK_PERMANENT_SESSION_LIFETIME.as_secs();

#[derive(Subcommand)]
pub enum CookieCommand {
    /// Print a cookie's session as JSON; exit 1 with "rejected: REASON" if it does not verify.
    Decode(DecodeArgs),
    /// Read session JSON on stdin and print the cookie value.
    Encode(EncodeArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Sealed,
    Flask,
}

impl From<Format> for CookieFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Sealed => CookieFormat::Sealed,
            Format::Flask => CookieFormat::Flask,
        }
    }
}

#[derive(Args)]
pub struct KeyArgs {
    /// Cookie format.
    #[arg(long, value_enum, default_value = "sealed")]
    format: Format,
    /// The secret key (default: the SECRET_KEY environment variable).
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// A file holding the secret key (as `satchel serve --secret-key-file`; the development
    /// key `satchel serve` generates is `satchel-data/secret_key`).
    #[arg(long, conflicts_with = "secret_key")]
    secret_key_file: Option<PathBuf>,
    /// The cookie's name (the sealed format binds it).
    #[arg(long, default_value = "session")]
    name: String,
    /// Oldest cookie accepted, in seconds (flask: itsdangerous max_age; sealed: also
    /// the expiry given to encoded cookies).
    #[arg(long, default_value_t = DEFAULT_MAX_AGE)]
    max_age: u64,
}

#[derive(Args)]
pub struct DecodeArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// An older key that still verifies (repeatable).
    #[arg(long = "fallback-key")]
    fallback_keys: Vec<String>,
    /// The current time, in Unix seconds (default: now).
    #[arg(long)]
    now: Option<u64>,
    /// The cookie's value; also accepted: `NAME=VALUE` or a whole `Cookie` header as a browser's
    /// developer tools copy it (`a=1; session=…`), from which the cookie named `--name` is taken.
    cookie: String,
}

#[derive(Args)]
pub struct EncodeArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// The issue time, in Unix seconds (default: now).
    #[arg(long)]
    timestamp: Option<u64>,
}

pub fn run(command: CookieCommand) -> ExitCode {
    match command {
        CookieCommand::Decode(args) => decode(args),
        CookieCommand::Encode(args) => encode(args),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where `satchel serve` keeps the development key it generates (with its default data dir).
const DEVELOPMENT_KEY_FILE: &str = "satchel-data/secret_key";

fn secret(keys: &KeyArgs) -> Result<SecretKey, String> {
    if let Some(path) = &keys.secret_key_file {
        return crate::serve::read_key_file(path);
    }
    match keys.secret_key.as_deref().filter(|k| !k.is_empty()) {
        Some(key) => Ok(key.into()),
        None if Path::new(DEVELOPMENT_KEY_FILE).exists() => Err(format!(
            "no secret key: pass --secret-key, --secret-key-file or set SECRET_KEY (for cookies \
             of `satchel serve` in development: --secret-key-file {DEVELOPMENT_KEY_FILE})"
        )),
        None => Err("no secret key: pass --secret-key, --secret-key-file or set SECRET_KEY".into()),
    }
}

/// The cookie's value from what was pasted: the value itself, `NAME=VALUE`, or a `Cookie`
/// header's pairs (`a=1; session=…`), parsed as cookies are (never by hand).
fn cookie_value(pasted: &str, name: &str) -> Result<String, String> {
    let pasted = pasted.trim();
    let pasted = pasted.strip_prefix("Cookie:").unwrap_or(pasted).trim();
    if !pasted.contains('=') {
        return Ok(pasted.to_owned());
    }
    let mut names = Vec::new();
    for pair in cookie::Cookie::split_parse_encoded(pasted.to_owned()) {
        let Ok(pair) = pair else { continue };
        if pair.name() == name {
            return Ok(pair.value().to_owned());
        }
        names.push(pair.name().to_owned());
    }
    Err(format!(
        "the pasted cookies have none named {name:?} (found: {}); pass --name or paste the value",
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    ))
}

fn codec(keys: &KeyArgs, fallbacks: &[String]) -> Result<Box<dyn Codec>, ExitCode> {
    let secret = secret(keys).map_err(usage_error)?;
    let ring = KeyRing::new(secret, fallbacks.iter().map(String::as_str));
    let format: CookieFormat = keys.format.into();
    Ok(format.codec(&ring, &keys.name, keys.max_age))
}

fn decode(args: DecodeArgs) -> ExitCode {
    let codec = match codec(&args.keys, &args.fallback_keys) {
        Ok(codec) => codec,
        Err(code) => return code,
    };
    let value = match cookie_value(&args.cookie, &args.keys.name) {
        Ok(value) => value,
        Err(message) => return usage_error(message),
    };
    let now = args.now.unwrap_or_else(now);
    match codec.decode(&value, now) {
        Ok(decoded) if now.saturating_sub(decoded.stamp.issued_at) > args.keys.max_age => {
            eprintln!("rejected: expired");
            ExitCode::from(1)
        }
        Ok(decoded) => {
            println!("{}", flask_json::to_string(&decoded.data));
            ExitCode::SUCCESS
        }
        Err(rejected) => {
            eprintln!("rejected: {}", rejected.reason);
            ExitCode::from(1)
        }
    }
}

fn encode(args: EncodeArgs) -> ExitCode {
    let codec = match codec(&args.keys, &[]) {
        Ok(codec) => codec,
        Err(code) => return code,
    };
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        return usage_error(format!("cannot read stdin: {e}"));
    }
    let data = match flask_json::from_str(input.trim()) {
        Ok(data) => data,
        Err(e) => return usage_error(format!("stdin is not a session JSON object: {e}")),
    };
    let issued_at = args.timestamp.unwrap_or_else(now);
    let stamp = Stamp {
        issued_at,
        created_at: issued_at,
        expires_at: issued_at.saturating_add(args.keys.max_age),
    };
    match codec.encode(&data, &stamp) {
        Ok(cookie)
            if args.keys.name.len() + 1 + cookie.len() > satchel_session::BROWSER_COOKIE_LIMIT =>
        {
            usage_error(format!(
                "the cookie would be {} bytes (name=value), over the {}-byte limit browsers keep",
                args.keys.name.len() + 1 + cookie.len(),
                satchel_session::BROWSER_COOKIE_LIMIT
            ))
        }
        Ok(cookie) => {
            println!("{cookie}");
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::cookie_value;

    #[test]
    fn a_pasted_value_pair_or_header_gives_the_named_cookie() {
        assert_eq!(cookie_value(" abc.def ", "session").unwrap(), "abc.def");
        assert_eq!(
            cookie_value("session=abc.def", "session").unwrap(),
            "abc.def"
        );
        assert_eq!(
            cookie_value("Cookie: theme=dark; session=abc.def; x=1", "session").unwrap(),
            "abc.def"
        );
        let missing = cookie_value("theme=dark; x=1", "session").unwrap_err();
        assert!(missing.contains("theme, x"), "{missing}");
    }
}
