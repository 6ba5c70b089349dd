//! [`ConversationStore`] on PostgreSQL: conversations, messages, the dialogue memory, feedback
//! records, and the shoppers, orders and returns the dialogue reads and writes (the same rows and
//! rules as `store::records`).
//!
//! What SQLite gets from its single writer, each write here gets from its own transaction and
//! a lock on what it checks before writing, so it holds across nodes: one return per order (an
//! advisory lock on the order), the phone-guess lockout (an advisory lock on the order's
//! guesses), a stored order's change (its row locked `FOR UPDATE`), a shopper message stored
//! once per client id (the unique index: a racing insert waits for the first and does nothing).
//! The webhook event a change causes is written in the change's transaction (`events`).

use deadpool_postgres::tokio_postgres::Row;
use deadpool_postgres::{GenericClient, Transaction};

use super::{events, PgStore};
use crate::knowledge::{Order, Shopper};
use crate::lang::Lang;
use crate::records::{FeedbackRecord, MessageMeta};
use crate::store::records::new_id;
use crate::store::webhooks::EventData;
use crate::store::{
    now, Accepted, Conversation, ConversationState, ConversationStore, PhoneCheck, ReturnRequest, Sender,
    StoreError, StoredMessage,
};

/// JSON stored by this build, decoded (what does not decode is corrupt data).
pub(super) fn decode<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn lang(code: &str) -> Lang {
    Lang::parse(code).unwrap_or(Lang::Zh)
}

/// Holds `what` (a namespace and a key) for the rest of the transaction, on every node.
async fn lock(tx: &Transaction<'_>, what: &str, key: &str) -> Result<(), StoreError> {
    let st = tx
        .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))")
        .await?;
    tx.execute(&st, &[&what, &key]).await?;
    Ok(())
}

pub(super) const CONVERSATION_COLUMNS: &str =
    "id, shopper_id, lang, state, started_at, ended_at, escalation_reason";

pub(super) fn conversation_row(r: &Row) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: r.try_get(0)?,
        shopper_id: r.try_get(1)?,
        lang: lang(r.try_get(2)?),
        state: ConversationState::parse(r.try_get(3)?),
        started_at: r.try_get(4)?,
        ended_at: r.try_get(5)?,
        escalation_reason: r.try_get(6)?,
    })
}

pub(super) const MESSAGE_COLUMNS: &str =
    "id, client_msg_id, sender, text, meta, created_at, recalled_at, recalled_by";

/// A message from a row of [`MESSAGE_COLUMNS`] (a meta this build cannot read is left out, as
/// on SQLite).
pub(super) fn message_row(r: &Row) -> Result<StoredMessage, StoreError> {
    let meta: Option<String> = r.try_get(4)?;
    Ok(StoredMessage {
        id: r.try_get(0)?,
        client_msg_id: r.try_get(1)?,
        sender: Sender::parse(r.try_get(2)?),
        text: r.try_get(3)?,
        meta: meta.and_then(|m| serde_json::from_str(&m).ok()),
        created_at: r.try_get(5)?,
        recalled_at: r.try_get(6)?,
        recalled_by: r.try_get(7)?,
    })
}

/// Stores a message inside the caller's transaction (or as one statement); its id.
pub(super) async fn insert_message(
    client: &impl GenericClient,
    conversation_id: &str,
    client_msg_id: Option<&str>,
    sender: Sender,
    text: &str,
    meta: Option<&MessageMeta>,
) -> Result<i64, StoreError> {
    let st = client
        .prepare_cached(
            "INSERT INTO messages (conversation_id, client_msg_id, sender, text, meta, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .await?;
    let meta = meta.map(|m| serde_json::to_string(m).expect("meta serialises"));
    let row = client
        .query_one(&st, &[&conversation_id, &client_msg_id, &sender.as_str(), &text, &meta, &now()])
        .await?;
    Ok(row.try_get(0)?)
}

/// The last `limit` messages of a conversation, oldest first.
pub(super) async fn query_messages(
    client: &impl GenericClient,
    conversation_id: &str,
    limit: usize,
) -> Result<Vec<StoredMessage>, StoreError> {
    let st = client
        .prepare_cached(&format!(
            "SELECT * FROM (SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1
             ORDER BY id DESC LIMIT $2) m ORDER BY id"
        ))
        .await?;
    let limit = limit.min(i64::MAX as usize) as i64;
    client.query(&st, &[&conversation_id, &limit]).await?.iter().map(message_row).collect()
}

