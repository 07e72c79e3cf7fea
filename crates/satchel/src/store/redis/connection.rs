//! Talking to Redis: the connection (opened on first use, its server's version checked), every
//! call bounded by the timeout, commands built to size, scripts run by their SHA-1, and what a
//! failure means for the request (a 503, or a corrupt record's 500).

use std::future::Future;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, ErrorKind, FromRedisValue, ServerErrorKind};

use super::scripts::Lua;
use super::RedisStore;
use crate::store::connect_error::{chain_text, classify};
use crate::store::StoreError;

/// Room for one number argument (a `u128` has at most 39 digits).
pub(super) const NUMBER: usize = 40;

impl RedisStore {
    pub(super) async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        // The usual case, connected already: no connect future is built (it is large, and
        // copying it into every call's boxed future cost ~13% of a request).
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        Box::pin(self.connect()).await
    }

    /// The first connection, bounded by three quarters of the timeout (the rest leaves time
    /// to tell what a timed-out handshake meant within the call's bound); concurrent callers
    /// share one attempt.
    async fn connect(&self) -> Result<ConnectionManager, StoreError> {
        let bound = self.timeout * 3 / 4;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(bound))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let connect = ConnectionManager::new_with_config(self.client.clone(), config);
        self.connection
            .get_or_try_init(|| async {
                let outcome = tokio::time::timeout(bound, async {
                    let mut connection = connect.await.map_err(|e| self.connect_failure(&e))?;
                    check_version(&mut connection).await?;
                    self.start_sweeping(&connection);
                    Ok(connection)
                })
                .await
                .unwrap_or(Err(StoreError::Timeout(self.timeout)));
                match outcome {
                    Err(StoreError::Timeout(_)) if self.took_tcp_but_no_tls().await => {
                        Err(StoreError::Config(format!(
                            "TLS: the server does not offer TLS (it took the connection but sent \
                             no TLS handshake within {bound:?}; or it is badly overloaded)"
                        )))
                    }
                    other => other,
                }
            })
            .await
            .cloned()
    }

    /// Whether this is a `rediss://` store whose server accepts a plain TCP connection: then
    /// a TLS handshake that timed out met a server that does not speak TLS on that port (a
    /// plain Redis reads the handshake as the start of a command and waits for its end).
    async fn took_tcp_but_no_tls(&self) -> bool {
        let redis::ConnectionAddr::TcpTls { host, port, .. } =
            self.client.get_connection_info().addr()
        else {
            return false;
        };
        let connect = tokio::net::TcpStream::connect((host.as_str(), *port));
        matches!(
            tokio::time::timeout(self.timeout / 8, connect).await,
            Ok(Ok(_))
        )
    }

    /// A failed connection in an operator's words: a refused certificate, a server without
    /// TLS (or one that wants it), bad credentials or an unknown host is a configuration error;
    /// anything else an outage.
    fn connect_failure(&self, error: &redis::RedisError) -> StoreError {
        let text = chain_text(error);
        if let Some(known) = classify(&text, &self.trust) {
            return known;
        }
        match error.kind() {
            _ if error.is_timeout() => StoreError::Timeout(self.timeout),
            ErrorKind::AuthenticationFailed => {
                StoreError::Config(format!("authentication failed: {text}"))
            }
            // A TLS-only port reads a plain client's first command as a broken handshake and
            // hangs up without a word.
            _ if self.trust.tls_off && error.is_connection_dropped() => {
                StoreError::Config(format!(
                    "the server closed the connection without answering: does it require \
                     TLS (a rediss:// URL)? ({text})"
                ))
            }
            _ => StoreError::Unavailable(text),
        }
    }

    /// `call`, bounded by the timeout.
    pub(super) async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| StoreError::Timeout(self.timeout))?
    }

    /// Sends one command.
    pub(super) async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, StoreError> {
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
    pub(super) async fn eval<T: FromRedisValue>(
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
}

/// A command named `name`, its buffers sized for `args` more arguments of `bytes` bytes in all,
/// so that building it does not grow them argument by argument.
pub(super) fn command(name: &str, args: usize, bytes: usize) -> Cmd {
    let mut command = Cmd::with_capacity(args + 1, name.len() + bytes);
    command.arg(name);
    command
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
pub(super) fn store_error(error: redis::RedisError) -> StoreError {
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

#[cfg(test)]
mod tests {
    use super::too_old_version;

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
}
