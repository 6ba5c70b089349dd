//! The remote order source's short read cache: a pure, bounded map from a key to an answer and
//! the time it was read, time passed in.
//!
//! Only a **fresh** entry (younger than the ttl) is ever returned. An expired one is as good as
//! absent: when the store is down and the entry has expired, the source answers "unavailable",
//! never the old status as if it were current. Changes the store announces (inbound events)
//! invalidate entries at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Answers by key, each kept for `ttl`; at most `capacity` of them.
#[derive(Debug)]
pub struct Cache<V> {
    entries: HashMap<String, (Instant, V)>,
    ttl: Duration,
    capacity: usize,
}

impl<V: Clone> Cache<V> {
    /// A zero `ttl` caches nothing.
    pub fn new(ttl: Duration, capacity: usize) -> Cache<V> {
        Cache { entries: HashMap::new(), ttl, capacity: capacity.max(1) }
    }

    /// The answer for `key` if it was read less than the ttl before `now`.
    pub fn fresh(&self, key: &str, now: Instant) -> Option<V> {
        let (at, v) = self.entries.get(key)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| v.clone())
    }

    /// Keeps `value` for `key`, read at `now`. When full, expired entries go first, then (if
    /// still full) everything: a cache this short-lived loses little by starting over.
    pub fn put(&mut self, key: String, value: V, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let ttl = self.ttl;
            self.entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (now, value));
    }

    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_returned_only_while_fresh() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(5);
        let mut c = Cache::new(ttl, 10);
        c.put("order:1".into(), "shipped", t0);
        assert_eq!(c.fresh("order:1", t0 + ttl - Duration::from_millis(1)), Some("shipped"));
        assert_eq!(c.fresh("order:1", t0 + ttl), None, "expired is absent, never stale");
        assert_eq!(c.fresh("order:2", t0), None);
        c.remove("order:1");
        assert_eq!(c.fresh("order:1", t0), None);
        // a zero ttl caches nothing
        let mut none = Cache::new(Duration::ZERO, 10);
        none.put("k".into(), 1, t0);
        assert_eq!(none.fresh("k", t0), None);
    }

    #[test]
    fn it_stays_within_its_capacity() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(5);
        let mut c = Cache::new(ttl, 2);
        c.put("a".into(), 1, t0);
        c.put("b".into(), 2, t0 + Duration::from_secs(4));
        // a has expired by now: it makes room
        c.put("c".into(), 3, t0 + Duration::from_secs(6));
        assert_eq!(
            (c.fresh("b", t0 + Duration::from_secs(6)), c.fresh("c", t0 + Duration::from_secs(6))),
            (Some(2), Some(3))
        );
        // nothing expired: start over
        c.put("d".into(), 4, t0 + Duration::from_secs(6));
        assert_eq!(c.entries.len(), 1);
        assert_eq!(c.fresh("d", t0 + Duration::from_secs(6)), Some(4));
    }
}
