//! Failed-login throttle: at most [`MAX_FAILURES`] password checks that can fail, per user name
//! and client, within [`WINDOW`]; further attempts get 429 until the window passes, so the
//! demo is no password-guessing oracle. In memory, per process.
//!
//! A client is one of (OWASP's defence against lockout denial of service):
//! - **a device** that logged in as this user before ([`Client::Device`], its device cookie,
//!   see [`devices`](super::devices)): counted on its own, so nobody else's failures ever
//!   lock it out;
//! - **an address** otherwise ([`Client::Address`]: the client's address, behind trusted
//!   proxies the one they forward; an IPv6 address counts as its /64, [`address_group`]).
//!   Failures from one address lock out only new clients of that user at that address.
//!
//! An attempt is reserved *before* its password is checked ([`Throttle::begin`]) and counts
//! against the limit while in flight, so parallel guesses cannot all pass the check before
//! any of them is counted: of N simultaneous wrong guesses at most `MAX_FAILURES` are
//! evaluated. A reservation becomes a failure ([`Attempt::failed`]), is cleared with every
//! failure by a success ([`Attempt::succeeded`]), or is released unevaluated when dropped
//! (the check could not run: the checker was busy or the user table unavailable).
//!
//! The table holds at most [`MAX_ENTRIES`] (user, client) pairs. When a new pair finds it
//! full, expired windows go, then the oldest sixteenth of the windows (never an attempt in
//! flight): the table never refuses everyone. Filling it to push a lockout out takes
//! 100,000 failed password checks, each a full argon2 hash (minutes to hours on the
//! checker's few slots), and device holders are never affected.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Tracked (name, client) pairs; past this, the oldest windows are forgotten (module docs).
pub const MAX_ENTRIES: usize = 100_000;

/// Who is trying to log in, for the throttle (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    /// A client with a device cookie earned by this user: the cookie's id.
    Device(String),
    /// Any other client: its address (`None`: unknown).
    Address(Option<IpAddr>),
}

type Key = (String, Client);

/// One (name, client) pair's failures since `since`, and its checks in flight.
#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    in_flight: u32,
    since: Instant,
}

/// The addresses one client is taken to have: an IPv4 address, or an IPv6 address's /64
/// (what a provider gives one customer), so one client cannot spread over its 2^64
/// addresses. The connection cap counts per group as well.
pub fn address_group(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
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

    /// Reserves one attempt for the user whose [name key](super::users::name_key) is
    /// `name_key`, from `client`, or `Err(seconds to wait)` when its failures and attempts in
    /// flight already reach [`MAX_FAILURES`].
    pub fn begin(&self, name_key: &str, client: Client) -> Result<Attempt, u64> {
        let now = Instant::now();
        let client = match client {
            Client::Address(addr) => Client::Address(addr.map(address_group)),
            device => device,
        };
        let key = (name_key.to_owned(), client);
        let mut entries = self.lock();
        if !entries.contains_key(&key) && entries.len() >= MAX_ENTRIES {
            make_room(&mut entries, now);
            if entries.len() >= MAX_ENTRIES {
                // Every entry is an attempt in flight (never, with far fewer connections).
                return Err(1);
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

/// Forgets expired windows, then (still full) the oldest sixteenth; never an attempt in flight.
fn make_room(entries: &mut HashMap<Key, Entry>, now: Instant) {
    entries.retain(|_, e| e.in_flight > 0 || now.duration_since(e.since) < WINDOW);
    if entries.len() < MAX_ENTRIES {
        return;
    }
    let mut starts: Vec<Instant> = entries
        .values()
        .filter(|e| e.in_flight == 0)
        .map(|e| e.since)
        .collect();
    let forget = (MAX_ENTRIES / 16).min(starts.len());
    if forget == 0 {
        return;
    }
    let (_, &mut cutoff, _) = starts.select_nth_unstable(forget - 1);
    entries.retain(|_, e| e.in_flight > 0 || e.since > cutoff);
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

    const HERE: Client = Client::Address(Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)));

    fn from(addr: &str) -> Client {
        Client::Address(Some(addr.parse().unwrap()))
    }

    #[test]
    fn locks_out_after_max_failures_per_name_and_address() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            throttle.begin("admin", HERE).unwrap().failed();
        }
        assert!(throttle.begin("admin", HERE).is_err());
        assert!(throttle.begin("admin", from("10.0.0.1")).is_ok());
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

    #[test]
    fn a_full_table_still_admits_a_new_client() {
        let throttle = Throttle::default();
        for i in 0..MAX_ENTRIES {
            throttle.begin(&format!("user{i}"), HERE).unwrap().failed();
        }
        assert!(throttle.begin("admin", HERE).is_ok());
        // The newest windows are kept: the last guesses are still counted.
        for _ in 0..MAX_FAILURES {
            throttle.begin("admin", HERE).unwrap().failed();
        }
        assert!(throttle.begin("admin", HERE).is_err());
    }

    #[test]
    fn a_device_is_not_locked_out_by_its_users_other_clients() {
        let throttle = Throttle::default();
        for _ in 0..MAX_FAILURES {
            throttle.begin("admin", HERE).unwrap().failed();
        }
        assert!(throttle.begin("admin", HERE).is_err());
        let device = Client::Device("nonce".into());
        for _ in 0..MAX_FAILURES {
            throttle.begin("admin", device.clone()).unwrap().failed();
        }
        // A device has its own limit, and using it up locks out no one else.
        assert!(throttle.begin("admin", device).is_err());
        assert!(throttle
            .begin("admin", Client::Device("other".into()))
            .is_ok());
        assert!(throttle.begin("admin", from("192.0.2.1")).is_ok());
    }

    #[test]
    fn an_ipv6_client_counts_as_its_slash_64() {
        let throttle = Throttle::default();
        for i in 0..MAX_FAILURES {
            let spread = from(&format!("2001:db8::{i:x}"));
            throttle.begin("admin", spread).unwrap().failed();
        }
        assert!(throttle.begin("admin", from("2001:db8::ffff")).is_err());
        assert!(throttle.begin("admin", from("2001:db8:0:1::1")).is_ok());
    }
}
