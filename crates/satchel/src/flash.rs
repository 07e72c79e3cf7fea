//! Flash messages, stored exactly as Flask stores them: a list of `(category, message)` tuples
//! under `_flashes`, so a message flashed here is shown by Flask's
//! `get_flashed_messages(with_categories=True)` and the other way round (with the flask cookie
//! format and a shared `SECRET_KEY`).
//!
//! ```
//! use satchel_session::flash::{flash, take_flashes};
//! let session = satchel_session::Session::default();
//! flash(&session, "info", "You have been logged out.");
//! let shown = take_flashes(&session);
//! assert_eq!(shown[0].message, "You have been logged out.");
//! assert!(take_flashes(&session).is_empty()); // shown once
//! ```

use crate::session::Session;
use crate::value::Value;

/// The session key Flask keeps flashed messages under.
///
/// ```
/// let session = satchel_session::Session::default();
/// satchel_session::flash(&session, "info", "hi");
/// assert!(session.contains_key(satchel_session::flash::FLASHES_KEY));
/// ```
pub const FLASHES_KEY: &str = "_flashes";

/// Flask's default category (`flash(message)` without one).
///
/// ```
/// use satchel_session::flash::{flash, take_flashes, DEFAULT_CATEGORY};
/// let session = satchel_session::Session::default();
/// flash(&session, DEFAULT_CATEGORY, "hi");
/// assert_eq!(take_flashes(&session)[0].category, "message");
/// ```
pub const DEFAULT_CATEGORY: &str = "message";

/// How many messages wait at most: [`flash`] drops the oldest beyond this.
///
/// Flask's list grows without bound. A client that never loads a page that shows flashes (one
/// that does not follow redirects, say) would otherwise grow its own cookie with every request
/// that flashes, until the cookie passes the browser's 4 KB limit and every response is an
/// error. No page shows more than a few messages at once.
///
/// ```
/// use satchel_session::flash::{flash, take_flashes, MAX_PENDING};
/// let session = satchel_session::Session::default();
/// for n in 0..MAX_PENDING + 5 {
///     flash(&session, "info", &format!("message {n}"));
/// }
/// let shown = take_flashes(&session);
/// assert_eq!(shown.len(), MAX_PENDING);
/// assert_eq!(shown[0].message, "message 5"); // the five oldest were dropped
/// ```
pub const MAX_PENDING: usize = 10;

/// One flashed message.
///
/// ```
/// let f = satchel_session::flash::Flash { category: "error".into(), message: "Nope".into() };
/// assert_eq!(f.category, "error");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// The category (`"message"` when Flask's `flash()` was called without one).
    pub category: String,
    /// The text. Flask may store it as `Markup`; it is returned here as its plain string.
    pub message: String,
}

/// Adds a message for the next page that shows flashes (Flask's `flash(message, category)`):
/// appends the tuple `(category, message)` to the `_flashes` list, dropping the oldest beyond
/// [`MAX_PENDING`].
///
/// ```
/// let session = satchel_session::Session::default();
/// satchel_session::flash::flash(&session, "info", "Saved.");
/// assert!(session.contains_key("_flashes"));
/// assert!(session.modified());
/// ```
pub fn flash(session: &Session, category: &str, message: &str) {
    let mut flashes = match session.get_value(FLASHES_KEY) {
        Some(Value::List(items)) => items,
        _ => Vec::new(),
    };
    let excess = (flashes.len() + 1).saturating_sub(MAX_PENDING);
    flashes.drain(..excess);
    flashes.push(Value::Tuple(vec![category.into(), message.into()]));
    session.insert(FLASHES_KEY, Value::List(flashes));
}

/// Removes and returns the pending messages, oldest first (Flask's
/// `get_flashed_messages(with_categories=True)`): each is shown once. Entries that are not
/// `(category, message)` pairs of strings are dropped. Leaves the session untouched when there
/// is nothing to show.
///
/// ```
/// let session = satchel_session::Session::default();
/// assert!(satchel_session::flash::take_flashes(&session).is_empty());
/// assert!(!session.modified());
/// ```
pub fn take_flashes(session: &Session) -> Vec<Flash> {
    let Some(Value::List(items)) = session.remove(FLASHES_KEY) else {
        return Vec::new();
    };
    items.iter().filter_map(pair).collect()
}

/// A `(category, message)` tuple (or a 2-list, as a JSON round trip might leave it).
fn pair(item: &Value) -> Option<Flash> {
    let (Value::Tuple(parts) | Value::List(parts)) = item else {
        return None;
    };
    match parts.as_slice() {
        [category, message] => Some(Flash {
            category: text(category)?,
            message: text(message)?,
        }),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Str(s) | Value::Markup(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flashes_are_a_list_of_category_message_tuples_like_flask() {
        let session = Session::default();
        flash(&session, "info", "one");
        flash(&session, DEFAULT_CATEGORY, "two");
        let expected = Value::List(vec![
            Value::Tuple(vec!["info".into(), "one".into()]),
            Value::Tuple(vec!["message".into(), "two".into()]),
        ]);
        assert_eq!(session.get_value(FLASHES_KEY), Some(expected));
    }

    #[test]
    fn flashes_are_taken_once_in_order() {
        let session = Session::default();
        flash(&session, "a", "first");
        flash(&session, "b", "second");
        let taken = take_flashes(&session);
        assert_eq!(
            taken.iter().map(|f| f.message.as_str()).collect::<Vec<_>>(),
            ["first", "second"]
        );
        assert_eq!(taken[1].category, "b");
        assert!(take_flashes(&session).is_empty());
        assert!(!session.contains_key(FLASHES_KEY));
    }

    #[test]
    fn markup_messages_and_junk_entries() {
        let session = Session::default();
        session.insert(
            FLASHES_KEY,
            Value::List(vec![
                Value::Tuple(vec!["m".into(), Value::Markup("<b>hi</b>".into())]),
                Value::from(3),
                Value::Tuple(vec!["only one".into()]),
            ]),
        );
        let taken = take_flashes(&session);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].message, "<b>hi</b>");
    }

    #[test]
    fn the_queue_keeps_the_newest_messages() {
        let session = Session::default();
        for n in 0..100 {
            flash(&session, "info", &n.to_string());
        }
        let kept: Vec<String> = take_flashes(&session)
            .into_iter()
            .map(|f| f.message)
            .collect();
        let newest: Vec<String> = (100 - MAX_PENDING..100).map(|n| n.to_string()).collect();
        assert_eq!(kept, newest);
    }

    #[test]
    fn a_non_list_flashes_value_is_replaced_not_an_error() {
        let session = Session::default();
        session.insert(FLASHES_KEY, "garbage");
        flash(&session, "info", "ok");
        assert_eq!(take_flashes(&session).len(), 1);
    }
}
