//! Agent actions, each checked against who owns the conversation: claim, message, typing, note,
//! transfer, resolve, hand back; presence and capacity.

use super::state::State;
use super::ShopperEvent;
use crate::agents::protocol::{AgentErrorCode, AgentFrame, AgentMsg, Presence};
use crate::dialogue::texts::t;
use crate::lang::Lang;
use crate::store::{Accepted, ConversationState, HandoffOutcome, StoreError};

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
    pub(super) async fn agent_request(&mut self, agent: &str, msg: AgentMsg) {
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
                    self.assign_waiting().await;
                }
            }
            AgentMsg::Capacity { max } => {
                let max = max.clamp(1, self.config.max_capacity);
                if let Some(a) = self.agents.get_mut(agent) {
                    a.capacity = max;
                }
                self.done(agent, "capacity", "");
                self.assign_waiting().await;
            }
            AgentMsg::Claim { conversation_id: conv } => self.claim(agent, &conv).await,
            AgentMsg::Message { conversation_id: conv, id, text } => {
                self.agent_says(agent, &conv, id, text).await
            }
            AgentMsg::Typing { conversation_id: conv } => {
                if self.owners.get(&conv).is_some_and(|o| o.agent == agent) {
                    let display = self.agents.get(agent).map(|a| a.display_name.clone()).unwrap_or_default();
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
                match self.store.add_note(conv.clone(), agent.to_string(), text).await {
                    Ok(note) => {
                        self.tell_agent(agent, AgentFrame::Note { conversation_id: conv, note: note.into() })
                    }
                    Err(e) => self.storage_error(agent, e, &conv),
                }
            }
            AgentMsg::Transfer { conversation_id: conv, to } => self.transfer(agent, &conv, to).await,
            AgentMsg::Resolve { conversation_id: conv } => self.resolve(agent, &conv).await,
            AgentMsg::Handback { conversation_id: conv } => self.hand_back(agent, &conv).await,
        }
    }

    /// The conversation if `agent` owns it; otherwise tells them why not.
    pub(super) fn owned_by(&mut self, agent: &str, conv: &str) -> Option<i64> {
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

    pub(super) fn done(&mut self, agent: &str, op: &str, conv: &str) {
        self.tell_agent(agent, AgentFrame::Done { op: op.into(), conversation_id: conv.into() });
    }

    pub(super) fn check_text(&self, text: &str) -> Option<String> {
        let chars = text.chars().count();
        if text.trim().is_empty() {
            Some("text is empty".into())
        } else if chars > self.config.max_message_chars {
            Some(format!("text is {chars} characters, at most {}", self.config.max_message_chars))
        } else {
            None
        }
    }

    pub(super) fn storage_error(&mut self, agent: &str, e: StoreError, conv: &str) {
        tracing::error!(error = %e, "store failed");
        let m = "could not save right now; please resend in a moment";
        self.error(agent, AgentErrorCode::StorageUnavailable, m, Some(conv));
    }

    pub(super) async fn claim(&mut self, agent: &str, conv: &str) {
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
        match self.assign(conv, agent).await {
            Ok(()) => self.done(agent, "claim", conv),
            Err(e) => self.storage_error(agent, e, conv),
        }
        self.broadcast_queue();
    }

    pub(super) async fn agent_says(&mut self, agent: &str, conv: &str, id: String, text: String) {
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
        match self
            .store
            .accept_agent_message(handoff, conv.to_string(), agent.to_string(), id.clone(), text.clone())
            .await
        {
            Ok(Accepted::New(_)) => {
                self.tell_agent(agent, AgentFrame::Ack { id });
                let display = self.agents.get(agent).map(|a| a.display_name.clone()).unwrap_or_default();
                self.tell_shopper(conv, ShopperEvent::Message { agent: display, text });
            }
            Ok(_) => self.tell_agent(agent, AgentFrame::Ack { id }),
            Err(e) => self.storage_error(agent, e, conv),
        }
    }

    pub(super) async fn transfer(&mut self, agent: &str, conv: &str, to: Option<String>) {
        if self.owned_by(agent, conv).is_none() {
            return;
        }
        let Some(to) = to else {
            match self.requeue(conv, HandoffOutcome::Transferred, "transfer", Some(agent.to_string())).await {
                Ok(()) => self.done(agent, "transfer", conv),
                Err(e) => self.storage_error(agent, e, conv),
            }
            return self.assign_waiting().await;
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
        if let Err(e) = self.requeue(conv, HandoffOutcome::Transferred, "transfer", None).await {
            return self.storage_error(agent, e, conv);
        }
        match self.assign(conv, &to).await {
            Ok(()) => self.done(agent, "transfer", conv),
            Err(e) => self.storage_error(agent, e, conv),
        }
        self.broadcast_queue();
    }

    /// Ends the handoff of a conversation `agent` owns with `outcome`, leaving the conversation in
    /// the ending's state and telling the shopper (stored) its text: that text, or None when the
    /// agent does not own it or it could not be stored (they were told why).
    async fn end_owned(
        &mut self,
        agent: &str,
        conv: &str,
        outcome: HandoffOutcome,
        (state, zh, en): Ending,
    ) -> Option<String> {
        let handoff = self.owned_by(agent, conv)?;
        let lang = self.owners.get(conv).map(|o| o.waiting.lang).unwrap_or(Lang::Zh);
        let text = t(lang, zh, en);
        let end = self.store.end_handoff(handoff, conv.to_string(), outcome, state, Some(text.clone())).await;
        if let Err(e) = end {
            self.storage_error(agent, e, conv);
            return None;
        }
        Some(text)
    }

    pub(super) async fn resolve(&mut self, agent: &str, conv: &str) {
        let Some(text) = self.end_owned(agent, conv, HandoffOutcome::Resolved, RESOLVED).await else {
            return;
        };
        if let Some(owned) = self.release(conv, HandoffOutcome::Resolved) {
            self.observe_handle_time(&owned);
        }
        if self.shoppers.contains_key(conv) {
            // the shopper's session writes the feedback record and asks for the rating
            self.tell_shopper(conv, ShopperEvent::Resolved { text });
            self.shoppers.remove(conv);
        } else if let Err(e) = self.store.close_with_agent(conv.to_string(), "agent_resolved".into()).await {
            tracing::error!(error = %e, "could not complete the feedback record");
        }
        self.done(agent, "resolve", conv);
        self.assign_waiting().await;
    }

    pub(super) async fn hand_back(&mut self, agent: &str, conv: &str) {
        let Some(text) = self.end_owned(agent, conv, HandoffOutcome::HandedBack, HANDED_BACK).await else {
            return;
        };
        self.release(conv, HandoffOutcome::HandedBack);
        self.tell_shopper(conv, ShopperEvent::HandedBack { text });
        self.shoppers.remove(conv);
        self.done(agent, "handback", conv);
        self.assign_waiting().await;
    }
}
