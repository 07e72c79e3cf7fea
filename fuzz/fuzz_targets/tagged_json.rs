//! Flask's TaggedJSON reader on arbitrary text (as the one value of a session, `{"v":TEXT}`);
//! whatever parses must write back to text that parses to the same session.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel_session::codec::flask_json::{from_str, to_string};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(session) = from_str(&format!(r#"{{"v":{text}}}"#)) else {
        return;
    };
    let written = to_string(&session);
    let reparsed =
        from_str(&written).unwrap_or_else(|error| panic!("{written:?} does not parse again: {error}"));
    assert_eq!(reparsed, session, "{text:?} wrote as {written:?}");
});
