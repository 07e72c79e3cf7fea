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
}
