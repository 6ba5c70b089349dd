//! Assignment: waiting conversations to available agents (stored, then the agent gets the
//! context and the shopper is told), and back: released from an agent, requeued with a new
//! handoff; the average handle time behind wait estimates.

use std::time::Instant;

use super::state::{Owned, State};
use super::ShopperEvent;
use crate::agents::protocol::{AgentErrorCode, AgentFrame, Presence};
use crate::agents::queue::{self, Seat, Waiting};
use crate::dialogue::texts::t;
use crate::records::EscalationContext;
use crate::store::{HandoffOutcome, StoreError};

impl State {
    pub(super) fn seats(&self) -> Vec<Seat<'_>> {
        self.agents
            .iter()
            .map(|(name, a)| Seat {
                name,
                available: a.conn.is_some() && a.presence == Presence::Online,
                langs: &a.langs,
                capacity: a.capacity,
                load: a.conversations.len(),
            })
            .collect()
    }

    /// Gives waiting conversations to available agents, in queue order, while any fits.
    pub(super) async fn assign_waiting(&mut self) {
        let mut changed = false;
        loop {
            let next = {
                let seats = self.seats();
                self.queue.ordered().into_iter().find_map(|w| {
                    let seats: Vec<Seat> =
                        seats.iter().filter(|s| Some(s.name) != w.exclude.as_deref()).cloned().collect();
                    queue::pick(&seats, w.lang).map(|a| (w.conversation_id.clone(), a.to_string()))
                })
            };
            let Some((conv, agent)) = next else { break };
            changed = true;
            if self.assign(&conv, &agent).await.is_err() {
                break;
            }
        }
        if changed {
            self.broadcast_queue();
        }
    }

    /// Gives a waiting conversation to an agent: stored (with the shopper's announcement), then
    /// the agent gets the full context and the shopper is told.
    pub(super) async fn assign(&mut self, conv: &str, agent: &str) -> Result<(), StoreError> {
        let Some(waiting) = self.queue.remove(conv) else { return Ok(()) };
        let display =
            self.agents.get(agent).map(|a| a.display_name.clone()).unwrap_or_else(|| agent.to_string());
        let text = t(
            waiting.lang,
            &format!("已为您转接人工客服「{display}」，请问有什么可以帮您？"),
            &format!("You're now chatting with {display}. How can I help?"),
        );
        if let Err(e) = self
            .store
            .assign_handoff(waiting.handoff, conv.to_string(), agent.to_string(), text.clone())
            .await
        {
            tracing::error!(error = %e, conversation = %conv, "could not assign");
            self.queue.push(waiting);
            return Err(e);
        }
        let bot = waiting.bot.clone();
        let reason = waiting.reason.clone();
        if let Some(a) = self.agents.get_mut(agent) {
            a.conversations.insert(conv.to_string());
        }
        self.owners
            .insert(conv.to_string(), Owned { agent: agent.to_string(), waiting, since: Instant::now() });
        tracing::info!(conversation = %conv, agent = %agent, "assigned");
        self.send_context(agent, conv, reason, bot).await;
        self.tell_shopper(conv, ShopperEvent::Joined { agent: display, text });
        Ok(())
    }

    pub(super) async fn send_context(
        &mut self,
        agent: &str,
        conv: &str,
        reason: String,
        bot: EscalationContext,
    ) {
        match self.store.conversation_context(conv.to_string()).await {
            Ok(Some(context)) => {
                let frame = AgentFrame::Assigned {
                    conversation_id: conv.to_string(),
                    reason,
                    bot,
                    context: Box::new(context.into()),
                };
                self.tell_agent(agent, frame);
            }
            Ok(None) => tracing::error!(conversation = %conv, "assigned conversation not found"),
            Err(e) => {
                tracing::error!(error = %e, "could not read a conversation's context");
                let m = "could not load this conversation; reconnect to get it again";
                self.error(agent, AgentErrorCode::StorageUnavailable, m, Some(conv));
            }
        }
    }

    /// Takes a conversation away from its agent (the handoff ends with `outcome`).
    pub(super) fn release(&mut self, conv: &str, outcome: HandoffOutcome) -> Option<Owned> {
        let owned = self.owners.remove(conv)?;
        if let Some(a) = self.agents.get_mut(&owned.agent) {
            a.conversations.remove(conv);
        }
        let frame = AgentFrame::Ended { conversation_id: conv.to_string(), outcome: outcome.as_str().into() };
        self.tell_agent(&owned.agent.clone(), frame);
        Some(owned)
    }

    /// Puts a conversation back in the queue with a new handoff (`exclude`: not back to them).
    pub(super) async fn requeue(
        &mut self,
        conv: &str,
        outcome: HandoffOutcome,
        reason: &str,
        exclude: Option<String>,
    ) -> Result<(), StoreError> {
        let Some(owned) = self.owners.get(conv) else { return Ok(()) };
        let (handoff, lang) = (owned.waiting.handoff, owned.waiting.lang);
        let text = t(
            lang,
            "正在为您转接其他客服，请稍候，您的聊天记录会一并转交。",
            "Transferring you to another agent; they'll see everything so far. One moment please.",
        );
        let bot = owned.waiting.bot.clone();
        let new = self
            .store
            .requeue_handoff(
                handoff,
                conv.to_string(),
                outcome,
                reason.to_string(),
                bot.clone(),
                text.clone(),
            )
            .await?;
        let owned = self.release(conv, outcome).expect("owned above");
        self.queue.push(Waiting {
            handoff: new.id,
            reason: reason.to_string(),
            queued_at: new.queued_at,
            bot,
            exclude,
            ..owned.waiting
        });
        self.tell_shopper(conv, ShopperEvent::Requeued { text });
        self.broadcast_queue();
        Ok(())
    }

    pub(super) fn observe_handle_time(&mut self, owned: &Owned) {
        let secs = owned.since.elapsed().as_secs_f64().max(1.0);
        self.resolved += 1;
        let n = self.resolved.min(50) as f64;
        self.average_handle_secs += (secs - self.average_handle_secs) / n;
    }
}
