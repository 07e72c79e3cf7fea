//! The tags of Flask's `TaggedJSONSerializer`: a one-key object whose key is one of these is a
//! tagged value (a tuple, bytes, Markup, a UUID, a datetime, or an escaped dict key).

/// The keys Flask's serializer registers.
const TAGS: [&str; 6] = [" di", " t", " b", " m", " u", " d"];

/// Whether `key` is one of Flask's tags.
pub(super) fn is_tag(key: &str) -> bool {
    key.starts_with(' ') && TAGS.contains(&key)
}
