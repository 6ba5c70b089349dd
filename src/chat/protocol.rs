//! The shopper wire protocol: JSON text frames on `/ws/chat` (documented in docs/protocol.md).
//! Only the chat layer knows these types.

use serde::{Deserialize, Serialize};

pub use crate::dialogue::Card;
use crate::store::{ConversationState, Sender};

/// Client → server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    Hello {
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        lang: Option<String>,
        #[serde(default)]
        resume: Option<String>,
        /// The page the shopper chats from.
        #[serde(default)]
        context: Option<Context>,
    },
    Message {
        id: String,
        text: String,
        /// What a tapped card identifies (an order or a product).
        #[serde(default)]
        context: Option<Context>,
    },
    /// A photo the shopper uploaded (`POST /api/chat/{conversation}/images`) sent into the
    /// chat, like a message (stored once per `id`, acknowledged after storage).
    Image {
        id: String,
        image: String,
    },
    /// The shopper is on another page now (single-page stores).
    Context {
        context: Context,
    },
    Rating {
        score: u8,
        #[serde(default)]
        comment: Option<String>,
    },
    Typing,
    End,
    /// A message for the human agents when none can chat now (becomes a ticket).
    Ticket {
        text: String,
        #[serde(default)]
        contact: Option<String>,
    },
}

/// What the shopper is looking at (`hello`, `context`) or what a tapped card identifies
/// (`message`): the [`Page`](crate::records::Page) record, on the wire as is.
pub use crate::records::Page as Context;

/// Largest WebSocket frame accepted (the shared connection module's limit).
pub use crate::socket::MAX_FRAME_BYTES;

/// Longest sku or order number accepted in a context (longer is a malformed frame).
pub const MAX_CONTEXT_ID_CHARS: usize = 64;

/// Why a context is malformed, if it is.
pub fn context_problem(c: &Context) -> Option<String> {
    for (name, v) in [("product", &c.product), ("order", &c.order)] {
        if v.as_ref().is_some_and(|v| v.chars().count() > MAX_CONTEXT_ID_CHARS) {
            return Some(format!("context.{name} is longer than {MAX_CONTEXT_ID_CHARS} characters"));
        }
    }
    None
}

/// Something the shopper can do besides typing, offered with a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Leave a message for the agents (send a `ticket` frame).
    LeaveMessage,
}

/// One message of the history sent on `welcome`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub from: Sender,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub at: String,
    /// A photo the shopper sent (the text is then a stand-in, "[图片]").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<crate::images::ImageRef>,
    /// An agent's message: its id (a later `recalled` names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// The agent recalled it: `text` is empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recalled: bool,
    /// An agent's answer to the ticket (message left for the agents) with this number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome {
        conversation_id: String,
        history: Vec<HistoryItem>,
        /// The store's timezone (`business_timezone`, a UTC offset such as "+08:00"): the times
        /// on cards are shown in it, wherever the shopper is.
        timezone: String,
    },
    Ack {
        id: String,
    },
    Reply {
        from: Sender,
        text: String,
        /// The human agent's name, for replies from an agent.
        #[serde(skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        intent: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        confidence: Option<f32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        faq_id: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        suggestions: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cards: Vec<Card>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actions: Vec<Action>,
        /// An agent's message: its id (a later `recalled` names it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<i64>,
    },
    /// The agent recalled their message `message_id`: show that it was recalled, not its text.
    Recalled {
        message_id: i64,
    },
    Status {
        state: ConversationState,
        /// The agent's name while a human agent has the conversation.
        #[serde(skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
    },
    /// The human agent is typing.
    Typing {
        agent: String,
    },
    /// A message left for the agents was stored as this ticket.
    Ticket {
        id: String,
    },
    RatingRequest {
        scale: Vec<String>,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
}

impl ServerMsg {
    /// A plain reply: text only, from `from` (with the agent's name for agents' messages).
    pub fn text(from: Sender, text: String, agent: Option<String>) -> ServerMsg {
        ServerMsg::Reply {
            from,
            text,
            agent,
            intent: None,
            confidence: None,
            faq_id: None,
            suggestions: vec![],
            cards: vec![],
            actions: vec![],
            message_id: None,
        }
    }
}

/// Machine-readable error codes of `error` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedFrame,
    UnknownType,
    BinaryNotSupported,
    TooLong,
    EmptyMessage,
    RateLimited,
    NotStarted,
    AlreadyStarted,
    BadToken,
    UnknownConversation,
    BadRating,
    ConversationClosed,
    StorageUnavailable,
    /// An `image` frame named no photo uploaded to this conversation (or one sent already).
    BadImage,
}

/// Decodes a text frame; the error says what was wrong with it.
pub fn decode(text: &str) -> Result<ClientMsg, (ErrorCode, String)> {
    let value = crate::socket::parse_frame(text)
        .map_err(|e| (ErrorCode::MalformedFrame, format!("frame is not valid JSON: {e}")))?;
    let ty = value.get("type").and_then(|t| t.as_str()).map(str::to_string);
    match ty.as_deref() {
        None => Err((ErrorCode::MalformedFrame, "frame has no \"type\"".into())),
        Some("hello" | "message" | "image" | "rating" | "typing" | "end" | "ticket" | "context") => {
            serde_json::from_value(value).map_err(|e| {
                (ErrorCode::MalformedFrame, format!("bad {} frame: {e}", ty.unwrap_or_default()))
            })
        }
        Some(other) => Err((ErrorCode::UnknownType, format!("unknown message type {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_reports_problems() {
        assert_eq!(
            decode(r#"{"type":"message","id":"m1","text":"你好"}"#).unwrap(),
            ClientMsg::Message { id: "m1".into(), text: "你好".into(), context: None }
        );
        assert_eq!(
            decode(r#"{"type":"context","context":{"product":"QM-WO-004","url":"https://x/p"}}"#).unwrap(),
            ClientMsg::Context {
                context: Context {
                    product: Some("QM-WO-004".into()),
                    order: None,
                    url: Some("https://x/p".into())
                }
            }
        );
        assert_eq!(
            decode(r#"{"type":"hello","context":{"sku":"x"}}"#).unwrap_err().0,
            ErrorCode::MalformedFrame,
            "unknown context fields are refused"
        );
        assert_eq!(decode(r#"{"type":"typing"}"#).unwrap(), ClientMsg::Typing);
        assert_eq!(
            decode(r#"{"type":"image","id":"m2","image":"i1"}"#).unwrap(),
            ClientMsg::Image { id: "m2".into(), image: "i1".into() }
        );
        assert_eq!(decode("{").unwrap_err().0, ErrorCode::MalformedFrame);
        assert_eq!(decode(r#"{"type":"dance"}"#).unwrap_err().0, ErrorCode::UnknownType);
        assert_eq!(decode(r#"{"type":"message","text":"x"}"#).unwrap_err().0, ErrorCode::MalformedFrame);
        let s = serde_json::to_string(&ServerMsg::Ack { id: "m1".into() }).unwrap();
        assert_eq!(s, r#"{"type":"ack","id":"m1"}"#);
    }

    #[test]
    fn nul_characters_become_replacement_characters() {
        // PostgreSQL refuses U+0000 in text: the message is kept, the character made visible
        assert_eq!(
            decode(r#"{"type":"message","id":"m1","text":"a\u0000b"}"#).unwrap(),
            ClientMsg::Message { id: "m1".into(), text: "a\u{fffd}b".into(), context: None }
        );
    }
}
