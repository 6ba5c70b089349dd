//! Rate limits shared by all of a client's connections: new conversations and messages per
//! minute, per client address and per signed-in shopper (a connection's own message limit is the
//! session's). Without them, a thousand connections that each say `hello` make a thousand
//! conversations, and a shopper's rate grows with every tab they open.
//!
//! Token buckets keyed by address (see `web::listener::address_key`) or shopper id: each key
//! refills at its per-minute rate up to one minute's worth. The tables are bounded: a key whose
//! bucket is full again is the same as no key, so it is dropped when room is needed; when
//! every key is busy, new keys are refused rather than the table grown. Pure: time comes in.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Config;

/// Keys one table holds at most.
pub const MAX_KEYS: usize = 65_536;
/// A full table looks for full buckets to drop at most this often.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key, `per_minute` each (or per `period`), at most `cap` keys.
#[derive(Debug)]
pub struct Buckets<K> {
    per_minute: f64,
    /// Seconds in which a bucket refills from empty (60 unless [`Buckets::per_period`]).
    period: f64,
    cap: usize,
    map: HashMap<K, Bucket>,
    pruned: Option<Instant>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    pub fn new(per_minute: u32, cap: usize) -> Buckets<K> {
        Buckets::per_period(per_minute, Duration::from_secs(60), cap)
    }

    /// `n` tokens per `period` (e.g. photos per hour).
    pub fn per_period(n: u32, period: Duration, cap: usize) -> Buckets<K> {
        Buckets { per_minute: n as f64, period: period.as_secs_f64(), cap, map: HashMap::new(), pruned: None }
    }

    fn refilled(&self, b: Bucket, now: Instant) -> f64 {
        let secs = now.saturating_duration_since(b.at).as_secs_f64();
        (b.tokens + secs * self.per_minute / self.period).min(self.per_minute)
    }

    /// Takes one token for `key`; false when it has none left (or the table is full of busy
    /// keys).
    pub fn take(&mut self, key: &K, now: Instant) -> bool {
        if !self.map.contains_key(key) && self.map.len() >= self.cap && !self.prune(now) {
            return false;
        }
        let fresh = Bucket { tokens: self.per_minute, at: now };
        let b = *self.map.get(key).unwrap_or(&fresh);
        let tokens = self.refilled(b, now);
        let ok = tokens >= 1.0;
        self.map.insert(key.clone(), Bucket { tokens: if ok { tokens - 1.0 } else { tokens }, at: now });
        ok
    }

    /// Gives back a token taken for something that turned out not to count (a resent message).
    pub fn give_back(&mut self, key: &K) {
        if let Some(b) = self.map.get_mut(key) {
            b.tokens = (b.tokens + 1.0).min(self.per_minute);
        }
    }

    /// Drops the keys whose buckets are full again; whether there is room now.
    fn prune(&mut self, now: Instant) -> bool {
        if self.pruned.is_some_and(|at| now.saturating_duration_since(at) < PRUNE_EVERY) {
            return false;
        }
        self.pruned = Some(now);
        let (per_minute, period) = (self.per_minute, self.period);
        self.map.retain(|_, b| {
            let secs = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens + secs * per_minute / period < per_minute
        });
        self.map.len() < self.cap
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Which limit said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Address,
    Shopper,
}

impl Limited {
    pub fn as_str(self) -> &'static str {
        match self {
            Limited::Address => "address",
            Limited::Shopper => "shopper",
        }
    }
}

/// One token from the shopper's bucket (when signed in) and one from the address's, or none:
/// a refusal by the address gives the shopper's token back.
fn take_pair(
    shoppers: &mut Buckets<String>,
    addresses: &mut Buckets<IpAddr>,
    address: IpAddr,
    shopper: Option<&str>,
) -> Result<(), Limited> {
    let now = Instant::now();
    let shopper = shopper.map(str::to_string);
    if let Some(s) = &shopper {
        if !shoppers.take(s, now) {
            return Err(Limited::Shopper);
        }
    }
    if !addresses.take(&address, now) {
        if let Some(s) = &shopper {
            shoppers.give_back(s);
        }
        return Err(Limited::Address);
    }
    Ok(())
}

#[derive(Debug)]
struct Tables {
    address_conversations: Buckets<IpAddr>,
    address_messages: Buckets<IpAddr>,
    shopper_conversations: Buckets<String>,
    shopper_messages: Buckets<String>,
    /// Photo uploads per address, per hour.
    address_images: Buckets<IpAddr>,
}

