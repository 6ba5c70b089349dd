//! The outbound webhooks' outbox and delivery log (migration 10).
//!
//! The event records are defined here, not in `webhooks`, because they are written inside the
//! store jobs that make the change they describe (a handoff opened, a ticket, a return, a
//! feedback record): the event and the change commit together or not at all. `webhooks` (the
//! delivery worker, the admin API) reads them back through [`WebhookStore`](super::traits::WebhookStore).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{now, Fail, ReturnRequest, Store, StoreError};
use crate::lang::Lang;
use crate::records::FeedbackRecord;

/// The kinds of event a webhook endpoint can ask for (their names on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "conversation.escalated")]
    ConversationEscalated,
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned,
    #[serde(rename = "conversation.resolved")]
    ConversationResolved,
    #[serde(rename = "ticket.created")]
    TicketCreated,
    #[serde(rename = "ticket.answered")]
    TicketAnswered,
    #[serde(rename = "return.requested")]
    ReturnRequested,
    #[serde(rename = "feedback.written")]
    FeedbackWritten,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::ConversationEscalated,
        EventKind::ConversationAssigned,
        EventKind::ConversationResolved,
        EventKind::TicketCreated,
        EventKind::TicketAnswered,
        EventKind::ReturnRequested,
        EventKind::FeedbackWritten,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ConversationEscalated => "conversation.escalated",
            EventKind::ConversationAssigned => "conversation.assigned",
            EventKind::ConversationResolved => "conversation.resolved",
            EventKind::TicketCreated => "ticket.created",
            EventKind::TicketAnswered => "ticket.answered",
            EventKind::ReturnRequested => "return.requested",
            EventKind::FeedbackWritten => "feedback.written",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What happened, with its data: the `type` and `data` of the body sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum EventData {
    /// A conversation was queued for a person.
    #[serde(rename = "conversation.escalated")]
    ConversationEscalated(Escalated),
    /// An agent took a queued conversation.
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned(Assigned),
    /// An agent resolved a conversation.
    #[serde(rename = "conversation.resolved")]
    ConversationResolved(Resolved),
    /// A shopper left a message for later (outside hours, or no agent).
    #[serde(rename = "ticket.created")]
    TicketCreated(TicketCreated),
    /// An agent answered a ticket (the store may forward the answer through its own channel).
    #[serde(rename = "ticket.answered")]
    TicketAnswered(TicketAnswered),
    /// A return was requested for an order.
    #[serde(rename = "return.requested")]
    ReturnRequested(ReturnRequested),
    /// A conversation's feedback record was written (at its end; again when it changes).
    #[serde(rename = "feedback.written")]
    FeedbackWritten(Box<FeedbackRecord>),
}

impl EventData {
    pub fn kind(&self) -> EventKind {
        match self {
            EventData::ConversationEscalated(_) => EventKind::ConversationEscalated,
            EventData::ConversationAssigned(_) => EventKind::ConversationAssigned,
            EventData::ConversationResolved(_) => EventKind::ConversationResolved,
            EventData::TicketCreated(_) => EventKind::TicketCreated,
            EventData::TicketAnswered(_) => EventKind::TicketAnswered,
            EventData::ReturnRequested(_) => EventKind::ReturnRequested,
            EventData::FeedbackWritten(_) => EventKind::FeedbackWritten,
        }
    }
}

