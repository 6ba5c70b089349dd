//! A shopper's erasure as reported (issue 21, item 1): the admin API's answer and what
//! `kefu shopper erase` prints, typed here apart from the store's row. The erasing itself is
//! the store's (`ShopperDataStore::erase_shopper`, one transaction per backend; what it keeps
//! and what it removes: `store::erasure`).

use serde::Serialize;

use crate::store::{ErasedCounts, Erasure};

/// One erasure: who, when, and how many rows of each kind it anonymised or deleted (a repeat
/// reports zeros for what was already erased).
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReport {
    pub id: i64,
    pub shopper_id: String,
    pub erased_by: String,
    pub erased_at: String,
    pub changed: ChangedCounts,
}

/// Rows anonymised (texts replaced by `[erased]`, name, phone and street cleared) or deleted
/// (photos, webhook events, phone-digit guesses).
#[derive(Debug, Clone, Serialize)]
pub struct ChangedCounts {
    pub conversations: usize,
    pub messages: usize,
    pub notes: usize,
    pub tickets: usize,
    pub returns: usize,
    pub orders: usize,
    pub profile: usize,
    pub feedback: usize,
    pub images: usize,
    pub webhook_events: usize,
    pub phone_guesses: usize,
}

impl From<&ErasedCounts> for ChangedCounts {
    fn from(c: &ErasedCounts) -> ChangedCounts {
        ChangedCounts {
            conversations: c.conversations,
            messages: c.messages,
            notes: c.notes,
            tickets: c.tickets,
            returns: c.returns,
            orders: c.orders,
            profile: c.profile,
            feedback: c.feedback,
            images: c.images,
            webhook_events: c.webhook_events,
            phone_guesses: c.phone_guesses,
        }
    }
}

impl From<&Erasure> for ErasureReport {
    fn from(e: &Erasure) -> ErasureReport {
        ErasureReport {
            id: e.id,
            shopper_id: e.shopper_id.clone(),
            erased_by: e.by.clone(),
            erased_at: e.at.clone(),
            changed: (&e.counts).into(),
        }
    }
}