pub(super) const SHOPPER_COLUMNS: &str = "id, name, phone, tier, vip, lang";

pub(super) fn shopper_row(r: &Row) -> Result<Shopper, StoreError> {
    Ok(Shopper {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        phone: r.try_get(2)?,
        tier: r.try_get(3)?,
        vip: r.try_get::<_, i64>(4)? != 0,
        city: String::new(),
        lang: lang(r.try_get(5)?),
    })
}

/// An order's status as its column holds it (the JSON name).
fn order_status(o: &Order) -> String {
    serde_json::to_value(o.status).expect("status").as_str().unwrap_or("").to_string()
}

async fn order_row(client: &impl GenericClient, order_no: &str) -> Result<Option<Order>, StoreError> {
    let st = client.prepare_cached("SELECT data FROM orders WHERE order_no = $1").await?;
    let data: Option<String> =
        client.query_opt(&st, &[&order_no]).await?.map(|r| r.try_get(0)).transpose()?;
    data.map(|d| decode(&d)).transpose()
}

/// A shopper's newest `limit` orders, newest first.
async fn recent_order_rows(
    client: &impl GenericClient,
    shopper_id: &str,
    limit: usize,
) -> Result<Vec<Order>, StoreError> {
    let st = client
        .prepare_cached(
            "SELECT data FROM orders WHERE shopper_id = $1 ORDER BY created_at DESC, order_no DESC LIMIT $2",
        )
        .await?;
    let limit = limit.min(i64::MAX as usize) as i64;
    let rows = client.query(&st, &[&shopper_id, &limit]).await?;
    rows.iter().map(|r| decode(r.try_get(0)?)).collect()
}

pub(super) const RETURN_COLUMNS: &str = "id, order_no, conversation_id, reason, status, created_at";

pub(super) fn return_row(r: &Row) -> Result<ReturnRequest, StoreError> {
    return_row_at(r, 0)
}

/// A return from [`RETURN_COLUMNS`] starting at column `at`.
fn return_row_at(r: &Row, at: usize) -> Result<ReturnRequest, StoreError> {
    Ok(ReturnRequest {
        id: r.try_get(at)?,
        order_no: r.try_get(at + 1)?,
        conversation_id: r.try_get(at + 2)?,
        reason: r.try_get(at + 3)?,
        status: r.try_get(at + 4)?,
        created_at: r.try_get(at + 5)?,
    })
}

/// The return requests of these orders, oldest first.
pub(super) async fn returns_of(
    client: &impl GenericClient,
    order_nos: &[&str],
) -> Result<Vec<ReturnRequest>, StoreError> {
    let st = client
        .prepare_cached(&format!(
            "SELECT {RETURN_COLUMNS} FROM returns WHERE order_no = ANY($1) ORDER BY created_at, id"
        ))
        .await?;
    client.query(&st, &[&order_nos]).await?.iter().map(return_row).collect()
}

