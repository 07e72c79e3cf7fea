//! Placeholder.
/// Stub.
pub fn from_value<T: serde::de::DeserializeOwned>(_v: &super::Value) -> Result<T, crate::ValueError> { todo!() }
