//! What a layer counts: cookies rejected (by reason), sessions too large for a cookie, writers
//! turned away busy, store failures and refused commits, and stored sessions that no longer
//! load as their typed view. The layer keeps [`Counters`]; users
//! read a [`SessionStats`] snapshot from
//! [`SessionLayer::stats`](crate::SessionLayer::stats).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::codec::RejectReason;

/// The live counters of one layer (crate-private: only the layer counts).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    rejected: [AtomicU64; RejectReason::ALL.len()],
    oversized: AtomicU64,
    busy: AtomicU64,
    store_errors: AtomicU64,
    commit_refused: AtomicU64,
    revoked: AtomicU64,
    typed_rejected: AtomicU64,
}

impl Counters {
    pub fn rejected(&self, reason: RejectReason) {
        self.rejected[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn oversized(&self) {
        self.oversized.fetch_add(1, Ordering::Relaxed);
    }

    pub fn busy(&self) {
        self.busy.fetch_add(1, Ordering::Relaxed);
    }

    pub fn store_error(&self) {
        self.store_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn commit_refused(&self) {
        self.commit_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn revoked(&self) {
        self.revoked.fetch_add(1, Ordering::Relaxed);
    }

    pub fn typed_rejected(&self) {
        self.typed_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts as they stand.
    pub fn snapshot(&self) -> SessionStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SessionStats {
            rejected: self.rejected.each_ref().map(read),
            oversized: read(&self.oversized),
            busy: read(&self.busy),
            store_errors: read(&self.store_errors),
            commit_refused: read(&self.commit_refused),
            revoked: read(&self.revoked),
            typed_rejected: read(&self.typed_rejected),
        }
    }
}

/// A snapshot of one [`SessionLayer`](crate::SessionLayer)'s counts, for metrics. Take a new
/// one with [`SessionLayer::stats`](crate::SessionLayer::stats) each time you report.
///
/// ```
/// use satchel_session::{codec::RejectReason, SessionConfig, SessionLayer};
/// let layer = SessionLayer::new(SessionConfig::default().with_secret_key(satchel_session::generate_secret_key()))?;
/// let stats = layer.stats();
/// assert_eq!(stats.rejected(RejectReason::Tampered), 0);
/// assert_eq!(stats.rejected_total(), 0);
/// # Ok::<(), satchel_session::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    rejected: [u64; RejectReason::ALL.len()],
    oversized: u64,
    busy: u64,
    store_errors: u64,
    commit_refused: u64,
    revoked: u64,
    typed_rejected: u64,
}

impl SessionStats {
    /// How many cookies were refused for `reason`.
    ///
    /// ```
    /// let stats = satchel_session::SessionStats::default();
    /// assert_eq!(stats.rejected(satchel_session::codec::RejectReason::Malformed), 0);
    /// ```
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected[reason as usize]
    }

    /// How many cookies were refused, for any reason.
    ///
    /// ```
    /// assert_eq!(satchel_session::SessionStats::default().rejected_total(), 0);
    /// ```
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    /// How many responses failed because their session was too large for a cookie.
    ///
    /// ```
    /// assert_eq!(satchel_session::SessionStats::default().oversized(), 0);
    /// ```
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// How many writers were turned away with a 503 because another request held the session
    /// past the wait.
    ///
    /// ```
    /// assert_eq!(satchel_session::SessionStats::default().busy(), 0);
    /// ```
    pub fn busy(&self) -> u64 {
        self.busy
    }

    /// How many store calls failed (unavailable, timed out, full, corrupt); each is a 503 or
    /// 500.
    ///
    /// ```
    /// assert_eq!(satchel_session::SessionStats::default().store_errors(), 0);
    /// ```
    pub fn store_errors(&self) -> u64 {
        self.store_errors
    }

    /// How many commits the store refused because the lease was lost or the session ended
    /// meanwhile (each a 503).
    ///
    /// ```
    /// assert_eq!(satchel_session::SessionStats::default().commit_refused(), 0);
    /// ```
    pub fn commit_refused(&self) -> u64 {
        self.commit_refused
    }

    /// How many cookie sessions were opened as anonymous because their login was logged out
    /// or revoked in the login ledger.
    ///
    /// ```
    /// assert_eq!(satchel_session::SessionStats::default().revoked(), 0);
    /// ```
    pub fn revoked(&self) -> u64 {
        self.revoked
    }

    /// How many stored sessions did not deserialize into the struct of a
    /// [`TypedSession`](crate::TypedSession) (a field's type changed, a field was added without
    /// a default, …): each handler got `T::default()` instead, and the stored keys were kept.
    /// The reason is logged at `warn`.
    ///
    /// ```
    /// assert_eq!(satchel_session::SessionStats::default().typed_rejected(), 0);
    /// ```
    pub fn typed_rejected(&self) -> u64 {
        self.typed_rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_holds_the_counts_at_the_time_it_was_taken() {
        let counters = Counters::default();
        counters.rejected(RejectReason::Tampered);
        counters.rejected(RejectReason::Expired);
        counters.oversized();
        counters.busy();
        counters.store_error();
        counters.commit_refused();
        counters.typed_rejected();
        let before = counters.snapshot();
        counters.rejected(RejectReason::Tampered);
        assert_eq!(before.rejected(RejectReason::Tampered), 1);
        assert_eq!(before.rejected_total(), 2);
        assert_eq!(
            (
                before.oversized(),
                before.busy(),
                before.store_errors(),
                before.commit_refused(),
                before.typed_rejected()
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(counters.snapshot().rejected(RejectReason::Tampered), 2);
    }
}
