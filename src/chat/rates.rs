//! Rate limits shared by all of a client's connections: new conversations and messages per
//! minute, per client address and per signed-in shopper (a connection's own message limit is the
//! session's). Without them, a thousand connections that each say `hello` make a thousand
//! conversations, and a shopper's rate grows with every tab they open.
//!
//! Token buckets keyed by address (see `web::listener::address_key`) or shopper id: each key
//! refills at its per-minute rate up to one minute's worth. The tables are bounded: a key whose
//! bucket is full again is the same as no key, so it is dropped when room is needed; when
//! every key is busy, new keys are refused rather than the table grown. Pure: time comes in.
//!
//! Several nodes (issue 19): a client's connections may land on different nodes, so each node's
//! buckets also pay for what the others took. Once [`Rates::share`] is on, every table counts
//! the tokens it hands out by key ([`Rates::drain_consumed`] takes the counts since the last
//! call, as a [`Consumed`] report, split into bounded messages by [`Consumed::split`]); the
//! reports of the other nodes come back in through [`Rates::debit`], which takes the same tokens
//! from this node's buckets (down to one bucket's worth of debt, so a burst seen late is paid
//! back by refilling). The bus driver (`chat::rates_sync`) sends a report every
//! `rates_sync::INTERVAL`. What can get through beyond the limit: whatever the *other* nodes
//! let through for a key in one interval (plus the bus's transit) before they hear of each
//! other — at most each node's own bucket once, in a burst that starts on all nodes at once;
//! after that the shared rate holds. A node that misses a report (the bus is at most once)
//! allows that much once more. Counts are bounded ([`MAX_REPORTED`] keys per table per
//! interval; the keys beyond it go unreported and are limited per node only).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::Config;

/// Keys one table holds at most.
pub const MAX_KEYS: usize = 65_536;
/// A full table looks for full buckets to drop at most this often.
const PRUNE_EVERY: Duration = Duration::from_secs(1);
/// Keys one table reports to the other nodes per report at most.
pub const MAX_REPORTED: usize = 1_024;
/// A key longer than this (a shopper id) is never reported: it could not fit one message.
const MAX_KEY_BYTES: usize = 256;

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
    /// Tokens taken by key since the last [`Buckets::drain_consumed`]; `None` when not shared.
    consumed: Option<HashMap<K, u32>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    pub fn new(per_minute: u32, cap: usize) -> Buckets<K> {
        Buckets::per_period(per_minute, Duration::from_secs(60), cap)
    }

    /// `n` tokens per `period` (e.g. photos per hour).
    pub fn per_period(n: u32, period: Duration, cap: usize) -> Buckets<K> {
        Buckets {
            per_minute: n as f64,
            period: period.as_secs_f64(),
            cap,
            map: HashMap::new(),
            pruned: None,
            consumed: None,
        }
    }

    /// Counts the tokens taken from now on, for [`Buckets::drain_consumed`].
    pub fn count_consumed(&mut self) {
        self.consumed.get_or_insert_with(HashMap::new);
    }

    /// The tokens taken by key since the last call (nothing unless counting).
    pub fn drain_consumed(&mut self) -> Vec<(K, u32)> {
        self.consumed.as_mut().map(|c| c.drain().collect()).unwrap_or_default()
    }

    /// Takes `n` tokens another node handed out for `key` from this node's bucket, down to one
    /// bucket's worth of debt (a key with no bucket gets one, if there is room).
    pub fn debit(&mut self, key: &K, n: u32, now: Instant) {
        if !self.map.contains_key(key) && self.map.len() >= self.cap && !self.prune(now) {
            return;
        }
        let fresh = Bucket { tokens: self.per_minute, at: now };
        let b = *self.map.get(key).unwrap_or(&fresh);
        let tokens = (self.refilled(b, now) - n as f64).max(-self.per_minute);
        self.map.insert(key.clone(), Bucket { tokens, at: now });
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
        if let Some(consumed) = self.consumed.as_mut().filter(|_| ok) {
            if let Some(n) = consumed.get_mut(key) {
                *n += 1;
            } else if consumed.len() < MAX_REPORTED {
                consumed.insert(key.clone(), 1);
            }
        }
        ok
    }

    /// Gives back a token taken for something that turned out not to count (a resent message).
    pub fn give_back(&mut self, key: &K) {
        if let Some(b) = self.map.get_mut(key) {
            b.tokens = (b.tokens + 1.0).min(self.per_minute);
        }
        // not reported yet: the other nodes never hear of it (once reported, they keep it)
        if let Some(n) = self.consumed.as_mut().and_then(|c| c.get_mut(key)) {
            *n = n.saturating_sub(1);
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
    /// Tokens taken by the other nodes' reports.
    debited: Debited,
}

/// What one node's tables handed out by key since its last report: what the other nodes take
/// from their own buckets ([`Rates::debit`]). On the wire as JSON, the tables by short names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Consumed {
    #[serde(default, rename = "ac", skip_serializing_if = "Vec::is_empty")]
    pub address_conversations: Vec<(IpAddr, u32)>,
    #[serde(default, rename = "am", skip_serializing_if = "Vec::is_empty")]
    pub address_messages: Vec<(IpAddr, u32)>,
    #[serde(default, rename = "sc", skip_serializing_if = "Vec::is_empty")]
    pub shopper_conversations: Vec<(String, u32)>,
    #[serde(default, rename = "sm", skip_serializing_if = "Vec::is_empty")]
    pub shopper_messages: Vec<(String, u32)>,
    #[serde(default, rename = "ai", skip_serializing_if = "Vec::is_empty")]
    pub address_images: Vec<(IpAddr, u32)>,
}

