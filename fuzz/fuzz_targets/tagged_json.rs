//! flask_json::value_from_str on arbitrary text; whatever parses must write back to text
//! that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::codec::flask_json::{value_from_str, value_to_string};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = value_from_str(text) else {
        return;
    };
    let written = value_to_string(&value);
    let reparsed = value_from_str(&written)
        .unwrap_or_else(|error| panic!("{written:?} does not parse again: {error}"));
    assert_eq!(reparsed, value, "{text:?} wrote as {written:?}");
});
