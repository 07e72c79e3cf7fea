//! Where "now" comes from. Codecs take `now` as an argument; the layer asks a [`Clock`], so
//! expiry can be tested by moving a [`ManualClock`] instead of sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in Unix seconds.
///
/// ```
/// let clock = satchel_session::Clock::system();
/// assert!(clock.now() > 1_700_000_000);
/// ```
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The system clock.
    ///
    /// ```
    /// let _ = satchel_session::Clock::system().now();
    /// ```
    pub fn system() -> Self {
        Clock(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        }))
    }

    /// The current time, in seconds since the Unix epoch.
    ///
    /// ```
    /// let (clock, _hands) = satchel_session::Clock::manual(42);
    /// assert_eq!(clock.now(), 42);
    /// ```
    pub fn now(&self) -> u64 {
        (self.0)()
    }

    /// A clock that stands still until moved through the returned [`ManualClock`].
    ///
    /// ```
    /// let (clock, hands) = satchel_session::Clock::manual(100);
    /// hands.advance(5);
    /// assert_eq!(clock.now(), 105);
    /// ```
    pub fn manual(start: u64) -> (Self, ManualClock) {
        let hands = ManualClock(Arc::new(AtomicU64::new(start)));
        let reader = hands.clone();
        (Clock(Arc::new(move || reader.get())), hands)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The hands of a manual [`Clock`]: set or advance the time it reports.
///
/// ```
/// let (clock, hands) = satchel_session::Clock::manual(0);
/// hands.set(1_000);
/// assert_eq!(clock.now(), 1_000);
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// Moves the clock forward by `seconds`.
    ///
    /// ```
    /// let (clock, hands) = satchel_session::Clock::manual(1);
    /// hands.advance(2);
    /// assert_eq!(clock.now(), 3);
    /// ```
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Sets the clock to `unix_seconds`.
    ///
    /// ```
    /// let (clock, hands) = satchel_session::Clock::manual(1);
    /// hands.set(7);
    /// assert_eq!(clock.now(), 7);
    /// ```
    pub fn set(&self, unix_seconds: u64) {
        self.0.store(unix_seconds, Ordering::SeqCst);
    }

    /// The time the clock reports.
    ///
    /// ```
    /// let (_clock, hands) = satchel_session::Clock::manual(9);
    /// assert_eq!(hands.get(), 9);
    /// ```
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
