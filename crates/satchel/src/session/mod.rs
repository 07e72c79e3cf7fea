//! [`Session`]: the per-request session, a dict with Flask's API and flags.
//!
//! After the extractor hands it out, every call is a plain synchronous call, as with Flask's
//! `session` dict. Reads set [`Session::accessed`] (the response then carries `Vary: Cookie`),
//! writes set [`Session::modified`] (the response then carries a new cookie). Clones share one
//! session: every extractor in a request sees the same data.
//!
//! The session is opened (its cookie read) once, by whoever first needs it: the extractor (an
//! async step: with a store, the load and for a writer its lock and lease), or the first dict
//! call on a cookie session. After the handler, the adapter asks it to [`save`](Session::save)
//! itself into the response's headers (Flask's `save_session`; [`save_now`](Session::save_now)
//! first, which does it without a future when no I/O is needed). Which backend opens and
//! saves it is the layer's business (`backend/mod.rs`).

pub(crate) mod access;
pub(crate) mod read_only;
pub(crate) mod state;
pub(crate) mod typed;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use http::HeaderMap;

use crate::backend::Backend;
use crate::codec::EncodeError;
use crate::cookie_header::RequestCookies;
use crate::error::{SaveError, SessionError};
use crate::session::access::Access;
use crate::session::state::{LoginNote, Origin, SessionState, PERMANENT_KEY};
use crate::value::{self, Dict, Value, ValueError};

/// When a session began, when its cookie was issued, and when it expires — as the request
/// found it (before this response refreshes anything).
///
/// ```
/// let times = satchel_session::SessionTimes { created_at: 1, issued_at: Some(2), expires_at: 3 };
/// assert!(times.expires_at > times.created_at);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// Unix seconds when the session began (flask cookies: when the cookie was issued; the
    /// format does not carry the start).
    pub created_at: u64,
    /// Unix seconds when the cookie was issued (cookie sessions only).
    pub issued_at: Option<u64>,
    /// Unix seconds after which the session is refused (idle and absolute limits together).
    pub expires_at: u64,
}

/// One request's session. Cheap to clone; clones share the same data.
///
/// ```
/// use satchel_session::Session;
/// let session = Session::default(); // detached: not tied to a layer, handy in unit tests
/// session.insert("username", "Kimi");
/// session.insert("age", 25);
/// assert_eq!(session.get::<String>("username").as_deref(), Some("Kimi"));
/// assert_eq!(session.get_or("age", 0), 25);
/// assert_eq!(session.get_or("missing", 0), 0);
/// assert!(session.modified());
/// ```
#[derive(Clone, Default)]
pub struct Session {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    backend: Option<Arc<Backend>>,
    cookies: RequestCookies,
    state: Mutex<SessionState>,
    /// Serialises opening, so the session is loaded (and locked) once however many extractors
    /// ask.
    opening: tokio::sync::Mutex<()>,
    /// A store session was used before any extractor opened it (logged once).
    unopened_use_logged: AtomicBool,
    /// The adapter has asked the session to save itself: later changes are lost.
    saved: AtomicBool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Session")
            .field("keys", &state.data.keys().collect::<Vec<_>>())
            .field("accessed", &state.accessed)
            .field("modified", &state.modified)
            .finish()
    }
}

impl Session {
    /// A session served by `backend`, its cookies still unread.
    pub(crate) fn unopened(backend: Arc<Backend>, cookies: RequestCookies) -> Self {
        Session {
            inner: Arc::new(Inner {
                backend: Some(backend),
                cookies,
                state: Mutex::new(SessionState::unopened()),
                ..Inner::default()
            }),
        }
    }

