//! Failed-login throttle: after [`MAX_FAILURES`] failures for one user name from one address
//! within [`WINDOW`], further attempts get 429 until the window passes, so the demo is no
//! password-guessing oracle. In memory, per process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Tracked (name, address) pairs beyond which expired entries are swept; a full table refuses
/// new pairs (fails closed) rather than forgetting old ones.
const MAX_ENTRIES: usize = 100_000;

type Key = (String, Option<IpAddr>);

#[derive(Clone, Default)]
pub struct Throttle {
    failures: Arc<Mutex<HashMap<Key, (u32, Instant)>>>,
}

impl Throttle {
    /// `Err(seconds to wait)` if this name and address are locked out.
    pub fn check(&self, name: &str, addr: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let key = (name.to_ascii_lowercase(), addr);
        match failures.get(&key) {
            Some(&(count, since)) if now.duration_since(since) < WINDOW => {
                if count >= MAX_FAILURES {
                    Err((WINDOW - now.duration_since(since)).as_secs().max(1))
                } else {
                    Ok(())
                }
            }
            Some(_) => {
                failures.remove(&key);
                Ok(())
            }
            None if failures.len() >= MAX_ENTRIES => {
                failures.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
                if failures.len() >= MAX_ENTRIES {
                    Err(WINDOW.as_secs())
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, name: &str, addr: Option<IpAddr>) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let entry = failures
            .entry((name.to_ascii_lowercase(), addr))
            .or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
    }

    /// Forgets the failures after a successful login.
    pub fn succeeded(&self, name: &str, addr: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&(name.to_ascii_lowercase(), addr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_max_failures_per_name_and_address() {
        let throttle = Throttle::default();
        let here = Some(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..MAX_FAILURES {
            assert!(throttle.check("Admin", here).is_ok());
            throttle.failed("Admin", here);
        }
        assert!(throttle.check("admin", here).is_err());
        assert!(throttle.check("admin", Some([10, 0, 0, 1].into())).is_ok());
        assert!(throttle.check("alice", here).is_ok());
        throttle.succeeded("admin", here);
        assert!(throttle.check("admin", here).is_ok());
    }
}
