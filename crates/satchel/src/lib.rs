//! satchel: Flask's session management for tower and axum.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
mod keys;
pub mod value;

pub use codec::{CookieFormat, FlaskCodec, SealedCodec};
pub use keys::{KeyRing, SecretKey};
pub use value::{Value, ValueError};
