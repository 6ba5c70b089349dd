//! The store API's bodies (docs/store-api.yaml), typed once and used by both sides: kefu's
//! `http` order source reads them, the reference store (`examples/store`) writes them.
//!
//! An order is kefu's [`Order`] as the demo data spells it (items, status, tracking events,
//! address); a return is a [`Return`] with the **store's** id (kefu's own row type,
//! `store::ReturnRequest`, never goes onto a wire). The store sends the whole order; what a
//! shopper may see of it is decided by kefu's dialogue, never by the store.

use serde::{Deserialize, Serialize};

use crate::knowledge::{Order, Product};
use crate::store::ReturnRequest;

/// The header that carries the idempotency key of `POST /orders/{order_no}/returns`.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// `GET /shoppers/{shopper_id}/orders?limit=N`: newest first, each with its returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShopperOrders {
    pub orders: Vec<OrderEntry>,
}

/// One order and the return requests opened for it, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderEntry {
    pub order: Order,
    #[serde(default)]
    pub returns: Vec<Return>,
}

/// A return request as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Return {
    /// The store's id for it.
    pub id: String,
    pub order_no: String,
    /// The kefu conversation it was requested in.
    #[serde(default)]
    pub conversation_id: Option<String>,
    pub reason: String,
    /// `requested`, `in_transit`, `received`, `refunded`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
}

impl From<Return> for ReturnRequest {
    fn from(r: Return) -> ReturnRequest {
        ReturnRequest {
            id: r.id,
            order_no: r.order_no,
            conversation_id: r.conversation_id,
            reason: r.reason,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

impl From<&ReturnRequest> for Return {
    fn from(r: &ReturnRequest) -> Return {
        Return {
            id: r.id.clone(),
            order_no: r.order_no.clone(),
            conversation_id: r.conversation_id.clone(),
            reason: r.reason.clone(),
            status: r.status.clone(),
            created_at: r.created_at.clone(),
        }
    }
}

/// `GET /orders/{order_no}/returns`, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Returns {
    pub returns: Vec<Return>,
}

/// The body of `POST /orders/{order_no}/returns`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReturnCreate {
    /// Why: `no_reason` (the 7-day no-reason return), `quality`, `wrong_item`, `damaged`.
    pub reason: String,
    /// The kefu conversation the shopper confirmed it in, for the store's records.
    #[serde(default)]
    pub conversation_id: Option<String>,
}

/// The answer to `POST /orders/{order_no}/returns`: 201 opened now, 200 opened earlier by a
/// request with the same idempotency key, 409 the order already has a return (opened by
/// another key): `return` is that one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReturnAnswer {
    #[serde(rename = "return")]
    pub return_request: Return,
}

/// `GET /catalog/changes?since=RFC3339`: products changed since then, and stock levels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogChanges {
    /// The store's time of this answer: the next call's `since`.
    pub as_of: String,
    pub products: Vec<Product>,
    pub stock: Vec<StockLevel>,
}

/// One variant's stock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StockLevel {
    pub sku: String,
    pub color: String,
    pub size: String,
    pub stock: u32,
}

/// An error body (any non-2xx answer may carry one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Problem {
    pub error: String,
    #[serde(default)]
    pub message: Option<String>,
}
