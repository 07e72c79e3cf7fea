//! The per-user session index: which sessions a user is logged in with, and ending them.
//!
//! A login is part of the record it belongs to ([`Record::login`]): the store files it beside
//! the data, so an index entry is written, moved and removed by the very step that writes,
//! rotates or deletes its session, and expires with it. Nothing is kept for anonymous
//! sessions. [`SessionIndex`] reads and ends them; it is a trait of its own, beside
//! [`Store`](super::Store), so a custom store may leave it out (its sessions then cannot be
//! listed or revoked).
//!
//! Entries are named by the SHA-256 of the session id ([`IdHash`]), never by the id: a listing
//! (or a leaked table) lets no one present a session. To revoke from a listing, a prefix of
//! the hash's hex is enough ([`revoke_prefix`]).
//!
//! ```
//! use satchel_session::store::{Login, MemoryStore, Record, SessionId, SessionIndex, Store};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::default();
//! let id = SessionId::generate().hash();
//! let record = Record::new(Default::default(), 0, 60, 60).with_login(Login::new("alice", Some("curl/8"), None));
//! store.create(&id, &record, 0).await.unwrap();
//! let sessions = store.sessions(Some("alice"), 1).await.unwrap();
//! assert_eq!(sessions.len(), 1);
//! assert_eq!(store.revoke_user("alice").await.unwrap(), 1);
//! assert!(store.sessions(Some("alice"), 1).await.unwrap().is_empty());
//! # });
//! ```

use super::{IdHash, Store, StoreError, StoreFuture};

/// Longest user agent kept, in bytes (a longer one is cut at a character boundary).
pub const MAX_USER_AGENT: usize = 256;
/// Longest client address kept, in bytes.
pub const MAX_ADDRESS: usize = 64;
/// Longest user id kept, in bytes: a login under a longer id is not indexed (the session
/// works, but cannot be listed or revoked by user).
pub const MAX_USER_ID: usize = 1024;
/// Most entries one [`SessionIndex::sessions`] call returns.
pub const MAX_LISTED: usize = 1000;

/// Who is logged in with a session and from where, as the login recorded it.
///
/// ```
/// let login = satchel_session::store::Login::new("alice", Some(&"x".repeat(300)), Some("10.0.0.1"));
/// assert_eq!(login.user_agent.unwrap().len(), satchel_session::store::MAX_USER_AGENT);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Login {
    /// The logged-in user's id (Flask-Login's `_user_id`).
    #[serde(rename = "u")]
    pub user_id: String,
    /// The `User-Agent` the login came with (at most [`MAX_USER_AGENT`] bytes).
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The client address the login came from (at most [`MAX_ADDRESS`] bytes).
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// `text` cut to at most `max` bytes at a character boundary.
fn bounded(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

impl Login {
    /// A login of `user_id`, its agent and address cut to their bounds.
    ///
    /// ```
    /// let login = satchel_session::store::Login::new("7", None, Some("::1"));
    /// assert_eq!(login.address.as_deref(), Some("::1"));
    /// ```
    pub fn new(user_id: &str, user_agent: Option<&str>, address: Option<&str>) -> Self {
        Login {
            user_id: user_id.to_owned(),
            user_agent: user_agent.map(|a| bounded(a, MAX_USER_AGENT)),
            address: address.map(|a| bounded(a, MAX_ADDRESS)),
        }
    }

    /// Whether stores index this login (its user id is at most [`MAX_USER_ID`] bytes).
    ///
    /// ```
    /// assert!(satchel_session::store::Login::new("alice", None, None).is_indexed());
    /// ```
    pub fn is_indexed(&self) -> bool {
        self.user_id.len() <= MAX_USER_ID
    }
}

/// How the stores that keep logins (Redis and the SQL stores) write and find them.
#[cfg(any(
    feature = "redis",
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql"
))]
impl Login {
    /// The login as stored: short JSON.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub(crate) fn from_json(text: &str) -> Result<Self, StoreError> {
        serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("session login record: {e}")))
    }

    /// The key stores file a user's sessions under: SHA-256 of the user id, 64 hex digits.
    pub(crate) fn user_key(&self) -> String {
        user_key(&self.user_id)
    }
}

/// The SHA-256 of `user_id` in hex: the column / key a user's sessions are found by (fixed
/// width, whatever the id).
#[cfg(any(
    feature = "redis",
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql"
))]
pub(crate) fn user_key(user_id: &str) -> String {
    use sha2::{Digest as _, Sha256};
    IdHash(Sha256::digest(user_id.as_bytes()).into()).to_hex()
}

