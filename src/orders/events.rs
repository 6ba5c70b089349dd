//! Events the store posts to kefu (`POST /api/store/events`, signed with the shared scheme of
//! `webhooks::signature`): the typed bodies, and the bounded memory of event ids already
//! taken, so a captured request replayed inside the signature's time window is refused.

use std::collections::{HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::knowledge::demo::OrderStatus;

/// One event as the store sends it: its id (unique, the same on the store's retries) and what
/// happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreEvent {
    pub id: String,
    #[serde(flatten)]
    pub change: Change,
}

/// What changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Change {
    /// An order's status or tracking changed (the new status, when it changed).
    #[serde(rename = "order.updated")]
    OrderUpdated { order_no: String, status: Option<OrderStatus> },
    /// A product's stock changed.
    #[serde(rename = "stock.changed")]
    StockChanged { sku: String },
}

/// The ids of the events taken, at most `capacity` (the oldest forgotten first). The signed
/// timestamp bounds how long a captured request is usable; this bounds what is remembered.
#[derive(Debug)]
pub struct SeenIds {
    order: VecDeque<String>,
    ids: HashSet<String>,
    capacity: usize,
}

impl SeenIds {
    pub fn new(capacity: usize) -> SeenIds {
        SeenIds { order: VecDeque::new(), ids: HashSet::new(), capacity: capacity.max(1) }
    }

    /// Records `id`; false when it was already taken (a replay).
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        self.order.push_back(id.to_string());
        self.ids.insert(id.to_string());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_refused_and_memory_is_bounded() {
        let mut seen = SeenIds::new(2);
        assert!(seen.first_time("a"));
        assert!(!seen.first_time("a"));
        assert!(seen.first_time("b") && seen.first_time("c"));
        assert_eq!(seen.ids.len(), 2);
        assert!(seen.first_time("a"), "the oldest was forgotten");
    }

    #[test]
    fn events_read_as_typed_changes() {
        let e: StoreEvent =
            serde_json::from_str(r#"{"id":"e1","type":"order.updated","order_no":"1","status":"shipped"}"#)
                .unwrap();
        assert!(matches!(e.change, Change::OrderUpdated { status: Some(OrderStatus::Shipped), .. }));
        assert!(serde_json::from_str::<StoreEvent>(r#"{"id":"e2","type":"order.deleted"}"#).is_err());
    }
}
