//! [`TypedSession`]: a struct of yours as the session, checked by the compiler, on top of the
//! request's dict [`Session`].
//!
//! The typed view shares the request's one session: it opens it as the [`Session`] extractor
//! does (once per request, whoever asks first), reads `T` out of the dict, and merges `T` back
//! into the dict when the handler is done with it. Everything Flask's rules decide (the cookie,
//! the refresh, the store's lease and commit) is the dict session's business, unchanged.
//!
//! The rules (dirty tracking, `None`, unknown keys, sessions that no longer load) are on
//! [`TypedSession`] itself, where users read them; `merge` below applies them. How `T` is read
//! from the dict and serialized to be compared is `convert.rs`.

use std::collections::btree_map::Entry;
use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::SessionError;
use crate::session::access::Access;
use crate::session::Session;
use crate::value::{Dict, Value, ValueError};
use convert::{decode, Keys, Snapshot};

mod convert;

/// The session as a struct of yours: reads and writes are checked by the compiler, and a
/// change is saved only when the struct actually changed.
///
/// An extractor for axum and actix-web (`TypedSession<T>` as a handler argument, beside or
/// instead of [`Session`]). It shares the request's session, so a `Session` and a
/// `TypedSession` in one handler load it once and see one state; keys the struct does not know
/// are kept. Read and change `T` through `Deref` / `DerefMut`; the change is merged into the
/// session when the handler returns.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{routing::get, Router};
/// use satchel_session::TypedSession;
///
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// #[serde(default)]
/// struct Visit {
///     counter: u64,
///     username: Option<String>,
/// }
///
/// async fn counter(mut visit: TypedSession<Visit>) -> String {
///     visit.counter += 1;
///     format!("You have visited this page {} times.", visit.counter)
/// }
///
/// let app: Router = Router::new().route("/counter", get(counter));
/// # }
/// ```
///
/// # The policy
///
/// - **Reading.** A struct reads only its own keys (its field names and `alias`es); a map
///   type reads the whole dict. A session that holds none of the struct's keys is a new one:
///   `T::default()`, nothing counted.
/// - **Dirty tracking.** `T` is compared, serialized, with what it was before the handler first
///   borrowed it mutably. Unchanged (never borrowed mutably, or changed and changed back), it
///   writes nothing: the response carries what Flask's rules alone decide (a refresh of a
///   permanent session, `Vary: Cookie`). Changed, it is merged into the dict, which marks the
///   session modified only if a value there actually changes.
/// - **Unknown keys survive.** The merge touches `T`'s own keys only. Keys `T` does not know
///   (a Flask app's `_flashes`, `_user_id`, `csrf_token`, …, or a field since removed from
///   `T`) stay as they are.
/// - **What a merge writes.** A changed field is written. A field the handler did not change
///   keeps the dict's value as it is (a Flask tuple stays a tuple, a value the dict `Session`
///   set in the same request stays, a key it removed stays removed); it is written only if the
///   session did not hold it when `T` was loaded (a default, or a renamed field read from its
///   old key), so the stored session holds all of `T` afterwards. A key `T` reads but no
///   longer writes (a field renamed with `#[serde(alias = "old")]`, one skipped by
///   `skip_serializing_if`, an entry removed from a map `T`) is removed: the rename moves the
///   value to the new key.
/// - **`None` removes the key.** A field changed to a value that serializes to null (an
///   `Option` set to `None`) removes its key, as Flask's `session.pop(key, None)` does; a
///   missing key reads back as `None`. A null Flask stored is left alone unless the field
///   changes. A `T` whose fields all end up removed empties the session, and Flask's rules then
///   delete the cookie.
/// - **A stored session that does not load as `T`** (a field's type changed, a field added
///   without `#[serde(default)]`, a Flask app wrote another shape) gives `T::default()`: never
///   an error response, never a panic. It is counted
///   ([`SessionStats::typed_rejected`](crate::SessionStats::typed_rejected)), logged at `warn`
///   with serde's reason, and the handler can see it ([`TypedSession::rejected`]). The stored
///   keys are kept unless the handler changes `T`; then `T` is written whole over its own keys
///   (the session heals), and the other keys still survive.
/// - **When the merge happens.** When the `TypedSession` is dropped (a handler's arguments are
///   dropped when it returns, before the response is saved), or at once with
///   [`TypedSession::update`] or [`TypedSession::write_back`] (then the dict `Session` sees
///   the change in the same request). A `TypedSession` kept past its response (moved into a
///   spawned task or a streaming body) is too late: its change is not saved, and this is
///   logged at `error`.
///
/// # Schema changes
///
/// Put `#[serde(default)]` on the struct (a missing field then takes its value from
/// `T::default()`), and old sessions load after you add a field. A removed field's key
/// survives as an unknown key. `#[serde(alias = "old_name")]` reads a renamed field's old key,
/// and the next change of `T` moves it to the new key. A changed type that serde cannot read
/// is the rejected case above. `tests/typed_session.rs` pins each case.
pub struct TypedSession<T: Serialize> {
    session: Session,
    value: T,
    /// `T` serialized before its first mutable borrow since the last merge; `None` while the
    /// handler has not borrowed it mutably (nothing to merge).
    before: Option<Snapshot>,
    /// The stored keys are not known to hold `T` (it did not load, or could not be
    /// serialized to compare): the next merge writes all of `T`.
    overwrite: bool,
    /// `T`'s keys, and which of them the session held when `T` was loaded.
    keys: Keys,
    /// Why the stored session did not load as `T`.
    rejected: Option<ValueError>,
}