/// One event: the body of every delivery of it, byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_` and 32 hex digits; the same on every retry and replay (deduplicate by it).
    pub id: String,
    /// When the change happened (RFC 3339, UTC).
    pub created_at: String,
    #[serde(flatten)]
    pub data: EventData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalated {
    pub conversation_id: String,
    pub handoff_id: i64,
    pub shopper_id: Option<String>,
    pub lang: Option<Lang>,
    pub reason: String,
    pub queued_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assigned {
    pub conversation_id: String,
    pub handoff_id: i64,
    pub agent: String,
    pub assigned_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    pub conversation_id: String,
    pub handoff_id: i64,
    pub agent: Option<String>,
    pub resolved_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketCreated {
    pub ticket_id: String,
    pub conversation_id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    pub text: String,
    pub contact: Option<String>,
    pub created_at: String,
}

impl From<&super::Ticket> for TicketCreated {
    fn from(t: &super::Ticket) -> TicketCreated {
        TicketCreated {
            ticket_id: t.id.clone(),
            conversation_id: t.conversation_id.clone(),
            shopper_id: t.shopper_id.clone(),
            lang: t.lang,
            text: t.text.clone(),
            contact: t.contact.clone(),
            created_at: t.created_at.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketAnswered {
    pub ticket_id: String,
    pub conversation_id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    /// What the shopper left, and how they asked to be reached.
    pub text: String,
    pub contact: Option<String>,
    pub answer: String,
    pub answered_by: String,
    pub answered_at: String,
}

impl From<&super::Ticket> for TicketAnswered {
    fn from(t: &super::Ticket) -> TicketAnswered {
        TicketAnswered {
            ticket_id: t.id.clone(),
            conversation_id: t.conversation_id.clone(),
            shopper_id: t.shopper_id.clone(),
            lang: t.lang,
            text: t.text.clone(),
            contact: t.contact.clone(),
            answer: t.answer.clone().unwrap_or_default(),
            answered_by: t.answered_by.clone().unwrap_or_default(),
            answered_at: t.answered_at.clone().unwrap_or_default(),
        }
    }
}

/// `return.requested`: the return as it was opened (the id is the system of record's: kefu's
/// for the embedded source, the store's for the http one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnRequested {
    pub id: String,
    pub order_no: String,
    pub conversation_id: Option<String>,
    pub reason: String,
    pub status: String,
    pub created_at: String,
}

impl From<&ReturnRequest> for ReturnRequested {
    fn from(r: &ReturnRequest) -> ReturnRequested {
        ReturnRequested {
            id: r.id.clone(),
            order_no: r.order_no.clone(),
            conversation_id: r.conversation_id.clone(),
            reason: r.reason.clone(),
            status: r.status.clone(),
            created_at: r.created_at.clone(),
        }
    }
}

impl Store {
    /// Records `return.requested` for a return another system opened (the store, through the
    /// http order source), once per return id however often it is reported: the event's id is
    /// derived from the return's. True when recorded now.
    pub async fn return_requested(&self, r: ReturnRequest) -> Result<bool, StoreError> {
        let id = return_event_id(&r.id);
        self.call(move |conn| {
            let event = Event { id, created_at: now(), data: EventData::ReturnRequested((&r).into()) };
            let body = serde_json::to_string(&event).expect("events serialise");
            let n = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO webhook_events (id, kind, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![event.id, event.data.kind().as_str(), body, event.created_at])?;
            Ok(n == 1)
        })
        .await
    }
}

/// `evt_` and 32 hex digits.
fn event_id(raw: &[u8]) -> String {
    raw[..16].iter().fold(String::from("evt_"), |mut s, b| {
        s.push_str(&format!("{b:02x}"));
        s
    })
}

/// A new event's id: random.
pub(super) fn random_event_id() -> String {
    use rand::RngCore;
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    event_id(&raw)
}

/// The id of `return.requested` for a return another system opened: derived from the return's
/// id, so however often it is reported the outbox holds it once.
pub(super) fn return_event_id(return_id: &str) -> String {
    use sha2::Digest;
    event_id(&sha2::Sha256::digest(format!("return.requested\n{return_id}").as_bytes()))
}

/// Writes an event into the outbox, inside the caller's job (so in the same transaction as the
/// change it describes).
pub(super) fn record_event(conn: &Connection, data: EventData) -> Result<(), Fail> {
    let event = Event { id: random_event_id(), created_at: now(), data };
    let body = serde_json::to_string(&event).expect("events serialise");
    conn.prepare_cached("INSERT INTO webhook_events (id, kind, body, created_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![event.id, event.data.kind().as_str(), body, event.created_at])?;
    Ok(())
}

/// [`record_event`] for a handoff just opened (the conversation's shopper and language read here).
pub(super) fn record_escalated(conn: &Connection, h: &super::Handoff) -> Result<(), Fail> {
    let who: Option<(Option<String>, String)> = conn
        .prepare_cached("SELECT shopper_id, lang FROM conversations WHERE id = ?1")?
        .query_row(params![h.conversation_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (shopper_id, lang) = who.map(|(s, l)| (s, Lang::parse(&l))).unwrap_or((None, None));
    record_event(
        conn,
        EventData::ConversationEscalated(Escalated {
            conversation_id: h.conversation_id.clone(),
            handoff_id: h.id,
            shopper_id,
            lang,
            reason: h.reason.clone(),
            queued_at: h.queued_at.clone(),
        }),
    )
}

/// [`record_event`] for a handoff just ended as resolved (its agent read here).
pub(super) fn record_resolved(conn: &Connection, handoff: i64, conversation_id: &str) -> Result<(), Fail> {
    let agent: Option<String> = conn
        .prepare_cached("SELECT agent FROM handoffs WHERE id = ?1")?
        .query_row(params![handoff], |r| r.get(0))
        .optional()?
        .flatten();
    record_event(
        conn,
        EventData::ConversationResolved(Resolved {
            conversation_id: conversation_id.to_string(),
            handoff_id: handoff,
            agent,
            resolved_at: now(),
        }),
    )
}

/// [`record_event`] for a feedback record just written, as stored (a rating given earlier kept).
pub(super) fn record_feedback(conn: &Connection, conversation_id: &str) -> Result<(), Fail> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT record FROM feedback WHERE conversation_id = ?1")?
        .query_row(params![conversation_id], |r| r.get(0))
        .optional()?;
    match stored {
        Some(json) => {
            record_event(conn, EventData::FeedbackWritten(Box::new(super::records::from_json(&json)?)))
        }
        None => Ok(()),
    }
}

/// An endpoint as configured: its URL (its identity in the log) and the kinds it wants (none:
/// every kind).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSpec {
    pub url: String,
    pub kinds: Vec<EventKind>,
}

/// A delivery whose time has come, with what to send.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub endpoint: String,
    pub event_id: String,
    pub kind: String,
    pub body: String,
    /// Attempts made so far (in this series: a replay starts a new one).
    pub attempts: u32,
    /// When this series of attempts started (Unix ms): the age limit counts from it.
    pub since_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub(super) fn parse(s: &str) -> Result<DeliveryStatus, Fail> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            other => Err(Fail::Corrupt(format!("unknown delivery status {other:?}"))),
        }
    }
}

/// What came of one attempt, decided by the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptEnd {
    /// A 2xx: delivered, never sent again.
    Delivered,
    /// Failed; try again at this time (Unix ms).
    Retry { at_ms: i64 },
    /// Failed, and no attempts or time are left.
    GiveUp,
}

/// One attempt's record.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub delivery: i64,
    pub end: AttemptEnd,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// A row of the delivery log.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub endpoint: String,
    pub event_id: String,
    pub kind: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    /// Unix ms, while pending.
    pub next_attempt_ms: Option<i64>,
    pub delivered_at: Option<String>,
    pub created_at: String,
}