/// The lockout's step, inside a transaction holding the order's guesses: the lock check, then
/// the count of a wrong guess.
async fn count_guess(
    tx: &Transaction<'_>,
    order_no: &str,
    matched: bool,
    max: u32,
) -> Result<PhoneCheck, StoreError> {
    let st = tx.prepare_cached("SELECT wrong FROM phone_guesses WHERE order_no = $1").await?;
    let wrong: i64 = tx.query_opt(&st, &[&order_no]).await?.map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
    if wrong >= i64::from(max) {
        return Ok(PhoneCheck::Locked);
    }
    if matched {
        return Ok(PhoneCheck::Match);
    }
    let st = tx
        .prepare_cached(
            "INSERT INTO phone_guesses (order_no, wrong, updated_at) VALUES ($1, 1, $2)
             ON CONFLICT (order_no) DO UPDATE SET wrong = phone_guesses.wrong + 1, updated_at = $2",
        )
        .await?;
    tx.execute(&st, &[&order_no, &now()]).await?;
    Ok(PhoneCheck::Mismatch)
}

impl PgStore {
    /// Opens a return in one transaction holding the order: the one opened with the same
    /// idempotency key is `Ok` again; an order that already has another return gets
    /// `Err(existing)`; otherwise a new one, with its `return.requested` event.
    async fn insert_return(
        &self,
        order_no: String,
        conversation_id: Option<String>,
        reason: String,
        key: Option<String>,
    ) -> Result<Result<ReturnRequest, ReturnRequest>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock(&tx, "return", &order_no).await?;
        let mut existing = returns_of(&tx, &[&order_no]).await?;
        if let Some(key) = &key {
            let st = tx.prepare_cached("SELECT id FROM returns WHERE idempotency_key = $1").await?;
            let same: Option<String> = tx.query_opt(&st, &[key]).await?.map(|r| r.try_get(0)).transpose()?;
            // (a key already used for another order's return makes the insert below break the
            // key's unique index: a constraint error, never a second return)
            if let Some(r) = same.and_then(|id| existing.iter().find(|r| r.id == id).cloned()) {
                return Ok(Ok(r));
            }
        }
        if let Some(existing) = existing.pop() {
            return Ok(Err(existing));
        }
        let r = ReturnRequest {
            id: new_id("R", 10),
            order_no,
            conversation_id,
            reason,
            status: "requested".into(),
            created_at: now(),
        };
        let st = tx
            .prepare_cached(
                "INSERT INTO returns (id, order_no, conversation_id, reason, status, created_at, idempotency_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await?;
        tx.execute(&st, &[&r.id, &r.order_no, &r.conversation_id, &r.reason, &r.status, &r.created_at, &key])
            .await?;
        events::record_event(&tx, EventData::ReturnRequested((&r).into())).await?;
        tx.commit().await?;
        Ok(Ok(r))
    }
}