impl<T: Serialize + DeserializeOwned + Default> TypedSession<T> {
    /// Opens `session` for writing (with a store: its lock and lease, once per request) and
    /// reads `T` out of it. The extractors call this; call it yourself outside axum and
    /// actix-web (another framework, a test, a tower service of your own).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Cart { items: Vec<String> }
    ///
    /// let session = satchel_session::Session::default();
    /// session.insert("items", vec!["tea"]);
    /// let cart = satchel_session::TypedSession::<Cart>::load(&session).await.unwrap();
    /// assert_eq!(cart.items, ["tea"]);
    /// # });
    /// ```
    pub async fn load(session: &Session) -> Result<Self, SessionError> {
        session.open(Access::Write).await?;
        Ok(Self::opened(session.clone()))
    }

    /// Reads `T` out of an opened session (a failure gives `T::default()`, counted and
    /// logged).
    pub(crate) fn opened(session: Session) -> Self {
        let (decoded, keys) = {
            let mut state = session.lock();
            decode::<T>(state.read())
        };
        let (value, rejected) = match decoded {
            Ok(value) => (value, None),
            Err(reason) => {
                if let Some(backend) = &session.inner.backend {
                    backend.shared().counters.typed_rejected();
                }
                tracing::warn!(
                    typed = std::any::type_name::<T>(),
                    %reason,
                    "the stored session does not load as its typed view: the handler gets \
                     T::default(), and the stored keys are kept unless it changes T"
                );
                (T::default(), Some(reason))
            }
        };
        TypedSession {
            session,
            value,
            before: None,
            overwrite: rejected.is_some(),
            keys,
            rejected,
        }
    }
}

impl<T: Serialize> TypedSession<T> {
    /// Changes `T` with `change` and merges it into the session at once (so the dict
    /// [`Session`] sees it in this request); returns what `change` returns. A `T` that cannot
    /// be serialized is logged at `error` and not merged (see [`write_back`](Self::write_back)
    /// for the error itself).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Visit { counter: u64 }
    ///
    /// let session = satchel_session::Session::default();
    /// let mut visit = satchel_session::TypedSession::<Visit>::load(&session).await.unwrap();
    /// let now = visit.update(|v| {
    ///     v.counter += 1;
    ///     v.counter
    /// });
    /// assert_eq!(now, 1);
    /// assert_eq!(session.get::<u64>("counter"), Some(1));
    /// # });
    /// ```
    pub fn update<R>(&mut self, change: impl FnOnce(&mut T) -> R) -> R {
        let out = change(&mut *self);
        self.merge_or_log();
        out
    }

