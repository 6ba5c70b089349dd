//! Everything kefu holds about one signed-in shopper, for the shopper's own export (issue 21,
//! item 3): the profile copy, orders and returns, every conversation with its messages, notes,
//! hand-overs and feedback record, and the tickets they left. Rows only; the JSON document is
//! `privacy::export`'s. Guests' conversations carry no shopper id and are not found here.

use rusqlite::{params, Connection};

use super::handoffs::{handoffs_of, notes_of, Handoff, Note};
use super::records::{conversation_row, from_json, query_messages, returns_of, shopper_row};
use super::{Conversation, Fail, ReturnRequest, Store, StoreError, StoredMessage, Ticket};
use crate::knowledge::{Order, Shopper};
use crate::records::FeedbackRecord;

/// What the store holds about a shopper.
#[derive(Debug, Clone)]
pub struct ShopperData {
    pub shopper_id: String,
    /// The profile copy the store keeps (seeded from the demo data or the store's system).
    pub shopper: Option<Shopper>,
    pub orders: Vec<Order>,
    pub returns: Vec<ReturnRequest>,
    /// Oldest first.
    pub conversations: Vec<ShopperConversation>,
    /// Left by the shopper, or in one of their conversations.
    pub tickets: Vec<Ticket>,
}

/// One of the shopper's conversations, whole.
#[derive(Debug, Clone)]
pub struct ShopperConversation {
    pub conversation: Conversation,
    pub messages: Vec<StoredMessage>,
    pub notes: Vec<Note>,
    pub handoffs: Vec<Handoff>,
    pub feedback: Option<FeedbackRecord>,
}

impl ShopperData {
    /// Nothing at all is stored about the shopper.
    pub fn is_empty(&self) -> bool {
        self.shopper.is_none()
            && self.orders.is_empty()
            && self.conversations.is_empty()
            && self.tickets.is_empty()
    }
}

impl Store {
    /// Everything stored about a signed-in shopper (one snapshot on a reader; the tickets from a
    /// second read).
    pub async fn shopper_data(&self, shopper_id: String) -> Result<ShopperData, StoreError> {
        let id = shopper_id.clone();
        let mut data = self.read(move |conn| shopper_rows(conn, &id)).await?;
        let conversations: std::collections::HashSet<&str> =
            data.conversations.iter().map(|c| c.conversation.id.as_str()).collect();
        let tickets = self.tickets(None).await?;
        let tickets: Vec<Ticket> = tickets
            .into_iter()
            .filter(|t| {
                t.shopper_id.as_deref() == Some(shopper_id.as_str())
                    || conversations.contains(t.conversation_id.as_str())
            })
            .collect();
        data.tickets = tickets;
        Ok(data)
    }
}

fn shopper_rows(conn: &Connection, shopper_id: &str) -> Result<ShopperData, Fail> {
    let shopper = shopper_row(conn, shopper_id)?;
    let mut st =
        conn.prepare_cached("SELECT data FROM orders WHERE shopper_id = ?1 ORDER BY created_at, order_no")?;
    let orders = st
        .query_map(params![shopper_id], |r| r.get::<_, String>(0))?
        .map(|d| from_json::<Order>(&d?))
        .collect::<Result<Vec<_>, _>>()?;
    let mut returns = Vec::new();
    for o in &orders {
        returns.extend(returns_of(conn, &o.order_no)?);
    }
    let mut st =
        conn.prepare_cached("SELECT id FROM conversations WHERE shopper_id = ?1 ORDER BY started_at, id")?;
    let ids = st.query_map(params![shopper_id], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    let mut conversations = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(conversation) = conversation_row(conn, &id)? else { continue };
        let mut st = conn.prepare_cached("SELECT record FROM feedback WHERE conversation_id = ?1")?;
        let feedback = st
            .query_map(params![id], |r| r.get::<_, String>(0))?
            .next()
            .transpose()?
            .map(|d| from_json::<FeedbackRecord>(&d))
            .transpose()?;
        conversations.push(ShopperConversation {
            conversation,
            messages: query_messages(conn, &id, usize::MAX)?,
            notes: notes_of(conn, &id)?,
            handoffs: handoffs_of(conn, &id)?,
            feedback,
        });
    }
    Ok(ShopperData {
        shopper_id: shopper_id.to_string(),
        shopper,
        orders,
        returns,
        conversations,
        tickets: Vec::new(),
    })
}
