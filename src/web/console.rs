//! The agent console's HTTP API (JSON, staff token): the queue and the roster, my
//! conversations, a conversation's detail, search, tickets, and the product catalog. Live work
//! (claim, reply, transfer, resolve) goes over `/ws/agent`.
//!
//! The answers are this API's own types ([`ConversationInfo`], [`ConversationHit`],
//! [`TicketInfo`]; a conversation's detail is the agent protocol's [`ConversationDetail`], the
//! shape `assigned` carries), built from the store's rows field by field, so a column added to a
//! row is never sent by accident.

use crate::store::prelude::*;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::agents::desk::Snapshot;
use crate::agents::protocol::ConversationDetail;
use crate::identity::Role;
use crate::knowledge::catalog::Product;
use crate::lang::Lang;
use crate::store::{self, ConversationState};

const AGENTS: &[Role] = &[Role::Agent, Role::Admin];
const ANY: &[Role] = &[Role::Agent, Role::Trainer, Role::Admin];

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/queue", get(queue))
        .route("/api/conversations", get(search))
        .route("/api/conversations/mine", get(mine))
        .route("/api/conversations/{id}", get(detail))
        .route("/api/tickets", get(tickets))
        .route("/api/tickets/{id}/close", post(close_ticket))
        .route("/api/tickets/{id}/reply", post(reply_ticket))
        .route("/api/products", get(products))
}

fn desk_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e)
}

/// The waiting queue (serving order) and the agents with their presence and load.
async fn queue(State(app): State<Arc<AppState>>, staff: Staff) -> Result<Json<Snapshot>, ApiError> {
    staff.require(AGENTS)?;
    app.desk.snapshot().await.map(Json).map_err(desk_error)
}

/// The conversations the signed-in agent holds now.
async fn mine(
    State(app): State<Arc<AppState>>,
    staff: Staff,
) -> Result<Json<Vec<ConversationInfo>>, ApiError> {
    staff.require(AGENTS)?;
    let snapshot = app.desk.snapshot().await.map_err(desk_error)?;
    let ids = snapshot
        .agents
        .into_iter()
        .find(|a| a.name == staff.0.sub)
        .map(|a| a.conversations)
        .unwrap_or_default();
    let mut rows = Vec::new();
    for id in ids {
        if let Some(c) = app.store.conversation(id).await.map_err(ApiError::internal)? {
            rows.push(ConversationInfo::from(c));
        }
    }
    Ok(Json(rows))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    shopper: Option<String>,
    order: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
}

