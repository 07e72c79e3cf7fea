//! A record as Redis holds it: one string, the 60-byte header of times, a logged-in record's
//! login section, then the data as Flask's tagged JSON; and the TTLs its keys get.

use std::time::Duration;

use crate::codec::flask_json;
use crate::store::{Loaded, Login, Record, StoreError};

/// Width of one time in the record header (`u64::MAX` has 20 digits).
const TIME_DIGITS: usize = 20;
/// The record header: created at, idle deadline, absolute deadline.
const HEADER: usize = 3 * TIME_DIGITS;
/// The longest TTL given to a key (100 years): Redis refuses expiries past `i64` milliseconds,
/// and a record with no real deadline must still be storable.
pub(super) const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// The tag after the header of a record with a login; the user key (64), last seen (20) and
/// the login's length (8 digits) follow, then the login's JSON.
const LOGIN_TAG: u8 = b'L';
const LOGIN_FIXED: usize = 1 + 64 + TIME_DIGITS + 8;

/// The record as stored: the 60-byte header, a logged-in record's login section (`L`, the user
/// key, last seen = `now`, the login's JSON with its length), then the data's tagged JSON.
pub(super) fn encode(record: &Record, now: u64) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(HEADER + 128);
    let _ = write!(
        out,
        "{:020}{:020}{:020}",
        record.created_at, record.idle_deadline, record.absolute_deadline
    );
    if let Some(login) = record.login.as_ref().filter(|login| login.is_indexed()) {
        let json = login.to_json();
        out.push(char::from(LOGIN_TAG));
        out.push_str(&login.user_key());
        let _ = write!(out, "{now:020}{:08}", json.len());
        out.push_str(&json);
    }
    flask_json::write_dict(&record.data, &mut out);
    out
}

/// A stored record back; anything else is [`StoreError::Corrupt`].
pub(super) fn decode(value: &[u8]) -> Result<Record, StoreError> {
    decode_with_seen(value).map(|(record, _)| record)
}

/// A stored record and its last-seen time (0 for an anonymous one).
pub(super) fn decode_with_seen(value: &[u8]) -> Result<(Record, u64), StoreError> {
    let text = std::str::from_utf8(value)
        .map_err(|_| StoreError::Corrupt("session record is not UTF-8".into()))?;
    if text.len() < HEADER || !text.as_bytes()[..HEADER].iter().all(u8::is_ascii_digit) {
        return Err(StoreError::Corrupt(
            "session record has no version 2 header".into(),
        ));
    }
    let time = |n: usize| {
        text[n * TIME_DIGITS..(n + 1) * TIME_DIGITS]
            .parse::<u64>()
            .map_err(|_| StoreError::Corrupt("session record time is out of range".into()))
    };
    let mut rest = &text[HEADER..];
    let mut login = None;
    let mut last_seen = 0;
    if rest.as_bytes().first() == Some(&LOGIN_TAG) {
        let corrupt = || StoreError::Corrupt("session record's login section is malformed".into());
        let fixed = rest.get(..LOGIN_FIXED).ok_or_else(corrupt)?;
        last_seen = fixed[65..65 + TIME_DIGITS]
            .parse::<u64>()
            .map_err(|_| corrupt())?;
        let len = fixed[65 + TIME_DIGITS..]
            .parse::<usize>()
            .map_err(|_| corrupt())?;
        let json = rest
            .get(LOGIN_FIXED..LOGIN_FIXED.saturating_add(len))
            .ok_or_else(corrupt)?;
        login = Some(Login::from_json(json)?);
        rest = &rest[LOGIN_FIXED + len..];
    }
    let data = flask_json::from_str(rest).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut record = Record::new(data, time(0)?, time(1)?, time(2)?);
    record.login = login;
    Ok((record, last_seen))
}

/// A record read without a lease: found if live at `now`.
pub(super) fn live(record: Record, now: u64) -> Loaded {
    if record.is_expired(now) {
        Loaded::Missing
    } else {
        Loaded::Found(record)
    }
}

pub(super) fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

/// The record key's TTL: its remaining life, at least 1 ms, at most [`MAX_TTL_MS`].
pub(super) fn record_ttl_ms(record: &Record, now: u64) -> u64 {
    record
        .remaining(now)
        .saturating_mul(1000)
        .clamp(1, MAX_TTL_MS)
}

#[cfg(test)]
mod tests {
    use super::{decode, encode, HEADER};
    use crate::store::{Record, StoreError};

    #[test]
    fn records_round_trip_through_the_string_layout() {
        let mut data = crate::value::Dict::default();
        data.insert("n".into(), crate::Value::from(3));
        let record = Record::new(data, 1, 1_800_000_600, u64::MAX);
        let value = encode(&record, 5);
        assert_eq!(
            &value[..HEADER],
            "000000000000000000010000000000180000060018446744073709551615"
        );
        assert_eq!(&value[HEADER..], r#"{"n":3}"#);
        assert_eq!(decode(value.as_bytes()), Ok(record));
    }

    #[test]
    fn a_login_rides_between_the_header_and_the_data() {
        let login = crate::store::Login::new("alice", Some("Mozilla/5.0"), Some("10.0.0.1"));
        let record = Record::new(Default::default(), 1, 2, 3).with_login(login.clone());
        let value = encode(&record, 42);
        assert_eq!(value.as_bytes()[HEADER], b'L');
        // The scripts read the user key at bytes 61..=124 and last seen at 125..=144.
        assert_eq!(&value[HEADER + 1..HEADER + 65], login.user_key());
        assert_eq!(&value[HEADER + 65..HEADER + 85], format!("{:020}", 42));
        assert!(value.ends_with("{}"));
        assert_eq!(super::decode_with_seen(value.as_bytes()), Ok((record, 42)));
        let cut = &value.as_bytes()[..HEADER + 70];
        assert!(matches!(decode(cut), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn anything_else_is_corrupt_not_a_panic() {
        for bad in [&b""[..], b"123", b"{\"n\":1}", &[0xff; 70], &[b'9'; 70]] {
            assert!(
                matches!(decode(bad), Err(StoreError::Corrupt(_))),
                "{bad:?}"
            );
        }
    }
}
