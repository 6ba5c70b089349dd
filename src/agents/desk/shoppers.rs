//! What shopper sessions ask of the desk: an escalation (queued once its handoff is stored, and
//! what the shopper is told about the wait) and the end of a conversation with or waiting for
//! agents.

use tokio::sync::oneshot;

use super::persist::{EndBy, Op};
use super::state::{Moving, State};
use super::{Availability, Escalation, ShopperLink, MAX_QUEUE};
use crate::agents::protocol::AgentFrame;
use crate::agents::queue;
use crate::lang::Lang;
use crate::records::Page;
use crate::store::{ConversationState, HandoffOutcome, StoreError};

impl State {
    /// An escalation: the persister stores a new handoff, and the conversation joins the queue
    /// once it is stored; `reply` hears the availability then (see [`super::stored`]).
    pub(crate) fn escalate(
        &mut self,
        e: Escalation,
        link: ShopperLink,
        reply: oneshot::Sender<Result<Availability, StoreError>>,
    ) {
        let conv = e.conversation_id.clone();
        self.shoppers.insert(conv.clone(), link);
        if let Some(m) = self.moving.get_mut(&conv) {
            m.replies.push(reply);
            return;
        }
        let known = self.queue.contains(&conv) || self.owners.contains_key(&conv);
        if !known && self.queue.len() >= MAX_QUEUE {
            tracing::warn!(waiting = self.queue.len(), "agent queue full; not queueing");
            let _ = reply.send(Ok(Availability::NoAgents));
            return;
        }
        if known {
            let _ = reply.send(Ok(self.availability(&conv, e.lang)));
            return;
        }
        self.moving.insert(conv.clone(), Moving { replies: vec![reply], ended: None });
        self.write(&conv, Op::Open { escalation: Box::new(e) });
    }

    pub(crate) fn availability(&self, conv: &str, lang: Lang) -> Availability {
        if self.owners.contains_key(conv) {
            return Availability::Assigned;
        }
        if let Some(h) = &self.config.hours {
            if !h.is_open(self.config.clock.now()) {
                return Availability::Closed { hours: h.describe() };
            }
        }
        let seats = self.seats();
        let position = self.queue.position(conv).unwrap_or(1);
        match queue::expected_wait_secs(position, &seats, lang, self.average_handle_secs) {
            None => Availability::NoAgents,
            Some(wait) => Availability::Queued { position, wait_secs: Some(wait) },
        }
    }

    /// The shopper is on another page: kept with the waiting conversation (the queue and the
    /// agent who takes it see it) or told to the agent who has it.
    pub(crate) fn shopper_page(&mut self, conv: &str, page: Page) {
        if let Some(w) = self.queue.get_mut(conv) {
            if w.bot.page != page {
                w.bot.page = page;
                self.broadcast_queue();
            }
        } else if let Some(o) = self.owners.get_mut(conv) {
            if o.waiting.bot.page != page {
                o.waiting.bot.page = page.clone();
                self.tell_owner(conv, AgentFrame::Page { conversation_id: conv.to_string(), page });
            }
        }
    }

    /// The shopper ended a conversation with or waiting for agents: let go of now; `reply` is
    /// answered once the handoff's end is stored.
    pub(crate) fn shopper_ended(&mut self, conv: &str, reply: oneshot::Sender<()>) {
        self.shoppers.remove(conv);
        if let Some(m) = self.moving.get_mut(conv) {
            // its new handoff is ended as soon as it is stored
            m.ended = Some(reply);
            return;
        }
        let (handoff, agent) = if let Some(o) = self.release(conv) {
            (o.waiting.handoff, Some(o.agent))
        } else if let Some(w) = self.queue.remove(conv) {
            self.broadcast_queue();
            (w.handoff, None)
        } else {
            let _ = reply.send(());
            return;
        };
        let why = EndBy::Shopper { agent, reply: Some(reply) };
        let op = Op::End {
            handoff,
            outcome: HandoffOutcome::ShopperEnded,
            state: ConversationState::Closed,
            text: None,
            why,
        };
        self.write(conv, op);
        self.assign_waiting();
    }

    /// Ends a handoff that was being stored when the shopper ended the conversation.
    pub(crate) fn end_for_shopper(
        &mut self,
        conv: &str,
        handoff: i64,
        agent: Option<String>,
        reply: oneshot::Sender<()>,
    ) {
        let why = EndBy::Shopper { agent, reply: Some(reply) };
        let op = Op::End {
            handoff,
            outcome: HandoffOutcome::ShopperEnded,
            state: ConversationState::Closed,
            text: None,
            why,
        };
        self.write(conv, op);
    }
}