/// The service's shared limits (one per server, in `AppState`).
#[derive(Debug)]
pub struct Rates(Mutex<Tables>);

impl Rates {
    pub fn new(config: &Config) -> Rates {
        Rates(Mutex::new(Tables {
            address_conversations: Buckets::new(config.address_conversations_per_minute, MAX_KEYS),
            address_messages: Buckets::new(config.address_messages_per_minute, MAX_KEYS),
            shopper_conversations: Buckets::new(config.shopper_conversations_per_minute, MAX_KEYS),
            shopper_messages: Buckets::new(config.shopper_messages_per_minute, MAX_KEYS),
            address_images: Buckets::per_period(
                config.address_images_per_hour,
                Duration::from_secs(3600),
                MAX_KEYS,
            ),
        }))
    }

    /// May `address` (and `shopper`, when signed in) start a new conversation now?
    pub fn new_conversation(&self, address: IpAddr, shopper: Option<&str>) -> Result<(), Limited> {
        let t = &mut *self.0.lock().expect("rates lock");
        take_pair(&mut t.shopper_conversations, &mut t.address_conversations, address, shopper)
    }

    /// May `address` (and `shopper`) send one more message now?
    pub fn message(&self, address: IpAddr, shopper: Option<&str>) -> Result<(), Limited> {
        let t = &mut *self.0.lock().expect("rates lock");
        take_pair(&mut t.shopper_messages, &mut t.address_messages, address, shopper)
    }

    /// May `address` upload one more photo now (`address_images_per_hour`)?
    pub fn image(&self, address: IpAddr) -> Result<(), Limited> {
        let t = &mut *self.0.lock().expect("rates lock");
        if t.address_images.take(&address, Instant::now()) {
            Ok(())
        } else {
            Err(Limited::Address)
        }
    }

    /// Gives back what [`Rates::message`] took, for a message that was already stored.
    pub fn message_refund(&self, address: IpAddr, shopper: Option<&str>) {
        let mut t = self.0.lock().expect("rates lock");
        if let Some(s) = shopper {
            t.shopper_messages.give_back(&s.to_string());
        }
        t.address_messages.give_back(&address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_minutes_worth_then_refills() {
        let t0 = Instant::now();
        let mut b = Buckets::new(3, 10);
        assert!((0..3).all(|_| b.take(&"a", t0)));
        assert!(!b.take(&"a", t0));
        assert!(b.take(&"b", t0), "keys are independent");
        // one token back after a third of a minute
        assert!(b.take(&"a", t0 + Duration::from_secs(20)));
        assert!(!b.take(&"a", t0 + Duration::from_secs(20)));
        b.give_back(&"a");
        assert!(b.take(&"a", t0 + Duration::from_secs(20)));
    }

    #[test]
    fn an_hourly_bucket_refills_over_an_hour() {
        let t0 = Instant::now();
        let mut b = Buckets::per_period(2, Duration::from_secs(3600), 10);
        assert!(b.take(&"a", t0) && b.take(&"a", t0));
        assert!(!b.take(&"a", t0 + Duration::from_secs(60)), "a minute is not enough");
        assert!(b.take(&"a", t0 + Duration::from_secs(1800)), "half an hour gives one back");
    }

    #[test]
    fn the_table_stays_bounded() {
        let t0 = Instant::now();
        let mut b = Buckets::new(2, 3);
        for k in 0..3 {
            assert!(b.take(&k, t0));
        }
        // full of busy keys: a new key is refused, the table does not grow
        assert!(!b.take(&99, t0));
        assert_eq!(b.len(), 3);
        // a minute later every bucket is full again: they make room
        assert!(b.take(&99, t0 + Duration::from_secs(61)));
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn shared_limits_count_across_connections_and_refund() {
        let config = Config {
            address_conversations_per_minute: 2,
            shopper_messages_per_minute: 2,
            address_messages_per_minute: 100,
            ..Config::default()
        };
        let r = Rates::new(&config);
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(r.new_conversation(a, None), Ok(()));
        assert_eq!(r.new_conversation(a, Some("S1")), Ok(()));
        assert_eq!(r.new_conversation(a, None), Err(Limited::Address));
        assert_eq!(r.message(a, Some("S1")), Ok(()));
        assert_eq!(r.message(a, Some("S1")), Ok(()));
        assert_eq!(r.message(a, Some("S1")), Err(Limited::Shopper));
        r.message_refund(a, Some("S1"));
        assert_eq!(r.message(a, Some("S1")), Ok(()));
        assert_eq!(r.message(a, None), Ok(()), "a guest on the same address is not that shopper");
    }
}
