//! Placeholder.
/// Stub.
pub fn to_value<T: serde::Serialize + ?Sized>(_v: &T) -> Result<super::Value, crate::ValueError> { todo!() }