    /// Merges a changed `T` into the session now (dropping the `TypedSession` does the same):
    /// `Ok(true)` if the session's data changed. An error means `T` could not be serialized
    /// into a dict (a map with non-string keys, a `T` that is not a struct or a map); the
    /// session is then left as it was.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Visit { counter: u64 }
    ///
    /// let session = satchel_session::Session::default();
    /// let mut visit = satchel_session::TypedSession::<Visit>::load(&session).await.unwrap();
    /// visit.counter = 0; // borrowed mutably, but the same value: nothing to write
    /// assert_eq!(visit.write_back(), Ok(false));
    /// assert!(!session.modified());
    /// visit.counter = 2;
    /// assert_eq!(visit.write_back(), Ok(true));
    /// assert!(session.modified());
    /// # });
    /// ```
    pub fn write_back(&mut self) -> Result<bool, ValueError> {
        let Some(before) = self.before.take() else {
            return Ok(false);
        };
        let after = match Snapshot::of(&self.value) {
            Ok(after) => after,
            Err(error) => {
                self.before = Some(before);
                return Err(error);
            }
        };
        if before == after {
            return Ok(false);
        }
        let mut state = self.session.lock();
        if self.session.saved() {
            tracing::error!(
                typed = std::any::type_name::<T>(),
                "a typed session changed after its response was saved: the change is lost \
                 (change it before the handler returns, or call update / write_back)"
            );
            return Ok(false);
        }
        let changed = merge(&mut state.data, &before, after, &self.keys, self.overwrite);
        self.overwrite = false;
        if changed {
            state.write();
        }
        Ok(changed)
    }

    /// The dict session underneath (the request's one session, shared with every extractor):
    /// for Flask's flags, keys outside `T`, `clear`, `cycle_id`, …
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Visit { counter: u64 }
    ///
    /// let session = satchel_session::Session::default();
    /// session.insert("csrf_token", "abc");
    /// let visit = satchel_session::TypedSession::<Visit>::load(&session).await.unwrap();
    /// assert_eq!(visit.session().get::<String>("csrf_token").as_deref(), Some("abc"));
    /// # });
    /// ```
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Why the stored session did not load as `T`, when it did not (the handler then has
    /// `T::default()`; the stored keys are kept until `T` changes).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// #[derive(serde::Serialize, serde::Deserialize, Default)]
    /// struct Visit { counter: u64 }
    ///
    /// let session = satchel_session::Session::default();
    /// session.insert("counter", "many");
    /// let visit = satchel_session::TypedSession::<Visit>::load(&session).await.unwrap();
    /// assert_eq!(visit.counter, 0);
    /// assert!(visit.rejected().unwrap().to_string().contains("invalid type"));
    /// # });
    /// ```
    pub fn rejected(&self) -> Option<&ValueError> {
        self.rejected.as_ref()
    }

    /// [`write_back`](Self::write_back), logging an error instead of returning it.
    fn merge_or_log(&mut self) {
        if let Err(error) = self.write_back() {
            tracing::error!(
                typed = std::any::type_name::<T>(),
                %error,
                "a typed session could not be serialized: its change is not saved"
            );
        }
    }
}

impl<T: Serialize> Deref for TypedSession<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Serialize> DerefMut for TypedSession<T> {
    /// Remembers `T` as it is (serialized) the first time, to merge only a real change.
    fn deref_mut(&mut self) -> &mut T {
        if self.before.is_none() {
            self.before = Some(Snapshot::of(&self.value).unwrap_or_else(|_| {
                // Nothing to compare with: the merge writes all of T (and reports the error).
                self.overwrite = true;
                Snapshot::empty()
            }));
        }
        &mut self.value
    }
}

impl<T: Serialize> Drop for TypedSession<T> {
    fn drop(&mut self) {
        // A handler that panicked does not get its half-made change saved.
        if !std::thread::panicking() {
            self.merge_or_log();
        }
    }
}

impl<T: Serialize + fmt::Debug> fmt::Debug for TypedSession<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedSession")
            .field("value", &self.value)
            .field("rejected", &self.rejected)
            .finish()
    }
}

