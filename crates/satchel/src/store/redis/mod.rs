//! [`RedisStore`] (feature `redis`): sessions in Redis, shared by every process using it.
//!
//! # Layout (version 2)
//!
//! Per session (`<p>` is the key prefix, `<h>` the id's SHA-256 in lowercase hex):
//! - `<p>v2:<h>`: the record, one string: three times as 20-digit zero-padded decimal Unix
//!   seconds (created at, idle deadline, absolute deadline: 60 bytes), then the data as Flask's
//!   tagged JSON. Its TTL (`PX`) is the record's remaining life; the deadlines are checked again
//!   on every load (a TTL is a janitor, not the rule). The fixed-width header lets `touch`
//!   rewrite the idle deadline in place (`SETRANGE`) without reading the data.
//! - `<p>v2:<h>:lease`: the lease token (decimal), with `PX` = the lease's time.
//!
//! The `v2:` tag names this layout: records of the first layout (a hash under `<p><h>`) are
//! never read as version 2; they expire by their own TTL. A key of the wrong type under a
//! version 2 name is a [`StoreError::Corrupt`] (a 500 for that session, never a panic).
//!
//! # Commands, per operation
//!
//! - `load`, read-only: `GET <record>`.
//! - `load` with a lease: one round trip, a pipeline of `SET <lease> <token> NX GET PX <ttl>`
//!   then `GET <record>`. The lease is set *before* the record is read, so no commit can land
//!   between the two: once the lease is ours every other commit is fenced out, and the record
//!   read is the one the lease protects (a pipeline, not `MULTI`: nothing that slips in
//!   between can change what is read). `SET … GET` returns the previous holder: none → the
//!   lease is now ours; our own token → a retry of ours (the lease is renewed); another token →
//!   `Busy`, nothing changed. A missing record is `Missing` whatever the lease said, and a
//!   lease taken on it is released at once (fenced), so it never blocks the id; an expired
//!   record is deleted through the lease just taken.
//! - `create`: `SET <record> <value> NX PX <ttl>` (insert-only).
//! - `commit`: one Lua script, fenced by the token: `GET <lease>`, compare, `DEL <lease>`, then
//!   - save: `SET <record> <value> XX PX <ttl>` (`XX`: a record that died meanwhile is not
//!     brought back; the commit then reports `false`);
//!   - delete: `DEL <record>`;
//!   - rotate: `DEL <record>` (must have existed) and `SET <new record> <value> PX <ttl>`;
//!   - release: `EXISTS <record>`.
//! - `renew`: a script, `GET <lease>`, compare, `PEXPIRE <lease>`.
//! - `touch`: a script, `GETRANGE` of the 60-byte header, then (if the deadline moves forward)
//!   `SETRANGE` of the idle deadline and `PEXPIRE`.
//!
//! So a read-modify-write request costs Redis two round trips and three commands (`SET`, `GET`,
//! then `EVALSHA`, whose script runs `GET`, `DEL`, `SET`), with no hash encoding; the first
//! layout needed two scripts running eight commands. Standalone Redis (or a primary): a rotate
//! writes two keys that Redis Cluster would place in different slots. Needs Redis ≥ 7.0
//! (`SET … NX GET`).

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, ErrorKind, FromRedisValue, Script, ServerErrorKind};
use tokio::sync::OnceCell;

use super::{
    ordered, user_key, Commit, IdHash, Lease, LeaseToken, Loaded, Login, Record, SessionEntry,
    SessionIndex, Store, StoreError, StoreFuture, MAX_LISTED,
};
use crate::codec::flask_json;

/// The layout tag, between the prefix and the id hash.
const VERSION_TAG: &str = "v2:";
const LEASE_SUFFIX: &str = ":lease";
/// Width of one time in the record header (`u64::MAX` has 20 digits).
const TIME_DIGITS: usize = 20;
/// The record header: created at, idle deadline, absolute deadline.
const HEADER: usize = 3 * TIME_DIGITS;
/// The longest TTL given to a key (100 years): Redis refuses expiries past `i64` milliseconds,
/// and a record with no real deadline must still be storable.
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;
/// Room for one number argument (a `u128` has at most 39 digits).
const NUMBER: usize = 40;

