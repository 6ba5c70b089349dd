//! Typed operations on the store's tables.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{Fail, Store, StoreError};
use crate::knowledge::{Order, Shopper};
use crate::lang::Lang;
use crate::records::{FeedbackRecord, MessageMeta};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Shopper,
    Bot,
    Agent,
    System,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Shopper => "shopper",
            Sender::Bot => "bot",
            Sender::Agent => "agent",
            Sender::System => "system",
        }
    }
    pub(crate) fn parse(s: &str) -> Sender {
        match s {
            "shopper" => Sender::Shopper,
            "bot" => Sender::Bot,
            "agent" => Sender::Agent,
            _ => Sender::System,
        }
    }
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    Bot,
    WaitingAgent,
    Agent,
    Closed,
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Bot => "bot",
            ConversationState::WaitingAgent => "waiting_agent",
            ConversationState::Agent => "agent",
            ConversationState::Closed => "closed",
        }
    }
    pub(crate) fn parse(s: &str) -> ConversationState {
        match s {
            "waiting_agent" => ConversationState::WaitingAgent,
            "agent" => ConversationState::Agent,
            "closed" => ConversationState::Closed,
            _ => ConversationState::Bot,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    pub state: ConversationState,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub escalation_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredMessage {
    pub id: i64,
    pub client_msg_id: Option<String>,
    pub sender: Sender,
    pub text: String,
    pub meta: Option<MessageMeta>,
    pub created_at: String,
    /// An agent's message recalled within the recall window: when, and by whom (staff still
    /// see the text; the shopper only that it was recalled).
    pub recalled_at: Option<String>,
    pub recalled_by: Option<String>,
}

/// What became of a shopper message offered to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Stored now (durably, once this is returned), with its row id.
    New(i64),
    /// Already stored under the same client id; `answered` when something was sent after it.
    Known { answered: bool },
    /// Not stored: it was new but not admitted.
    Refused,
}

/// A return request as kefu keeps it (a row; the webhooks and the store API have their own
/// wire types).
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnRequest {
    pub id: String,
    pub order_no: String,
    pub conversation_id: Option<String>,
    pub reason: String,
    pub status: String,
    pub created_at: String,
}

/// The answer to a guest's phone digits for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneCheck {
    Match,
    /// Wrong digits, or no such order (the two are not told apart).
    Mismatch,
    /// Too many wrong guesses: no more checks for this order.
    Locked,
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) fn new_id(prefix: &str, digits: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let body: String = (0..digits).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
    format!("{prefix}{body}")
}

