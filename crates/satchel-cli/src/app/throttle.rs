//! Failed-login throttle: at most [`MAX_FAILURES`] password checks that can fail, per user name
//! and address, within [`WINDOW`]; further attempts get 429 until the window passes, so the
//! demo is no password-guessing oracle. In memory, per process.
//!
//! An attempt is reserved *before* its password is checked ([`Throttle::begin`]) and counts
//! against the limit while in flight, so parallel guesses cannot all pass the check before
//! any of them is counted: of N simultaneous wrong guesses at most `MAX_FAILURES` are
//! evaluated. A reservation becomes a failure ([`Attempt::failed`]), is cleared with every
//! failure by a success ([`Attempt::succeeded`]), or is released unevaluated when dropped
//! (the check could not run: the checker was busy or the user table unavailable).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Tracked (name, address) pairs beyond which expired entries are swept; a full table refuses
/// new pairs (fails closed) rather than forgetting old ones.
const MAX_ENTRIES: usize = 100_000;

type Key = (String, Option<IpAddr>);

/// One (name, address) pair's failures since `since`, and its checks in flight.
#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    in_flight: u32,
    since: Instant,
}

#[derive(Clone, Default)]
pub struct Throttle {
    entries: Arc<Mutex<HashMap<Key, Entry>>>,
}

/// A reserved login attempt (see the module docs). Dropped unresolved, it is released.
pub struct Attempt {
    throttle: Throttle,
    key: Key,
    resolved: bool,
}

impl Throttle {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves one attempt for this name and address, or `Err(seconds to wait)` when its
    /// failures and attempts in flight already reach [`MAX_FAILURES`].
    pub fn begin(&self, name: &str, addr: Option<IpAddr>) -> Result<Attempt, u64> {
        let now = Instant::now();
        let key = (name.to_ascii_lowercase(), addr);
        let mut entries = self.lock();
        if !entries.contains_key(&key) && entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.in_flight > 0 || now.duration_since(e.since) < WINDOW);
            if entries.len() >= MAX_ENTRIES {
                return Err(WINDOW.as_secs());
            }
        }
        let entry = entries.entry(key.clone()).or_insert(Entry {
            failures: 0,
            in_flight: 0,
            since: now,
        });
        if now.duration_since(entry.since) >= WINDOW {
            entry.failures = 0;
            entry.since = now;
        }
        if entry.failures.saturating_add(entry.in_flight) >= MAX_FAILURES {
            let left = WINDOW.saturating_sub(now.duration_since(entry.since));
            return Err(left.as_secs().max(1));
        }
        if entry.failures == 0 && entry.in_flight == 0 {
            entry.since = now;
        }
        entry.in_flight += 1;
        Ok(Attempt {
            throttle: self.clone(),
            key,
            resolved: false,
        })
    }
}

impl Attempt {
    /// The password was wrong: the reservation becomes a counted failure.
    pub fn failed(mut self) {
        self.resolve(|entry| entry.failures = entry.failures.saturating_add(1));
    }

    /// The password was right: this pair's failures are forgotten.
    pub fn succeeded(mut self) {
        self.resolve(|entry| entry.failures = 0);
    }

    fn resolve(&mut self, change: impl FnOnce(&mut Entry)) {
        self.resolved = true;
        let mut entries = self.throttle.lock();
        if let Some(entry) = entries.get_mut(&self.key) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            change(entry);
            if entry.failures == 0 && entry.in_flight == 0 {
                entries.remove(&self.key);
            }
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.resolved {
            self.resolve(|_| {});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn locks_out_after_max_failures_per_name_and_address() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            throttle.begin("Admin", HERE).unwrap().failed();
        }
        assert!(throttle.begin("admin", HERE).is_err());
        assert!(throttle.begin("admin", Some([10, 0, 0, 1].into())).is_ok());
        assert!(throttle.begin("alice", HERE).is_ok());
    }

    #[test]
    fn attempts_in_flight_count_against_the_limit() {
        let throttle = Throttle::default();
        let in_flight: Vec<Attempt> = (0..MAX_FAILURES)
            .map(|_| throttle.begin("admin", HERE).unwrap())
            .collect();
        assert!(throttle.begin("admin", HERE).is_err());
        drop(in_flight);
        assert!(throttle.begin("admin", HERE).is_ok());
    }

    #[test]
    fn a_success_forgets_the_failures() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.begin("admin", HERE).unwrap().failed();
        }
        throttle.begin("admin", HERE).unwrap().succeeded();
        for _ in 0..MAX_FAILURES {
            throttle.begin("admin", HERE).unwrap().failed();
        }
        assert!(throttle.begin("admin", HERE).is_err());
    }
}