    fn raw_lock(&self) -> MutexGuard<'_, SessionState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, opening it first if no one has and the backend can without I/O (a cookie
    /// session). A store session must be opened by its (async) extractor; used before that, it
    /// reads as empty and is never saved.
    fn lock(&self) -> MutexGuard<'_, SessionState> {
        let mut state = self.raw_lock();
        if let (Origin::Unopened, Some(backend)) = (&state.origin, &self.inner.backend) {
            match backend.open_now(&self.inner.cookies) {
                Some(opened) => *state = opened,
                None => {
                    if !self.inner.unopened_use_logged.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            "a store session was used before being loaded: take it with the \
                             Session extractor (or call Session::load); this use sees an empty \
                             session that is never saved"
                        );
                    }
                }
            }
        }
        state
    }

    /// Loads the session for writing: with a store, the keyed lock, the lease and the record,
    /// once per request (the [`Session`] extractor calls this; call it yourself only without
    /// axum). Cookie sessions and detached sessions need no I/O: `Ok` at once.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let session = satchel_session::Session::default();
    /// session.load().await.unwrap();
    /// # });
    /// ```
    pub async fn load(&self) -> Result<(), SessionError> {
        self.open(Access::Write).await
    }

    /// The request's session (`found` in its extensions, where an adapter put it), opened for
    /// `access`: what every extractor does.
    #[cfg(any(feature = "axum", feature = "actix"))]
    pub(crate) async fn opened(
        found: Option<&Session>,
        access: Access,
    ) -> Result<Session, SessionError> {
        let session = found.cloned().ok_or(SessionError::LayerMissing)?;
        session.open(access).await?;
        Ok(session)
    }

    /// Opens the session for `access` unless it already is (for that or for writing).
    pub(crate) async fn open(&self, access: Access) -> Result<(), SessionError> {
        let Some(backend) = &self.inner.backend else {
            return Ok(());
        };
        // A backend that opens without I/O (a cookie session) does it here, under the state's
        // lock: no await, so no one else can be opening it meanwhile.
        {
            let mut state = self.raw_lock();
            if state.origin.serves(access) {
                return Ok(());
            }
            if let Some(opened) = backend.open_now(&self.inner.cookies) {
                Self::put_opened(&mut state, opened);
                return Ok(());
            }
        }
        // Otherwise one opener at a time; a later one finds the session open.
        let _serial = self.inner.opening.lock().await;
        if self.raw_lock().origin.serves(access) {
            return Ok(());
        }
        let opened = backend.open(&self.inner.cookies, access).await?;
        Self::put_opened(&mut self.raw_lock(), opened);
        Ok(())
    }

    /// Puts the opened session in place, keeping whether it was read before it was open.
    fn put_opened(state: &mut SessionState, opened: SessionState) {
        let accessed = state.accessed;
        *state = opened;
        state.accessed = accessed;
    }

    /// Whether Flask would refresh a session the handler never opened: Flask opens every
    /// request's session, so a permanent one is re-issued (and an idle timeout pushed back)
    /// even on routes that never touch it. Requests without a cookie never pay for this.
    fn refreshes_unopened(&self, backend: &Backend) -> bool {
        !self.inner.cookies.is_empty() && crate::backend::rules::refresh_untouched(backend.config())
    }

    /// Flask's `save_session` for this request, once the handler is done: applies the save
    /// rules and writes the session (store I/O included) and its cookie headers into
    /// `headers`. A session the handler never opened is opened (for reading) first if Flask
    /// would refresh it. Adapters call this (or [`save_now`](Session::save_now) first).
    pub(crate) async fn save(&self, headers: &mut HeaderMap) -> Result<(), SaveError> {
        let Some(backend) = self.inner.backend.as_ref() else {
            return Ok(());
        };
        let opened = {
            let mut state = self.raw_lock();
            self.mark_saved();
            (!matches!(state.origin, Origin::Unopened)).then(|| std::mem::take(&mut *state))
        };
        let state = match opened {
            Some(state) => state,
            None => {
                if !self.refreshes_unopened(backend) {
                    return Ok(());
                }
                match backend.open(&self.inner.cookies, Access::Read).await {
                    Ok(opened) => opened,
                    Err(error) => {
                        // The handler did without its session; the refresh can wait for the
                        // next one.
                        tracing::warn!(%error, "could not open an untouched session to refresh it");
                        return Ok(());
                    }
                }
            }
        };
        backend.save(state, headers).await
    }

    /// [`save`](Session::save) without a future, when the backend needs no I/O for it (a
    /// cookie session without a login ledger): `None` means call `save`.
    pub(crate) fn save_now(&self, headers: &mut HeaderMap) -> Option<Result<(), SaveError>> {
        let Some(backend) = self.inner.backend.as_ref() else {
            return Some(Ok(()));
        };
        let mut state = self.raw_lock();
        self.mark_saved();
        if matches!(state.origin, Origin::Unopened) {
            if !self.refreshes_unopened(backend) {
                return Some(Ok(()));
            }
            *state = backend.open_now(&self.inner.cookies)?;
        }
        backend.save_now(&state, headers)
    }

    /// Records that the adapter is saving the session: called under the state's lock, so a
    /// change made under that lock afterwards ([`saved`](Session::saved)) knows it is too late.
    fn mark_saved(&self) {
        self.inner.saved.store(true, Ordering::Relaxed);
    }

    /// Whether the session has been saved into its response already (read it under the
    /// state's lock): a change now would be lost.
    fn saved(&self) -> bool {
        self.inner.saved.load(Ordering::Relaxed)
    }

    /// The value under `key` as a `T`, or `None` if it is missing or is not a `T`
    /// (Flask's `session.get(key)`). Use [`Session::try_get`] to tell the two apart.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("n", 3);
    /// assert_eq!(session.get::<u32>("n"), Some(3));
    /// assert_eq!(session.get::<String>("n"), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.try_get(key).ok().flatten()
    }

    /// The value under `key` as a `T`: `Ok(None)` if missing, an error if it is not a `T`.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("n", "three");
    /// assert!(session.try_get::<u32>("n").is_err());
    /// assert_eq!(session.try_get::<u32>("other").unwrap(), None);
    /// ```
    pub fn try_get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ValueError> {
        let mut state = self.lock();
        state.read().get(key).map(value::from_value).transpose()
    }

    /// The value under `key` as a `T`, or `default` (Flask's `session.get(key, default)`).
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// assert_eq!(session.get_or("username", "Guest".to_string()), "Guest");
    /// ```
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> T {
        self.get(key).unwrap_or(default)
    }

    /// The raw [`Value`] under `key`.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("t", satchel_session::value::FlaskTuple(vec![1.into(), 2.into()]));
    /// assert!(matches!(session.get_value("t"), Some(satchel_session::Value::Tuple(_))));
    /// ```
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.lock().read().get(key).cloned()
    }

    /// Sets `key` (Flask's `session[key] = value`); returns the old value.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// assert_eq!(session.insert("age", 25), None);
    /// assert_eq!(session.insert("age", 26), Some(satchel_session::Value::from(25)));
    /// ```
    pub fn insert(
        &self,
        key: impl AsRef<str> + Into<String>,
        value: impl Into<Value>,
    ) -> Option<Value> {
        let value = value.into();
        let mut state = self.lock();
        let data = state.write();
        // A key already there keeps its string: only a new key is allocated.
        match data.get_mut(key.as_ref()) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => data.insert(key.into(), value),
        }
    }

    /// Sets `key` to any serde-serializable value (a struct, a map, …).
    ///
    /// ```
    /// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    /// struct Cart { items: Vec<String> }
    /// let session = satchel_session::Session::default();
    /// session.insert_serde("cart", &Cart { items: vec!["tea".into()] }).unwrap();
    /// assert_eq!(session.get::<Cart>("cart").unwrap().items, ["tea"]);
    /// ```
    pub fn insert_serde<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<str> + Into<String>,
        value: &T,
    ) -> Result<Option<Value>, ValueError> {
        let value = value::to_value(value)?;
        Ok(self.insert(key, value))
    }

    /// Removes `key` and returns its value (Flask's `session.pop(key, None)`). Marks the session
    /// modified only if the key was there.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// assert_eq!(session.remove("username"), None);
    /// assert!(!session.modified());
    /// session.insert("username", "Kimi");
    /// assert_eq!(session.remove("username"), Some("Kimi".into()));
    /// ```
    pub fn remove(&self, key: &str) -> Option<Value> {
        let mut state = self.lock();
        if state.read().contains_key(key) {
            state.write().remove(key)
        } else {
            None
        }
    }

    /// Removes `key` and returns its value as a `T` (`None` if missing or not a `T`).
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("next", "/dashboard");
    /// assert_eq!(session.pop::<String>("next").as_deref(), Some("/dashboard"));
    /// assert!(session.is_empty());
    /// ```
    pub fn pop<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.remove(key).and_then(|v| value::from_value(&v).ok())
    }

    /// Empties the session (Flask's `session.clear()`); the response then deletes the cookie.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("a", 1);
    /// session.clear();
    /// assert!(session.is_empty() && session.modified());
    /// ```
    pub fn clear(&self) {
        self.lock().write().clear();
    }

    /// Whether `key` is set.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("a", 1);
    /// assert!(session.contains_key("a") && !session.contains_key("b"));
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.lock().read().contains_key(key)
    }

    /// How many keys are set (including Flask's `_permanent` and other internal keys).
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("a", 1);
    /// assert_eq!(session.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().read().len()
    }

    /// Whether no key is set.
    ///
    /// ```
    /// assert!(satchel_session::Session::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.lock().read().is_empty()
    }

    /// The keys, sorted.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("b", 1);
    /// session.insert("a", 2);
    /// assert_eq!(session.keys(), ["a", "b"]);
    /// ```
    pub fn keys(&self) -> Vec<String> {
        self.lock().read().keys().cloned().collect()
    }

    /// A copy of all the data.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.insert("a", 1);
    /// assert_eq!(session.to_dict().len(), 1);
    /// ```
    pub fn to_dict(&self) -> Dict {
        self.lock().read().clone()
    }

    /// The value under `key`, first setting it to `default` if missing (Flask's
    /// `session.setdefault`). Marks the session modified only when it sets.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// assert_eq!(session.setdefault("visits", 0), satchel_session::Value::from(0));
    /// assert_eq!(session.setdefault("visits", 5), satchel_session::Value::from(0));
    /// ```
    pub fn setdefault(&self, key: &str, default: impl Into<Value>) -> Value {
        let mut state = self.lock();
        if let Some(existing) = state.read().get(key) {
            return existing.clone();
        }
        let value = default.into();
        state.write().insert(key.to_owned(), value.clone());
        value
    }

    /// Sets every pair (Flask's `session.update`).
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.update([("username", satchel_session::Value::from("Kimi")), ("age", 25.into())]);
    /// assert_eq!(session.len(), 2);
    /// ```
    pub fn update<K, V>(&self, pairs: impl IntoIterator<Item = (K, V)>)
    where
        K: Into<String>,
        V: Into<Value>,
    {
        let mut state = self.lock();
        let data = state.write();
        for (key, value) in pairs {
            data.insert(key.into(), value.into());
        }
    }

    /// Whether the session outlives the browser session (Flask's `session.permanent`): its
    /// cookie then carries an expiry of `PERMANENT_SESSION_LIFETIME`.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// assert!(!session.permanent());
    /// session.set_permanent(true);
    /// assert!(session.permanent());
    /// assert_eq!(session.get::<bool>("_permanent"), Some(true));
    /// ```
    pub fn permanent(&self) -> bool {
        let mut state = self.lock();
        state.read();
        state.is_permanent()
    }

    /// Makes the session permanent or not (stored as `_permanent`, like Flask).
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.set_permanent(false);
    /// assert!(session.modified());
    /// ```
    pub fn set_permanent(&self, permanent: bool) {
        self.insert(PERMANENT_KEY, permanent);
    }

    /// Whether the session was read or written in this request (Flask's `session.accessed`).
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// assert!(!session.accessed());
    /// let _ = session.get::<i64>("n");
    /// assert!(session.accessed());
    /// ```
    pub fn accessed(&self) -> bool {
        self.lock().accessed
    }

    /// Whether the session was changed in this request (Flask's `session.modified`).
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// assert!(!session.modified());
    /// session.insert("n", 1);
    /// assert!(session.modified());
    /// ```
    pub fn modified(&self) -> bool {
        self.lock().modified
    }

    /// Marks the session changed, so the response re-issues it (Flask's
    /// `session.modified = True`).
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.mark_modified();
    /// assert!(session.modified());
    /// ```
    pub fn mark_modified(&self) {
        self.lock().write();
    }

    /// The session's times as the request found them; `None` for a new session.
    ///
    /// ```
    /// // A detached session was never issued:
    /// assert_eq!(satchel_session::Session::default().times(), None);
    /// ```
    pub fn times(&self) -> Option<SessionTimes> {
        let state = self.lock();
        match &state.origin {
            Origin::Cookie(Some(origin)) => Some(SessionTimes {
                created_at: origin.stamp.created_at,
                issued_at: Some(origin.stamp.issued_at),
                expires_at: origin.stamp.expires_at,
            }),
            Origin::Store(slot) => {
                let (idle, absolute) = slot.deadlines?;
                Some(SessionTimes {
                    created_at: state.created_at?,
                    issued_at: None,
                    expires_at: idle.min(absolute),
                })
            }
            _ => None,
        }
    }

    /// Starts a new session identity while keeping the data: call it at login, so a session
    /// id (or cookie) an attacker planted before login is worthless after it. On cookie
    /// sessions it forces a freshly issued cookie; with a store, the commit files the data
    /// under a new id and deletes the old one in one atomic step.
    ///
    /// ```
    /// let session = satchel_session::Session::default();
    /// session.cycle_id();
    /// assert!(session.modified());
    /// ```
    pub fn cycle_id(&self) {
        let mut state = self.lock();
        state.write();
        state.reissue = true;
        state.created_at = None;
    }

    /// Records the client of a login made in this request (for the per-user index).
    pub(crate) fn note_login(&self, note: LoginNote) {
        self.lock().login_note = Some(Box::new(note));
    }

    /// The SHA-256 of this session's own id, as the per-user index
    /// ([`SessionIndex`](crate::store::SessionIndex)) names it: a store session's id, or a
    /// cookie session's ledger id. `None` for a new session, a cookie session without a login
    /// ledger, or one whose login is not in the ledger.
    ///
    /// ```
    /// assert_eq!(satchel_session::Session::default().index_id(), None);
    /// ```
    pub fn index_id(&self) -> Option<crate::store::IdHash> {
        let state = self.lock();
        match &state.origin {
            Origin::Store(slot) => slot.id.as_ref().map(|id| id.hash()),
            Origin::Cookie(Some(origin)) => origin.ledger.as_ref().map(|(id, _)| id.hash()),
            _ => None,
        }
    }

    /// The length of the `name=value` pair the session's cookie would have if sent now, so a
    /// handler can check it against the 4096-byte browser limit before storing more.
    ///
    /// ```
    /// // A detached session has no codec to measure with:
    /// assert!(satchel_session::Session::default().encoded_len().is_err());
    /// ```
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        let backend =
            self.inner.backend.as_ref().ok_or_else(|| {
                EncodeError("the session is not attached to a SessionLayer".into())
            })?;
        backend.cookie_len(&self.lock())
    }
}