pub(super) fn insert_message(
    conn: &rusqlite::Connection,
    conversation_id: &str,
    client_msg_id: Option<&str>,
    sender: Sender,
    text: &str,
    meta: Option<&MessageMeta>,
) -> Result<i64, Fail> {
    conn.prepare_cached(
        "INSERT INTO messages (conversation_id, client_msg_id, sender, text, meta, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![conversation_id, client_msg_id, sender.as_str(), text, meta.map(|m| serde_json::to_string(m).expect("meta serialises")), now()])?;
    Ok(conn.last_insert_rowid())
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

pub(super) fn from_json<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T, Fail> {
    serde_json::from_str(s).map_err(|e| Fail::Corrupt(e.to_string()))
}

impl Store {
    /// Loads demo shoppers and orders; rows already present are left alone (idempotent).
    pub async fn seed(&self, shoppers: Vec<Shopper>, orders: Vec<Order>) -> Result<usize, StoreError> {
        self.call(move |conn| {
            let mut n = 0;
            for s in &shoppers {
                n += conn.execute(
                    "INSERT OR IGNORE INTO shoppers (id, name, phone, tier, vip, lang) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![s.id, s.name, s.phone, s.tier, s.vip, s.lang.code()],
                )?;
            }
            for o in &orders {
                let status = serde_json::to_value(o.status).expect("status").as_str().unwrap_or("").to_string();
                n += conn.execute(
                    "INSERT OR IGNORE INTO orders (order_no, shopper_id, created_at, status, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![o.order_no, o.shopper_id, o.created_at, status, json(o)],
                )?;
            }
            Ok(n)
        })
        .await
    }

    pub async fn open_conversation(
        &self,
        shopper_id: Option<String>,
        lang: Lang,
    ) -> Result<Conversation, StoreError> {
        self.call(move |conn| {
            let c = Conversation {
                id: new_id("c", 20),
                shopper_id,
                lang,
                state: ConversationState::Bot,
                started_at: now(),
                ended_at: None,
                escalation_reason: None,
            };
            conn.execute(
                "INSERT INTO conversations (id, shopper_id, lang, state, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![c.id, c.shopper_id, c.lang.code(), c.state.as_str(), c.started_at],
            )?;
            Ok(c)
        })
        .await
    }

    pub async fn conversation(&self, id: String) -> Result<Option<Conversation>, StoreError> {
        self.call(move |conn| conversation_row(conn, &id)).await
    }

    pub async fn set_state(
        &self,
        id: String,
        state: ConversationState,
        reason: Option<String>,
    ) -> Result<(), StoreError> {
        self.call(move |conn| {
            let ended = (state == ConversationState::Closed).then(now);
            conn.execute(
                "UPDATE conversations SET state = ?2, escalation_reason = COALESCE(?3, escalation_reason), ended_at = COALESCE(?4, ended_at) WHERE id = ?1",
                params![id, state.as_str(), reason, ended],
            )?;
            Ok(())
        })
        .await
    }

    /// Stores a message (committed to disk when this returns).
    pub async fn add_message(
        &self,
        conversation_id: String,
        sender: Sender,
        text: String,
        meta: Option<MessageMeta>,
    ) -> Result<i64, StoreError> {
        self.call(move |conn| insert_message(conn, &conversation_id, None, sender, &text, meta.as_ref()))
            .await
    }

    /// Stores a bot turn: its replies and the dialogue memory after it, in one commit, so the
    /// stored memory always matches the stored transcript.
    pub async fn add_bot_turn(
        &self,
        conversation_id: String,
        replies: Vec<(String, Option<MessageMeta>)>,
        dialogue: String,
    ) -> Result<Vec<i64>, StoreError> {
        self.call(move |conn| {
            let ids = replies
                .iter()
                .map(|(text, meta)| {
                    insert_message(conn, &conversation_id, None, Sender::Bot, text, meta.as_ref())
                })
                .collect::<Result<Vec<_>, _>>()?;
            conn.prepare_cached("UPDATE conversations SET dialogue = ?2 WHERE id = ?1")?
                .execute(params![conversation_id, dialogue])?;
            Ok(ids)
        })
        .await
    }

    /// The dialogue memory stored with a conversation's last bot turn (the dialogue module's JSON).
    pub async fn dialogue_state(&self, conversation_id: String) -> Result<Option<String>, StoreError> {
        self.call(move |conn| {
            Ok(conn
                .prepare_cached("SELECT dialogue FROM conversations WHERE id = ?1")?
                .query_row(params![conversation_id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten())
        })
        .await
    }

    /// Stores a shopper message under its client id, once: a message re-sent with the same id
    /// is found instead (with whether anything was sent after it). With `admit` false nothing
    /// new is written (the conversation is closed or the shopper is over the rate limit).
    pub async fn accept_shopper_message(
        &self,
        conversation_id: String,
        client_msg_id: String,
        text: String,
        admit: bool,
    ) -> Result<Accepted, StoreError> {
        self.call(move |conn| {
            let id: Option<i64> = conn
                .prepare_cached("SELECT id FROM messages WHERE conversation_id = ?1 AND client_msg_id = ?2")?
                .query_row(params![conversation_id, client_msg_id], |r| r.get(0))
                .optional()?;
            if let Some(id) = id {
                let answered: bool = conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1 AND id > ?2 AND sender != 'shopper')",
                    )?
                    .query_row(params![conversation_id, id], |r| r.get(0))?;
                return Ok(Accepted::Known { answered });
            }
            if !admit {
                return Ok(Accepted::Refused);
            }
            let id = insert_message(conn, &conversation_id, Some(&client_msg_id), Sender::Shopper, &text, None)?;
            Ok(Accepted::New(id))
        })
        .await
    }

    pub async fn messages(&self, conversation_id: String) -> Result<Vec<StoredMessage>, StoreError> {
        self.recent_messages(conversation_id, usize::MAX).await
    }

    /// The last `limit` messages of a conversation, oldest first.
    pub async fn recent_messages(
        &self,
        conversation_id: String,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.call(move |conn| query_messages(conn, &conversation_id, limit)).await
    }

    pub async fn shopper(&self, id: String) -> Result<Option<Shopper>, StoreError> {
        self.call(move |conn| shopper_row(conn, &id)).await
    }

    pub async fn order(&self, order_no: String) -> Result<Option<Order>, StoreError> {
        self.call(move |conn| order_row(conn, &order_no)).await
    }

    /// Changes a stored order in one job (read, `change`, write back when it says it changed):
    /// the order as it is now, `None` when there is no such order.
    pub async fn update_order(
        &self,
        order_no: String,
        change: impl FnOnce(&mut Order) -> bool + Send + 'static,
    ) -> Result<Option<Order>, StoreError> {
        self.call(move |conn| {
            let Some(mut order) = order_row(conn, &order_no)? else { return Ok(None) };
            if change(&mut order) {
                let status =
                    serde_json::to_value(order.status).expect("status").as_str().unwrap_or("").to_string();
                conn.execute(
                    "UPDATE orders SET status = ?2, data = ?3 WHERE order_no = ?1",
                    params![order_no, status, json(&order)],
                )?;
            }
            Ok(Some(order))
        })
        .await
    }

    /// A shopper's orders, newest first.
    pub async fn recent_orders(&self, shopper_id: String, limit: usize) -> Result<Vec<Order>, StoreError> {
        self.call(move |conn| recent_order_rows(conn, &shopper_id, limit)).await
    }

    /// Opens a return request for an order, once: when the order already has one (another
    /// conversation confirmed first), that one is returned as `Err(existing)` and nothing is
    /// written. The check and the insert are one job, so two confirmations cannot both open one.
    pub async fn create_return(
        &self,
        order_no: String,
        conversation_id: Option<String>,
        reason: String,
    ) -> Result<Result<ReturnRequest, ReturnRequest>, StoreError> {
        self.call(move |conn| insert_return(conn, order_no, conversation_id, reason, None)).await
    }

    /// [`Store::create_return`] with an idempotency key: when a return was already opened with
    /// this key, that one is the answer (`Ok`, as if opened now) and nothing is written, so a
    /// repeated create is never a second return nor reported as someone else's.
    pub async fn create_return_once(
        &self,
        order_no: String,
        conversation_id: Option<String>,
        reason: String,
        idempotency_key: String,
    ) -> Result<Result<ReturnRequest, ReturnRequest>, StoreError> {
        self.call(move |conn| insert_return(conn, order_no, conversation_id, reason, Some(idempotency_key)))
            .await
    }

    /// Checks a guest's phone digits for an order in one job, so concurrent guesses cannot get
    /// past the lockout: once an order has `max` wrong guesses every caller gets `Locked`, the
    /// right digits too. A wrong guess (or an order that does not exist) is counted.
    pub async fn check_phone_digits(
        &self,
        order_no: String,
        digits: String,
        max: u32,
    ) -> Result<PhoneCheck, StoreError> {
        self.call(move |conn| {
            if wrong_guesses(conn, &order_no)? >= max {
                return Ok(PhoneCheck::Locked);
            }
            let order = order_row(conn, &order_no)?;
            let matched = order.is_some_and(|o| !digits.is_empty() && o.address.phone.ends_with(&digits));
            count_guess(conn, &order_no, matched, max)
        })
        .await
    }

    /// Counts a guess at an order's phone digits that the caller has already compared (the
    /// order may come from another system than this database), with the same lockout as
    /// [`Store::check_phone_digits`] and in one job: `Locked` once the order has `max` wrong
    /// guesses (a right guess too); otherwise `Match`, or `Mismatch` counted.
    pub async fn count_phone_guess(
        &self,
        order_no: String,
        matched: bool,
        max: u32,
    ) -> Result<PhoneCheck, StoreError> {
        self.call(move |conn| count_guess(conn, &order_no, matched, max)).await
    }

    /// A shopper's newest orders, each with its return requests: one job for a list of cards.
    pub async fn recent_orders_with_returns(
        &self,
        shopper_id: String,
        limit: usize,
    ) -> Result<Vec<(Order, Vec<ReturnRequest>)>, StoreError> {
        self.call(move |conn| {
            recent_order_rows(conn, &shopper_id, limit)?
                .into_iter()
                .map(|o| {
                    let returns = returns_of(conn, &o.order_no)?;
                    Ok((o, returns))
                })
                .collect()
        })
        .await
    }

    /// The orders with these numbers that exist, newest first (one job).
    pub async fn orders(&self, order_nos: Vec<String>) -> Result<Vec<Order>, StoreError> {
        self.call(move |conn| {
            let mut out = Vec::new();
            for no in &order_nos {
                out.extend(order_row(conn, no)?);
            }
            out.sort_by(|a: &Order, b| b.created_at.cmp(&a.created_at));
            Ok(out)
        })
        .await
    }

    pub async fn returns_for(&self, order_no: String) -> Result<Vec<ReturnRequest>, StoreError> {
        self.call(move |conn| returns_of(conn, &order_no)).await
    }

    /// Writes (or replaces) a conversation's feedback record.
    pub async fn save_feedback(&self, record: FeedbackRecord) -> Result<(), StoreError> {
        self.call(move |conn| {
            let json = serde_json::to_string(&record).expect("feedback records serialise");
            let (conversation_id, rating, comment) = (&record.conversation_id, record.rating, &record.comment);
            // a rating already given survives a later rewrite of the record
            conn.execute(
                "INSERT INTO feedback (conversation_id, record, rating, comment, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(conversation_id) DO UPDATE SET
                   record = CASE WHEN excluded.rating IS NULL AND feedback.rating IS NOT NULL
                     THEN json_set(excluded.record, '$.rating', feedback.rating, '$.comment', feedback.comment)
                     ELSE excluded.record END,
                   rating = COALESCE(excluded.rating, feedback.rating),
                   comment = COALESCE(excluded.comment, feedback.comment), updated_at = excluded.updated_at",
                params![conversation_id, json, rating, comment, now()],
            )?;
            super::webhooks::record_feedback(conn, &record.conversation_id)?;
            Ok(())
        })
        .await
    }

    /// Sets the rating and comment of an existing feedback record; false when there is none.
    pub async fn rate(
        &self,
        conversation_id: String,
        rating: u8,
        comment: Option<String>,
    ) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE feedback SET rating = ?2, comment = ?3, updated_at = ?4,
                   record = json_set(record, '$.rating', ?2, '$.comment', ?3) WHERE conversation_id = ?1",
                params![conversation_id, rating, comment, now()],
            )?;
            if n > 0 {
                super::webhooks::record_feedback(conn, &conversation_id)?;
            }
            Ok(n > 0)
        })
        .await
    }

    /// Feedback records updated at or after `since` (RFC 3339 prefix such as "2026-11-01").
    pub async fn feedback_since(&self, since: String) -> Result<Vec<FeedbackRecord>, StoreError> {
        self.read(move |conn| {
            let mut st =
                conn.prepare("SELECT record FROM feedback WHERE updated_at >= ?1 ORDER BY updated_at")?;
            let rows = st.query_map(params![since], |r| r.get::<_, String>(0))?;
            rows.map(|d| from_json(&d?)).collect()
        })
        .await
    }
}