/// Which part of the delivery log to read: newest first, `before` a delivery id (paging).
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub endpoint: Option<String>,
    pub status: Option<DeliveryStatus>,
    pub before: Option<i64>,
    pub limit: usize,
}

/// An endpoint's counts in the delivery log.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EndpointCounts {
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
    pub last_delivered_at: Option<String>,
}

/// The answer to a replay.
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    /// Queued to be sent at once, with a fresh series of attempts.
    Queued(DeliveryRow),
    /// Already acknowledged by the endpoint: never sent twice.
    AlreadyDelivered(DeliveryRow),
    NotFound,
}

impl PartialEq for DeliveryRow {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.status == other.status && self.attempts == other.attempts
    }
}

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(super) const ROW_COLUMNS: &str =
    "d.id, d.endpoint, e.id, e.kind, d.status, d.attempts, d.last_status, d.last_error,
     d.last_attempt_at, d.next_attempt_ms, d.delivered_at, d.created_at";

fn delivery_row(r: &rusqlite::Row) -> rusqlite::Result<(DeliveryRow, String)> {
    Ok((
        DeliveryRow {
            id: r.get(0)?,
            endpoint: r.get(1)?,
            event_id: r.get(2)?,
            kind: r.get(3)?,
            status: DeliveryStatus::Pending,
            attempts: r.get(5)?,
            last_status: r.get(6)?,
            last_error: r.get(7)?,
            last_attempt_at: r.get(8)?,
            next_attempt_ms: r.get(9)?,
            delivered_at: r.get(10)?,
            created_at: r.get(11)?,
        },
        r.get(4)?,
    ))
}

