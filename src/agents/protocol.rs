//! The agent wire protocol: JSON text frames on `/ws/agent` (documented in docs/protocol.md).
//!
//! What the server sends about a conversation is made of this module's own types
//! ([`ConversationDetail`] and its parts), built from the store's rows field by field: a column
//! added to a row reaches the agents' browsers only when a field is added here. The domain
//! records they embed (`Order`, `EscalationContext`, `MessageMeta`) and the store's vocabulary
//! enums (`Sender`, `ConversationState`) are sent as they are.

use crate::records::{EscalationContext, MessageMeta, Page};
use serde::{Deserialize, Serialize};

use super::queue::QueueItem;
use crate::knowledge::Order;
use crate::lang::Lang;
use crate::store::{self, ConversationState, Sender};

/// Agent → server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentMsg {
    /// The first frame: the staff token from `POST /api/login`, and how the agent works.
    Hello {
        token: String,
        #[serde(default)]
        capacity: Option<usize>,
        #[serde(default)]
        langs: Option<Vec<Lang>>,
        #[serde(default)]
        presence: Option<Presence>,
    },
    Presence {
        state: Presence,
    },
    Capacity {
        max: usize,
    },
    /// Takes a waiting conversation.
    Claim {
        conversation_id: String,
    },
    Message {
        conversation_id: String,
        id: String,
        text: String,
    },
    Typing {
        conversation_id: String,
    },
    /// An internal note: stored, shown to agents, never to the shopper.
    Note {
        conversation_id: String,
        text: String,
    },
    /// To another agent (`to`: their login name) or, without `to`, back to the queue.
    Transfer {
        conversation_id: String,
        #[serde(default)]
        to: Option<String>,
    },
    Resolve {
        conversation_id: String,
    },
    Handback {
        conversation_id: String,
    },
    /// Takes back a message this agent sent (its stored `message_id`, from `ack` or the
    /// transcript) within the recall window; an admin may recall any agent's.
    Recall {
        conversation_id: String,
        message_id: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Away,
}

/// The agent as the desk knows them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentInfo {
    pub name: String,
    pub display_name: String,
    pub presence: Presence,
    pub connected: bool,
    pub capacity: usize,
    pub langs: Vec<Lang>,
    pub conversations: Vec<String>,
}

/// Server → agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentFrame {
    Welcome {
        agent: AgentInfo,
    },
    /// The waiting queue, in serving order (sent on every change).
    Queue {
        items: Vec<QueueItem>,
    },
    /// A conversation is now this agent's, with everything known about it.
    Assigned {
        conversation_id: String,
        reason: String,
        /// What the bot gathered: intents seen, FAQ answers given, flows, orders, returns.
        bot: EscalationContext,
        context: Box<ConversationDetail>,
    },
    /// A new message in one of this agent's conversations.
    Message {
        conversation_id: String,
        /// The stored message's id (the transcript's `id`): the same message never shows twice.
        id: i64,
        from: Sender,
        text: String,
        at: String,
        /// A photo the shopper sent (`text` is then a stand-in such as "[图片]"); the console
        /// loads it from `GET /api/chat/{conversation_id}/images/{id}` with the staff token.
        #[serde(skip_serializing_if = "Option::is_none")]
        image: Option<crate::images::ImageRef>,
    },
    Typing {
        conversation_id: String,
    },
    Note {
        conversation_id: String,
        note: NoteInfo,
    },
    /// The shopper moved to another page (`page`: product, order, url, as the widget said).
    Page {
        conversation_id: String,
        page: Page,
    },
    /// The shopper's connection came or went.
    Shopper {
        conversation_id: String,
        online: bool,
    },
    /// A conversation is no longer this agent's.
    Ended {
        conversation_id: String,
        outcome: String,
    },
    /// A message was stored (its `id` is the agent's; `message_id` the stored one, for `recall`).
    Ack {
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<i64>,
    },
    /// A message was recalled (to the agent who asked, and the conversation's owner): the
    /// shopper no longer sees its text; the transcript keeps it, marked.
    Recalled {
        conversation_id: String,
        message_id: i64,
        by: String,
        at: String,
    },
    /// A request (claim, transfer, resolve …) was carried out. `warning` "no_agents": put back
    /// in the queue with no colleague online (the shopper was offered the message form).
    Done {
        op: String,
        conversation_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
    },
    Error {
        code: AgentErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation_id: Option<String>,
    },
}