/// One logged-in session, as [`SessionIndex::sessions`] lists it. Times are Unix seconds.
///
/// ```
/// # use satchel_session::store::{SessionEntry, SessionId};
/// let entry = SessionEntry { id: SessionId::generate().hash(), user_id: "alice".into(), created_at: 1, last_seen: 2, expires_at: 3, user_agent: None, address: None };
/// assert_eq!(entry.short_id().len(), 12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    /// The SHA-256 of the session id (never the id).
    pub id: IdHash,
    /// Who is logged in.
    pub user_id: String,
    /// When the session began (the login: logging in starts a new session).
    pub created_at: u64,
    /// When a request last wrote or refreshed the session (stores push this forward with the
    /// idle deadline, so it may lag by up to a tenth of the idle timeout).
    pub last_seen: u64,
    /// When the session expires unless used.
    pub expires_at: u64,
    /// The login's `User-Agent`.
    pub user_agent: Option<String>,
    /// The login's client address.
    pub address: Option<String>,
}

impl SessionEntry {
    /// The first 12 hex digits of the id hash: what a listing shows and [`revoke_prefix`]
    /// takes.
    ///
    /// ```
    /// # use satchel_session::store::{SessionEntry, SessionId};
    /// let id = SessionId::generate().hash();
    /// let entry = SessionEntry { id, user_id: "a".into(), created_at: 0, last_seen: 0, expires_at: 0, user_agent: None, address: None };
    /// assert!(id.to_hex().starts_with(&entry.short_id()));
    /// ```
    pub fn short_id(&self) -> String {
        self.id.to_hex()[..12].to_owned()
    }

    pub(crate) fn new(id: IdHash, login: Login, times: [u64; 3]) -> Self {
        SessionEntry {
            id,
            user_id: login.user_id,
            created_at: times[0],
            last_seen: times[1],
            expires_at: times[2],
            user_agent: login.user_agent,
            address: login.address,
        }
    }
}

/// Lists and ends logged-in sessions. Implemented by every built-in store; the entries come
/// from the [`Login`] on each record.
///
/// Revoking deletes the session itself: a request that loads it afterwards finds nothing (a
/// new, anonymous session), and a request holding its lease meanwhile has its commit refused
/// (the fence), so nothing brings it back.
///
/// ```
/// use satchel_session::store::{MemoryStore, SessionIndex};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::default();
/// assert!(store.sessions(None, 0).await.unwrap().is_empty());
/// # });
/// ```
pub trait SessionIndex: Send + Sync + 'static {
    /// The live logged-in sessions of `user_id` (`None`: of every user), most recently seen
    /// first, at most [`MAX_LISTED`].
    fn sessions<'a>(
        &'a self,
        user_id: Option<&'a str>,
        now: u64,
    ) -> StoreFuture<'a, Vec<SessionEntry>>;

    /// Ends the session filed under `id` (whoever is logged in with it). `Ok(false)` if there
    /// was none.
    fn revoke<'a>(&'a self, id: &'a IdHash) -> StoreFuture<'a, bool>;

    /// Ends every session `user_id` is logged in with; how many there were.
    fn revoke_user<'a>(&'a self, user_id: &'a str) -> StoreFuture<'a, u64>;
}

/// Keeps `user_id`'s live logins to `keep`, `current` (the login just recorded) among them:
/// ends the least recently seen of the others beyond it. Best effort, after a login has
/// landed: what it ended is logged, and a store that fails is logged and reported as `false`
/// (the caller may count it; the next login tries again). A few concurrent logins of one user
/// may each see the others and end one too many, never too few.
pub(crate) async fn end_oldest_logins(
    index: &dyn SessionIndex,
    user_id: &str,
    keep: usize,
    current: &IdHash,
    now: u64,
) -> bool {
    let ended: Result<u64, StoreError> = async {
        let listed = index.sessions(Some(user_id), now).await?;
        let others = listed.iter().filter(|entry| entry.id != *current);
        let mut ended = 0;
        for entry in others.skip(keep.saturating_sub(1)) {
            if index.revoke(&entry.id).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }
    .await;
    match ended {
        Ok(0) => true,
        Ok(ended) => {
            tracing::info!(
                ended,
                keep,
                "a login ended the user's least recently seen sessions"
            );
            true
        }
        Err(error) => {
            tracing::warn!(%error, "could not keep a user's logins within the cap");
            false
        }
    }
}

/// A store with an index: what a layer needs to keep cookie sessions revocable
/// ([`SessionLayerBuilder::login_ledger`](crate::SessionLayerBuilder::login_ledger)) and what
/// the admin tools take. Every type that is both is one.
pub trait IndexedStore: Store + SessionIndex {}

impl<T: Store + SessionIndex> IndexedStore for T {}

/// What [`revoke_prefix`] did.
///
/// ```
/// assert_eq!(satchel_session::store::Revoked::NoMatch, satchel_session::store::Revoked::NoMatch);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// The one session whose id hash starts with the prefix was ended.
    One(SessionEntry),
    /// No listed session matches.
    NoMatch,
    /// More than one does: nothing was ended (give more digits).
    Ambiguous(usize),
}

