//! HTTP dates as Python's `email.utils` reads them (Werkzeug's `parse_date`).

use time::{Month, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// `email.utils.parsedate_to_datetime` as Werkzeug's `parse_date` uses it (no zone means UTC),
/// converted to UTC; `None` where Python raises.
pub(super) fn parse_rfc2822(text: &str) -> Option<OffsetDateTime> {
    let f = parsedate_tz(text)?;
    let year = i32::try_from(f.year)
        .ok()
        .filter(|y| (1..=9999).contains(y))?;
    let month = Month::try_from(f.month).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(f.day).ok()?).ok()?;
    let [h, m, s] = [f.hour, f.minute, f.second].map(|n| u8::try_from(n).ok());
    let clock = time::Time::from_hms(h?, m?, s?).ok()?;
    let offset = match f.offset {
        None => UtcOffset::UTC,
        Some(secs) if secs.abs() < 86_400 => UtcOffset::from_whole_seconds(secs as i32).ok()?,
        Some(_) => return None,
    };
    PrimitiveDateTime::new(date, clock)
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
}

/// What `email._parseaddr._parsedate_tz` returns.
struct DateFields {
    year: i64,
    month: u8,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// Seconds east of UTC; `None` for no zone (or `-0000`).
    offset: Option<i64>,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MONTH_NAMES: [&str; 24] = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const ZONES: [(&str, i64); 14] = [
    ("UT", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("AST", -400),
    ("ADT", -300),
    ("EST", -500),
    ("EDT", -400),
    ("CST", -600),
    ("CDT", -500),
    ("MST", -700),
    ("MDT", -600),
    ("PST", -800),
    ("PDT", -700),
];

/// A port of CPython's `_parsedate_tz` (the lenient RFC 2822 reader behind `parse_date`).
fn parsedate_tz(text: &str) -> Option<DateFields> {
    let [dd, mm, yy, tm, tz] = date_words(text)?;
    let (mut dd, mut mm) = (dd, mm.to_lowercase());
    if !MONTH_NAMES.contains(&mm.as_str()) {
        (dd, mm) = (mm, dd.to_lowercase());
    }
    let month = MONTH_NAMES.iter().position(|&n| n == mm)? % 12 + 1;
    let dd = dd.strip_suffix(',').unwrap_or(&dd);
    let (mut yy, mut tm, mut tz) = (yy.as_str(), tm.as_str(), tz.as_str());
    if yy.find(':').is_some_and(|i| i > 0) {
        (yy, tm) = (tm, yy);
    }
    if let Some(stripped) = yy.strip_suffix(',') {
        yy = Some(stripped).filter(|y| !y.is_empty())?;
    }
    if !yy.chars().next()?.is_ascii_digit() {
        (yy, tz) = (tz, yy);
    }
    let [hour, minute, second] = clock_fields(tm.strip_suffix(',').unwrap_or(tm))?;
    let year = py_int(yy)?;
    Some(DateFields {
        year: if year < 100 {
            year + if year > 68 { 1900 } else { 2000 }
        } else {
            year
        },
        month: month as u8,
        day: py_int(dd)?,
        hour: py_int(hour)?,
        minute: py_int(minute)?,
        second: py_int(second)?,
        offset: zone_offset(tz),
    })
}

/// `_parsedate_tz`'s first half: the words `[day, month, year, time, zone]`.
fn date_words(text: &str) -> Option<[String; 5]> {
    let mut data: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    let first = data.first()?;
    if first.ends_with(',') || DAY_NAMES.contains(&first.to_lowercase().as_str()) {
        data.remove(0);
    } else if let Some(i) = first.rfind(',') {
        data[0] = first[i + 1..].to_owned();
    }
    if data.len() == 3 {
        let stuff: Vec<String> = data[0].split('-').map(str::to_owned).collect();
        if stuff.len() == 3 {
            data.splice(0..1, stuff);
        }
    }
    if data.len() == 4 {
        let s = data[3].clone();
        match s.find('+').or_else(|| s.find('-')) {
            Some(i) if i > 0 => {
                data[3] = s[..i].to_owned();
                data.push(s[i..].to_owned());
            }
            _ => data.push(String::new()),
        }
    }
    data.truncate(5);
    let words: [String; 5] = data.try_into().ok()?;
    let given = |w: &String| !w.is_empty();
    (given(&words[0]) && given(&words[1]) && given(&words[2])).then_some(words)
}

/// `HH:MM`, `HH:MM:SS`, or the same with dots.
fn clock_fields(tm: &str) -> Option<[&str; 3]> {
    let sep = if tm.contains(':') || !tm.contains('.') {
        ':'
    } else {
        '.'
    };
    let parts: Vec<&str> = tm.split(sep).collect();
    match parts.as_slice() {
        [h, m] => Some([h, m, "0"]),
        [h, m, s] => Some([h, m, s]),
        _ => None,
    }
}

/// A zone name or `±hhmm` as seconds east of UTC; `None` when absent, unknown, or `-0000`.
fn zone_offset(tz: &str) -> Option<i64> {
    let tz = tz.to_uppercase();
    let hhmm = match ZONES.iter().find(|(name, _)| *name == tz) {
        Some(&(_, hhmm)) => hhmm,
        None => py_int(&tz).filter(|&n| n != 0 || !tz.starts_with('-'))?,
    };
    // Python's integers do not overflow; an offset this large makes `parse_date` give `None`
    // (a day or more), which saturating to the extreme keeps.
    let abs = hhmm.unsigned_abs();
    let secs = (abs / 100)
        .saturating_mul(3600)
        .saturating_add((abs % 100) * 60);
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    Some(if hhmm < 0 { -secs } else { secs })
}

/// Python's `int(text)` for ASCII text: a sign, digits, single underscores between digits.
fn py_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__");
    if !well_formed {
        return None;
    }
    let mut n: i64 = 0;
    for b in digits.bytes().filter(|&b| b != b'_') {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -n } else { n })
}
