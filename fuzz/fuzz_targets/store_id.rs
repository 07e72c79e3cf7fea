//! SessionId::parse, the store backend's cookie value, on arbitrary text: whatever parses is
//! the one canonical spelling of its id (encoding it gives the input back), so no two cookie
//! values name the same stored session.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel_session::store::SessionId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(id) = SessionId::parse(text) {
        assert_eq!(id.encode(), text, "a second spelling of one id");
        assert_eq!(id.hash(), SessionId::parse(text).unwrap().hash());
    }
});
