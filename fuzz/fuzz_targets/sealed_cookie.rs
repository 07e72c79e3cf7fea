//! SealedCodec::decode on arbitrary input. The first byte picks what the rest is:
//! 0 a whole cookie value; 1 JSON bytes, sealed behind a valid stamp; 2 a whole plaintext
//! (stamp and JSON), sealed. Anything else is treated as 0.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel_fuzz::{decode_and_check, seal, sealed, valid_stamp};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let value = match mode {
        1 => seal(&[&valid_stamp()[..], rest].concat()),
        2 => seal(rest),
        _ => match std::str::from_utf8(rest) {
            Ok(value) => value.to_owned(),
            Err(_) => return,
        },
    };
    decode_and_check(sealed(), &value);
});
