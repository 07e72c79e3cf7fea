//! Placeholder: Flask TaggedJSON and Python-compatible JSON (being written).
use crate::value::{Dict, Value};

/// Stub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {position}: {message}")]
pub struct JsonError {
    /// Stub.
    pub message: String,
    /// Stub.
    pub position: usize,
}
/// Stub.
pub fn to_string(_data: &Dict) -> String { todo!() }
/// Stub.
pub fn write_dict(_data: &Dict, _out: &mut String) { todo!() }
/// Stub.
pub fn value_to_string(_v: &Value) -> String { todo!() }
/// Stub.
pub fn from_str(_text: &str) -> Result<Dict, JsonError> { todo!() }
/// Stub.
pub fn value_from_str(_text: &str) -> Result<Value, JsonError> { todo!() }
