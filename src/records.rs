//! The domain records that outlive a turn, typed in one place: the **feedback record** every
//! conversation ends as, the **meta** stored with each message (how the bot decided, or which
//! event a system line is), the **escalation context** an agent receives, and the **page** a
//! shopper chats from. The dialogue builds them (pure functions of its state), the store maps
//! them to columns, the wire formats embed them; nobody builds them with `json!` or reads them
//! back by key.

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// The page the shopper is chatting from (`hello`'s and `context`'s `context`, checked by
/// `Router::checked_page` before it is kept: an unknown sku never stays), or what a tapped card
/// identifies. Also the wire form (`chat::protocol::Context`), so unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// What the bot saw and did in a conversation, as the feedback record, the escalation context
/// and the dialogue state all keep it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    #[serde(default)]
    pub intents_seen: Vec<String>,
    #[serde(default)]
    pub faq_ids: Vec<String>,
    #[serde(default)]
    pub flows: Vec<String>,
    #[serde(default)]
    pub orders_discussed: Vec<String>,
    #[serde(default)]
    pub returns_created: Vec<String>,
    #[serde(default)]
    pub complaint: bool,
}

/// How a conversation ended, as the feedback record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The bot answered and the shopper ended it (or rated it).
    BotResolved,
    /// The shopper went away (disconnect or idle) with the bot.
    Abandoned,
    /// Handed to human agents (and not resolved by one).
    Escalated,
    /// A human agent resolved it.
    AgentResolved,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::BotResolved => "bot_resolved",
            Resolution::Abandoned => "abandoned",
            Resolution::Escalated => "escalated",
            Resolution::AgentResolved => "agent_resolved",
        }
    }
}

/// The customer-feedback record of one conversation (stored as JSON in `feedback.record`,
/// exported as JSON lines or CSV). Fields added later default when an older record is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    pub conversation_id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    pub started_at: String,
    pub ended_at: String,
    pub shopper_messages: usize,
    pub bot_messages: usize,
    pub agent_messages: usize,
    #[serde(flatten)]
    pub seen: Seen,
    pub resolution: Resolution,
    #[serde(default)]
    pub escalation_reason: Option<String>,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub agent_outcome: Option<String>,
    #[serde(default)]
    pub queue_wait_secs: Option<f64>,
    #[serde(default)]
    pub first_response_secs: Option<f64>,
    #[serde(default)]
    pub handle_secs: Option<f64>,
    #[serde(default)]
    pub rating: Option<u8>,
    #[serde(default)]
    pub comment: Option<String>,
    /// Photos the shopper sent (`images`).
    #[serde(default)]
    pub attachments: usize,
}

/// Columns of the CSV export, in order (lists are joined with `|`).
pub const CSV_COLUMNS: [&str; 20] = [
    "conversation_id",
    "shopper_id",
    "lang",
    "started_at",
    "ended_at",
    "shopper_messages",
    "bot_messages",
    "agent_messages",
    "intents_seen",
    "faq_ids",
    "flows",
    "orders_discussed",
    "returns_created",
    "resolution",
    "escalation_reason",
    "agent_id",
    "rating",
    "comment",
    "complaint",
    "attachments",
];

/// One CSV cell: text (defused by the exporter) or a number/flag (only stripped).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Plain(String),
}

impl FeedbackRecord {
    /// The record's cells in [`CSV_COLUMNS`] order (an absent value is empty).
    pub fn csv_cells(&self) -> Vec<Cell> {
        let text = |s: &Option<String>| Cell::Text(s.clone().unwrap_or_default());
        let list = |v: &[String]| Cell::Text(v.join("|"));
        let plain = |v: String| Cell::Plain(v);
        vec![
            Cell::Text(self.conversation_id.clone()),
            text(&self.shopper_id),
            Cell::Text(self.lang.code().to_string()),
            Cell::Text(self.started_at.clone()),
            Cell::Text(self.ended_at.clone()),
            plain(self.shopper_messages.to_string()),
            plain(self.bot_messages.to_string()),
            plain(self.agent_messages.to_string()),
            list(&self.seen.intents_seen),
            list(&self.seen.faq_ids),
            list(&self.seen.flows),
            list(&self.seen.orders_discussed),
            list(&self.seen.returns_created),
            Cell::Text(self.resolution.as_str().to_string()),
            text(&self.escalation_reason),
            text(&self.agent_id),
            plain(self.rating.map(|r| r.to_string()).unwrap_or_default()),
            text(&self.comment),
            plain(self.seen.complaint.to_string()),
            plain(self.attachments.to_string()),
        ]
    }
}

/// How the router arrived at a reply (stored with it, read by the trainers' review queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyDecision {
    /// A confident FAQ answer.
    Answer,
    /// Not sure: "did you mean one of these?"
    Suggest,
    /// The FAQ had nothing close enough.
    NoMatch,
    /// The classifier said out of scope and the FAQ had nothing either.
    OutOfScope,
    /// A flow (orders, returns, products) or its follow-up question.
    Flow,
    /// Hello, thanks, goodbye.
    Greeting,
    /// Handed to a human.
    Escalate,
}

/// What is stored with a message (`messages.meta`): for a bot reply, how it was decided; for a
/// system line, which event it records and, for agents' lines, who.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageMeta {
    /// The intent the router acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faq_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<ReplyDecision>,
    /// A system line's event: `availability`, `joined`, a handoff's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The agent who wrote the line, or joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The ticket this agent's line answers (a reply to a message left for the agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The photo a shopper's message is (the text is then only a stand-in such as "[图片]").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<crate::images::ImageRef>,
}

impl MessageMeta {
    /// A system line recording `event`.
    pub fn event(event: &str) -> MessageMeta {
        MessageMeta { event: Some(event.to_string()), ..MessageMeta::default() }
    }
}

/// What the bot knew when it handed a conversation to the agents (stored with the handoff,
/// sent to the agent who takes it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EscalationContext {
    #[serde(flatten)]
    pub seen: Seen,
    /// The page the shopper chats from.
    #[serde(default)]
    pub page: Page,
    /// The product the conversation is about (in focus, else the page's).
    #[serde(default)]
    pub product_in_focus: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_meta_keeps_its_stored_shapes() {
        let reply = MessageMeta {
            intent: Some("shipping_delivery".into()),
            confidence: Some(0.5),
            faq_id: None,
            decision: Some(ReplyDecision::Answer),
            ..MessageMeta::default()
        };
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            serde_json::json!({"intent": "shipping_delivery", "confidence": 0.5, "decision": "answer"})
        );
        assert_eq!(
            serde_json::to_string(&MessageMeta::event("availability")).unwrap(),
            r#"{"event":"availability"}"#
        );
    }

    #[test]
    fn an_older_feedback_record_reads_with_defaults() {
        let old = serde_json::json!({
            "conversation_id": "c1", "shopper_id": null, "lang": "zh", "started_at": "a", "ended_at": "b",
            "shopper_messages": 2, "bot_messages": 2, "agent_messages": 0, "resolution": "abandoned"
        });
        let r: FeedbackRecord = serde_json::from_value(old).unwrap();
        assert_eq!(r.resolution, Resolution::Abandoned);
        assert!(r.rating.is_none() && !r.seen.complaint && r.seen.intents_seen.is_empty());
        assert_eq!(r.csv_cells().len(), CSV_COLUMNS.len());
    }
}
