//! Counters the layer keeps: cookies rejected (by reason) and sessions too large for a cookie.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::codec::RejectReason;

/// Counts kept by one [`SessionLayer`](crate::SessionLayer); read them for metrics.
///
/// ```
/// use satchel::codec::RejectReason;
/// let stats = satchel::SessionStats::default();
/// stats.count_rejected(RejectReason::Tampered);
/// assert_eq!(stats.rejected(RejectReason::Tampered), 1);
/// assert_eq!(stats.rejected_total(), 1);
/// ```
#[derive(Debug, Default)]
pub struct SessionStats {
    rejected: [AtomicU64; RejectReason::ALL.len()],
    oversized: AtomicU64,
    busy: AtomicU64,
    store_errors: AtomicU64,
    commit_refused: AtomicU64,
}

impl SessionStats {
    /// Counts one refused cookie.
    ///
    /// ```
    /// let stats = satchel::SessionStats::default();
    /// stats.count_rejected(satchel::codec::RejectReason::Expired);
    /// assert_eq!(stats.rejected(satchel::codec::RejectReason::Expired), 1);
    /// ```
    pub fn count_rejected(&self, reason: RejectReason) {
        self.rejected[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// How many cookies were refused for `reason`.
    ///
    /// ```
    /// let stats = satchel::SessionStats::default();
    /// assert_eq!(stats.rejected(satchel::codec::RejectReason::Malformed), 0);
    /// ```
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected[reason as usize].load(Ordering::Relaxed)
    }

    /// How many cookies were refused, for any reason.
    ///
    /// ```
    /// assert_eq!(satchel::SessionStats::default().rejected_total(), 0);
    /// ```
    pub fn rejected_total(&self) -> u64 {
        RejectReason::ALL.iter().map(|&r| self.rejected(r)).sum()
    }

    /// Counts one session that was too large to send as a cookie.
    ///
    /// ```
    /// let stats = satchel::SessionStats::default();
    /// stats.count_oversized();
    /// assert_eq!(stats.oversized(), 1);
    /// ```
    pub fn count_oversized(&self) {
        self.oversized.fetch_add(1, Ordering::Relaxed);
    }

    /// How many responses failed because their session was too large for a cookie.
    ///
    /// ```
    /// assert_eq!(satchel::SessionStats::default().oversized(), 0);
    /// ```
    pub fn oversized(&self) -> u64 {
        self.oversized.load(Ordering::Relaxed)
    }

    /// Counts one of the writers turned away with a 503 because another request held the session past the wait.
    ///
    /// ```
    /// let stats = satchel::SessionStats::default();
    /// stats.count_busy();
    /// assert_eq!(stats.busy(), 1);
    /// ```
    pub fn count_busy(&self) {
        self.busy.fetch_add(1, Ordering::Relaxed);
    }

    /// How many writers turned away with a 503 because another request held the session past the wait.
    ///
    /// ```
    /// assert_eq!(satchel::SessionStats::default().busy(), 0);
    /// ```
    pub fn busy(&self) -> u64 {
        self.busy.load(Ordering::Relaxed)
    }

    /// Counts one of the store calls that failed (unavailable, timed out, full, corrupt); each is a 503 or 500.
    ///
    /// ```
    /// let stats = satchel::SessionStats::default();
    /// stats.count_store_error();
    /// assert_eq!(stats.store_errors(), 1);
    /// ```
    pub fn count_store_error(&self) {
        self.store_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// How many store calls that failed (unavailable, timed out, full, corrupt); each is a 503 or 500.
    ///
    /// ```
    /// assert_eq!(satchel::SessionStats::default().store_errors(), 0);
    /// ```
    pub fn store_errors(&self) -> u64 {
        self.store_errors.load(Ordering::Relaxed)
    }

    /// Counts one of the commits the store refused because the lease was lost or the session ended meanwhile (each a 503).
    ///
    /// ```
    /// let stats = satchel::SessionStats::default();
    /// stats.count_commit_refused();
    /// assert_eq!(stats.commit_refused(), 1);
    /// ```
    pub fn count_commit_refused(&self) {
        self.commit_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// How many commits the store refused because the lease was lost or the session ended meanwhile (each a 503).
    ///
    /// ```
    /// assert_eq!(satchel::SessionStats::default().commit_refused(), 0);
    /// ```
    pub fn commit_refused(&self) -> u64 {
        self.commit_refused.load(Ordering::Relaxed)
    }
}