/// KEYS: lease, record, [new record]. ARGV: token, op, index prefix, now, [value, ttl ms].
const COMMIT: &str = concat!(
    include_str!("scripts/index.lua"),
    include_str!("scripts/commit.lua")
);

/// KEYS: record. ARGV: value, ttl ms, index prefix, now.
const CREATE: &str = concat!(
    include_str!("scripts/index.lua"),
    include_str!("scripts/create.lua")
);

/// KEYS: records. ARGV: index prefix.
const REVOKE: &str = concat!(
    include_str!("scripts/index.lua"),
    include_str!("scripts/revoke.lua")
);

/// KEYS: a user's set.
const REVOKE_USER: &str = include_str!("scripts/revoke_user.lua");

/// KEYS: lease. ARGV: token, ttl ms.
const RENEW: &str = include_str!("scripts/renew.lua");

/// KEYS: record. ARGV: wanted idle deadline (20 digits), now, longest TTL in ms, index prefix.
const TOUCH: &str = concat!(
    include_str!("scripts/index.lua"),
    include_str!("scripts/touch.lua")
);

/// The tag after the header of a record with a login; the user key (64), last seen (20) and
/// the login's length (8 digits) follow, then the login's JSON.
const LOGIN_TAG: u8 = b'L';
const LOGIN_FIXED: usize = 1 + 64 + TIME_DIGITS + 8;

/// Sessions in Redis, shared by every process that points at one Redis.
///
/// Layout, per session (`<p>` is the key prefix, `<h>` the id's SHA-256 in hex):
/// - `<p>v2:<h>`: the record, one string: created at, idle deadline and absolute deadline as
///   20-digit decimal Unix seconds, then the data as Flask's tagged JSON. Its TTL is the
///   record's remaining life, and the deadlines are checked again on every load (a TTL is a
///   janitor, not the rule);
/// - `<p>v2:<h>:lease`: the lease token, with `PX` = the lease's time.
///
/// A read-modify-write request is two round trips: the load is a pipeline of
/// `SET <lease> <token> NX GET PX <ttl>` and `GET <record>` (the lease is taken before the
/// record is read, so the record read is the one the lease protects; no script), and the commit
/// is one short Lua script (the token is compared, the lease deleted and the record `SET … XX
/// PX`), so a late or lease-less commit never overwrites, and never brings back a deleted or
/// rotated session. `create` is `SET … NX PX` (insert-only). The `v2:` tag keeps records of
/// another layout from being misread. Standalone Redis (or a primary): a rotate writes two keys
/// that Redis Cluster would place in different slots.
///
/// The connection is a [`ConnectionManager`], opened on first use and re-opened by itself after
/// a failure, so a Redis that restarts (or is down when the app starts) costs 503s while it is
/// away and nothing after. Every call is bounded by a timeout. Needs Redis 7.0 or later.
///
/// ```no_run
/// use std::sync::Arc;
/// use satchel::store::RedisStore;
/// use satchel::{SessionConfig, SessionLayer};
///
/// let store = RedisStore::open("redis://127.0.0.1:6379")?.with_prefix("myapp:session:");
/// let layer = SessionLayer::builder(SessionConfig::default()).store(Arc::new(store)).build();
/// # Ok::<(), satchel::store::StoreError>(())
/// ```
pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    scripts: Scripts,
}

struct Scripts {
    commit: Lua,
    create: Lua,
    renew: Lua,
    touch: Lua,
    revoke: Lua,
    revoke_user: Lua,
}

/// A script's source and its SHA-1 (what `EVALSHA` names it by).
struct Lua {
    source: &'static str,
    hash: String,
}

