//! FlaskCodec::decode on arbitrary input. The first byte picks what the rest is:
//! 0 a whole cookie value; 1 a payload (the part before the timestamp) that gets a valid
//! signature; 2 JSON bytes, base64'd and signed; 3 a zlib stream, sent as a compressed payload
//! and signed. Anything else is treated as 0.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel_fuzz::{b64, decode_and_check, flask, flask_sign};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let value = match mode {
        1 => match std::str::from_utf8(rest) {
            Ok(payload) => flask_sign(payload),
            Err(_) => return,
        },
        2 => flask_sign(&b64(rest)),
        3 => flask_sign(&format!(".{}", b64(rest))),
        _ => match std::str::from_utf8(rest) {
            Ok(value) => value.to_owned(),
            Err(_) => return,
        },
    };
    decode_and_check(flask(), &value);
});
