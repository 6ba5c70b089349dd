//! A shopper's erasure and the retention periods (issue 21, items 1 and 2), on SQLite; the same
//! operations on PostgreSQL are `pg::erasure`, and the pure parts (what an anonymised order or
//! feedback record keeps) are here for both.
//!
//! Erasure anonymises in place rather than deleting rows, so every count survives: message
//! texts, notes, tickets (text, contact, answer) and return reasons become [`ERASED`]; the
//! profile copy loses its name and phone, the orders their delivery name, phone and street;
//! photos, phone-digit guesses and the webhook events that carry the shopper's data are
//! deleted; feedback records keep their counts, ratings and outcomes but lose the comment.
//! Everything in one transaction, recorded in `erasures`.
//!
//! Retention purges in batches of at most `limit` rows per call, so each call is one short
//! transaction that chat's writes queue behind for a moment only.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{now, Fail, Store, StoreError};
use crate::knowledge::Order;
use crate::records::FeedbackRecord;

/// What replaces an erased text (a message, a note, a ticket, a return's reason).
pub const ERASED: &str = "[erased]";

/// One erasure, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    pub id: i64,
    pub shopper_id: String,
    /// The admin's login name, or `cli`.
    pub by: String,
    pub at: String,
    /// What this erasure changed (a repeat changes nothing already erased: zeros).
    pub counts: ErasedCounts,
}

/// Rows an erasure anonymised or deleted, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasedCounts {
    /// The shopper's conversations found (kept, with their counts; dialogue memory cleared).
    pub conversations: usize,
    pub messages: usize,
    pub notes: usize,
    pub tickets: usize,
    pub returns: usize,
    pub orders: usize,
    /// The profile copy (0 or 1).
    pub profile: usize,
    pub feedback: usize,
    /// Deleted, with their bytes.
    pub images: usize,
    /// Deleted, with their deliveries.
    pub webhook_events: usize,
    /// Deleted.
    pub phone_guesses: usize,
}

/// A kind of data with its own retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Retained {
    /// Messages (with the photos they sent, and photos uploaded but never sent) are deleted.
    Messages,
    /// Agents' internal notes are deleted.
    Notes,
    /// Answered and closed tickets are deleted (open ones are unfinished work, kept).
    Tickets,
    /// Feedback records are anonymised (comment and shopper id gone), never deleted.
    Feedback,
    /// Staff login lockout counters and guests' phone-digit guess counters are deleted.
    Logins,
}

impl Retained {
    pub const ALL: [Retained; 5] =
        [Retained::Messages, Retained::Notes, Retained::Tickets, Retained::Feedback, Retained::Logins];

    pub fn as_str(self) -> &'static str {
        match self {
            Retained::Messages => "messages",
            Retained::Notes => "notes",
            Retained::Tickets => "tickets",
            Retained::Feedback => "feedback",
            Retained::Logins => "logins",
        }
    }
}

/// An order without its delivery name, phone and street (province and city stay, for counts
/// by region). True when it changed.
pub(crate) fn anonymise_order(order: &mut Order) -> bool {
    let a = &mut order.address;
    let changed = !(a.name.is_empty() && a.phone.is_empty() && a.detail.is_empty());
    a.name.clear();
    a.phone.clear();
    a.detail.clear();
    changed
}

/// A feedback record without its free text (the comment); counts, rating and outcome stay.
/// With `drop_shopper`, without the shopper's id too (retention). True when it changed.
pub(crate) fn anonymise_feedback(record: &mut FeedbackRecord, drop_shopper: bool) -> bool {
    let mut changed = record.comment.take().is_some();
    if drop_shopper {
        changed |= record.shopper_id.take().is_some();
    }
    changed
}

/// The texts a webhook event body carries the shopper's data by: their id or one of their
/// conversations', as JSON strings (quoted, so `S1` never matches `S10`).
pub(crate) fn event_needles(shopper_id: &str, conversations: &[String]) -> Vec<String> {
    std::iter::once(shopper_id)
        .chain(conversations.iter().map(String::as_str))
        .map(|s| serde_json::to_string(s).expect("a string serialises"))
        .collect()
}

/// RFC 3339 `before` as Unix seconds (login lockout rows count in seconds).
pub(crate) fn unix_secs(before: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(before).map(|t| t.timestamp()).map_err(|e| format!("{before}: {e}"))
}

fn to_json<T: Serialize>(value: &T) -> Result<String, Fail> {
    serde_json::to_string(value).map_err(|e| Fail::Corrupt(e.to_string()))
}

fn from_json<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T, Fail> {
    serde_json::from_str(s).map_err(|e| Fail::Corrupt(e.to_string()))
}

