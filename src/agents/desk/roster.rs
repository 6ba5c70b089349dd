//! Agents' connections: signing in (a newer connection replaces the older one; kept
//! conversations come back whole), disconnecting, and the grace period after which a gone
//! agent's conversations go back to the queue.

use std::collections::BTreeSet;

use super::outbox::{AgentLine, Effect};
use super::state::{Agent, State};
use super::AgentHello;
use crate::agents::protocol::{AgentFrame, Presence};
use crate::lang::Lang;
use crate::store::HandoffOutcome;

impl State {
    pub(crate) fn agent_hello(&mut self, h: AgentHello) {
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
        // the same connection signing in again (its node re-registers it with a new leader, or
        // after losing messages) replaces nothing
        if let Some(old) = slot.conn.take().filter(|old| old.conn != h.conn) {
            self.out.push(Effect::Replaced(old));
        }
        slot.display_name = h.display_name;
        slot.capacity = capacity;
        slot.langs = langs;
        slot.presence = h.presence.unwrap_or(Presence::Online);
        slot.conn = Some(AgentLine { conn: h.conn, tx: h.tx, close: h.close });
        slot.grace_until = None;
        let info = slot.info(&h.name);
        if h.admin {
            self.admins.insert(h.name.clone());
        } else {
            self.admins.remove(&h.name);
        }
        let owned: Vec<String> = slot.conversations.iter().cloned().collect();
        tracing::info!(agent = %h.name, capacity, kept = owned.len(), "agent connected");
        self.tell_agent(&h.name, AgentFrame::Welcome { agent: info });
        // conversations kept through a reconnect come back whole: nothing said meanwhile is lost
        for conv in owned {
            self.reload(&h.name, &conv);
        }
        let items = self.queue.items(self.now);
        self.tell_agent(&h.name, AgentFrame::Queue { items });
        self.assign_waiting();
    }

    /// The agent's connection `conn` closed (a newer one is kept): their conversations wait
    /// out the grace period.
    pub(crate) fn agent_gone(&mut self, name: &str, conn: u64) {
        let grace = self.now + self.config.grace;
        if let Some(a) = self.agents.get_mut(name) {
            if a.conn.as_ref().is_some_and(|l| l.conn == conn) {
                a.conn = None;
                if !a.conversations.is_empty() {
                    a.grace_until = Some(grace);
                }
                tracing::info!(agent = %name, kept = a.conversations.len(), "agent disconnected");
            }
        }
    }

    /// Agents gone longer than the grace period lose their conversations to the queue (each is
    /// queued once its new handoff is stored; one that fails to be stored comes back to them
    /// and is tried again on the next tick).
    pub(crate) fn expire_grace(&mut self) {
        let now = self.now;
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
            if let Some(a) = self.agents.get_mut(&name) {
                a.grace_until = None;
            }
            for conv in convs {
                self.requeue(&conv, HandoffOutcome::Requeued, "agent_disconnected", None, None, None);
            }
        }
    }
}