impl Lua {
    fn new(source: &'static str) -> Self {
        let hash = Script::new(source).get_hash().to_owned();
        Lua { source, hash }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A session's two key names in one allocation: `<p>v2:<h>:lease`, the record's name being
/// all of it but the suffix.
struct Keys(String);

impl Keys {
    fn record(&self) -> &str {
        &self.0[..self.0.len() - LEASE_SUFFIX.len()]
    }

    fn lease(&self) -> &str {
        &self.0
    }
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://[:password@]host:port[/db]`). Does not connect
    /// yet: the first request does, and a failure there is that request's 503.
    ///
    /// ```no_run
    /// let store = satchel::store::RedisStore::open("redis://127.0.0.1:6379/0")?;
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Config(format!("bad Redis URL: {e}")))?;
        Ok(RedisStore {
            client,
            connection: OnceCell::new(),
            prefix: "satchel:session:".to_owned(),
            timeout: Duration::from_secs(2),
            scripts: Scripts {
                commit: Lua::new(COMMIT),
                create: Lua::new(CREATE),
                renew: Lua::new(RENEW),
                touch: Lua::new(TOUCH),
                revoke: Lua::new(REVOKE),
                revoke_user: Lua::new(REVOKE_USER),
            },
        })
    }

    /// Files keys under `prefix` (default `satchel:session:`), so apps can share a Redis. The
    /// store adds its layout tag (`v2:`) after it.
    ///
    /// ```no_run
    /// let store = satchel::store::RedisStore::open("redis://127.0.0.1")?.with_prefix("app2:");
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bounds every call (connecting included) by `timeout` (default 2 s); past it the request
    /// gets a 503.
    ///
    /// ```no_run
    /// let store = satchel::store::RedisStore::open("redis://127.0.0.1")?
    ///     .with_timeout(std::time::Duration::from_millis(500));
    /// # Ok::<(), satchel::store::StoreError>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn keys(&self, id: &IdHash) -> Keys {
        let mut name =
            String::with_capacity(self.prefix.len() + VERSION_TAG.len() + 64 + LEASE_SUFFIX.len());
        name.push_str(&self.prefix);
        name.push_str(VERSION_TAG);
        push_hex(&mut name, id);
        name.push_str(LEASE_SUFFIX);
        Keys(name)
    }

    fn record_key(&self, id: &IdHash) -> String {
        let mut name = String::with_capacity(self.prefix.len() + VERSION_TAG.len() + 64);
        name.push_str(&self.prefix);
        name.push_str(VERSION_TAG);
        push_hex(&mut name, id);
        name
    }

    /// What the index's keys start with: `<p>v2:` (a user's set is `<p>v2:user:<key>`).
    fn index_prefix(&self) -> String {
        format!("{}{VERSION_TAG}", self.prefix)
    }

    fn user_set(&self, user_id: &str) -> String {
        format!("{}{VERSION_TAG}user:{}", self.prefix, user_key(user_id))
    }

    /// The id hash a record key names.
    fn id_of(&self, record_key: &str) -> Option<IdHash> {
        let hex = record_key.strip_prefix(&self.index_prefix())?;
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(IdHash(bytes))
    }

    /// The live entries among the records of one user's set (`user_id`: only that user's).
    async fn entries_of(
        &self,
        set: &str,
        user_id: Option<&str>,
        now: u64,
        out: &mut Vec<SessionEntry>,
    ) -> Result<(), StoreError> {
        let mut range = command("ZRANGEBYSCORE", 6, set.len() + 2 * NUMBER + 10);
        range
            .arg(set)
            .arg(format!("({now}"))
            .arg("+inf")
            .arg("LIMIT")
            .arg(0)
            .arg(MAX_LISTED);
        let members: Vec<String> = self.query(&range).await?;
        if members.is_empty() {
            return Ok(());
        }
        let mut read = command("MGET", members.len(), members.len() * 80);
        read.arg(&members);
        let values: Vec<Option<Vec<u8>>> = self.query(&read).await?;
        for (member, value) in members.iter().zip(values) {
            let (Some(id), Some(value)) = (self.id_of(member), value) else {
                continue;
            };
            let (record, last_seen) = decode_with_seen(&value)?;
            let Some(login) = record.login.clone() else {
                continue;
            };
            if record.is_expired(now) || user_id.is_some_and(|u| u != login.user_id) {
                continue;
            }
            let times = [record.created_at, last_seen, record.expires_at()];
            out.push(SessionEntry::new(id, login, times));
        }
        Ok(())
    }

    async fn sessions_async(
        &self,
        user_id: Option<&str>,
        now: u64,
    ) -> Result<Vec<SessionEntry>, StoreError> {
        let mut entries = Vec::new();
        if let Some(user) = user_id {
            self.entries_of(&self.user_set(user), user_id, now, &mut entries)
                .await?;
            return Ok(ordered(entries));
        }
        // Every user: walk the user sets (SCAN), until a listing's worth is found.
        let pattern = format!("{}user:*", self.index_prefix());
        let mut cursor: u64 = 0;
        loop {
            let mut scan = command("SCAN", 5, pattern.len() + 2 * NUMBER);
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, sets): (u64, Vec<String>) = self.query(&scan).await?;
            for set in sets {
                self.entries_of(&set, None, now, &mut entries).await?;
            }
            cursor = next;
            if cursor == 0 || entries.len() >= MAX_LISTED {
                return Ok(ordered(entries));
            }
        }
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        // The usual case, connected already: no connect future is built (it is large, and
        // copying it into every call's boxed future cost ~13% of a request).
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        Box::pin(self.connect()).await
    }

    /// The first connection, bounded by the timeout; concurrent callers share one attempt.
    async fn connect(&self) -> Result<ConnectionManager, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let connect = ConnectionManager::new_with_config(self.client.clone(), config);
        self.connection
            .get_or_try_init(|| async {
                tokio::time::timeout(self.timeout, async {
                    let mut connection = connect.await.map_err(unavailable)?;
                    check_version(&mut connection).await?;
                    Ok(connection)
                })
                .await
                .map_err(|_| StoreError::Timeout(self.timeout))?
            })
            .await
            .cloned()
    }

    /// `call`, bounded by the timeout.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| StoreError::Timeout(self.timeout))?
    }

    /// Sends one command.
    async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, StoreError> {
        self.bounded(async {
            let mut connection = self.connection().await?;
            command
                .query_async(&mut connection)
                .await
                .map_err(store_error)
        })
        .await
    }

    /// Runs `script` on `keys` and the arguments `push` appends (`room`: how many, and their
    /// bytes in all) by its SHA-1 (`EVALSHA`), loading it once if this Redis does not know it
    /// yet (a restart, a `SCRIPT FLUSH`).
    async fn eval<T: FromRedisValue>(
        &self,
        script: &Lua,
        keys: &[&str],
        room: (usize, usize),
        push: impl Fn(&mut Cmd),
    ) -> Result<T, StoreError> {
        let key_bytes: usize = keys.iter().map(|key| key.len()).sum();
        let build = |name: &str, body: &str| {
            let args = 2 + keys.len() + room.0;
            let mut command = command(name, args, body.len() + NUMBER + key_bytes + room.1);
            command.arg(body).arg(keys.len()).arg(keys);
            push(&mut command);
            command
        };
        self.bounded(async {
            let mut connection = self.connection().await?;
            let by_hash = build("EVALSHA", &script.hash);
            match by_hash.query_async(&mut connection).await {
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    // EVAL runs it and caches it: the next EVALSHA finds it.
                    let source = build("EVAL", script.source);
                    source
                        .query_async(&mut connection)
                        .await
                        .map_err(store_error)
                }
                reply => reply.map_err(store_error),
            }
        })
        .await
    }

    async fn load_async(
        &self,
        id: &IdHash,
        now: u64,
        lease: Option<&Lease>,
    ) -> Result<Loaded, StoreError> {
        let keys = self.keys(id);
        let Some(lease) = lease else {
            let mut read = command("GET", 1, keys.record().len());
            read.arg(keys.record());
            let value: Option<Vec<u8>> = self.query(&read).await?;
            return match value {
                Some(value) => Ok(live(decode(&value)?, now)),
                None => Ok(Loaded::Missing),
            };
        };
        let token = lease.token.0;
        let mut acquire = command("SET", 6, keys.lease().len() + 9 + 2 * NUMBER);
        acquire
            .arg(keys.lease())
            .arg(token)
            .arg("NX")
            .arg("GET")
            .arg("PX")
            .arg(ttl_ms(lease.ttl));
        let mut read = command("GET", 1, keys.record().len());
        read.arg(keys.record());
        let mut pipe = redis::Pipeline::with_capacity(2);
        pipe.add_command(acquire).add_command(read);
        let reply: Result<(Option<u128>, Option<Vec<u8>>), _> = self
            .bounded(async {
                let mut connection = self.connection().await?;
                pipe.query_async(&mut connection).await.map_err(store_error)
            })
            .await;
        let (holder, value) = match reply {
            Ok(reply) => reply,
            Err(error @ StoreError::Corrupt(_)) => {
                // The lease may be ours (the record's key had the wrong type): give it back.
                self.give_back(&keys, lease.token, now).await;
                return Err(error);
            }
            Err(error) => return Err(error),
        };
        // No previous holder: the lease is now ours. Our own token: a retry of ours whose
        // first reply was lost.
        let retry = holder == Some(token);
        let ours = holder.is_none() || retry;
        let Some(value) = value else {
            if ours {
                // `Missing` never takes a lease: give back the one just taken.
                self.give_back(&keys, lease.token, now).await;
            }
            return Ok(Loaded::Missing);
        };
        // A retry holds, but its time runs from the first attempt: renew it (fenced), as a
        // fresh acquisition would have set it.
        if !ours || (retry && !self.renew_async(&keys, lease).await?) {
            return Ok(Loaded::Busy);
        }
        let record = match decode(&value) {
            Ok(record) => record,
            Err(error) => {
                self.give_back(&keys, lease.token, now).await;
                return Err(error);
            }
        };
        if record.is_expired(now) {
            self.commit_keys(&keys, None, lease.token, &Commit::Delete, now)
                .await?;
            return Ok(Loaded::Missing);
        }
        Ok(Loaded::Found(record))
    }

    /// Releases a lease `load` took but must not keep (fenced by `token`). Best effort: if it
    /// fails, the lease expires by itself after its time, blocking nothing but that id's writers
    /// meanwhile; the answer the caller gets does not depend on it.
    async fn give_back(&self, keys: &Keys, token: LeaseToken, now: u64) {
        if let Err(error) = self
            .commit_keys(keys, None, token, &Commit::Release, now)
            .await
        {
            tracing::warn!(%error, "could not release a session lease taken by a load");
        }
    }

    async fn commit_keys(
        &self,
        keys: &Keys,
        new_record: Option<&str>,
        token: LeaseToken,
        commit: &Commit,
        now: u64,
    ) -> Result<bool, StoreError> {
        let (op, record) = match commit {
            Commit::Save(record) => ("s", Some(record)),
            Commit::Delete => ("d", None),
            Commit::Release => ("e", None),
            Commit::Rotate { record, .. } => ("r", Some(record)),
        };
        let value = record.map(|r| encode(r, now));
        let ttl = record.map(|r| record_ttl_ms(r, now));
        let prefix = self.index_prefix();
        let mut names = [keys.lease(), keys.record(), ""];
        let names = match new_record {
            Some(new_record) => {
                names[2] = new_record;
                &names[..]
            }
            None => &names[..2],
        };
        let room = (
            6,
            3 * NUMBER + 1 + prefix.len() + value.as_ref().map_or(0, String::len),
        );
        let done: i64 = self
            .eval(&self.scripts.commit, names, room, |command| {
                command.arg(token.0).arg(op).arg(prefix.as_str()).arg(now);
                if let (Some(value), Some(ttl)) = (&value, ttl) {
                    command.arg(value.as_str()).arg(ttl);
                }
            })
            .await?;
        Ok(done == 1)
    }

    async fn renew_async(&self, keys: &Keys, lease: &Lease) -> Result<bool, StoreError> {
        let renewed: i64 = self
            .eval(
                &self.scripts.renew,
                &[keys.lease()],
                (2, 2 * NUMBER),
                |command| {
                    command.arg(lease.token.0).arg(ttl_ms(lease.ttl));
                },
            )
            .await?;
        Ok(renewed == 1)
    }
}

