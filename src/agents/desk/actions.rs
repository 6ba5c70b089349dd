//! Agent actions, each checked against who owns the conversation: claim, message, typing, note,
//! transfer, resolve, hand back; presence and capacity. Decided at once; what must be stored
//! goes to the persister, and the agent hears `ack`, `done` or the note once it is stored
//! (see [`super::stored`]).

use super::persist::{EndBy, Op};
use super::state::State;
use super::ShopperEvent;
use crate::agents::protocol::{AgentErrorCode, AgentFrame, AgentMsg, Presence};
use crate::dialogue::texts::t;
use crate::lang::Lang;
use crate::store::{ConversationState, HandoffOutcome, StoreError};

/// Writes handed to the persister and not yet stored, at most; beyond this an agent's message
/// or note is refused at once (storage unavailable) instead of queueing without limit.
pub(crate) const MAX_PENDING: usize = 20_000;

/// How an agent ends a handoff: the conversation's state after it, and what the shopper is told
/// (Chinese, English).
type Ending = (ConversationState, &'static str, &'static str);

const RESOLVED: Ending = (
    ConversationState::Closed,
    "本次服务已结束，感谢您的耐心。请为本次服务打个分吧～",
    "This chat is resolved. Thank you for your patience! Please rate the service.",
);

const HANDED_BACK: Ending = (
    ConversationState::Bot,
    "人工客服已将您转回智能助手，有问题随时问我；需要人工时说“转人工”即可。",
    "You're back with the assistant. Ask me anything; say \"human agent\" any time to reach a person again.",
);