impl Store {
    /// Anonymises everything stored about a signed-in shopper in one transaction and records
    /// the erasure; None when nothing was ever stored about them (no profile copy, conversation,
    /// ticket or earlier erasure). A repeat is harmless: it changes only what was stored since.
    pub async fn erase_shopper(&self, shopper_id: String, by: String) -> Result<Option<Erasure>, StoreError> {
        self.call(move |conn| erase(conn, &shopper_id, &by)).await
    }

    /// Erasures recorded (of one shopper, or all), newest first.
    pub async fn erasures(&self, shopper_id: Option<String>) -> Result<Vec<Erasure>, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare_cached(
                "SELECT id, shopper_id, erased_by, erased_at, counts FROM erasures
                 WHERE ?1 IS NULL OR shopper_id = ?1 ORDER BY id DESC",
            )?;
            let rows = st.query_map(params![shopper_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, String>(4)?))
            })?;
            rows.map(|row| {
                let (id, shopper_id, by, at, counts) = row?;
                Ok(Erasure { id, shopper_id, by, at, counts: from_json(&counts)? })
            })
            .collect()
        })
        .await
    }

    /// Purges (feedback: anonymises) at most `limit` rows of `kind` older than `before` (RFC
    /// 3339), oldest first, in one short transaction: how many. Call again until it returns less
    /// than `limit`.
    pub async fn purge_expired(
        &self,
        kind: Retained,
        before: String,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let limit = limit.clamp(1, 10_000) as i64;
        self.call(move |conn| purge(conn, kind, &before, limit)).await
    }
}