/// A command named `name`, its buffers sized for `args` more arguments of `bytes` bytes in all,
/// so that building it does not grow them argument by argument.
fn command(name: &str, args: usize, bytes: usize) -> Cmd {
    let mut command = Cmd::with_capacity(args + 1, name.len() + bytes);
    command.arg(name);
    command
}

/// Appends the 64 lowercase hex digits of `id`.
fn push_hex(out: &mut String, id: &IdHash) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in &id.0 {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// The record as stored: the 60-byte header, a logged-in record's login section (`L`, the user
/// key, last seen = `now`, the login's JSON with its length), then the data's tagged JSON.
fn encode(record: &Record, now: u64) -> String {
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
fn decode(value: &[u8]) -> Result<Record, StoreError> {
    decode_with_seen(value).map(|(record, _)| record)
}

/// A stored record and its last-seen time (0 for an anonymous one).
fn decode_with_seen(value: &[u8]) -> Result<(Record, u64), StoreError> {
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
fn live(record: Record, now: u64) -> Loaded {
    if record.is_expired(now) {
        Loaded::Missing
    } else {
        Loaded::Found(record)
    }
}

fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

/// The record key's TTL: its remaining life, at least 1 ms, at most [`MAX_TTL_MS`].
fn record_ttl_ms(record: &Record, now: u64) -> u64 {
    record
        .remaining(now)
        .saturating_mul(1000)
        .clamp(1, MAX_TTL_MS)
}

/// Refuses a server older than Redis 7.0, whose `SET` cannot take `NX` and `GET` together (the
/// lease), with a message that says so instead of a syntax error on every write. A server that
/// does not say its version (INFO renamed or restricted) is let through.
async fn check_version(connection: &mut ConnectionManager) -> Result<(), StoreError> {
    let info: Result<String, _> = redis::cmd("INFO")
        .arg("server")
        .query_async(connection)
        .await;
    match info.ok().as_deref().and_then(too_old_version) {
        Some(version) => Err(StoreError::Config(format!(
            "Redis {version} is too old: satchel's Redis store needs Redis 7.0 or newer"
        ))),
        None => Ok(()),
    }
}

/// The version in an `INFO server` reply, if it is below 7.
fn too_old_version(info: &str) -> Option<String> {
    let version = info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))?
        .trim();
    let major: u32 = version.split('.').next()?.parse().ok()?;
    (major < 7).then(|| version.to_owned())
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// A failed call: a key of the wrong type is a corrupt record (this session's 500), anything
/// else the store being unavailable (a 503).
fn store_error(error: redis::RedisError) -> StoreError {
    // A pipelined reply carries the server's code only in its text.
    let wrong_type = error.code() == Some("WRONGTYPE")
        || error.detail().is_some_and(|d| d.contains("WRONGTYPE"))
        || error.to_string().contains("WRONGTYPE");
    if wrong_type {
        StoreError::Corrupt(format!("a session key holds another type: {error}"))
    } else {
        unavailable(error)
    }
}

impl Store for RedisStore {
    fn load<'a>(
        &'a self,
        id: &'a IdHash,
        now: u64,
        lease: Option<&'a Lease>,
    ) -> StoreFuture<'a, Loaded> {
        Box::pin(self.load_async(id, now, lease))
    }

    fn create<'a>(&'a self, id: &'a IdHash, record: &'a Record, now: u64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.record_key(id);
            let value = encode(record, now);
            let ttl = record_ttl_ms(record, now);
            if record.login.as_ref().is_some_and(Login::is_indexed) {
                let prefix = self.index_prefix();
                let room = (4, value.len() + prefix.len() + 2 * NUMBER);
                let created: i64 = self
                    .eval(&self.scripts.create, &[&key], room, |command| {
                        command
                            .arg(value.as_str())
                            .arg(ttl)
                            .arg(prefix.as_str())
                            .arg(now);
                    })
                    .await?;
                return Ok(created == 1);
            }
            let mut insert = command("SET", 5, key.len() + value.len() + 4 + NUMBER);
            insert.arg(key).arg(value).arg("NX").arg("PX").arg(ttl);
            let reply: redis::Value = self.query(&insert).await?;
            Ok(reply != redis::Value::Nil)
        })
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let keys = self.keys(id);
            let new_record = match &commit {
                Commit::Rotate { new_id, .. } => Some(self.record_key(new_id)),
                _ => None,
            };
            self.commit_keys(&keys, new_record.as_deref(), token, &commit, now)
                .await
        })
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.renew_async(&self.keys(id), lease).await })
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = self.record_key(id);
            let prefix = self.index_prefix();
            let room = (4, 3 * NUMBER + prefix.len());
            let _: i64 = self
                .eval(&self.scripts.touch, &[&key], room, |command| {
                    command
                        .arg(format!("{idle_deadline:020}"))
                        .arg(now)
                        .arg(MAX_TTL_MS)
                        .arg(prefix.as_str());
                })
                .await?;
            Ok(())
        })
    }
}

