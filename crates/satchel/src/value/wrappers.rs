//! Placeholder.
/// Stub.
pub struct FlaskBytes(pub Vec<u8>);
/// Stub.
pub struct FlaskTuple(pub Vec<super::Value>);
/// Stub.
pub struct FlaskMarkup(pub String);
/// Stub.
pub struct FlaskUuid(pub uuid::Uuid);
/// Stub.
pub struct FlaskDateTime(pub time::OffsetDateTime);
