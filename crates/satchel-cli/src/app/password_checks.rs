//! Password checks, bounded: at most `slots` argon2 hashes run at once, each in a working
//! memory kept for the next one (argon2id's default costs 19 MiB a hash), so the memory the
//! login route can take is `slots × 19 MiB`, allocated once and held, never more. A check that
//! cannot get a slot within `max_wait` is refused ([`CheckError::Busy`], a 503 with
//! `Retry-After`) instead of queueing without end.
//!
//! Why reuse rather than allocate per check: the allocator keeps a freed 19 MiB block in the
//! heap of the thread that freed it (glibc raises its mmap threshold after the first large
//! free), and blocking threads come and go, so per-check allocation left ~19 MiB of resident
//! memory per thread that ever hashed: ~830 MB after a burst of 100 failed logins.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::Block;
use tokio::sync::Semaphore;

use super::users::{UserError, Users};

/// How long a login waits for a free hashing slot before it is answered 503.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// Why a password could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("every password-hashing slot stayed busy for {0:?}")]
    Busy(Duration),
    #[error(transparent)]
    Users(#[from] UserError),
    #[error("the password check stopped: {0}")]
    Stopped(String),
}

/// The bounded pool of password checks the login route shares.
#[derive(Clone)]
pub struct PasswordChecks {
    slots: Arc<Semaphore>,
    /// Working memories not in use (at most one per slot).
    memories: Arc<Mutex<Vec<Vec<Block>>>>,
    max_wait: Duration,
}

impl PasswordChecks {
    /// `slots` checks at once, waiting at most `max_wait` for one.
    pub fn new(slots: usize, max_wait: Duration) -> Self {
        PasswordChecks {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            memories: Arc::default(),
            max_wait,
        }
    }

    /// One slot per core, [`MAX_WAIT`].
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordChecks::new(cores, MAX_WAIT)
    }

    /// The user's stored name if `password` is theirs (see
    /// [`StoredHash::verify_with`](super::users::StoredHash::verify_with)): in a slot, the row
    /// read (async), then the hash computed off the async threads in a reused working memory.
    pub async fn verify(
        &self,
        users: &Users,
        name: &str,
        password: String,
    ) -> Result<Option<String>, CheckError> {
        let _slot = tokio::time::timeout(self.max_wait, self.slots.acquire())
            .await
            .map_err(|_| CheckError::Busy(self.max_wait))?
            .map_err(|e| CheckError::Stopped(e.to_string()))?;
        let stored = users.stored_hash(name).await?;
        let mut memory = self.take_memory();
        let memories = self.memories.clone();
        tokio::task::spawn_blocking(move || {
            let verified = stored.verify_with(&password, &mut memory);
            memories
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(memory);
            verified
        })
        .await
        .map_err(|e| CheckError::Stopped(e.to_string()))?
        .map_err(CheckError::from)
    }

    fn take_memory(&self) -> Vec<Block> {
        self.memories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn users() -> Users {
        let dir = std::env::temp_dir().join(format!(
            "satchel-checks-{}-{}",
            std::process::id(),
            crate::keygen::random_token(6)
        ));
        let users = Users::open(&dir).await.unwrap();
        users.add("alice", "correct horse").await.unwrap();
        users
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_checks_share_one_working_memory_per_slot() {
        let users = users().await;
        let checks = PasswordChecks::new(2, Duration::from_secs(60));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (checks, users) = (checks.clone(), users.clone());
            let password = if i == 3 { "correct horse" } else { "wrong" };
            set.spawn(async move { checks.verify(&users, "alice", password.into()).await });
        }
        let mut right = 0;
        while let Some(outcome) = set.join_next().await {
            right += usize::from(outcome.unwrap().unwrap().is_some());
        }
        assert_eq!(right, 1);
        assert!(checks.memories.lock().unwrap().len() <= 2);
    }

    #[tokio::test]
    async fn a_check_waiting_past_max_wait_is_busy() {
        let users = users().await;
        let checks = PasswordChecks::new(1, Duration::from_millis(1));
        let _held = checks.slots.clone().acquire_owned().await.unwrap();
        let outcome = checks.verify(&users, "alice", "correct horse".into()).await;
        assert!(matches!(outcome, Err(CheckError::Busy(_))), "{outcome:?}");
    }
}