/// Everything about a conversation an agent sees: `assigned`'s `context`, and the console's
/// `GET /api/conversations/{id}` (the same shape, so web/agent.js reads both alike).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationDetail {
    pub conversation_id: String,
    pub lang: Lang,
    pub state: ConversationState,
    pub started_at: String,
    pub escalation_reason: Option<String>,
    pub transcript: Vec<MessageInfo>,
    pub notes: Vec<NoteInfo>,
    pub handoffs: Vec<HandoffInfo>,
    /// Orders the bot discussed (full details) and their returns.
    pub orders: Vec<Order>,
    pub returns: Vec<ReturnRequestInfo>,
    pub shopper: Option<ShopperInfo>,
}

/// One line of a transcript. `id` is the stored message's (a `message` frame's `id`), so the
/// console shows a message once; `client_msg_id` is what the sender's client named it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageInfo {
    pub id: i64,
    pub client_msg_id: Option<String>,
    pub sender: Sender,
    pub text: String,
    pub meta: Option<MessageMeta>,
    pub created_at: String,
    /// An agent's message taken back: who and when (staff still see the text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recalled: Option<RecallInfo>,
}

/// Who recalled a message, and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecallInfo {
    pub by: String,
    pub at: String,
}

/// An internal note (agents only; never sent to the shopper).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoteInfo {
    pub id: i64,
    pub agent: String,
    pub text: String,
    pub created_at: String,
}

/// One hand-over of the conversation to the agents: why, what the bot knew, who took it and how
/// it ended (`outcome`: resolved, handed_back, transferred, requeued, shopper_ended).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HandoffInfo {
    pub id: i64,
    pub conversation_id: String,
    pub reason: String,
    pub context: EscalationContext,
    pub queued_at: String,
    pub agent: Option<String>,
    pub assigned_at: Option<String>,
    pub first_response_at: Option<String>,
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
}

/// A return request opened for one of the orders discussed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReturnRequestInfo {
    pub id: String,
    pub order_no: String,
    pub conversation_id: Option<String>,
    pub reason: String,
    pub status: String,
    pub created_at: String,
}

/// The shopper as an agent sees them: who they are, their recent orders and how they rated us.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShopperInfo {
    pub id: String,
    pub name: String,
    pub tier: String,
    pub vip: bool,
    pub recent_orders: Vec<Order>,
    pub past_ratings: Vec<u8>,
    pub average_rating: Option<f64>,
    pub conversations: u32,
}

impl From<store::ConversationContext> for ConversationDetail {
    fn from(c: store::ConversationContext) -> ConversationDetail {
        ConversationDetail {
            conversation_id: c.conversation_id,
            lang: c.lang,
            state: c.state,
            started_at: c.started_at,
            escalation_reason: c.escalation_reason,
            transcript: c.transcript.into_iter().map(MessageInfo::from).collect(),
            notes: c.notes.into_iter().map(NoteInfo::from).collect(),
            handoffs: c.handoffs.into_iter().map(HandoffInfo::from).collect(),
            orders: c.orders,
            returns: c.returns.into_iter().map(ReturnRequestInfo::from).collect(),
            shopper: c.shopper.map(ShopperInfo::from),
        }
    }
}

impl From<store::StoredMessage> for MessageInfo {
    fn from(m: store::StoredMessage) -> MessageInfo {
        MessageInfo {
            id: m.id,
            client_msg_id: m.client_msg_id,
            sender: m.sender,
            text: m.text,
            meta: m.meta,
            created_at: m.created_at,
            recalled: match (m.recalled_by, m.recalled_at) {
                (Some(by), Some(at)) => Some(RecallInfo { by, at }),
                _ => None,
            },
        }
    }
}

impl From<store::Note> for NoteInfo {
    fn from(n: store::Note) -> NoteInfo {
        NoteInfo { id: n.id, agent: n.agent, text: n.text, created_at: n.created_at }
    }
}

