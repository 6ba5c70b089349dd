//! [`ShopperDataStore`] on PostgreSQL: everything kefu holds about one signed-in shopper, for
//! their own export (the same rows as `store::shopper_data`), read in one snapshot with a query
//! per table rather than per conversation.

use std::collections::HashMap;

use deadpool_postgres::tokio_postgres::Row;

use super::analytics::snapshot;
use super::conversations::{
    conversation_row, decode, message_row, return_row, shopper_row, CONVERSATION_COLUMNS, MESSAGE_COLUMNS,
    RETURN_COLUMNS, SHOPPER_COLUMNS,
};
use super::handoffs::handoff_row;
use super::tickets::ticket_row;
use super::PgStore;
use crate::knowledge::Order;
use crate::records::FeedbackRecord;
use crate::store::handoffs::HANDOFF_COLUMNS;
use crate::store::tickets::TICKET_COLUMNS;
use crate::store::traits::ShopperDataStore;
use crate::store::{Erasure, Note, Retained, ShopperConversation, ShopperData, StoreError};

/// Rows grouped by the value of their column `key` (a conversation id, an order number).
fn grouped<T>(
    rows: &[Row],
    key: usize,
    row: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<HashMap<String, Vec<T>>, StoreError> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get(key)?).or_default().push(row(r)?);
    }
    Ok(out)
}

impl ShopperDataStore for PgStore {
    async fn shopper_data(&self, shopper_id: String) -> Result<ShopperData, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = snapshot(&mut client).await?;
        let id = &shopper_id;

        let st = tx.prepare_cached(&format!("SELECT {SHOPPER_COLUMNS} FROM shoppers WHERE id = $1")).await?;
        let shopper = tx.query_opt(&st, &[id]).await?.as_ref().map(shopper_row).transpose()?;

        let st = tx
            .prepare_cached("SELECT data FROM orders WHERE shopper_id = $1 ORDER BY created_at, order_no")
            .await?;
        let orders: Vec<Order> =
            tx.query(&st, &[id]).await?.iter().map(|r| decode(r.try_get(0)?)).collect::<Result<_, _>>()?;
        let numbers: Vec<&str> = orders.iter().map(|o| o.order_no.as_str()).collect();
        let st = tx
            .prepare_cached(&format!(
                "SELECT {RETURN_COLUMNS} FROM returns WHERE order_no = ANY($1) ORDER BY created_at, id"
            ))
            .await?;
        let mut returns = grouped(&tx.query(&st, &[&numbers]).await?, 1, return_row)?;
        // order by order, as SQLite lists them
        let returns = numbers.iter().flat_map(|no| returns.remove(*no).unwrap_or_default()).collect();

        let st = tx
            .prepare_cached(&format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE shopper_id = $1 ORDER BY started_at, id"
            ))
            .await?;
        let found =
            tx.query(&st, &[id]).await?.iter().map(conversation_row).collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();

        let st = tx
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS}, conversation_id FROM messages WHERE conversation_id = ANY($1) ORDER BY id"
            ))
            .await?;
        let mut messages = grouped(&tx.query(&st, &[&ids]).await?, 8, message_row)?;
        let st = tx
            .prepare_cached(
                "SELECT id, agent, text, created_at, conversation_id FROM notes WHERE conversation_id = ANY($1)
                 ORDER BY id",
            )
            .await?;
        let mut notes = grouped(&tx.query(&st, &[&ids]).await?, 4, |r| {
            Ok(Note {
                id: r.try_get(0)?,
                agent: r.try_get(1)?,
                text: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })?;
        let st = tx
            .prepare_cached(&format!(
                "SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE conversation_id = ANY($1) ORDER BY id"
            ))
            .await?;
        let mut handoffs = grouped(&tx.query(&st, &[&ids]).await?, 1, handoff_row)?;
        let st = tx
            .prepare_cached("SELECT conversation_id, record FROM feedback WHERE conversation_id = ANY($1)")
            .await?;
        let mut feedback =
            grouped(&tx.query(&st, &[&ids]).await?, 0, |r| decode::<FeedbackRecord>(r.try_get(1)?))?;

        let st = tx
            .prepare_cached(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets WHERE shopper_id = $1 OR conversation_id = ANY($2)
                 ORDER BY created_at, id"
            ))
            .await?;
        let tickets = tx.query(&st, &[id, &ids]).await?.iter().map(ticket_row).collect::<Result<_, _>>()?;
        tx.commit().await?;

        let conversations = found
            .into_iter()
            .map(|conversation| {
                let id = conversation.id.as_str();
                ShopperConversation {
                    messages: messages.remove(id).unwrap_or_default(),
                    notes: notes.remove(id).unwrap_or_default(),
                    handoffs: handoffs.remove(id).unwrap_or_default(),
                    feedback: feedback.remove(id).and_then(|mut f| f.pop()),
                    conversation,
                }
            })
            .collect();
        Ok(ShopperData { shopper_id, shopper, orders, returns, conversations, tickets })
    }

    async fn erase_shopper(&self, shopper_id: String, by: String) -> Result<Option<Erasure>, StoreError> {
        self.erase_shopper_pg(shopper_id, by).await
    }

    async fn erasures(&self, shopper_id: Option<String>) -> Result<Vec<Erasure>, StoreError> {
        self.erasures_pg(shopper_id).await
    }

    async fn purge_expired(&self, kind: Retained, before: String, limit: usize) -> Result<usize, StoreError> {
        self.purge_expired_pg(kind, before, limit).await
    }
}
