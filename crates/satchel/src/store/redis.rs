//! [`RedisStore`] (feature `redis`): sessions in Redis, shared by every process using it.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use tokio::sync::OnceCell;

use super::{Commit, IdHash, Lease, LeaseToken, Loaded, Record, Store, StoreError, StoreFuture};
use crate::codec::flask_json;

const LOAD: &str = r"
local rec = redis.call('HMGET', KEYS[1], 'd', 'c', 'i', 'a')
if not rec[1] then return {'missing'} end
if ARGV[1] ~= '' then
  local holder = redis.call('GET', KEYS[2])
  if holder and holder ~= ARGV[1] then return {'busy'} end
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
end
return {'found', rec[1], rec[2], rec[3], rec[4]}
";

const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'c', ARGV[2], 'i', ARGV[3], 'a', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
";

const COMMIT: &str = r"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local op = ARGV[2]
if op == 'delete' then
  redis.call('DEL', KEYS[1])
elseif op == 'save' or op == 'rotate' then
  local target = KEYS[1]
  if op == 'rotate' then
    target = KEYS[3]
    redis.call('DEL', KEYS[1])
  end
  redis.call('HSET', target, 'd', ARGV[3], 'c', ARGV[4], 'i', ARGV[5], 'a', ARGV[6])
  redis.call('PEXPIRE', target, ARGV[7])
end
return 1
";

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

const TOUCH: &str = r"
local v = redis.call('HMGET', KEYS[1], 'i', 'a')
if not v[1] then return 0 end
local now = tonumber(ARGV[2])
local abs = tonumber(v[2])
local idle = math.min(tonumber(ARGV[1]), abs)
if idle <= tonumber(v[1]) or idle <= now then return 0 end
redis.call('HSET', KEYS[1], 'i', string.format('%d', idle))
redis.call('PEXPIRE', KEYS[1], string.format('%d', (idle - now) * 1000))
return 1
";

