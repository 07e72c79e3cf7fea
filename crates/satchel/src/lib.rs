//! satchel: Flask's session management for tower and axum.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
pub mod codec;
mod config;
mod error;
#[cfg(feature = "axum")]
pub mod extract;
pub mod flash;
pub mod interface;
mod keyed_lock;
mod keys;
mod layer;
pub mod login;
mod session;
mod slot;
mod stats;
pub mod store;
pub mod value;

pub use clock::{Clock, ManualClock};
pub use codec::{CookieFormat, FlaskCodec, SealedCodec};
pub use config::{ConfigError, SameSite, SessionConfig, FLASK_PERMANENT_SESSION_LIFETIME};
pub use error::SessionError;
pub use flash::{flash, take_flashes, Flash};
pub use keys::{KeyRing, SecretKey};
pub use layer::{SessionLayer, SessionService};
#[cfg(feature = "axum")]
pub use login::LoginRequired;
pub use login::{current_user_id, login, logout};
pub use session::{Session, PERMANENT_KEY};
pub use stats::SessionStats;
pub use value::{Value, ValueError};
