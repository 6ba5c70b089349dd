//! The agent wire protocol: JSON text frames on `/ws/agent` (documented in docs/protocol.md).

use crate::records::EscalationContext;
use serde::{Deserialize, Serialize};

use super::queue::QueueItem;
use crate::lang::Lang;
use crate::store::{ConversationContext, Note, Sender};

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Away,
}

/// The agent as the desk knows them.
#[derive(Debug, Clone, Serialize, PartialEq)]
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
#[derive(Debug, Clone, Serialize)]
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
        context: Box<ConversationContext>,
    },
    /// A new message in one of this agent's conversations.
    Message {
        conversation_id: String,
        /// The stored message's id (the transcript's `id`): the same message never shows twice.
        id: i64,
        from: Sender,
        text: String,
        at: String,
    },
    Typing {
        conversation_id: String,
    },
    Note {
        conversation_id: String,
        note: Note,
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
    /// A message was stored (its `id` is the agent's).
    Ack {
        id: String,
    },
    /// A request (claim, transfer, resolve …) was carried out.
    Done {
        op: String,
        conversation_id: String,
    },
    Error {
        code: AgentErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation_id: Option<String>,
    },
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
}

/// Decodes a text frame; the error says what was wrong with it.
pub fn decode(text: &str) -> Result<AgentMsg, (AgentErrorCode, String)> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| (AgentErrorCode::MalformedFrame, format!("frame is not valid JSON: {e}")))?;
    let ty = value.get("type").and_then(|t| t.as_str()).map(str::to_string);
    match ty.as_deref() {
        None => Err((AgentErrorCode::MalformedFrame, "frame has no \"type\"".into())),
        Some(
            "hello" | "presence" | "capacity" | "claim" | "message" | "typing" | "note" | "transfer"
            | "resolve" | "handback",
        ) => serde_json::from_value(value).map_err(|e| {
            (AgentErrorCode::MalformedFrame, format!("bad {} frame: {e}", ty.unwrap_or_default()))
        }),
        Some(other) => Err((AgentErrorCode::UnknownType, format!("unknown message type {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
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
}
