//! Recalling (撤回) an agent's message: within `recall_window` of being stored, by the agent who
//! sent it or an admin. The desk remembers the agent messages it stored while they can still be
//! recalled (by stored id, forgotten on the tick after the window), so the decision needs no
//! read: a message it does not remember is past the window (or not an agent's message at all;
//! after a restart none is remembered, and none can be recalled). Once the store has marked
//! it, the agent who asked and the conversation's owner get `recalled`, and the shopper's
//! session is told (the text disappears; the transcript keeps it for staff).

use std::time::Instant;

use super::persist::{Op, Stored};
use super::state::State;
use super::ShopperEvent;
use crate::agents::protocol::{AgentErrorCode, AgentFrame};
use crate::store::StoreError;

/// An agent message the desk stored, while it can still be recalled.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) conv: String,
    pub(crate) agent: String,
    /// The agent's own id for it (so a re-sent message's `ack` names the stored id too).
    pub(crate) client_id: String,
    pub(crate) at: Instant,
    /// A recall of it is being stored.
    pub(crate) recalling: bool,
}

impl State {
    pub(crate) fn remember_sent(&mut self, conv: &str, agent: &str, client_id: &str, message_id: i64) {
        let sent = Sent {
            conv: conv.to_string(),
            agent: agent.to_string(),
            client_id: client_id.to_string(),
            at: self.now,
            recalling: false,
        };
        self.sent.insert(message_id, sent);
    }

    /// The stored id of the agent's message `client_id`, while it is remembered.
    pub(crate) fn sent_id(&self, conv: &str, agent: &str, client_id: &str) -> Option<i64> {
        self.sent
            .iter()
            .find(|(_, s)| s.conv == conv && s.agent == agent && s.client_id == client_id)
            .map(|(id, _)| *id)
    }

    /// On the tick: messages past the window can no longer be recalled.
    pub(crate) fn forget_old_sent(&mut self) {
        let (now, window) = (self.now, self.config.recall_window);
        self.sent.retain(|_, s| s.recalling || now.saturating_duration_since(s.at) < window);
    }

    /// `agent` asks to recall `message_id` in `conv`.
    pub(crate) fn recall(&mut self, agent: &str, conv: &str, message_id: i64) {
        let window = self.config.recall_window;
        let within = self
            .sent
            .get(&message_id)
            .filter(|s| s.conv == conv && self.now.saturating_duration_since(s.at) < window);
        let Some(sent) = within else {
            let secs = window.as_secs();
            let m = format!(
                "this message can no longer be recalled: only your messages of the last {secs} s can be"
            );
            return self.error(agent, AgentErrorCode::RecallWindowPassed, m, Some(conv));
        };
        if sent.agent != agent && !self.admins.contains(agent) {
            let m = "only the agent who sent a message (or an admin) can recall it";
            return self.error(agent, AgentErrorCode::NotYours, m, Some(conv));
        }
        if sent.recalling {
            return; // asked twice: the first one's answer is coming
        }
        if let Some(s) = self.sent.get_mut(&message_id) {
            s.recalling = true;
        }
        self.write(conv, Op::Recall { agent: agent.to_string(), message_id });
    }

    /// A recall came back from the persister.
    pub(crate) fn recall_stored(
        &mut self,
        conv: &str,
        agent: &str,
        message_id: i64,
        result: Result<Stored, StoreError>,
    ) {
        match result {
            Ok(Stored::Recalled(at)) => {
                self.sent.remove(&message_id);
                let Some(at) = at else {
                    let m = "this message was already recalled";
                    return self.error(agent, AgentErrorCode::RecallWindowPassed, m, Some(conv));
                };
                let frame = AgentFrame::Recalled {
                    conversation_id: conv.to_string(),
                    message_id,
                    by: agent.to_string(),
                    at,
                };
                if self.owners.get(conv).is_some_and(|o| o.agent != agent) {
                    self.tell_owner(conv, frame.clone());
                }
                self.tell_agent(agent, frame);
                self.tell_shopper(conv, ShopperEvent::Recalled { id: message_id });
            }
            other => {
                if let Some(s) = self.sent.get_mut(&message_id) {
                    s.recalling = false;
                }
                let e = match other {
                    Err(e) => e,
                    Ok(s) => StoreError::Query(format!("the persister answered {s:?} for a recall")),
                };
                self.storage_error(agent, e, conv);
            }
        }
    }
}