impl From<store::Handoff> for HandoffInfo {
    fn from(h: store::Handoff) -> HandoffInfo {
        HandoffInfo {
            id: h.id,
            conversation_id: h.conversation_id,
            reason: h.reason,
            context: h.context,
            queued_at: h.queued_at,
            agent: h.agent,
            assigned_at: h.assigned_at,
            first_response_at: h.first_response_at,
            ended_at: h.ended_at,
            outcome: h.outcome,
        }
    }
}

impl From<store::ReturnRequest> for ReturnRequestInfo {
    fn from(r: store::ReturnRequest) -> ReturnRequestInfo {
        ReturnRequestInfo {
            id: r.id,
            order_no: r.order_no,
            conversation_id: r.conversation_id,
            reason: r.reason,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

impl From<store::Profile> for ShopperInfo {
    fn from(p: store::Profile) -> ShopperInfo {
        ShopperInfo {
            id: p.id,
            name: p.name,
            tier: p.tier,
            vip: p.vip,
            recent_orders: p.recent_orders,
            past_ratings: p.past_ratings,
            average_rating: p.average_rating,
            conversations: p.conversations,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentErrorCode {
    MalformedFrame,
    UnknownType,
    NotStarted,
    AlreadyStarted,
    Unauthorized,
    Forbidden,
    /// Another agent owns (or just took) the conversation.
    AlreadyTaken,
    /// The conversation is not waiting in the queue.
    NotWaiting,
    /// The conversation is not this agent's.
    NotYours,
    UnknownAgent,
    BadRequest,
    StorageUnavailable,
    /// This agent connected again elsewhere.
    Replaced,
    /// The message can no longer be recalled (older than the recall window, or unknown).
    RecallWindowPassed,
}

/// Decodes a text frame; the error says what was wrong with it.
pub fn decode(text: &str) -> Result<AgentMsg, (AgentErrorCode, String)> {
    let value = crate::socket::parse_frame(text)
        .map_err(|e| (AgentErrorCode::MalformedFrame, format!("frame is not valid JSON: {e}")))?;
    let ty = value.get("type").and_then(|t| t.as_str()).map(str::to_string);
    match ty.as_deref() {
        None => Err((AgentErrorCode::MalformedFrame, "frame has no \"type\"".into())),
        Some(
            "hello" | "presence" | "capacity" | "claim" | "message" | "typing" | "note" | "transfer"
            | "resolve" | "handback" | "recall",
        ) => serde_json::from_value(value).map_err(|e| {
            (AgentErrorCode::MalformedFrame, format!("bad {} frame: {e}", ty.unwrap_or_default()))
        }),
        Some(other) => Err((AgentErrorCode::UnknownType, format!("unknown message type {other:?}"))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn decodes_agent_frames() {
        assert_eq!(
            decode(r#"{"type":"claim","conversation_id":"c1"}"#).unwrap(),
            AgentMsg::Claim { conversation_id: "c1".into() }
        );
        assert_eq!(
            decode(r#"{"type":"transfer","conversation_id":"c1"}"#).unwrap(),
            AgentMsg::Transfer { conversation_id: "c1".into(), to: None }
        );
        assert_eq!(
            decode(r#"{"type":"presence","state":"busy"}"#).unwrap_err().0,
            AgentErrorCode::MalformedFrame
        );
        assert_eq!(decode(r#"{"type":"fly"}"#).unwrap_err().0, AgentErrorCode::UnknownType);
    }

    /// A golden file's JSON (one line, as the server sends it; written from the build before the
    /// wire types were separated from the store's rows).
    pub(crate) fn golden(file: &str) -> &str {
        file.trim_end()
    }

    /// A stored conversation with one of everything an agent sees: every field filled in, so
    /// the wire shape of each part is pinned (the console's detail sends the same shape).
    pub(crate) fn sample_context() -> crate::store::ConversationContext {
        use crate::records::{MessageMeta, ReplyDecision, Seen};
        use crate::store::{Handoff, Note, Profile, ReturnRequest, StoredMessage};
        let order: crate::knowledge::Order = serde_json::from_value(serde_json::json!({
            "order_no": "261101000000000001", "shopper_id": "u1", "created_at": "2026-11-01T10:00:00+08:00",
            "status": "delivered",
            "items": [{"sku": "TS-01", "color": "white", "size": "M", "qty": 1, "unit_price": 99.0}],
            "subtotal": 99.0, "discount": 0.0, "shipping_fee": 0.0, "total": 99.0,
            "payment_method": "alipay", "shipping_insurance": false,
            "address": {"name": "李雷", "phone": "13800001234", "province": "上海", "city": "上海", "detail": "1号"},
            "courier": "SF", "tracking_no": "SF1", "paid_at": null, "shipped_at": null, "delivered_at": null,
            "return": null
        }))
        .unwrap();
        let bot = EscalationContext {
            seen: Seen {
                intents_seen: vec!["complaint".into()],
                orders_discussed: vec![order.order_no.clone()],
                ..Seen::default()
            },
            ..EscalationContext::default()
        };
        crate::store::ConversationContext {
            conversation_id: "c1".into(),
            lang: Lang::Zh,
            state: ConversationState::Agent,
            started_at: "2026-11-25T10:00:00.000Z".into(),
            escalation_reason: Some("complaint".into()),
            transcript: vec![
                StoredMessage {
                    id: 1,
                    client_msg_id: Some("m1".into()),
                    sender: Sender::Shopper,
                    text: "我要投诉".into(),
                    meta: None,
                    created_at: "2026-11-25T10:00:01.000Z".into(),
                    recalled_at: None,
                    recalled_by: None,
                },
                StoredMessage {
                    id: 2,
                    client_msg_id: None,
                    sender: Sender::Bot,
                    text: "好的".into(),
                    meta: Some(MessageMeta {
                        intent: Some("complaint".into()),
                        confidence: Some(0.5),
                        decision: Some(ReplyDecision::Escalate),
                        ..MessageMeta::default()
                    }),
                    created_at: "2026-11-25T10:00:02.000Z".into(),
                    recalled_at: None,
                    recalled_by: None,
                },
            ],
            notes: vec![Note {
                id: 3,
                agent: "li".into(),
                text: "VIP".into(),
                created_at: "2026-11-25T10:01:00.000Z".into(),
            }],
            handoffs: vec![Handoff {
                id: 4,
                conversation_id: "c1".into(),
                reason: "complaint".into(),
                context: bot,
                queued_at: "2026-11-25T10:00:02.000Z".into(),
                agent: Some("li".into()),
                assigned_at: Some("2026-11-25T10:00:03.000Z".into()),
                first_response_at: None,
                ended_at: None,
                outcome: None,
            }],
            orders: vec![order.clone()],
            returns: vec![ReturnRequest {
                id: "R1".into(),
                order_no: order.order_no.clone(),
                conversation_id: Some("c1".into()),
                reason: "too small".into(),
                status: "pending".into(),
                created_at: "2026-11-25T10:00:04.000Z".into(),
            }],
            shopper: Some(Profile {
                id: "u1".into(),
                name: "李雷".into(),
                tier: "gold".into(),
                vip: true,
                recent_orders: vec![order],
                past_ratings: vec![5, 4],
                average_rating: Some(4.5),
                conversations: 2,
            }),
        }
    }

    /// The frames built from stored rows keep the JSON the agent console reads (web/agent.js),
    /// byte for byte.
    #[test]
    fn frames_from_stored_rows_keep_their_json() {
        let context = sample_context();
        let note = context.notes[0].clone();
        let assigned = AgentFrame::Assigned {
            conversation_id: "c1".into(),
            reason: "complaint".into(),
            bot: context.handoffs[0].context.clone(),
            context: Box::new(context.into()),
        };
        assert_eq!(
            serde_json::to_string(&assigned).unwrap(),
            golden(include_str!("../../tests/golden/agent_assigned.json"))
        );
        let note = AgentFrame::Note { conversation_id: "c1".into(), note: note.into() };
        assert_eq!(
            serde_json::to_string(&note).unwrap(),
            golden(include_str!("../../tests/golden/agent_note.json"))
        );
        let message = AgentFrame::Message {
            conversation_id: "c1".into(),
            id: 5,
            from: Sender::Shopper,
            text: "hi".into(),
            at: "2026-11-25T10:02:00.000Z".into(),
            image: None,
        };
        assert_eq!(
            serde_json::to_string(&message).unwrap(),
            golden(include_str!("../../tests/golden/agent_message.json"))
        );
    }
}