impl Consumed {
    pub fn is_empty(&self) -> bool {
        self.entries() == 0
    }

    /// Keys counted, over all tables.
    pub fn entries(&self) -> usize {
        self.address_conversations.len()
            + self.address_messages.len()
            + self.shopper_conversations.len()
            + self.shopper_messages.len()
            + self.address_images.len()
    }

    /// The same counts as reports of at most `max_bytes` of JSON each (none when empty). A key
    /// too long to report (over 256 bytes) is left out.
    pub fn split(self, max_bytes: usize) -> Vec<Consumed> {
        /// `{"xx":[` … `]}` and the separators: room kept for each table a batch opens.
        const TABLE: usize = 16;
        let mut out = Vec::new();
        let mut cur = Consumed::default();
        let mut size = 2;
        // the JSON of one entry, at most: an address or a quoted, escaped key, the count
        let cost_ip = |ip: &IpAddr| ip.to_string().len() + 16;
        let cost_key = |k: &String| serde_json::to_string(k).map_or(usize::MAX, |j| j.len() + 14);
        macro_rules! fill {
            ($field:ident, $cost:expr) => {
                let mut opened = false;
                for (k, n) in self.$field {
                    let c = $cost(&k);
                    if c > MAX_KEY_BYTES + 16 || c + TABLE + 2 > max_bytes {
                        continue;
                    }
                    let extra = c + if opened { 0 } else { TABLE };
                    if size + extra > max_bytes {
                        out.push(std::mem::take(&mut cur));
                        size = 2;
                        opened = false;
                    }
                    size += c + if opened { 0 } else { TABLE };
                    opened = true;
                    cur.$field.push((k, n));
                }
            };
        }
        fill!(address_conversations, cost_ip);
        fill!(address_messages, cost_ip);
        fill!(shopper_conversations, cost_key);
        fill!(shopper_messages, cost_key);
        fill!(address_images, cost_ip);
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
}

/// Tokens the other nodes' reports have taken from this node's tables so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Debited {
    pub address_conversations: u64,
    pub address_messages: u64,
    pub shopper_conversations: u64,
    pub shopper_messages: u64,
    pub address_images: u64,
}

impl Debited {
    pub fn total(&self) -> u64 {
        self.address_conversations
            + self.address_messages
            + self.shopper_conversations
            + self.shopper_messages
            + self.address_images
    }
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
            debited: Debited::default(),
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

    /// Counts what this node hands out from now on, for the other nodes ([`Rates::drain_consumed`]);
    /// a node alone never calls it.
    pub fn share(&self) {
        let t = &mut *self.0.lock().expect("rates lock");
        t.address_conversations.count_consumed();
        t.address_messages.count_consumed();
        t.shopper_conversations.count_consumed();
        t.shopper_messages.count_consumed();
        t.address_images.count_consumed();
    }

    /// What this node handed out since the last call (empty unless [`Rates::share`] is on).
    pub fn drain_consumed(&self) -> Consumed {
        let t = &mut *self.0.lock().expect("rates lock");
        Consumed {
            address_conversations: t.address_conversations.drain_consumed(),
            address_messages: t.address_messages.drain_consumed(),
            shopper_conversations: t.shopper_conversations.drain_consumed(),
            shopper_messages: t.shopper_messages.drain_consumed(),
            address_images: t.address_images.drain_consumed(),
        }
    }

    /// Takes what another node reported from this node's buckets.
    pub fn debit(&self, other: &Consumed, now: Instant) {
        let t = &mut *self.0.lock().expect("rates lock");
        for (k, n) in &other.address_conversations {
            t.address_conversations.debit(k, *n, now);
        }
        for (k, n) in &other.address_messages {
            t.address_messages.debit(k, *n, now);
        }
        for (k, n) in &other.shopper_conversations {
            t.shopper_conversations.debit(k, *n, now);
        }
        for (k, n) in &other.shopper_messages {
            t.shopper_messages.debit(k, *n, now);
        }
        for (k, n) in &other.address_images {
            t.address_images.debit(k, *n, now);
        }
        fn sum<K>(v: &[(K, u32)]) -> u64 {
            v.iter().map(|(_, n)| u64::from(*n)).sum()
        }
        let d = &mut t.debited;
        d.address_conversations += sum(&other.address_conversations);
        d.address_messages += sum(&other.address_messages);
        d.shopper_conversations += sum(&other.shopper_conversations);
        d.shopper_messages += sum(&other.shopper_messages);
        d.address_images += sum(&other.address_images);
    }