/// A shopper's newest `limit` orders, newest first.
fn recent_order_rows(
    conn: &rusqlite::Connection,
    shopper_id: &str,
    limit: usize,
) -> Result<Vec<Order>, Fail> {
    let mut st = conn
        .prepare_cached("SELECT data FROM orders WHERE shopper_id = ?1 ORDER BY created_at DESC LIMIT ?2")?;
    let rows = st.query_map(params![shopper_id, limit as i64], |r| r.get::<_, String>(0))?;
    rows.map(|d| from_json(&d?)).collect()
}

fn order_row(conn: &rusqlite::Connection, order_no: &str) -> Result<Option<Order>, Fail> {
    let data: Option<String> = conn
        .prepare_cached("SELECT data FROM orders WHERE order_no = ?1")?
        .query_row(params![order_no], |r| r.get(0))
        .optional()?;
    data.map(|d| from_json(&d)).transpose()
}

pub(super) fn conversation_row(conn: &rusqlite::Connection, id: &str) -> Result<Option<Conversation>, Fail> {
    Ok(conn
        .prepare_cached(
            "SELECT id, shopper_id, lang, state, started_at, ended_at, escalation_reason FROM conversations WHERE id = ?1",
        )?
        .query_row(params![id], |r| {
            Ok(Conversation {
                id: r.get(0)?,
                shopper_id: r.get(1)?,
                lang: Lang::parse(&r.get::<_, String>(2)?).unwrap_or(Lang::Zh),
                state: ConversationState::parse(&r.get::<_, String>(3)?),
                started_at: r.get(4)?,
                ended_at: r.get(5)?,
                escalation_reason: r.get(6)?,
            })
        })
        .optional()?)
}

