//! What the desk sends: frames to agents' connections (dropped or the connection closed when it
//! is behind) and events to shopper sessions (let go when they cannot keep up).

use std::time::Instant;

use tokio::sync::mpsc;

use super::state::State;
use super::ShopperEvent;
use crate::agents::protocol::{AgentErrorCode, AgentFrame};

impl State {
    /// Sends a frame to an agent's live connection. Typing and queue updates are dropped when
    /// it is behind; a connection that cannot take a real frame is closed (what it missed is in
    /// the transcript it gets on reconnecting).
    pub(super) fn tell_agent(&mut self, name: &str, frame: AgentFrame) {
        let Some(a) = self.agents.get_mut(name) else { return };
        let Some((_, tx, close)) = &a.conn else { return };
        let droppable = matches!(frame, AgentFrame::Typing { .. } | AgentFrame::Queue { .. });
        if let Err(e) = tx.try_send(frame) {
            if droppable && matches!(e, mpsc::error::TrySendError::Full(_)) {
                return;
            }
            tracing::warn!(agent = %name, "agent connection not keeping up; closing it");
            close.notify_one();
            a.conn = None;
            if !a.conversations.is_empty() {
                a.grace_until = Some(Instant::now() + self.config.grace);
            }
        }
    }

    pub(super) fn tell_owner(&mut self, conv: &str, frame: AgentFrame) {
        if let Some(agent) = self.owners.get(conv).map(|o| o.agent.clone()) {
            self.tell_agent(&agent, frame);
        }
    }

    /// Tells a shopper session; a session that cannot keep up is let go (it closes, and the
    /// shopper's client resumes from the stored transcript).
    pub(super) fn tell_shopper(&mut self, conv: &str, event: ShopperEvent) {
        if let Some(link) = self.shoppers.get(conv) {
            if link.tx.try_send(event).is_err() {
                self.shoppers.remove(conv);
            }
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
        let items = self.queue.items(Instant::now());
        let names: Vec<String> =
            self.agents.iter().filter(|(_, a)| a.conn.is_some()).map(|(n, _)| n.clone()).collect();
        for n in names {
            self.tell_agent(&n, AgentFrame::Queue { items: items.clone() });
        }
    }
}