/// The index: a sorted set per user (`<p>v2:user:<SHA-256 of the user id>`) of that user's
/// record keys, scored by their expiry, kept in step by the scripts that write records (create,
/// commit, touch) in the same atomic step; expired members are trimmed whenever one is added,
/// and the set expires with its longest-lived member. Listing every user's sessions walks the
/// sets with `SCAN`.
impl SessionIndex for RedisStore {
    fn sessions<'a>(
        &'a self,
        user_id: Option<&'a str>,
        now: u64,
    ) -> StoreFuture<'a, Vec<SessionEntry>> {
        Box::pin(self.sessions_async(user_id, now))
    }

    fn revoke<'a>(&'a self, id: &'a IdHash) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.record_key(id);
            let prefix = self.index_prefix();
            let ended: i64 = self
                .eval(
                    &self.scripts.revoke,
                    &[&key],
                    (1, prefix.len()),
                    |command| {
                        command.arg(prefix.as_str());
                    },
                )
                .await?;
            Ok(ended > 0)
        })
    }

    fn revoke_user<'a>(&'a self, user_id: &'a str, _now: u64) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let set = self.user_set(user_id);
            let ended: i64 = self
                .eval(&self.scripts.revoke_user, &[&set], (0, 0), |_| {})
                .await?;
            Ok(u64::try_from(ended).unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{decode, encode, too_old_version, HEADER};
    use crate::store::{Record, StoreError};

    #[test]
    fn servers_before_redis_7_are_named_and_others_let_through() {
        let info = |v: &str| format!("# Server\r\nredis_version:{v}\r\nredis_mode:standalone\r\n");
        assert_eq!(too_old_version(&info("6.2.14")), Some("6.2.14".into()));
        assert_eq!(too_old_version(&info("5.0.7")), Some("5.0.7".into()));
        assert_eq!(too_old_version(&info("7.0.15")), None);
        assert_eq!(too_old_version(&info("8.4.0")), None);
        assert_eq!(too_old_version("# Server\r\nuptime:3\r\n"), None);
        assert_eq!(too_old_version(&info("garbage")), None);
    }

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
