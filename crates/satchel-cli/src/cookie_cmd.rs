//! `satchel cookie decode|encode`: look inside a session cookie, or make one.
//!
//! The JSON is Flask's TaggedJSON text (tags such as `{" t": [...]}` kept), compact, keys sorted:
//! for `--format flask` exactly the payload Flask signed.

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};
use satchel::codec::{flask_json, Codec, Stamp};
use satchel::{CookieFormat, KeyRing};

use crate::usage_error;

/// Flask's default PERMANENT_SESSION_LIFETIME, in seconds.
const DEFAULT_MAX_AGE: u64 = satchel::FLASK_PERMANENT_SESSION_LIFETIME.as_secs();

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
    /// The cookie value.
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

fn codec(keys: &KeyArgs, fallbacks: &[String]) -> Result<Box<dyn Codec>, ExitCode> {
    let Some(secret) = keys.secret_key.as_deref().filter(|k| !k.is_empty()) else {
        return Err(usage_error(
            "no secret key: pass --secret-key or set SECRET_KEY",
        ));
    };
    let ring = KeyRing::new(secret, fallbacks.iter().map(String::as_str));
    let format: CookieFormat = keys.format.into();
    Ok(format.codec(&ring, &keys.name, keys.max_age))
}

fn decode(args: DecodeArgs) -> ExitCode {
    let codec = match codec(&args.keys, &args.fallback_keys) {
        Ok(codec) => codec,
        Err(code) => return code,
    };
    let now = args.now.unwrap_or_else(now);
    match codec.decode(args.cookie.trim(), now) {
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
        Ok(cookie) if cookie.len() > satchel::codec::MAX_COOKIE_VALUE_LEN => usage_error(format!(
            "the cookie would be {} bytes, over the {}-byte limit browsers keep",
            cookie.len(),
            satchel::codec::MAX_COOKIE_VALUE_LEN
        )),
        Ok(cookie) => {
            println!("{cookie}");
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}
