//! Agents' connections: signing in (a newer connection replaces the older one; kept
//! conversations come back whole), disconnecting, and the grace period after which a gone
//! agent's conversations go back to the queue.

use std::collections::BTreeSet;
use std::time::Instant;

use super::state::{Agent, State};
use super::AgentHello;
use crate::agents::protocol::{AgentErrorCode, AgentFrame, Presence};
use crate::lang::Lang;
use crate::store::HandoffOutcome;

impl State {
    pub(super) async fn agent_hello(&mut self, h: AgentHello) {
        let capacity = h.capacity.unwrap_or(self.config.default_capacity).clamp(1, self.config.max_capacity);
        let langs = h.langs.filter(|l| !l.is_empty()).unwrap_or_else(|| vec![Lang::Zh, Lang::En]);
        let slot = self.agents.entry(h.name.clone()).or_insert_with(|| Agent {
            display_name: h.display_name.clone(),
            presence: Presence::Online,
            capacity,
            langs: langs.clone(),
            conn: None,
            grace_until: None,
            conversations: BTreeSet::new(),
        });
        if let Some((_, old, close)) = slot.conn.take() {
            close.notify_one();
            let m = "you connected again from somewhere else; this connection is closed".to_string();
            let _ = old.try_send(AgentFrame::Error {
                code: AgentErrorCode::Replaced,
                message: m,
                conversation_id: None,
            });
        }
        slot.display_name = h.display_name;
        slot.capacity = capacity;
        slot.langs = langs;
        slot.presence = h.presence.unwrap_or(Presence::Online);
        slot.conn = Some((h.conn, h.tx, h.close));
        slot.grace_until = None;
        let info = slot.info(&h.name);
        let owned: Vec<String> = slot.conversations.iter().cloned().collect();
        tracing::info!(agent = %h.name, capacity, kept = owned.len(), "agent connected");
        self.tell_agent(&h.name, AgentFrame::Welcome { agent: info });
        // conversations kept through a reconnect come back whole: nothing said meanwhile is lost
        for conv in owned {
            let Some(o) = self.owners.get(&conv) else { continue };
            let (reason, bot) = (o.waiting.reason.clone(), o.waiting.bot.clone());
            self.send_context(&h.name, &conv, reason, bot).await;
        }
        let items = self.queue.items(Instant::now());
        self.tell_agent(&h.name, AgentFrame::Queue { items });
        self.assign_waiting().await;
    }

    /// The agent's connection `conn` closed (a newer one is kept): their conversations wait
    /// out the grace period.
    pub(super) fn agent_gone(&mut self, name: &str, conn: u64) {
        if let Some(a) = self.agents.get_mut(name) {
            if a.conn.as_ref().is_some_and(|(c, _, _)| *c == conn) {
                a.conn = None;
                if !a.conversations.is_empty() {
                    a.grace_until = Some(Instant::now() + self.config.grace);
                }
                tracing::info!(agent = %name, kept = a.conversations.len(), "agent disconnected");
            }
        }
    }

    /// Agents gone longer than the grace period lose their conversations to the queue.
    pub(super) async fn expire_grace(&mut self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .agents
            .iter()
            .filter(|(_, a)| a.conn.is_none() && a.grace_until.is_some_and(|g| g <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in expired {
            let convs: Vec<String> =
                self.agents.get(&name).map(|a| a.conversations.iter().cloned().collect()).unwrap_or_default();
            tracing::info!(agent = %name, conversations = convs.len(), "agent did not come back; requeueing");
            let mut failed = false;
            for conv in convs {
                if let Err(e) =
                    self.requeue(&conv, HandoffOutcome::Requeued, "agent_disconnected", None).await
                {
                    tracing::error!(error = %e, "could not requeue");
                    failed = true;
                }
            }
            if let Some(a) = self.agents.get_mut(&name) {
                // on a store error, try again on the next tick
                a.grace_until = failed.then_some(now);
            }
        }
        self.assign_waiting().await;
    }
}