fn erase(conn: &Connection, shopper_id: &str, by: &str) -> Result<Option<Erasure>, Fail> {
    let known: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM shoppers WHERE id = ?1)
             OR EXISTS (SELECT 1 FROM conversations WHERE shopper_id = ?1)
             OR EXISTS (SELECT 1 FROM tickets WHERE shopper_id = ?1)
             OR EXISTS (SELECT 1 FROM erasures WHERE shopper_id = ?1)",
        params![shopper_id],
        |r| r.get(0),
    )?;
    if !known {
        return Ok(None);
    }
    let mut n = ErasedCounts::default();
    let conversations: Vec<String> = conn
        .prepare_cached("SELECT id FROM conversations WHERE shopper_id = ?1 ORDER BY id")?
        .query_map(params![shopper_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    n.conversations = conversations.len();
    for c in &conversations {
        conn.execute("UPDATE conversations SET dialogue = NULL WHERE id = ?1 AND dialogue IS NOT NULL", [c])?;
        n.messages += conn.execute(
            "UPDATE messages SET text = ?2, meta = json_remove(meta, '$.image')
             WHERE conversation_id = ?1 AND (text <> ?2 OR json_extract(meta, '$.image') IS NOT NULL)",
            params![c, ERASED],
        )?;
        n.notes += conn.execute(
            "UPDATE notes SET text = ?2 WHERE conversation_id = ?1 AND text <> ?2",
            params![c, ERASED],
        )?;
        n.returns += conn.execute(
            "UPDATE returns SET reason = ?2 WHERE conversation_id = ?1 AND reason <> ?2",
            params![c, ERASED],
        )?;
        conn.execute(
            "DELETE FROM image_data WHERE id IN (SELECT id FROM images WHERE conversation_id = ?1)",
            [c],
        )?;
        n.images += conn.execute("DELETE FROM images WHERE conversation_id = ?1", [c])?;
        let record: Option<String> = conn
            .query_row("SELECT record FROM feedback WHERE conversation_id = ?1", [c], |r| r.get(0))
            .optional()?;
        if let Some(record) = record {
            let mut record: FeedbackRecord = from_json(&record)?;
            let changed = anonymise_feedback(&mut record, false);
            let cleared = conn.execute(
                "UPDATE feedback SET comment = NULL, record = ?2 WHERE conversation_id = ?1",
                params![c, to_json(&record)?],
            )?;
            n.feedback += usize::from(changed && cleared > 0);
        }
        n.tickets += conn.execute(
            "UPDATE tickets SET text = ?2, contact = NULL, answer = CASE WHEN answer IS NULL THEN NULL ELSE ?2 END
             WHERE conversation_id = ?1 AND (text <> ?2 OR contact IS NOT NULL OR answer <> ?2)",
            params![c, ERASED],
        )?;
    }
    // tickets they left signed in from a conversation not theirs (there are none today)
    n.tickets += conn.execute(
        "UPDATE tickets SET text = ?2, contact = NULL, answer = CASE WHEN answer IS NULL THEN NULL ELSE ?2 END
         WHERE shopper_id = ?1 AND (text <> ?2 OR contact IS NOT NULL OR answer <> ?2)",
        params![shopper_id, ERASED],
    )?;
    let orders: Vec<(String, String)> = conn
        .prepare_cached("SELECT order_no, data FROM orders WHERE shopper_id = ?1 ORDER BY order_no")?
        .query_map(params![shopper_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (order_no, data) in &orders {
        let mut order: Order = from_json(data)?;
        if anonymise_order(&mut order) {
            conn.execute(
                "UPDATE orders SET data = ?2 WHERE order_no = ?1",
                params![order_no, to_json(&order)?],
            )?;
            n.orders += 1;
        }
        n.phone_guesses += conn.execute("DELETE FROM phone_guesses WHERE order_no = ?1", [order_no])?;
        n.returns += conn.execute(
            "UPDATE returns SET reason = ?2 WHERE order_no = ?1 AND reason <> ?2",
            params![order_no, ERASED],
        )?;
    }
    n.profile += conn.execute(
        "UPDATE shoppers SET name = '', phone = '' WHERE id = ?1 AND (name <> '' OR phone <> '')",
        params![shopper_id],
    )?;
    for needle in event_needles(shopper_id, &conversations) {
        conn.execute(
            "DELETE FROM webhook_deliveries WHERE event_seq IN
               (SELECT seq FROM webhook_events WHERE instr(body, ?1) > 0)",
            [&needle],
        )?;
        n.webhook_events +=
            conn.execute("DELETE FROM webhook_events WHERE instr(body, ?1) > 0", [&needle])?;
    }
    let at = now();
    conn.execute(
        "INSERT INTO erasures (shopper_id, erased_by, erased_at, counts) VALUES (?1, ?2, ?3, ?4)",
        params![shopper_id, by, at, to_json(&n)?],
    )?;
    let id = conn.last_insert_rowid();
    Ok(Some(Erasure { id, shopper_id: shopper_id.to_string(), by: by.to_string(), at, counts: n }))
}

fn purge(conn: &Connection, kind: Retained, before: &str, limit: i64) -> Result<usize, Fail> {
    Ok(match kind {
        Retained::Messages => {
            // ids grow with time: the oldest `limit` by id, those of them expired (never a scan
            // of the whole table on the writer); the photos they sent go with them
            let oldest = "SELECT id FROM (SELECT id, created_at FROM messages ORDER BY id LIMIT ?2) WHERE created_at < ?1";
            conn.execute(
                &format!("DELETE FROM image_data WHERE id IN (SELECT id FROM images WHERE message_id IN ({oldest}))"),
                params![before, limit],
            )?;
            conn.execute(&format!("DELETE FROM images WHERE message_id IN ({oldest})"), params![before, limit])?;
            let mut purged = conn.execute(&format!("DELETE FROM messages WHERE id IN ({oldest})"), params![before, limit])?;
            // photos uploaded but never sent
            let unsent = "SELECT id FROM images WHERE message_id IS NULL AND created_at < ?1 ORDER BY created_at LIMIT ?2";
            conn.execute(&format!("DELETE FROM image_data WHERE id IN ({unsent})"), params![before, limit])?;
            purged += conn.execute(&format!("DELETE FROM images WHERE id IN ({unsent})"), params![before, limit])?;
            purged
        }
        Retained::Notes => conn.execute(
            "DELETE FROM notes WHERE id IN
               (SELECT id FROM (SELECT id, created_at FROM notes ORDER BY id LIMIT ?2) WHERE created_at < ?1)",
            params![before, limit],
        )?,
        Retained::Tickets => conn.execute(
            "DELETE FROM tickets WHERE id IN (SELECT id FROM tickets
               WHERE status IN ('answered', 'closed') AND created_at < ?1 ORDER BY created_at LIMIT ?2)",
            params![before, limit],
        )?,
        Retained::Feedback => {
            let rows: Vec<(String, String)> = conn
                .prepare_cached(
                    "SELECT conversation_id, record FROM feedback WHERE anonymised_at IS NULL AND updated_at < ?1
                     ORDER BY updated_at LIMIT ?2",
                )?
                .query_map(params![before, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let at = now();
            for (id, record) in &rows {
                let mut record: FeedbackRecord = from_json(record)?;
                anonymise_feedback(&mut record, true);
                conn.execute(
                    "UPDATE feedback SET comment = NULL, record = ?2, anonymised_at = ?3 WHERE conversation_id = ?1",
                    params![id, to_json(&record)?, at],
                )?;
            }
            rows.len()
        }
        Retained::Logins => {
            let secs = unix_secs(before).map_err(Fail::Constraint)?;
            conn.execute(
                "DELETE FROM login_failures WHERE name IN
                   (SELECT name FROM login_failures WHERE updated_at < ?1 ORDER BY updated_at LIMIT ?2)",
                params![secs, limit],
            )? + conn.execute(
                "DELETE FROM phone_guesses WHERE order_no IN
                   (SELECT order_no FROM phone_guesses WHERE updated_at < ?1 ORDER BY updated_at LIMIT ?2)",
                params![before, limit],
            )?
        }
    })
}
