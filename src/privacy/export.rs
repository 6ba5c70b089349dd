//! A shopper's own copy of everything kefu holds about them (issue 21, item 3): one JSON
//! document, typed here and built field by field from the store's rows, so a column added to a
//! row never appears in an export unreviewed (nor is one left out silently: the store's
//! `shopper_data` reads every table that names the shopper).

use serde::Serialize;

use crate::knowledge::Order;
use crate::lang::Lang;
use crate::records::{FeedbackRecord, MessageMeta};
use crate::store::{self, ConversationState, Sender, ShopperData};

/// The document's `format`.
pub const FORMAT: &str = "kefu-shopper-export/1";

/// Everything kefu holds about one signed-in shopper.
#[derive(Debug, Clone, Serialize)]
pub struct ShopperExport {
    pub format: &'static str,
    pub generated_at: String,
    pub shopper_id: String,
    /// The copy of the shopper's profile kefu keeps (from the store's system).
    pub profile: Option<ProfileExport>,
    /// The orders kefu holds a copy of, with their delivery addresses.
    pub orders: Vec<Order>,
    pub returns: Vec<ReturnExport>,
    /// Every conversation the shopper had while signed in, oldest first.
    pub conversations: Vec<ConversationExport>,
    /// Messages they left for the agents.
    pub tickets: Vec<TicketExport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileExport {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub tier: String,
    pub vip: bool,
    pub lang: Lang,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReturnExport {
    pub id: String,
    pub order_no: String,
    pub conversation_id: Option<String>,
    pub reason: String,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationExport {
    pub id: String,
    pub lang: Lang,
    pub state: ConversationState,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub escalation_reason: Option<String>,
    pub messages: Vec<MessageExport>,
    /// Agents' internal notes about the conversation.
    pub notes: Vec<NoteExport>,
    /// Each time it was handed to a person: why, who took it, how it ended.
    pub handoffs: Vec<HandoffExport>,
    /// The customer-feedback record (with the rating and comment given).
    pub feedback: Option<FeedbackRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageExport {
    pub id: i64,
    /// shopper, bot, agent or system.
    pub sender: Sender,
    pub text: String,
    /// What the bot made of it (intent, confidence, FAQ answered …).
    pub meta: Option<MessageMeta>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteExport {
    pub agent: String,
    pub text: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandoffExport {
    pub reason: String,
    pub queued_at: String,
    pub agent: Option<String>,
    pub assigned_at: Option<String>,
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketExport {
    pub id: String,
    pub conversation_id: String,
    pub text: String,
    pub contact: Option<String>,
    pub status: String,
    pub created_at: String,
    pub closed_at: Option<String>,
}

impl ShopperExport {
    /// The document for what the store holds (`generated_at`: now, RFC 3339).
    pub fn new(data: ShopperData, generated_at: String) -> ShopperExport {
        ShopperExport {
            format: FORMAT,
            generated_at,
            shopper_id: data.shopper_id,
            profile: data.shopper.map(|s| ProfileExport {
                id: s.id,
                name: s.name,
                phone: s.phone,
                tier: s.tier,
                vip: s.vip,
                lang: s.lang,
            }),
            orders: data.orders,
            returns: data.returns.into_iter().map(ReturnExport::from).collect(),
            conversations: data.conversations.into_iter().map(ConversationExport::from).collect(),
            tickets: data.tickets.into_iter().map(TicketExport::from).collect(),
        }
    }
}

impl From<store::ReturnRequest> for ReturnExport {
    fn from(r: store::ReturnRequest) -> ReturnExport {
        ReturnExport {
            id: r.id,
            order_no: r.order_no,
            conversation_id: r.conversation_id,
            reason: r.reason,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

impl From<store::ShopperConversation> for ConversationExport {
    fn from(c: store::ShopperConversation) -> ConversationExport {
        let conv = c.conversation;
        ConversationExport {
            id: conv.id,
            lang: conv.lang,
            state: conv.state,
            started_at: conv.started_at,
            ended_at: conv.ended_at,
            escalation_reason: conv.escalation_reason,
            messages: c
                .messages
                .into_iter()
                .map(|m| MessageExport {
                    id: m.id,
                    sender: m.sender,
                    text: m.text,
                    meta: m.meta,
                    created_at: m.created_at,
                })
                .collect(),
            notes: c
                .notes
                .into_iter()
                .map(|n| NoteExport { agent: n.agent, text: n.text, created_at: n.created_at })
                .collect(),
            handoffs: c
                .handoffs
                .into_iter()
                .map(|h| HandoffExport {
                    reason: h.reason,
                    queued_at: h.queued_at,
                    agent: h.agent,
                    assigned_at: h.assigned_at,
                    ended_at: h.ended_at,
                    outcome: h.outcome,
                })
                .collect(),
            feedback: c.feedback,
        }
    }
}

impl From<store::Ticket> for TicketExport {
    fn from(t: store::Ticket) -> TicketExport {
        TicketExport {
            id: t.id,
            conversation_id: t.conversation_id,
            text: t.text,
            contact: t.contact,
            status: t.status,
            created_at: t.created_at,
            closed_at: t.closed_at,
        }
    }
}