/// The last `limit` messages of a conversation, oldest first.
pub(super) fn query_messages(
    conn: &rusqlite::Connection,
    conversation_id: &str,
    limit: usize,
) -> Result<Vec<StoredMessage>, Fail> {
    let mut st = conn.prepare_cached(
        "SELECT * FROM (SELECT id, client_msg_id, sender, text, meta, created_at, recalled_at, recalled_by
         FROM messages WHERE conversation_id = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
    )?;
    let rows = st.query_map(params![conversation_id, limit.min(i64::MAX as usize) as i64], |r| {
        let meta: Option<String> = r.get(4)?;
        Ok(StoredMessage {
            id: r.get(0)?,
            client_msg_id: r.get(1)?,
            sender: Sender::parse(&r.get::<_, String>(2)?),
            text: r.get(3)?,
            meta: meta.and_then(|m| serde_json::from_str(&m).ok()),
            created_at: r.get(5)?,
            recalled_at: r.get(6)?,
            recalled_by: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn shopper_row(conn: &rusqlite::Connection, id: &str) -> Result<Option<Shopper>, Fail> {
    Ok(conn
        .prepare_cached("SELECT id, name, phone, tier, vip, lang FROM shoppers WHERE id = ?1")?
        .query_row(params![id], |r| {
            Ok(Shopper {
                id: r.get(0)?,
                name: r.get(1)?,
                phone: r.get(2)?,
                tier: r.get(3)?,
                vip: r.get(4)?,
                city: String::new(),
                lang: Lang::parse(&r.get::<_, String>(5)?).unwrap_or(Lang::Zh),
            })
        })
        .optional()?)
}

/// The lockout's step, inside a job: the lock check, then the count of a wrong guess.
fn count_guess(
    conn: &rusqlite::Connection,
    order_no: &str,
    matched: bool,
    max: u32,
) -> Result<PhoneCheck, Fail> {
    if wrong_guesses(conn, order_no)? >= max {
        return Ok(PhoneCheck::Locked);
    }
    if matched {
        return Ok(PhoneCheck::Match);
    }
    conn.prepare_cached(
        "INSERT INTO phone_guesses (order_no, wrong, updated_at) VALUES (?1, 1, ?2)
         ON CONFLICT (order_no) DO UPDATE SET wrong = wrong + 1, updated_at = ?2",
    )?
    .execute(params![order_no, now()])?;
    Ok(PhoneCheck::Mismatch)
}

fn wrong_guesses(conn: &rusqlite::Connection, order_no: &str) -> Result<u32, Fail> {
    Ok(conn
        .prepare_cached("SELECT wrong FROM phone_guesses WHERE order_no = ?1")?
        .query_row(params![order_no], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Opens a return inside a job: the one opened with the same idempotency key is `Ok` again;
/// an order that already has another return gets `Err(existing)`; otherwise a new one.
fn insert_return(
    conn: &rusqlite::Connection,
    order_no: String,
    conversation_id: Option<String>,
    reason: String,
    key: Option<String>,
) -> Result<Result<ReturnRequest, ReturnRequest>, Fail> {
    let mut existing = returns_of(conn, &order_no)?;
    if let Some(key) = &key {
        let same: Option<String> = conn
            .prepare_cached("SELECT id FROM returns WHERE idempotency_key = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?;
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
    conn.execute(
        "INSERT INTO returns (id, order_no, conversation_id, reason, status, created_at, idempotency_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![r.id, r.order_no, r.conversation_id, r.reason, r.status, r.created_at, key],
    )?;
    super::webhooks::record_event(conn, super::webhooks::EventData::ReturnRequested((&r).into()))?;
    Ok(Ok(r))
}

pub(super) fn returns_of(conn: &rusqlite::Connection, order_no: &str) -> Result<Vec<ReturnRequest>, Fail> {
    let mut st = conn.prepare_cached(
        "SELECT id, order_no, conversation_id, reason, status, created_at FROM returns WHERE order_no = ?1 ORDER BY created_at",
    )?;
    let rows = st.query_map(params![order_no], |r| {
        Ok(ReturnRequest {
            id: r.get(0)?,
            order_no: r.get(1)?,
            conversation_id: r.get(2)?,
            reason: r.get(3)?,
            status: r.get(4)?,
            created_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