/// Conversations by shopper, order number and start date (`from`/`to`: `2026-11-25` or a full
/// RFC 3339 time), newest first.
async fn search(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<ConversationHit>>, ApiError> {
    staff.require(ANY)?;
    let Query(q) = q?;
    for d in [&q.from, &q.to].into_iter().flatten() {
        let ok = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()
            || chrono::DateTime::parse_from_rfc3339(d).is_ok();
        if !ok {
            let m = format!("{d:?} is not a date (2026-11-25) or an RFC 3339 time");
            return Err(ApiError::bad_request(m));
        }
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let rows = app.store.search_conversations(q.shopper, q.order, q.from, q.to, limit).await;
    let rows = rows.map_err(ApiError::internal)?;
    Ok(Json(rows.into_iter().map(ConversationHit::from).collect()))
}

/// Everything about one conversation: transcript, notes, handoffs, orders discussed, the
/// shopper's profile.
async fn detail(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<ConversationDetail>, ApiError> {
    staff.require(ANY)?;
    let context = app.store.conversation_context(id.clone()).await.map_err(ApiError::internal)?;
    // what of the shopper's personal data this role may see (privacy::mask)
    context
        .map(|c| Json(crate::privacy::mask::detail(c.into(), staff.0.role)))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no conversation {id}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketQuery {
    status: Option<String>,
}

/// Messages shoppers left when no agent was available (`?status=open|answered|closed`).
async fn tickets(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    q: Result<Query<TicketQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<TicketInfo>>, ApiError> {
    staff.require(AGENTS)?;
    let Query(q) = q?;
    if let Some(s) = q.status.as_deref().filter(|s| !matches!(*s, "open" | "answered" | "closed")) {
        return Err(ApiError::bad_request(format!("status {s:?}: open, answered or closed")));
    }
    let tickets = app.store.tickets(q.status).await.map_err(ApiError::internal)?;
    Ok(Json(tickets.into_iter().map(TicketInfo::from).collect()))
}

async fn close_ticket(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    staff.require(AGENTS)?;
    match app.store.close_ticket(id.clone(), staff.0.sub.clone()).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no open ticket {id}"))),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// `POST /api/tickets/{id}/reply`: an agent's answer to a ticket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketReply {
    pub text: String,
}

/// Answers an open ticket: stored as an agent message in its conversation (the shopper sees it
/// on their next visit), the ticket becomes `answered`, and `ticket.answered` goes to the
/// webhooks. 409 when it is already answered or closed.
async fn reply_ticket(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
    body: Result<Json<TicketReply>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<TicketInfo>, ApiError> {
    staff.require(AGENTS)?;
    let Json(body) = body.map_err(ApiError::bad_request)?;
    let text = body.text.trim().to_string();
    let chars = text.chars().count();
    if text.is_empty() || chars > app.config.max_message_chars {
        let max = app.config.max_message_chars;
        return Err(ApiError::bad_request(format!("text is {chars} characters: 1 to {max}")));
    }
    let by = staff.0.sub.clone();
    match app.store.answer_ticket(id.clone(), by, text).await.map_err(ApiError::internal)? {
        Some(t) => Ok(Json(t.into())),
        None => {
            let exists = app.store.ticket(id.clone()).await.map_err(ApiError::internal)?.is_some();
            Err(if exists {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "not_open",
                    format!("ticket {id} is already answered or closed"),
                )
            } else {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no ticket {id}"))
            })
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductQuery {
    q: Option<String>,
    limit: Option<usize>,
}

/// The catalog with stock per variant: the products that best match `q` (Chinese or English;
/// name and sku matches first, then tags and category, then descriptions: the staff lookup), or
/// all of them without it.
async fn products(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    q: Result<Query<ProductQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Product>>, ApiError> {
    staff.require(ANY)?;
    let Query(q) = q?;
    let engines = app.router.engines();
    let query = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let Some(query) = query else {
        return Ok(Json(engines.catalog.iter().take(q.limit.unwrap_or(500)).cloned().collect()));
    };
    let limit = q.limit.unwrap_or(10).clamp(1, 50);
    let hits = engines.products.lookup(query, limit).map_err(ApiError::bad_request)?;
    Ok(Json(hits.iter().filter_map(|h| engines.product(&h.sku).cloned()).collect()))
}

/// A conversation an agent holds (`/api/conversations/mine`).
#[derive(Debug, Clone, Serialize)]
pub struct ConversationInfo {
    pub id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    pub state: ConversationState,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub escalation_reason: Option<String>,
}

/// A conversation found by search (`/api/conversations`): the conversation, its rating and how
/// many messages it has.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationHit {
    #[serde(flatten)]
    pub conversation: ConversationInfo,
    pub rating: Option<u8>,
    pub messages: u32,
}

/// A message a shopper left when no agent was available (`/api/tickets`).
#[derive(Debug, Clone, Serialize)]
pub struct TicketInfo {
    pub id: String,
    pub conversation_id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    pub text: String,
    pub contact: Option<String>,
    /// `open`, `answered` or `closed`.
    pub status: String,
    pub created_at: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    /// The agent's reply, who gave it and when; `delivered_at`: when the shopper saw it.
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    pub delivered_at: Option<String>,
}

impl From<store::Conversation> for ConversationInfo {
    fn from(c: store::Conversation) -> ConversationInfo {
        ConversationInfo {
            id: c.id,
            shopper_id: c.shopper_id,
            lang: c.lang,
            state: c.state,
            started_at: c.started_at,
            ended_at: c.ended_at,
            escalation_reason: c.escalation_reason,
        }
    }
}

impl From<store::ConversationRow> for ConversationHit {
    fn from(c: store::ConversationRow) -> ConversationHit {
        let conversation = ConversationInfo {
            id: c.id,
            shopper_id: c.shopper_id,
            lang: c.lang,
            state: c.state,
            started_at: c.started_at,
            ended_at: c.ended_at,
            escalation_reason: c.escalation_reason,
        };
        ConversationHit { conversation, rating: c.rating, messages: c.messages }
    }
}

impl From<store::Ticket> for TicketInfo {
    fn from(t: store::Ticket) -> TicketInfo {
        TicketInfo {
            id: t.id,
            conversation_id: t.conversation_id,
            shopper_id: t.shopper_id,
            lang: t.lang,
            text: t.text,
            contact: t.contact,
            status: t.status,
            created_at: t.created_at,
            closed_by: t.closed_by,
            closed_at: t.closed_at,
            answer: t.answer,
            answered_by: t.answered_by,
            answered_at: t.answered_at,
            delivered_at: t.delivered_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::protocol::tests::golden;
    use crate::store::{Conversation, ConversationRow, Ticket};

    /// What the console's REST answers are made of keeps the JSON web/agent.js reads, byte for
    /// byte.
    #[test]
    fn answers_from_stored_rows_keep_their_json() {
        let mine = vec![Conversation {
            id: "c1".into(),
            shopper_id: Some("u1".into()),
            lang: Lang::En,
            state: ConversationState::Agent,
            started_at: "2026-11-25T10:00:00.000Z".into(),
            ended_at: None,
            escalation_reason: Some("asked_for_human".into()),
        }];
        let mine: Vec<ConversationInfo> = mine.into_iter().map(ConversationInfo::from).collect();
        assert_eq!(
            serde_json::to_string(&mine).unwrap(),
            golden(include_str!("../../tests/golden/console_mine.json"))
        );
        let found = vec![ConversationRow {
            id: "c2".into(),
            shopper_id: None,
            lang: Lang::Zh,
            state: ConversationState::Closed,
            started_at: "2026-11-24T10:00:00.000Z".into(),
            ended_at: Some("2026-11-24T10:05:00.000Z".into()),
            escalation_reason: None,
            rating: Some(4),
            messages: 6,
        }];
        let found: Vec<ConversationHit> = found.into_iter().map(ConversationHit::from).collect();
        assert_eq!(
            serde_json::to_string(&found).unwrap(),
            golden(include_str!("../../tests/golden/console_search.json"))
        );
        let tickets = vec![Ticket {
            id: "T0123456789".into(),
            conversation_id: "c3".into(),
            shopper_id: Some("u2".into()),
            lang: Lang::Zh,
            text: "请回电".into(),
            contact: Some("13800001234".into()),
            status: "closed".into(),
            created_at: "2026-11-24T22:00:00.000Z".into(),
            closed_by: Some("li".into()),
            closed_at: Some("2026-11-25T09:00:00.000Z".into()),
            answer: Some("已回电".into()),
            answered_by: Some("li".into()),
            answered_at: Some("2026-11-25T08:00:00.000Z".into()),
            delivered_at: None,
        }];
        let tickets: Vec<TicketInfo> = tickets.into_iter().map(TicketInfo::from).collect();
        assert_eq!(
            serde_json::to_string(&tickets).unwrap(),
            golden(include_str!("../../tests/golden/console_tickets.json"))
        );
        let detail = ConversationDetail::from(crate::agents::protocol::tests::sample_context());
        assert_eq!(
            serde_json::to_string(&detail).unwrap(),
            golden(include_str!("../../tests/golden/console_detail.json"))
        );
    }
}
