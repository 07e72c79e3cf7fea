//! The error of typed access.

/// A value could not be converted to or from the requested Rust type through serde.
///
/// ```
/// let err: Result<u8, _> = satchel_session::value::from_value(&satchel_session::Value::from("x"));
/// assert!(err.unwrap_err().to_string().contains("expected"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}