fn with_status((mut row, status): (DeliveryRow, String)) -> Result<DeliveryRow, Fail> {
    row.status = DeliveryStatus::parse(&status)?;
    Ok(row)
}

fn one_delivery(conn: &Connection, id: i64) -> Result<Option<DeliveryRow>, Fail> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq WHERE d.id = ?1"
    );
    conn.prepare_cached(&sql)?.query_row(params![id], delivery_row).optional()?.map(with_status).transpose()
}

impl Store {
    /// The newest event's sequence number (0 for none): the worker fans out only when it grew.
    pub async fn webhook_head(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM webhook_events")?
                .query_row([], |r| r.get(0))?)
        })
        .await
    }

    /// Registers the endpoints (a new one starts after the newest event) and creates a pending
    /// delivery, due now, for each event written since an endpoint's last fan-out that it wants.
    /// How many deliveries were created.
    pub async fn webhook_fan_out(&self, endpoints: Vec<EndpointSpec>) -> Result<usize, StoreError> {
        self.call(move |conn| {
            let (at, at_ms) = (now(), now_ms());
            let head: i64 =
                conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM webhook_events", [], |r| r.get(0))?;
            let mut created = 0;
            for e in endpoints {
                conn.prepare_cached(
                    "INSERT INTO webhook_endpoints (url, last_seq, first_seen) VALUES (?1, ?2, ?3)
                     ON CONFLICT (url) DO NOTHING",
                )?
                .execute(params![e.url, head, at])?;
                let kinds = (!e.kinds.is_empty()).then(|| {
                    serde_json::to_string(&e.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>())
                        .expect("names serialise")
                });
                created += conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO webhook_deliveries
                           (event_seq, endpoint, status, attempts, since_ms, next_attempt_ms, created_at)
                         SELECT seq, ?1, 'pending', 0, ?2, ?2, ?3 FROM webhook_events
                         WHERE seq > (SELECT last_seq FROM webhook_endpoints WHERE url = ?1) AND seq <= ?4
                           AND (?5 IS NULL OR kind IN (SELECT value FROM json_each(?5)))",
                    )?
                    .execute(params![e.url, at_ms, at, head, kinds])?;
                conn.prepare_cached("UPDATE webhook_endpoints SET last_seq = ?2 WHERE url = ?1")?
                    .execute(params![e.url, head])?;
            }
            Ok(created)
        })
        .await
    }

    /// Claims the pending deliveries to `endpoints` due at `now_ms`, soonest first (at most
    /// `limit`; those of an endpoint no longer configured wait, and never crowd out the others):
    /// each one's next attempt moves to `now_ms + lease_ms`, so it is not due again while the
    /// lease holds (one job on the writer, so two pollers never share one); a sender that died
    /// leaves it due again when the lease ends. A lease of 0 holds nothing.
    pub async fn webhook_due(
        &self,
        endpoints: Vec<String>,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let endpoints = serde_json::to_string(&endpoints).expect("names serialise");
        self.call(move |conn| {
            let mut st = conn.prepare_cached(
                "SELECT d.id, d.endpoint, e.id, e.kind, e.body, d.attempts, d.since_ms
                 FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
                 WHERE d.status = 'pending' AND d.next_attempt_ms <= ?1
                   AND d.endpoint IN (SELECT value FROM json_each(?3))
                 ORDER BY d.next_attempt_ms, d.id LIMIT ?2",
            )?;
            let rows =
                st.query_map(params![now_ms, limit.min(i64::MAX as usize) as i64, endpoints], |r| {
                    Ok(DueDelivery {
                        id: r.get(0)?,
                        endpoint: r.get(1)?,
                        event_id: r.get(2)?,
                        kind: r.get(3)?,
                        body: r.get(4)?,
                        attempts: r.get(5)?,
                        since_ms: r.get(6)?,
                    })
                })?;
            let due = rows.collect::<Result<Vec<_>, _>>()?;
            let mut claim =
                conn.prepare_cached("UPDATE webhook_deliveries SET next_attempt_ms = ?2 WHERE id = ?1")?;
            let until = now_ms.saturating_add(lease_ms.max(0));
            for d in &due {
                claim.execute(params![d.id, until])?;
            }
            Ok(due)
        })
        .await
    }

    /// Records attempts' results. Only a pending delivery changes: once delivered, a delivery
    /// stays delivered.
    pub async fn webhook_attempted(&self, attempts: Vec<Attempt>) -> Result<(), StoreError> {
        self.call(move |conn| {
            let at = now();
            for a in attempts {
                let (status, next, delivered) = match a.end {
                    AttemptEnd::Delivered => (DeliveryStatus::Delivered, None, Some(at.clone())),
                    AttemptEnd::Retry { at_ms } => (DeliveryStatus::Pending, Some(at_ms), None),
                    AttemptEnd::GiveUp => (DeliveryStatus::Failed, None, None),
                };
                conn.prepare_cached(
                    "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1, next_attempt_ms = ?3,
                       last_attempt_at = ?4, last_status = ?5, last_error = ?6, delivered_at = ?7
                     WHERE id = ?1 AND status = 'pending'",
                )?
                .execute(params![a.delivery, status.as_str(), next, at, a.http_status, a.error, delivered])?;
            }
            Ok(())
        })
        .await
    }

    /// The delivery log, newest first (see [`DeliveryQuery`]).
    pub async fn webhook_deliveries(&self, q: DeliveryQuery) -> Result<Vec<DeliveryRow>, StoreError> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {ROW_COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
                 WHERE (?1 IS NULL OR d.endpoint = ?1) AND (?2 IS NULL OR d.status = ?2) AND (?3 IS NULL OR d.id < ?3)
                 ORDER BY d.id DESC LIMIT ?4"
            );
            let mut st = conn.prepare_cached(&sql)?;
            let status = q.status.map(DeliveryStatus::as_str);
            let rows = st.query_map(params![q.endpoint, status, q.before, q.limit as i64], delivery_row)?;
            rows.map(|r| with_status(r?)).collect()
        })
        .await
    }

    /// Each endpoint's counts, by URL.
    pub async fn webhook_endpoint_counts(&self) -> Result<Vec<(String, EndpointCounts)>, StoreError> {
        self.read(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT endpoint, SUM(status = 'pending'), SUM(status = 'delivered'), SUM(status = 'failed'),
                   MAX(delivered_at) FROM webhook_deliveries GROUP BY endpoint ORDER BY endpoint",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    EndpointCounts {
                        pending: r.get::<_, i64>(1)? as u64,
                        delivered: r.get::<_, i64>(2)? as u64,
                        failed: r.get::<_, i64>(3)? as u64,
                        last_delivered_at: r.get(4)?,
                    },
                ))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// Sends a delivery again: a pending or failed one is due at once with a fresh series of
    /// attempts; a delivered one is left alone (the endpoint acknowledged it).
    pub async fn webhook_replay(&self, id: i64) -> Result<Replay, StoreError> {
        self.call(move |conn| {
            let Some(row) = one_delivery(conn, id)? else { return Ok(Replay::NotFound) };
            if row.status == DeliveryStatus::Delivered {
                return Ok(Replay::AlreadyDelivered(row));
            }
            let at_ms = now_ms();
            conn.prepare_cached(
                "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, since_ms = ?2, next_attempt_ms = ?2
                 WHERE id = ?1 AND status != 'delivered'",
            )?
            .execute(params![id, at_ms])?;
            Ok(Replay::Queued(one_delivery(conn, id)?.expect("the row is there")))
        })
        .await
    }

    /// Forgets events written before `before` (RFC 3339) that have no pending delivery, with
    /// their deliveries. How many events went.
    pub async fn webhook_prune(&self, before: String) -> Result<usize, StoreError> {
        self.call(move |conn| {
            Ok(conn.execute(
                "DELETE FROM webhook_events WHERE created_at < ?1 AND NOT EXISTS
                   (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = webhook_events.seq AND d.status = 'pending')",
                params![before],
            )?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::EscalationContext;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("kefu.db")).unwrap();
        (dir, store)
    }

    fn spec(url: &str, kinds: &[EventKind]) -> EndpointSpec {
        EndpointSpec { url: url.into(), kinds: kinds.to_vec() }
    }

    async fn due(store: &Store, url: &str) -> Vec<DueDelivery> {
        store.webhook_due(vec![url.into()], i64::MAX, 0, 100).await.unwrap()
    }

    #[tokio::test]
    async fn a_return_opened_elsewhere_is_announced_once_per_return() {
        let (_dir, store) = open();
        let url = "http://r/";
        store.webhook_fan_out(vec![spec(url, &[EventKind::ReturnRequested])]).await.unwrap();
        let r = |id: &str| ReturnRequest {
            id: id.into(),
            order_no: "261122958843983379".into(),
            conversation_id: Some("c1".into()),
            reason: "no_reason".into(),
            status: "requested".into(),
            created_at: "2026-11-25T01:00:00Z".into(),
        };
        assert!(store.return_requested(r("RS000001")).await.unwrap());
        assert!(!store.return_requested(r("RS000001")).await.unwrap(), "the same return again");
        assert!(store.return_requested(r("RS000002")).await.unwrap());
        store.webhook_fan_out(vec![spec(url, &[EventKind::ReturnRequested])]).await.unwrap();
        let sent = due(&store, url).await;
        assert_eq!(sent.len(), 2);
        let event: Event = serde_json::from_str(&sent[0].body).unwrap();
        let EventData::ReturnRequested(data) = event.data else { panic!("{event:?}") };
        assert_eq!((data.id.as_str(), data.conversation_id.as_deref()), ("RS000001", Some("c1")));
        let body: serde_json::Value = serde_json::from_str(&sent[0].body).unwrap();
        assert_eq!(body["data"]["order_no"], "261122958843983379", "{body}");
    }

    #[tokio::test]
    async fn events_fan_out_by_kind_and_a_delivered_one_is_never_due_again() {
        let (_dir, store) = open();
        let conv = store.open_conversation(Some("S1".into()), Lang::En).await.unwrap().id;
        // before any endpoint: never delivered to endpoints configured later
        store.open_handoff(conv.clone(), "requested".into(), EscalationContext::default()).await.unwrap();
        let (all, tickets) = ("http://a/", "http://t/");
        store
            .webhook_fan_out(vec![spec(all, &[]), spec(tickets, &[EventKind::TicketCreated])])
            .await
            .unwrap();
        assert!(due(&store, all).await.is_empty());

        let h =
            store.open_handoff(conv.clone(), "complaint".into(), EscalationContext::default()).await.unwrap();
        store.create_ticket(conv.clone(), None, Lang::En, "call me".into(), None).await.unwrap();
        assert_eq!(store.webhook_head().await.unwrap(), 3);
        let n = store
            .webhook_fan_out(vec![spec(all, &[]), spec(tickets, &[EventKind::TicketCreated])])
            .await
            .unwrap();
        assert_eq!(n, 3);
        // fanning out again adds nothing
        assert_eq!(store.webhook_fan_out(vec![spec(all, &[])]).await.unwrap(), 0);

        let to_all = due(&store, all).await;
        assert_eq!(
            to_all.iter().map(|d| d.kind.as_str()).collect::<Vec<_>>(),
            ["conversation.escalated", "ticket.created"]
        );
        let event: Event = serde_json::from_str(&to_all[0].body).unwrap();
        assert_eq!(event.id, to_all[0].event_id);
        let EventData::ConversationEscalated(e) = event.data else { panic!("{event:?}") };
        assert_eq!(
            (e.handoff_id, e.shopper_id.as_deref(), e.lang, e.reason.as_str()),
            (h.id, Some("S1"), Some(Lang::En), "complaint")
        );
        assert_eq!(due(&store, tickets).await.len(), 1);

        // failed, retried later; then delivered: never due again, and a replay is refused
        let first = to_all[0].id;
        let retry = Attempt {
            delivery: first,
            end: AttemptEnd::Retry { at_ms: 5_000 },
            http_status: Some(500),
            error: Some("HTTP 500".into()),
        };
        store.webhook_attempted(vec![retry]).await.unwrap();
        assert!(store
            .webhook_due(vec![all.into()], 4_999, 0, 100)
            .await
            .unwrap()
            .iter()
            .all(|d| d.id != first));
        let again = store.webhook_due(vec![all.into()], 5_000, 0, 100).await.unwrap();
        assert_eq!(again.iter().find(|d| d.id == first).unwrap().attempts, 1);
        let ok = Attempt { delivery: first, end: AttemptEnd::Delivered, http_status: Some(204), error: None };
        store.webhook_attempted(vec![ok]).await.unwrap();
        // a late failure report for it changes nothing
        let late = Attempt {
            delivery: first,
            end: AttemptEnd::GiveUp,
            http_status: None,
            error: Some("timeout".into()),
        };
        store.webhook_attempted(vec![late]).await.unwrap();
        assert!(due(&store, all).await.iter().all(|d| d.id != first));
        assert!(matches!(store.webhook_replay(first).await.unwrap(), Replay::AlreadyDelivered(_)));
        let log =
            store.webhook_deliveries(DeliveryQuery { limit: 10, ..DeliveryQuery::default() }).await.unwrap();
        let row = log.iter().find(|r| r.id == first).unwrap();
        assert_eq!((row.status, row.attempts, row.last_status), (DeliveryStatus::Delivered, 2, Some(204)));

        // given up, then replayed: due at once with a fresh count
        let second = to_all[1].id;
        let gave_up = Attempt {
            delivery: second,
            end: AttemptEnd::GiveUp,
            http_status: None,
            error: Some("refused".into()),
        };
        store.webhook_attempted(vec![gave_up]).await.unwrap();
        assert!(due(&store, all).await.is_empty());
        let Replay::Queued(row) = store.webhook_replay(second).await.unwrap() else { panic!() };
        assert_eq!((row.status, row.attempts), (DeliveryStatus::Pending, 0));
        assert_eq!(due(&store, all).await.len(), 1);
        assert_eq!(store.webhook_replay(12345).await.unwrap(), Replay::NotFound);

        let counts = store.webhook_endpoint_counts().await.unwrap();
        assert_eq!(counts[0].0, all);
        assert_eq!((counts[0].1.pending, counts[0].1.delivered, counts[0].1.failed), (1, 1, 0));
        // a delivery whose endpoint is not asked for is not returned
        assert!(store.webhook_due(vec!["http://other/".into()], i64::MAX, 0, 100).await.unwrap().is_empty());

        // pruning keeps events with a pending delivery
        let pruned = store.webhook_prune("9999".into()).await.unwrap();
        assert_eq!(pruned, 2, "the first escalation (no delivery) and the delivered one");
        assert_eq!(due(&store, all).await.len(), 1);
    }

    #[tokio::test]
    async fn feedback_and_returns_are_events_with_the_stored_record() {
        let (_dir, store) = open();
        let url = "http://f/";
        store
            .webhook_fan_out(vec![spec(url, &[EventKind::FeedbackWritten, EventKind::ReturnRequested])])
            .await
            .unwrap();
        let conv = store.open_conversation(None, Lang::Zh).await.unwrap().id;
        let record: FeedbackRecord = serde_json::from_value(serde_json::json!({
            "conversation_id": conv, "shopper_id": null, "lang": "zh", "started_at": "2026-11-25T09:00:00Z",
            "ended_at": "2026-11-25T09:05:00Z", "shopper_messages": 1, "bot_messages": 1, "agent_messages": 0,
            "resolution": "bot_resolved"
        }))
        .unwrap();
        store.save_feedback(record).await.unwrap();
        assert!(store.rate(conv.clone(), 5, Some("好".into())).await.unwrap());
        store
            .webhook_fan_out(vec![spec(url, &[EventKind::FeedbackWritten, EventKind::ReturnRequested])])
            .await
            .unwrap();
        let sent = due(&store, url).await;
        assert_eq!(sent.len(), 2);
        let rated: Event = serde_json::from_str(&sent[1].body).unwrap();
        let EventData::FeedbackWritten(r) = rated.data else { panic!("{rated:?}") };
        assert_eq!((r.rating, r.comment.as_deref()), (Some(5), Some("好")));
    }
}
