//! satchel: Flask's session management for tower and axum.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
pub mod codec;
mod config;
#[cfg(feature = "axum")]
pub mod extract;
pub mod interface;
mod keys;
mod layer;
mod session;
mod stats;
pub mod value;

pub use clock::{Clock, ManualClock};
pub use codec::{CookieFormat, FlaskCodec, SealedCodec};
pub use config::{ConfigError, SameSite, SessionConfig, FLASK_PERMANENT_SESSION_LIFETIME};
pub use keys::{KeyRing, SecretKey};
pub use layer::{SessionLayer, SessionService};
pub use session::{Session, PERMANENT_KEY};
pub use stats::SessionStats;
pub use value::{Value, ValueError};