/// Sessions in Redis, shared by every process that points at one Redis.
///
/// Layout, per session (`<p>` is the key prefix, `<h>` the id's SHA-256 in hex):
/// - `<p><h>`: a hash with `d` (the data as Flask's tagged JSON), `c` (created at), `i` (idle
///   deadline), `a` (absolute deadline); its TTL is the record's remaining life, and the
///   deadlines are checked again on every load (a TTL is a janitor, not the rule);
/// - `<p><h>:lease`: the lease token, with `PX` = the lease's time.
///
/// Every step that must be atomic is one Lua script (Redis runs a script alone): load + lease
/// (`GET` the lease, `SET … PX` if free, `HMGET` the record), the fenced commit (compare the
/// token, then save / delete / rotate and release), renew and touch. Standalone Redis (or a
/// primary): a rotate writes two keys that Redis Cluster would place in different slots.
///
/// The connection is a [`ConnectionManager`], opened on first use and re-opened by itself after
/// a failure, so a Redis that restarts (or is down when the app starts) costs 503s while it is
/// away and nothing after. Every call is bounded by a timeout.
///
/// ```no_run
/// use std::sync::Arc;
/// use satchel::store::RedisStore;
/// use satchel::{SessionConfig, SessionLayer};
///
/// let store = RedisStore::open("redis://127.0.0.1:6379")?.with_prefix("myapp:session:");
/// let layer = SessionLayer::with_store(SessionConfig::default(), Arc::new(store));
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
    load: Script,
    create: Script,
    commit: Script,
    renew: Script,
    touch: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
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
                load: Script::new(LOAD),
                create: Script::new(CREATE),
                commit: Script::new(COMMIT),
                renew: Script::new(RENEW),
                touch: Script::new(TOUCH),
            },
        })
    }

    /// Files keys under `prefix` (default `satchel:session:`), so apps can share a Redis.
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

    fn record_key(&self, id: &IdHash) -> String {
        format!("{}{}", self.prefix, id.to_hex())
    }

    fn lease_key(&self, id: &IdHash) -> String {
        format!("{}{}:lease", self.prefix, id.to_hex())
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
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1);
        let connect = ConnectionManager::new_with_config(self.client.clone(), config);
        self.connection
            .get_or_try_init(|| async {
                tokio::time::timeout(self.timeout, connect)
                    .await
                    .map_err(|_| StoreError::Timeout(self.timeout))?
                    .map_err(unavailable)
            })
            .await
            .cloned()
    }

    /// Runs one script invocation, bounded by the timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let call = async {
            let mut connection = self.connection().await?;
            invocation
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| StoreError::Timeout(self.timeout))?
    }

    async fn load_async(
        &self,
        id: &IdHash,
        now: u64,
        lease: Option<&Lease>,
    ) -> Result<Loaded, StoreError> {
        let mut invocation = self.scripts.load.prepare_invoke();
        invocation.key(self.record_key(id)).key(self.lease_key(id));
        match lease {
            Some(lease) => invocation
                .arg(lease.token.0.to_string())
                .arg(ttl_ms(lease.ttl)),
            None => invocation.arg("").arg(0),
        };
        let reply: Vec<String> = self.run(invocation).await?;
        let record = match reply.as_slice() {
            [status] if status == "missing" => return Ok(Loaded::Missing),
            [status] if status == "busy" => return Ok(Loaded::Busy),
            [status, d, c, i, a] if status == "found" => parse_record(d, c, i, a)?,
            _ => return Err(StoreError::Corrupt("unexpected reply to load".into())),
        };
        if !record.is_expired(now) {
            return Ok(Loaded::Found(record));
        }
        if let Some(lease) = lease {
            self.commit_async(id, lease.token, Commit::Delete, now)
                .await?;
        }
        Ok(Loaded::Missing)
    }

    async fn commit_async(
        &self,
        id: &IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut invocation = self.scripts.commit.prepare_invoke();
        invocation.key(self.record_key(id)).key(self.lease_key(id));
        let (op, target, record) = match &commit {
            Commit::Save(record) => ("save", *id, Some(record)),
            Commit::Delete => ("delete", *id, None),
            Commit::Release => ("release", *id, None),
            Commit::Rotate { new_id, record } => ("rotate", *new_id, Some(record)),
        };
        invocation
            .key(self.record_key(&target))
            .arg(token.0.to_string())
            .arg(op);
        if let Some(record) = record {
            record_args(&mut invocation, record, now);
        }
        let done: i64 = self.run(invocation).await?;
        Ok(done == 1)
    }
}

/// Appends `d c i a ttl_ms` for `record`.
fn record_args(invocation: &mut redis::ScriptInvocation<'_>, record: &Record, now: u64) {
    invocation
        .arg(flask_json::to_string(&record.data))
        .arg(record.created_at)
        .arg(record.idle_deadline)
        .arg(record.absolute_deadline)
        .arg(record.remaining(now).saturating_mul(1000).max(1));
}

fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn parse_record(d: &str, c: &str, i: &str, a: &str) -> Result<Record, StoreError> {
    let number = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| StoreError::Corrupt(format!("{s:?} is not a time")))
    };
    let data = flask_json::from_str(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Record::new(data, number(c)?, number(i)?, number(a)?))
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
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
            let mut invocation = self.scripts.create.prepare_invoke();
            invocation.key(self.record_key(id));
            record_args(&mut invocation, record, now);
            let created: i64 = self.run(invocation).await?;
            Ok(created == 1)
        })
    }

    fn commit<'a>(
        &'a self,
        id: &'a IdHash,
        token: LeaseToken,
        commit: Commit,
        now: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(self.commit_async(id, token, commit, now))
    }

    fn renew<'a>(&'a self, id: &'a IdHash, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut invocation = self.scripts.renew.prepare_invoke();
            invocation
                .key(self.lease_key(id))
                .arg(lease.token.0.to_string())
                .arg(ttl_ms(lease.ttl));
            let renewed: i64 = self.run(invocation).await?;
            Ok(renewed == 1)
        })
    }

    fn touch<'a>(&'a self, id: &'a IdHash, idle_deadline: u64, now: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut invocation = self.scripts.touch.prepare_invoke();
            invocation
                .key(self.record_key(id))
                .arg(idle_deadline)
                .arg(now);
            let _: i64 = self.run(invocation).await?;
            Ok(())
        })
    }
}