impl ConversationStore for PgStore {
    async fn seed(&self, shoppers: Vec<Shopper>, orders: Vec<Order>) -> Result<usize, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut n = 0;
        let st = tx
            .prepare_cached(
                "INSERT INTO shoppers (id, name, phone, tier, vip, lang) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        for s in &shoppers {
            let vip = i64::from(s.vip);
            n += tx.execute(&st, &[&s.id, &s.name, &s.phone, &s.tier, &vip, &s.lang.code()]).await?;
        }
        let st = tx
            .prepare_cached(
                "INSERT INTO orders (order_no, shopper_id, created_at, status, data) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        for o in &orders {
            let data = serde_json::to_string(o).expect("orders serialise");
            n += tx
                .execute(&st, &[&o.order_no, &o.shopper_id, &o.created_at, &order_status(o), &data])
                .await?;
        }
        tx.commit().await?;
        Ok(n as usize)
    }

    async fn open_conversation(
        &self,
        shopper_id: Option<String>,
        lang: Lang,
    ) -> Result<Conversation, StoreError> {
        let c = Conversation {
            id: new_id("c", 20),
            shopper_id,
            lang,
            state: ConversationState::Bot,
            started_at: now(),
            ended_at: None,
            escalation_reason: None,
        };
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(
                "INSERT INTO conversations (id, shopper_id, lang, state, started_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .await?;
        client
            .execute(&st, &[&c.id, &c.shopper_id, &c.lang.code(), &c.state.as_str(), &c.started_at])
            .await?;
        Ok(c)
    }

    async fn conversation(&self, id: String) -> Result<Option<Conversation>, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"))
            .await?;
        client.query_opt(&st, &[&id]).await?.as_ref().map(conversation_row).transpose()
    }

    async fn set_state(
        &self,
        id: String,
        state: ConversationState,
        reason: Option<String>,
    ) -> Result<(), StoreError> {
        let ended = (state == ConversationState::Closed).then(now);
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(
                "UPDATE conversations SET state = $2, escalation_reason = COALESCE($3, escalation_reason),
                 ended_at = COALESCE($4, ended_at) WHERE id = $1",
            )
            .await?;
        client.execute(&st, &[&id, &state.as_str(), &reason, &ended]).await?;
        Ok(())
    }

    async fn add_message(
        &self,
        conversation_id: String,
        sender: Sender,
        text: String,
        meta: Option<MessageMeta>,
    ) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        insert_message(&client, &conversation_id, None, sender, &text, meta.as_ref()).await
    }

    /// The replies and the dialogue memory after them in one transaction, so the stored memory
    /// always matches the stored transcript.
    async fn add_bot_turn(
        &self,
        conversation_id: String,
        replies: Vec<(String, Option<MessageMeta>)>,
        dialogue: String,
    ) -> Result<Vec<i64>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut ids = Vec::with_capacity(replies.len());
        for (text, meta) in &replies {
            ids.push(insert_message(&tx, &conversation_id, None, Sender::Bot, text, meta.as_ref()).await?);
        }
        let st = tx.prepare_cached("UPDATE conversations SET dialogue = $2 WHERE id = $1").await?;
        tx.execute(&st, &[&conversation_id, &dialogue]).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn dialogue_state(&self, conversation_id: String) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let st = client.prepare_cached("SELECT dialogue FROM conversations WHERE id = $1").await?;
        let row = client.query_opt(&st, &[&conversation_id]).await?;
        Ok(row.map(|r| r.try_get::<_, Option<String>>(0)).transpose()?.flatten())
    }

    /// Stored once per client id on every node: the insert does nothing when the id is there
    /// (a racing insert of the same id waits for the first to commit), and the stored one is
    /// found instead.
    async fn accept_shopper_message(
        &self,
        conversation_id: String,
        client_msg_id: String,
        text: String,
        admit: bool,
    ) -> Result<Accepted, StoreError> {
        let client = self.pool.get().await?;
        if admit {
            let st = client
                .prepare_cached(
                    "INSERT INTO messages (conversation_id, client_msg_id, sender, text, created_at)
                     VALUES ($1, $2, 'shopper', $3, $4)
                     ON CONFLICT (conversation_id, client_msg_id) DO NOTHING RETURNING id",
                )
                .await?;
            if let Some(row) =
                client.query_opt(&st, &[&conversation_id, &client_msg_id, &text, &now()]).await?
            {
                return Ok(Accepted::New(row.try_get(0)?));
            }
        }
        let st = client
            .prepare_cached("SELECT id FROM messages WHERE conversation_id = $1 AND client_msg_id = $2")
            .await?;
        let Some(row) = client.query_opt(&st, &[&conversation_id, &client_msg_id]).await? else {
            return Ok(Accepted::Refused);
        };
        let id: i64 = row.try_get(0)?;
        let st = client
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND id > $2 AND sender <> 'shopper')",
            )
            .await?;
        let answered: bool = client.query_one(&st, &[&conversation_id, &id]).await?.try_get(0)?;
        Ok(Accepted::Known { answered })
    }

    async fn messages(&self, conversation_id: String) -> Result<Vec<StoredMessage>, StoreError> {
        self.recent_messages(conversation_id, usize::MAX).await
    }

    async fn recent_messages(
        &self,
        conversation_id: String,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let client = self.pool.get().await?;
        query_messages(&client, &conversation_id, limit).await
    }

    async fn shopper(&self, id: String) -> Result<Option<Shopper>, StoreError> {
        let client = self.pool.get().await?;
        let st =
            client.prepare_cached(&format!("SELECT {SHOPPER_COLUMNS} FROM shoppers WHERE id = $1")).await?;
        client.query_opt(&st, &[&id]).await?.as_ref().map(shopper_row).transpose()
    }

    async fn order(&self, order_no: String) -> Result<Option<Order>, StoreError> {
        let client = self.pool.get().await?;
        order_row(&client, &order_no).await
    }

    /// The order's row is locked for the change, so changes from several nodes apply one
    /// after the other, each to the order as the last one left it.
    async fn update_order(
        &self,
        order_no: String,
        change: impl FnOnce(&mut Order) -> bool + Send + 'static,
    ) -> Result<Option<Order>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let st = tx.prepare_cached("SELECT data FROM orders WHERE order_no = $1 FOR UPDATE").await?;
        let Some(row) = tx.query_opt(&st, &[&order_no]).await? else { return Ok(None) };
        let mut order: Order = decode(row.try_get(0)?)?;
        if change(&mut order) {
            let data = serde_json::to_string(&order).expect("orders serialise");
            let st =
                tx.prepare_cached("UPDATE orders SET status = $2, data = $3 WHERE order_no = $1").await?;
            tx.execute(&st, &[&order_no, &order_status(&order), &data]).await?;
        }
        tx.commit().await?;
        Ok(Some(order))
    }

    async fn recent_orders(&self, shopper_id: String, limit: usize) -> Result<Vec<Order>, StoreError> {
        let client = self.pool.get().await?;
        recent_order_rows(&client, &shopper_id, limit).await
    }

    /// One query: the newest orders, each joined with its returns (oldest first).
    async fn recent_orders_with_returns(
        &self,
        shopper_id: String,
        limit: usize,
    ) -> Result<Vec<(Order, Vec<ReturnRequest>)>, StoreError> {
        let client = self.pool.get().await?;
        let returns = RETURN_COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
        let st = client
            .prepare_cached(&format!(
                "SELECT o.order_no, o.data, {returns}
                 FROM (SELECT order_no, created_at, data FROM orders WHERE shopper_id = $1
                       ORDER BY created_at DESC, order_no DESC LIMIT $2) o
                 LEFT JOIN returns r ON r.order_no = o.order_no
                 ORDER BY o.created_at DESC, o.order_no DESC, r.created_at, r.id"
            ))
            .await?;
        let limit = limit.min(i64::MAX as usize) as i64;
        let mut out: Vec<(Order, Vec<ReturnRequest>)> = Vec::new();
        for row in client.query(&st, &[&shopper_id, &limit]).await? {
            let no: String = row.try_get(0)?;
            if out.last().is_none_or(|(o, _)| o.order_no != no) {
                out.push((decode(row.try_get(1)?)?, Vec::new()));
            }
            if row.try_get::<_, Option<String>>(2)?.is_some() {
                let r = return_row_at(&row, 2)?;
                out.last_mut().expect("pushed above").1.push(r);
            }
        }
        Ok(out)
    }

    /// The orders with these numbers that exist, newest first (one query).
    async fn orders(&self, order_nos: Vec<String>) -> Result<Vec<Order>, StoreError> {
        let client = self.pool.get().await?;
        let st = client.prepare_cached("SELECT order_no, data FROM orders WHERE order_no = ANY($1)").await?;
        let rows = client.query(&st, &[&order_nos]).await?;
        let found = rows
            .iter()
            .map(|r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?)))
            .collect::<Result<std::collections::HashMap<_, _>, StoreError>>()?;
        // one per number asked for, as SQLite answers
        let mut out = order_nos
            .iter()
            .filter_map(|no| found.get(no))
            .map(|d| decode(d))
            .collect::<Result<Vec<Order>, _>>()?;
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(out)
    }

    async fn returns_for(&self, order_no: String) -> Result<Vec<ReturnRequest>, StoreError> {
        let client = self.pool.get().await?;
        returns_of(&client, &[&order_no]).await
    }

    async fn create_return(
        &self,
        order_no: String,
        conversation_id: Option<String>,
        reason: String,
    ) -> Result<Result<ReturnRequest, ReturnRequest>, StoreError> {
        self.insert_return(order_no, conversation_id, reason, None).await
    }

    async fn create_return_once(
        &self,
        order_no: String,
        conversation_id: Option<String>,
        reason: String,
        idempotency_key: String,
    ) -> Result<Result<ReturnRequest, ReturnRequest>, StoreError> {
        self.insert_return(order_no, conversation_id, reason, Some(idempotency_key)).await
    }

    async fn return_requested(&self, r: ReturnRequest) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        events::record_return_requested(&client, &r).await
    }

    /// The check and the count hold the order's guesses on every node, so concurrent guesses
    /// cannot get past the lockout.
    async fn check_phone_digits(
        &self,
        order_no: String,
        digits: String,
        max: u32,
    ) -> Result<PhoneCheck, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock(&tx, "phone", &order_no).await?;
        let order = order_row(&tx, &order_no).await?;
        let matched = order.is_some_and(|o| !digits.is_empty() && o.address.phone.ends_with(&digits));
        let check = count_guess(&tx, &order_no, matched, max).await?;
        tx.commit().await?;
        Ok(check)
    }

    async fn count_phone_guess(
        &self,
        order_no: String,
        matched: bool,
        max: u32,
    ) -> Result<PhoneCheck, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock(&tx, "phone", &order_no).await?;
        let check = count_guess(&tx, &order_no, matched, max).await?;
        tx.commit().await?;
        Ok(check)
    }

    /// An upsert that keeps a rating already given (and its comment in the record), with its
    /// `feedback.written` event carrying the record as stored.
    async fn save_feedback(&self, record: FeedbackRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(&record).expect("feedback records serialise");
        let rating = record.rating.map(i64::from);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let st = tx
            .prepare_cached(
                "INSERT INTO feedback (conversation_id, record, rating, comment, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (conversation_id) DO UPDATE SET
                   record = CASE WHEN excluded.rating IS NULL AND feedback.rating IS NOT NULL
                     THEN (excluded.record::jsonb
                           || jsonb_build_object('rating', feedback.rating, 'comment', feedback.comment))::text
                     ELSE excluded.record END,
                   rating = COALESCE(excluded.rating, feedback.rating),
                   comment = COALESCE(excluded.comment, feedback.comment), updated_at = excluded.updated_at
                 RETURNING record",
            )
            .await?;
        let row =
            tx.query_one(&st, &[&record.conversation_id, &json, &rating, &record.comment, &now()]).await?;
        let stored: FeedbackRecord = decode(row.try_get(0)?)?;
        events::record_event(&tx, EventData::FeedbackWritten(Box::new(stored))).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rate(
        &self,
        conversation_id: String,
        rating: u8,
        comment: Option<String>,
    ) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let st = tx
            .prepare_cached(
                "UPDATE feedback SET rating = $2, comment = $3, updated_at = $4,
                   record = (record::jsonb || jsonb_build_object('rating', $2::bigint, 'comment', $3::text))::text
                 WHERE conversation_id = $1 RETURNING record",
            )
            .await?;
        let Some(row) = tx.query_opt(&st, &[&conversation_id, &i64::from(rating), &comment, &now()]).await?
        else {
            return Ok(false);
        };
        let stored: FeedbackRecord = decode(row.try_get(0)?)?;
        events::record_event(&tx, EventData::FeedbackWritten(Box::new(stored))).await?;
        tx.commit().await?;
        Ok(true)
    }
}
