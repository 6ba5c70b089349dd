//! Events the store posts to kefu (`POST /api/store/events`, signed with the shared scheme of
//! `webhooks::signature`): the typed bodies, what an order change does to a stored order
//! ([`apply`], pure), and the bounded memory of event ids already taken, so a captured request
//! replayed inside the signature's time window is refused.

use std::collections::{HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::contract::StockLevel;
use crate::knowledge::demo::{OrderStatus, TrackingEvent};
use crate::knowledge::{Order, Product};

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
    /// An order's status or tracking changed.
    #[serde(rename = "order.updated")]
    OrderUpdated(OrderUpdate),
    /// A product's stock changed: the levels given are applied at once; with the `http`
    /// source the catalog is also synchronised from the store.
    #[serde(rename = "stock.changed", alias = "stock.updated")]
    StockChanged {
        sku: String,
        #[serde(default)]
        stock: Vec<StockLevel>,
    },
    /// A product changed (name, price, sizes …): the product given replaces kefu's copy; with
    /// the `http` source the catalog is also synchronised from the store.
    #[serde(rename = "product.updated")]
    ProductUpdated {
        sku: String,
        #[serde(default)]
        product: Option<Box<Product>>,
    },
}

/// An order's change as the store announces it: the new status when it changed, and what came
/// with it (the courier and tracking number on shipping, a new tracking event).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderUpdate {
    pub order_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_no: Option<String>,
    /// A new tracking event (`time`, `zh`, `en`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<TrackingEvent>,
    /// When it happened (RFC 3339); kefu's time of receipt when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl OrderUpdate {
    /// Whether there is anything to tell a shopper (a status or a tracking event).
    pub fn is_news(&self) -> bool {
        self.status.is_some() || self.tracking.is_some()
    }
}

/// Applies an update to a stored order: the status and the time stamp that goes with it (set
/// once: a repeated `shipped` keeps the first time), the courier and tracking number, and the
/// tracking event (kept in time order, never twice). `now` is used when the update has no time.
/// Returns whether anything changed.
pub fn apply(order: &mut Order, u: &OrderUpdate, now: &str) -> bool {
    let before = serde_json::to_string(&*order).unwrap_or_default();
    let at = u.at.clone().unwrap_or_else(|| now.to_string());
    if let Some(status) = u.status {
        order.status = status;
        let stamp = match status {
            OrderStatus::Paid => Some(&mut order.paid_at),
            OrderStatus::Shipped => Some(&mut order.shipped_at),
            OrderStatus::Delivered => Some(&mut order.delivered_at),
            OrderStatus::Cancelled => Some(&mut order.cancelled_at),
            _ => None,
        };
        if let Some(stamp) = stamp {
            stamp.get_or_insert(at);
        }
    }
    if let Some(c) = &u.courier {
        order.courier = Some(c.clone());
    }
    if let Some(n) = &u.tracking_no {
        order.tracking_no = Some(n.clone());
    }
    if let Some(e) = &u.tracking {
        if !order.tracking.contains(e) {
            order.tracking.push(e.clone());
            order.tracking.sort_by(|a, b| a.time.cmp(&b.time));
        }
    }
    serde_json::to_string(&*order).unwrap_or_default() != before
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

    /// Forgets a taken id (the event could not be applied: the store's retry must be taken).
    pub fn forget(&mut self, id: &str) {
        if self.ids.remove(id) {
            self.order.retain(|o| o != id);
        }
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
        assert!(matches!(
            e.change,
            Change::OrderUpdated(OrderUpdate { status: Some(OrderStatus::Shipped), .. })
        ));
        assert!(serde_json::from_str::<StoreEvent>(r#"{"id":"e2","type":"order.deleted"}"#).is_err());
        let e: StoreEvent = serde_json::from_str(
            r#"{"id":"e3","type":"stock.updated","sku":"A","stock":[{"sku":"A","color":"c","size":"M","stock":0}]}"#,
        )
        .unwrap();
        assert!(matches!(e.change, Change::StockChanged { ref stock, .. } if stock.len() == 1));
        let e: StoreEvent =
            serde_json::from_str(r#"{"id":"e4","type":"product.updated","sku":"A"}"#).unwrap();
        assert!(matches!(e.change, Change::ProductUpdated { product: None, .. }));
    }

    #[test]
    fn a_forgotten_id_is_taken_again() {
        let mut seen = SeenIds::new(4);
        assert!(seen.first_time("a") && seen.first_time("b"));
        seen.forget("a");
        assert!(seen.first_time("a") && !seen.first_time("b"));
    }

    fn paid_order() -> Order {
        let kb = crate::knowledge::KnowledgeBase::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"),
        )
        .unwrap();
        kb.orders.into_iter().find(|o| o.status == OrderStatus::Paid && o.tracking.is_empty()).unwrap()
    }

    #[test]
    fn an_update_sets_status_stamps_and_tracking_once() {
        let mut o = paid_order();
        let event = TrackingEvent {
            time: "2026-11-25T10:00:00+08:00".into(),
            zh: "已揽收".into(),
            en: "Picked up".into(),
        };
        let u = OrderUpdate {
            order_no: o.order_no.clone(),
            status: Some(OrderStatus::Shipped),
            courier: Some("SF".into()),
            tracking_no: Some("SF1".into()),
            tracking: Some(event.clone()),
            at: None,
        };
        assert!(apply(&mut o, &u, "2026-11-25T10:00:01+08:00"));
        assert_eq!(o.status, OrderStatus::Shipped);
        assert_eq!(o.shipped_at.as_deref(), Some("2026-11-25T10:00:01+08:00"));
        assert_eq!((o.courier.as_deref(), o.tracking_no.as_deref()), (Some("SF"), Some("SF1")));
        assert_eq!(o.tracking.len(), 1);
        // the same event again (the store retried): nothing changes, the first time is kept
        assert!(!apply(&mut o, &u, "2026-11-25T12:00:00+08:00"));
        assert_eq!(o.shipped_at.as_deref(), Some("2026-11-25T10:00:01+08:00"));
        // an earlier tracking event arriving late goes in time order
        let early = TrackingEvent {
            time: "2026-11-25T09:00:00+08:00".into(),
            zh: "已出库".into(),
            en: "Left the warehouse".into(),
        };
        let late = OrderUpdate { order_no: o.order_no.clone(), tracking: Some(early), ..Default::default() };
        assert!(late.is_news() && apply(&mut o, &late, "x"));
        assert_eq!(o.tracking.first().unwrap().en, "Left the warehouse");
        assert_eq!(o.tracking.last().unwrap(), &event);
        assert!(
            !OrderUpdate { order_no: "1".into(), courier: Some("SF".into()), ..Default::default() }.is_news()
        );
    }
}
