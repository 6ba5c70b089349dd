//! What the desk's decisions produce: [`Effect`]s — frames for agents' connections, events for
//! shopper sessions, writes for the persister. The decisions only collect them; the driver
//! ([`super::driver`]) delivers them after each event, so the state machine does no I/O and a
//! test reads its effects as plain values.
//!
//! A frame or event names the connection it was meant for when it was decided (a later
//! reconnection does not receive what was meant for the one before).

use std::sync::Arc;

use tokio::sync::Notify;

use super::persist::{Op, Write};
use super::remote::Line;
use super::state::State;
use super::{ShopperEvent, ShopperLink};
use crate::agents::protocol::{AgentErrorCode, AgentFrame};

/// An agent's live connection: its id, its frames (on this node or another), and the signal
/// that closes it.
#[derive(Debug, Clone)]
pub(crate) struct AgentLine {
    pub(crate) conn: u64,
    pub(crate) tx: Line<AgentFrame>,
    pub(crate) close: Arc<Notify>,
}

#[derive(Debug)]
pub(crate) enum Effect {
    /// A frame for an agent's connection. Typing and queue updates are dropped when it is
    /// behind; a connection that cannot take another frame is closed (what it missed is in the
    /// transcript it gets on reconnecting).
    Agent { name: String, line: AgentLine, frame: AgentFrame },
    /// An event for a shopper session; a session that cannot keep up is let go (it closes, and
    /// the shopper's client resumes from the stored transcript).
    Shopper { conv: String, link: ShopperLink, event: ShopperEvent },
    /// An agent's older connection, replaced by a newer one: told why, then closed.
    Replaced(AgentLine),
    /// For the persister.
    Write(Write),
}

impl State {
    pub(super) fn tell_agent(&mut self, name: &str, frame: AgentFrame) {
        let Some(line) = self.agents.get(name).and_then(|a| a.conn.clone()) else { return };
        self.out.push(Effect::Agent { name: name.to_string(), line, frame });
    }

    /// A frame about a conversation for the agent who owns it. While that agent has not yet
    /// received the conversation's context, frames wait for it (typing is dropped), so they never
    /// arrive before the `assigned` they belong to.
    pub(super) fn tell_owner(&mut self, conv: &str, frame: AgentFrame) {
        let Some(owned) = self.owners.get_mut(conv) else { return };
        if let Some((_, held)) = &mut owned.loading {
            if !matches!(frame, AgentFrame::Typing { .. }) {
                held.push(frame);
            }
            return;
        }
        let agent = owned.agent.clone();
        self.tell_agent(&agent, frame);
    }

    pub(super) fn tell_shopper(&mut self, conv: &str, event: ShopperEvent) {
        if let Some(link) = self.shoppers.get(conv) {
            self.out.push(Effect::Shopper { conv: conv.to_string(), link: link.clone(), event });
        }
    }

    pub(super) fn error(
        &mut self,
        agent: &str,
        code: AgentErrorCode,
        message: impl Into<String>,
        conv: Option<&str>,
    ) {
        let frame =
            AgentFrame::Error { code, message: message.into(), conversation_id: conv.map(str::to_string) };
        self.tell_agent(agent, frame);
    }

    pub(super) fn broadcast_queue(&mut self) {
        let items = self.queue.items(self.now);
        let names: Vec<String> =
            self.agents.iter().filter(|(_, a)| a.conn.is_some()).map(|(n, _)| n.clone()).collect();
        for n in names {
            self.tell_agent(&n, AgentFrame::Queue { items: items.clone() });
        }
    }

    /// Hands a write to the persister.
    pub(super) fn write(&mut self, conv: &str, op: Op) {
        self.pending += 1;
        self.out.push(Effect::Write(Write { conv: conv.to_string(), op }));
    }

    /// What the decisions so far produced, in order.
    pub(crate) fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    /// The driver could not deliver to the agent's connection `conn`: it is gone (closed by
    /// the driver), and their conversations wait out the grace period.
    pub(crate) fn agent_stalled(&mut self, name: &str, conn: u64) {
        let grace = self.now + self.config.grace;
        if let Some(a) = self.agents.get_mut(name) {
            if a.conn.as_ref().is_some_and(|l| l.conn == conn) {
                tracing::warn!(agent = %name, "agent connection not keeping up; closing it");
                a.conn = None;
                if !a.conversations.is_empty() {
                    a.grace_until = Some(grace);
                }
            }
        }
    }

    /// The driver could not deliver to the shopper session `link`: it is let go.
    pub(crate) fn shopper_stalled(&mut self, conv: &str, link: u64) {
        if self.shoppers.get(conv).is_some_and(|l| l.id == link) {
            self.shoppers.remove(conv);
        }
    }
}