impl State {
    pub(crate) fn agent_request(&mut self, agent: &str, msg: AgentMsg) {
        match msg {
            AgentMsg::Hello { .. } => {
                self.error(agent, AgentErrorCode::AlreadyStarted, "already signed in", None);
            }
            AgentMsg::Presence { state } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.presence = state;
                }
                self.done(agent, "presence", "");
                if state == Presence::Online {
                    self.assign_waiting();
                }
            }
            AgentMsg::Capacity { max } => {
                let max = max.clamp(1, self.config.max_capacity);
                if let Some(a) = self.agents.get_mut(agent) {
                    a.capacity = max;
                }
                self.done(agent, "capacity", "");
                self.assign_waiting();
            }
            AgentMsg::Claim { conversation_id: conv } => self.claim(agent, &conv),
            AgentMsg::Message { conversation_id: conv, id, text } => self.agent_says(agent, &conv, id, text),
            AgentMsg::Typing { conversation_id: conv } => {
                if self.owners.get(&conv).is_some_and(|o| o.agent == agent) {
                    let display = self.display_name(agent);
                    self.tell_shopper(&conv, ShopperEvent::Typing { agent: display });
                }
            }
            AgentMsg::Note { conversation_id: conv, text } => {
                if self.owned_by(agent, &conv).is_none() {
                    return;
                }
                if let Some(problem) = self.check_text(&text) {
                    return self.error(agent, AgentErrorCode::BadRequest, problem, Some(&conv));
                }
                if self.too_busy(agent, &conv) {
                    return;
                }
                self.write(&conv, Op::Note { agent: agent.to_string(), text });
            }
            AgentMsg::Transfer { conversation_id: conv, to } => self.transfer(agent, &conv, to),
            AgentMsg::Resolve { conversation_id: conv } => self.end_owned(agent, &conv, "resolve"),
            AgentMsg::Handback { conversation_id: conv } => self.end_owned(agent, &conv, "handback"),
            AgentMsg::Recall { conversation_id: conv, message_id } => self.recall(agent, &conv, message_id),
        }
    }

    pub(crate) fn display_name(&self, agent: &str) -> String {
        self.agents.get(agent).map(|a| a.display_name.clone()).unwrap_or_default()
    }

    /// The handoff if `agent` owns the conversation; otherwise tells them why not.
    pub(crate) fn owned_by(&mut self, agent: &str, conv: &str) -> Option<i64> {
        match self.owners.get(conv) {
            Some(o) if o.agent == agent => Some(o.waiting.handoff),
            _ => {
                self.error(
                    agent,
                    AgentErrorCode::NotYours,
                    "this conversation is not assigned to you",
                    Some(conv),
                );
                None
            }
        }
    }

    pub(crate) fn done(&mut self, agent: &str, op: &str, conv: &str) {
        self.tell_agent(
            agent,
            AgentFrame::Done { op: op.into(), conversation_id: conv.into(), warning: None },
        );
    }

    pub(crate) fn check_text(&self, text: &str) -> Option<String> {
        let chars = text.chars().count();
        if text.trim().is_empty() {
            Some("text is empty".into())
        } else if chars > self.config.max_message_chars {
            Some(format!("text is {chars} characters, at most {}", self.config.max_message_chars))
        } else {
            None
        }
    }

    /// Whether the persister is too far behind to take another message (the agent is told).
    fn too_busy(&mut self, agent: &str, conv: &str) -> bool {
        if self.pending < MAX_PENDING {
            return false;
        }
        tracing::warn!(pending = self.pending, "the desk's writes are behind; refusing an agent's write");
        let m = "could not save right now; please resend in a moment";
        self.error(agent, AgentErrorCode::StorageUnavailable, m, Some(conv));
        true
    }

    pub(crate) fn storage_error(&mut self, agent: &str, e: StoreError, conv: &str) {
        tracing::error!(error = %e, agent = %agent, conversation = %conv, "store failed");
        let m = "could not save right now; please resend in a moment";
        self.error(agent, AgentErrorCode::StorageUnavailable, m, Some(conv));
    }

    pub(crate) fn claim(&mut self, agent: &str, conv: &str) {
        if let Some(o) = self.owners.get(conv) {
            if o.agent == agent {
                return self.done(agent, "claim", conv);
            }
            let m = "another agent has already taken this conversation";
            return self.error(agent, AgentErrorCode::AlreadyTaken, m, Some(conv));
        }
        if !self.queue.contains(conv) {
            return self.error(
                agent,
                AgentErrorCode::NotWaiting,
                "this conversation is not waiting for an agent",
                Some(conv),
            );
        }
        self.assign(conv, agent, Some((agent.to_string(), "claim")));
        self.broadcast_queue();
    }

    /// An agent's message: checked now, stored by the persister; once stored the agent gets
    /// `ack` and the shopper the message (never before: a crash cannot show the shopper what
    /// the transcript lacks, nor tell the agent "sent" for what was lost).
    pub(crate) fn agent_says(&mut self, agent: &str, conv: &str, id: String, text: String) {
        let Some(handoff) = self.owned_by(agent, conv) else { return };
        if let Some(problem) = self.check_text(&text) {
            return self.error(agent, AgentErrorCode::BadRequest, problem, Some(conv));
        }
        if id.trim().is_empty() || id.chars().count() > 128 {
            return self.error(
                agent,
                AgentErrorCode::BadRequest,
                "message needs a non-empty id (≤128)",
                Some(conv),
            );
        }
        if self.too_busy(agent, conv) {
            return;
        }
        let display = self.display_name(agent);
        self.write(conv, Op::Message { handoff, agent: agent.to_string(), display, id, text });
    }

    pub(crate) fn transfer(&mut self, agent: &str, conv: &str, to: Option<String>) {
        if self.owned_by(agent, conv).is_none() {
            return;
        }
        let done = Some((agent.to_string(), "transfer"));
        let Some(to) = to else {
            return self.requeue(
                conv,
                HandoffOutcome::Transferred,
                "transfer",
                Some(agent.to_string()),
                None,
                done,
            );
        };
        let lang = self.owners.get(conv).map(|o| o.waiting.lang).unwrap_or(Lang::Zh);
        let problem = match self.agents.get(&to) {
            _ if to == agent => Some("that is you"),
            None => Some("no such agent is signed in"),
            Some(a) if a.conn.is_none() => Some("that agent is not connected"),
            Some(a) if !a.langs.contains(&lang) => {
                Some("that agent does not serve this conversation's language")
            }
            Some(a) if a.conversations.len() >= a.capacity => Some("that agent has no free seat"),
            Some(_) => None,
        };
        if let Some(p) = problem {
            return self.error(
                agent,
                AgentErrorCode::UnknownAgent,
                format!("cannot transfer to {to}: {p}"),
                Some(conv),
            );
        }
        // through the queue (a new handoff, so each agent's timings stay their own), straight to `to`
        self.requeue(conv, HandoffOutcome::Transferred, "transfer", None, Some(to), done);
    }

    /// Resolves (`op` "resolve") or hands back ("handback") a conversation `agent` owns: it is
    /// released now; once the end is stored the shopper is told and the agent gets `ended` and
    /// `done` (see [`super::stored`]).
    pub(crate) fn end_owned(&mut self, agent: &str, conv: &str, op: &'static str) {
        let Some(handoff) = self.owned_by(agent, conv) else { return };
        let (outcome, (state, zh, en)) = if op == "resolve" {
            (HandoffOutcome::Resolved, RESOLVED)
        } else {
            (HandoffOutcome::HandedBack, HANDED_BACK)
        };
        let owned = self.release(conv).expect("owned above");
        let text = t(owned.waiting.lang, zh, en);
        let why = EndBy::Agent {
            agent: agent.to_string(),
            op,
            waiting: Box::new(owned.waiting),
            since: owned.since,
        };
        self.write(conv, Op::End { handoff, outcome, state, text: Some(text), why });
        self.assign_waiting();
    }
}