/// Ends the session of `user_id` (`None`: of any user) whose id hash's hex starts with
/// `prefix` (at least 6 hex digits), if exactly one does.
///
/// ```
/// use satchel_session::store::{revoke_prefix, Login, MemoryStore, Record, Revoked, SessionId, Store};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::default();
/// let id = SessionId::generate().hash();
/// let record = Record::new(Default::default(), 0, 60, 60).with_login(Login::new("alice", None, None));
/// store.create(&id, &record, 0).await.unwrap();
/// let prefix = &id.to_hex()[..8];
/// assert!(matches!(revoke_prefix(&store, Some("bob"), prefix, 1).await.unwrap(), Revoked::NoMatch));
/// assert!(matches!(revoke_prefix(&store, Some("alice"), prefix, 1).await.unwrap(), Revoked::One(_)));
/// # });
/// ```
pub async fn revoke_prefix(
    index: &dyn SessionIndex,
    user_id: Option<&str>,
    prefix: &str,
    now: u64,
) -> Result<Revoked, StoreError> {
    let prefix = prefix.to_ascii_lowercase();
    if prefix.len() < 6 || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Config(format!(
            "{prefix:?} is not a session id prefix (6 to 64 hex digits)"
        )));
    }
    let mut matching: Vec<SessionEntry> = index
        .sessions(user_id, now)
        .await?
        .into_iter()
        .filter(|entry| entry.id.to_hex().starts_with(&prefix))
        .collect();
    match matching.len() {
        0 => Ok(Revoked::NoMatch),
        1 => {
            let entry = matching.remove(0);
            if index.revoke(&entry.id).await? {
                Ok(Revoked::One(entry))
            } else {
                Ok(Revoked::NoMatch)
            }
        }
        n => Ok(Revoked::Ambiguous(n)),
    }
}

/// Sorts entries most recently seen first and keeps [`MAX_LISTED`].
pub(crate) fn ordered(mut entries: Vec<SessionEntry>) -> Vec<SessionEntry> {
    entries.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.id.0.cmp(&b.id.0)));
    entries.truncate(MAX_LISTED);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_id_over_the_bound_is_not_indexed() {
        assert!(Login::new(&"u".repeat(MAX_USER_ID), None, None).is_indexed());
        assert!(!Login::new(&"u".repeat(MAX_USER_ID + 1), None, None).is_indexed());
    }

    #[test]
    fn long_agents_are_cut_at_a_character_boundary() {
        let agent = "é".repeat(200);
        let login = Login::new("u", Some(&agent), None);
        let kept = login.user_agent.unwrap();
        assert!(kept.len() <= MAX_USER_AGENT && kept.len() >= MAX_USER_AGENT - 1);
        assert!(agent.starts_with(&kept));
    }

    /// What only builds with a store that keeps logins have (the JSON, the user key).
    #[cfg(any(
        feature = "redis",
        feature = "sqlite",
        feature = "postgres",
        feature = "mysql"
    ))]
    mod stored_logins {
        use super::super::*;

        #[test]
        fn logins_round_trip_through_their_json() {
            let login = Login::new("ali\"ce", Some("Mozilla/5.0"), Some("10.1.2.3"));
            assert_eq!(Login::from_json(&login.to_json()).unwrap(), login);
            assert!(Login::from_json("{").is_err());
        }

        #[test]
        fn user_keys_differ_per_user_and_are_64_hex_digits() {
            assert_ne!(user_key("a"), user_key("b"));
            assert_eq!(user_key("a").len(), 64);
        }
    }
}