/// Merges `after` (a changed `T`) into `data`; `before` is `T` as it was. Returns whether
/// `data` changed. See [`TypedSession`] for the rules.
fn merge(
    data: &mut Dict,
    before: &Snapshot,
    after: Snapshot,
    keys: &Keys,
    overwrite: bool,
) -> bool {
    let mut changed = false;
    // Keys T read but no longer writes: an alias after a rename, a skipped field, a map entry.
    let gone = before
        .keys()
        .chain(keys.fields.iter().copied())
        .filter(|key| !after.contains(key));
    for key in gone {
        changed |= data.remove(key).is_some();
    }
    for (key, value) in after.into_entries() {
        let unchanged = !overwrite && before.get(&key) == Some(&value);
        match (value, unchanged) {
            (Value::Null, true) => {}
            (Value::Null, false) => changed |= data.remove(&*key).is_some(),
            (value, true) => {
                if keys.fills(&key) {
                    if let Entry::Vacant(slot) = data.entry(key.into_owned()) {
                        slot.insert(value);
                        changed = true;
                    }
                }
            }
            (value, false) => match data.get_mut(&*key) {
                Some(slot) => {
                    if *slot != value {
                        *slot = value;
                        changed = true;
                    }
                }
                None => {
                    data.insert(key.into_owned(), value);
                    changed = true;
                }
            },
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::convert::tests::dict;
    use super::*;

    /// A struct's snapshot with these fields.
    fn fields(pairs: &[(&'static str, Value)]) -> Snapshot {
        Snapshot::Fields(pairs.iter().cloned().collect())
    }

    fn struct_keys(fields: &'static [&'static str], loaded: &[&'static str]) -> Keys {
        Keys {
            fields,
            loaded: loaded.iter().copied().collect(),
        }
    }

    #[test]
    fn an_unchanged_field_keeps_the_dicts_own_representation() {
        let tuple = Value::Tuple(vec![1.into(), 2.into()]);
        let mut data = dict(&[("pos", tuple.clone()), ("n", 1.into())]);
        let list = Value::List(vec![1.into(), 2.into()]);
        let before = fields(&[("pos", list.clone()), ("n", 1.into())]);
        let after = fields(&[("pos", list), ("n", 2.into())]);
        let keys = struct_keys(&["pos", "n"], &["pos", "n"]);
        assert!(merge(&mut data, &before, after, &keys, false));
        assert_eq!(data, dict(&[("n", 2.into()), ("pos", tuple)]));
    }

    #[test]
    fn a_field_changed_to_none_removes_its_key_and_an_unchanged_null_stays() {
        let mut data = dict(&[("username", "Kimi".into()), ("theme", Value::Null)]);
        let before = fields(&[("username", "Kimi".into()), ("theme", Value::Null)]);
        let after = fields(&[("username", Value::Null), ("theme", Value::Null)]);
        let keys = struct_keys(&["username", "theme"], &["username", "theme"]);
        assert!(merge(&mut data, &before, after, &keys, false));
        assert_eq!(data, dict(&[("theme", Value::Null)]));
    }

    #[test]
    fn overwriting_writes_every_field_but_no_other_key() {
        let mut data = dict(&[("counter", "many".into()), ("_user_id", "1".into())]);
        let after = fields(&[("counter", 1.into()), ("username", Value::Null)]);
        let keys = struct_keys(&["counter", "username"], &["counter"]);
        assert!(merge(&mut data, &Snapshot::empty(), after, &keys, true));
        assert_eq!(
            data,
            dict(&[("_user_id", "1".into()), ("counter", 1.into())])
        );
    }

    #[test]
    fn an_unchanged_field_is_filled_when_it_was_not_loaded_but_not_when_removed_since() {
        // Loaded: counter (since removed through the dict); not loaded: theme (a default).
        let mut data = dict(&[("_user_id", "1".into())]);
        let before = fields(&[
            ("counter", 5.into()),
            ("theme", "light".into()),
            ("n", 1.into()),
        ]);
        let after = fields(&[
            ("counter", 5.into()),
            ("theme", "light".into()),
            ("n", 2.into()),
        ]);
        let keys = struct_keys(&["counter", "theme", "n"], &["counter", "n"]);
        assert!(merge(&mut data, &before, after, &keys, false));
        assert_eq!(
            data,
            dict(&[
                ("_user_id", "1".into()),
                ("n", 2.into()),
                ("theme", "light".into())
            ])
        );
    }

    #[test]
    fn a_renamed_field_moves_from_its_alias_to_its_new_key() {
        let mut data = dict(&[("colour", "blue".into()), ("n", 1.into())]);
        let before = fields(&[("color", "blue".into()), ("n", 1.into())]);
        let after = fields(&[("color", "blue".into()), ("n", 2.into())]);
        let keys = struct_keys(&["color", "colour", "n"], &["colour", "n"]);
        assert!(merge(&mut data, &before, after, &keys, false));
        assert_eq!(data, dict(&[("color", "blue".into()), ("n", 2.into())]));
    }

    #[test]
    fn an_entry_removed_from_a_map_type_is_removed_from_the_session() {
        let mut data = dict(&[("a", 1.into()), ("b", 2.into()), ("_fresh", true.into())]);
        let before = Snapshot::Map(dict(&[("a", 1.into()), ("b", 2.into())]));
        let after = Snapshot::Map(dict(&[("a", 1.into())]));
        assert!(merge(&mut data, &before, after, &Keys::default(), false));
        assert_eq!(data, dict(&[("_fresh", true.into()), ("a", 1.into())]));
    }
}
