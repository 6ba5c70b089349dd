//! The registry of live shopper sessions, keyed by conversation, with the orders each
//! conversation is about (`dialogue::notices::about`, kept up to date by the session after
//! each turn). An order change the store announces reaches only the sessions about that order;
//! each session then decides, from its own dialogue state, what to say (pure:
//! `dialogue::notices::order_notice`), stores it and sends it.
//!
//! One session per conversation is registered: a newer one (a resume on another connection)
//! takes the place of the older, which simply stops hearing. Bounded: a session that does not
//! keep up with [`QUEUE`] updates misses the next ones (it is told on its next question anyway).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::orders::events::OrderUpdate;

/// Order updates queued per session.
pub const QUEUE: usize = 16;

/// What a session hears from the registry.
pub type Updates = mpsc::Receiver<Arc<OrderUpdate>>;

struct Entry {
    session: u64,
    tx: mpsc::Sender<Arc<OrderUpdate>>,
    orders: BTreeSet<String>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    by_conv: HashMap<String, Entry>,
    /// order number → the conversations about it
    by_order: HashMap<String, BTreeSet<String>>,
}

impl Inner {
    fn unindex(&mut self, conv: &str, orders: &BTreeSet<String>) {
        for o in orders {
            if let Some(convs) = self.by_order.get_mut(o) {
                convs.remove(conv);
                if convs.is_empty() {
                    self.by_order.remove(o);
                }
            }
        }
    }
}

/// The live shopper sessions (shared by every connection).
#[derive(Default)]
pub struct LiveSessions {
    inner: Mutex<Inner>,
}

impl LiveSessions {
    pub fn new() -> LiveSessions {
        LiveSessions::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // plain maps: a panic elsewhere leaves them usable
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a session for `conv` (in place of an older one): its id and what it will hear.
    pub fn join(&self, conv: &str) -> (u64, Updates) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut inner = self.lock();
        inner.next += 1;
        let session = inner.next;
        if let Some(old) = inner.by_conv.remove(conv) {
            inner.unindex(conv, &old.orders);
        }
        inner.by_conv.insert(conv.to_string(), Entry { session, tx, orders: BTreeSet::new() });
        (session, rx)
    }

    /// The orders `conv` is about now (only for the session registered for it).
    pub fn watch(&self, conv: &str, session: u64, orders: BTreeSet<String>) {
        let mut inner = self.lock();
        let old = match inner.by_conv.get_mut(conv) {
            Some(e) if e.session == session && e.orders != orders => {
                std::mem::replace(&mut e.orders, orders.clone())
            }
            _ => return,
        };
        inner.unindex(conv, &old);
        for o in orders {
            inner.by_order.entry(o).or_default().insert(conv.to_string());
        }
    }

    /// The session ended (nothing happens when a newer one has taken its place).
    pub fn leave(&self, conv: &str, session: u64) {
        let mut inner = self.lock();
        if inner.by_conv.get(conv).is_some_and(|e| e.session == session) {
            let e = inner.by_conv.remove(conv).expect("checked");
            inner.unindex(conv, &e.orders);
        }
    }

    /// The conversations live now that are about `order_no`.
    pub fn about(&self, order_no: &str) -> Vec<String> {
        self.lock().by_order.get(order_no).map(|c| c.iter().cloned().collect()).unwrap_or_default()
    }

    /// Passes an order update to the sessions about that order: how many were reached.
    pub fn order_updated(&self, update: OrderUpdate) -> usize {
        let update = Arc::new(update);
        let inner = self.lock();
        let Some(convs) = inner.by_order.get(&update.order_no) else { return 0 };
        let mut reached = 0;
        for conv in convs {
            let Some(e) = inner.by_conv.get(conv) else { continue };
            match e.tx.try_send(update.clone()) {
                Ok(()) => reached += 1,
                Err(e) => tracing::warn!(conversation = %conv, "order update not passed on: {e}"),
            }
        }
        reached
    }

    /// Sessions registered.
    pub fn len(&self) -> usize {
        self.lock().by_conv.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn update(no: &str) -> OrderUpdate {
        OrderUpdate { order_no: no.into(), ..Default::default() }
    }

    #[test]
    fn updates_reach_the_sessions_about_the_order_and_no_other() {
        let live = LiveSessions::new();
        let (a, mut rx_a) = live.join("c1");
        let (b, mut rx_b) = live.join("c2");
        live.watch("c1", a, set(&["o1", "o2"]));
        live.watch("c2", b, set(&["o2"]));
        assert_eq!(live.order_updated(update("o1")), 1);
        assert_eq!(rx_a.try_recv().unwrap().order_no, "o1");
        assert!(rx_b.try_recv().is_err());
        assert_eq!(live.order_updated(update("o2")), 2);
        assert_eq!(live.order_updated(update("o3")), 0);
        // a conversation that moved on is no longer told
        live.watch("c1", a, set(&["o2"]));
        assert_eq!(live.about("o1"), Vec::<String>::new());
        assert_eq!(live.about("o2"), ["c1", "c2"]);
        live.leave("c2", b);
        assert_eq!(live.about("o2"), ["c1"]);
        assert_eq!(live.len(), 1);
    }

    #[test]
    fn a_newer_session_replaces_the_older_one() {
        let live = LiveSessions::new();
        let (old, mut rx_old) = live.join("c1");
        live.watch("c1", old, set(&["o1"]));
        let (new, mut rx_new) = live.join("c1");
        assert_eq!(live.about("o1"), Vec::<String>::new(), "the newer one has said nothing yet");
        live.watch("c1", old, set(&["o9"]));
        assert!(live.about("o9").is_empty(), "the older session no longer counts");
        live.watch("c1", new, set(&["o1"]));
        assert_eq!(live.order_updated(update("o1")), 1);
        assert!(rx_new.try_recv().is_ok());
        assert!(rx_old.try_recv().is_err());
        live.leave("c1", old);
        assert_eq!(live.len(), 1, "leaving after being replaced removes nothing");
        live.leave("c1", new);
        assert!(live.is_empty() && live.about("o1").is_empty());
    }

    #[test]
    fn a_session_that_does_not_keep_up_misses_updates() {
        let live = LiveSessions::new();
        let (s, _rx) = live.join("c1");
        live.watch("c1", s, set(&["o1"]));
        let reached: usize = (0..QUEUE + 3).map(|_| live.order_updated(update("o1"))).sum();
        assert_eq!(reached, QUEUE);
    }
}