    /// Tokens the other nodes' reports have taken here so far, by table.
    pub fn debited(&self) -> Debited {
        self.0.lock().expect("rates lock").debited
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

    #[test]
    fn another_nodes_tokens_are_taken_here_down_to_one_buckets_debt() {
        let t0 = Instant::now();
        let mut b = Buckets::new(6, 10);
        b.debit(&"a", 4, t0);
        assert!(b.take(&"a", t0) && b.take(&"a", t0));
        assert!(!b.take(&"a", t0), "6 a minute: 4 there and 2 here");
        // a burst seen late is paid back by refilling, down to one bucket's worth of debt
        b.debit(&"a", 100, t0);
        assert!(!b.take(&"a", t0 + Duration::from_secs(60)), "a minute pays the debt of 6 only");
        assert!(b.take(&"a", t0 + Duration::from_secs(80)));
        // a key this node has not seen gets a bucket; a full table of busy keys takes no more
        let mut full = Buckets::new(2, 1);
        full.debit(&"x", 1, t0);
        full.debit(&"y", 1, t0);
        assert_eq!(full.len(), 1);
    }

    #[test]
    fn what_a_shared_table_hands_out_is_counted_once_and_bounded() {
        let t0 = Instant::now();
        let mut alone = Buckets::new(10, 10);
        assert!(alone.take(&"a", t0));
        assert!(alone.drain_consumed().is_empty(), "a node alone counts nothing");

        let mut b = Buckets::new(3, MAX_REPORTED * 2);
        b.count_consumed();
        assert!((0..3).all(|_| b.take(&"a", t0)));
        assert!(!b.take(&"a", t0), "a refusal hands nothing out");
        b.give_back(&"a");
        b.debit(&"a", 2, t0);
        assert_eq!(b.drain_consumed(), [("a", 2)], "given back before the report; debits not counted");
        assert!(b.drain_consumed().is_empty(), "each token reported once");
        for k in 0..MAX_REPORTED + 5 {
            let key: &'static str = Box::leak(k.to_string().into_boxed_str());
            assert!(b.take(&key, t0));
        }
        assert_eq!(b.drain_consumed().len(), MAX_REPORTED, "keys beyond the bound go unreported");
    }

    #[test]
    fn reports_split_into_bounded_messages_and_keep_every_count() {
        let ip = |i: u32| IpAddr::from(std::net::Ipv6Addr::from(u128::from(i) << 64 | 0xffff));
        let all = Consumed {
            address_conversations: (0..300).map(|i| (ip(i), i)).collect(),
            address_messages: (0..700).map(|i| (ip(i), i + 1)).collect(),
            shopper_conversations: vec![("S1".into(), 1), ("x".repeat(300), 5)],
            shopper_messages: (0..500).map(|i| (format!("顾客\"{i}"), 2)).collect(),
            address_images: vec![("203.0.113.7".parse().unwrap(), 1)],
        };
        let batches = all.clone().split(2_000);
        assert!(batches.len() > 10);
        for b in &batches {
            let json = serde_json::to_string(b).unwrap();
            assert!(json.len() <= 2_000, "{} bytes", json.len());
            assert_eq!(&serde_json::from_str::<Consumed>(&json).unwrap(), b);
        }
        let mut merged = Consumed::default();
        for b in batches {
            merged.address_conversations.extend(b.address_conversations);
            merged.address_messages.extend(b.address_messages);
            merged.shopper_conversations.extend(b.shopper_conversations);
            merged.shopper_messages.extend(b.shopper_messages);
            merged.address_images.extend(b.address_images);
        }
        let expected = Consumed { shopper_conversations: vec![("S1".into(), 1)], ..all };
        assert_eq!(merged, expected, "everything but the over-long key, in order");
        assert!(Consumed::default().split(2_000).is_empty());
    }

    #[test]
    fn two_nodes_share_one_limit_through_their_reports() {
        let config = Config { address_conversations_per_minute: 3, ..Config::default() };
        let (a, b) = (Rates::new(&config), Rates::new(&config));
        a.share();
        b.share();
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        assert!((0..2).all(|_| a.new_conversation(ip, None).is_ok()));
        assert_eq!(b.new_conversation(ip, None), Ok(()));
        let (from_a, from_b) = (a.drain_consumed(), b.drain_consumed());
        b.debit(&from_a, Instant::now());
        a.debit(&from_b, Instant::now());
        assert_eq!((a.debited().total(), b.debited().address_conversations), (1, 2));
        assert_eq!(a.new_conversation(ip, None), Err(Limited::Address));
        assert_eq!(b.new_conversation(ip, None), Err(Limited::Address));
        let alone = Rates::new(&config);
        alone.new_conversation(ip, None).unwrap();
        assert!(alone.drain_consumed().is_empty(), "not shared: nothing counted");
    }
}
