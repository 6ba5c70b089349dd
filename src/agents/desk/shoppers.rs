//! What shopper sessions ask of the desk: an escalation (queued, and what the shopper is told
//! about the wait) and the end of a conversation with or waiting for agents.

use std::time::Instant;

use super::state::State;
use super::{Availability, Escalation, ShopperLink, MAX_QUEUE};
use crate::agents::queue::{self, Waiting};
use crate::lang::Lang;
use crate::store::{ConversationState, HandoffOutcome, StoreError};

impl State {
    pub(super) async fn escalate(
        &mut self,
        e: Escalation,
        link: ShopperLink,
    ) -> Result<Availability, StoreError> {
        let conv = e.conversation_id.clone();
        self.shoppers.insert(conv.clone(), link);
        if self.queue.len() >= MAX_QUEUE && !self.queue.contains(&conv) && !self.owners.contains_key(&conv) {
            tracing::warn!(waiting = self.queue.len(), "agent queue full; not queueing");
            return Ok(Availability::NoAgents);
        }
        if !self.owners.contains_key(&conv) && !self.queue.contains(&conv) {
            let shopper = match &e.shopper_id {
                Some(id) => self.store.shopper(id.clone()).await?,
                None => None,
            };
            let handoff = self.store.open_handoff(conv.clone(), e.reason.clone(), e.bot.clone()).await?;
            self.queue.push(Waiting {
                conversation_id: conv.clone(),
                handoff: handoff.id,
                lang: e.lang,
                vip: shopper.as_ref().is_some_and(|s| s.vip),
                reason: e.reason,
                shopper_id: e.shopper_id,
                shopper_name: shopper.map(|s| s.name),
                queued_at: handoff.queued_at,
                since: Instant::now(),
                bot: e.bot,
                exclude: None,
            });
            self.broadcast_queue();
            self.assign_waiting().await;
        }
        Ok(self.availability(&conv, e.lang))
    }

    pub(super) fn availability(&self, conv: &str, lang: Lang) -> Availability {
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

    pub(super) async fn shopper_ended(&mut self, conv: &str) {
        let handoff = match (self.owners.get(conv), self.queue.remove(conv)) {
            (Some(o), _) => o.waiting.handoff,
            (None, Some(w)) => {
                self.broadcast_queue();
                w.handoff
            }
            (None, None) => return,
        };
        self.shoppers.remove(conv);
        let end = self
            .store
            .end_handoff(
                handoff,
                conv.to_string(),
                HandoffOutcome::ShopperEnded,
                ConversationState::Closed,
                None,
            )
            .await;
        if let Err(e) = end {
            tracing::error!(error = %e, "could not end handoff");
        }
        self.release(conv, HandoffOutcome::ShopperEnded);
        self.assign_waiting().await;
    }
}
