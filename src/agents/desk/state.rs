//! The desk task and what it owns: the queue, the roster of agents (presence, capacity,
//! languages, connection, grace deadline), who owns which conversation, the connected shopper
//! sessions; the loop that takes the handle's messages one at a time and ticks the grace period.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{DeskConfig, DeskMsg, ShopperLink, Snapshot};
use crate::agents::protocol::{AgentFrame, AgentInfo, Presence};
use crate::agents::queue::{Queue, Waiting};
use crate::lang::Lang;
use crate::store::{Sender, Store};

pub(super) struct Agent {
    pub(super) display_name: String,
    pub(super) presence: Presence,
    pub(super) capacity: usize,
    pub(super) langs: Vec<Lang>,
    /// The live connection (id, frames, its close signal); None while disconnected.
    pub(super) conn: Option<(u64, mpsc::Sender<AgentFrame>, Arc<tokio::sync::Notify>)>,
    /// Disconnected with conversations: they go back to the queue at this instant.
    pub(super) grace_until: Option<Instant>,
    pub(super) conversations: BTreeSet<String>,
}

impl Agent {
    pub(super) fn info(&self, name: &str) -> AgentInfo {
        AgentInfo {
            name: name.to_string(),
            display_name: self.display_name.clone(),
            presence: self.presence,
            connected: self.conn.is_some(),
            capacity: self.capacity,
            langs: self.langs.clone(),
            conversations: self.conversations.iter().cloned().collect(),
        }
    }
}

/// A conversation an agent owns, with what is needed to queue it again.
pub(super) struct Owned {
    pub(super) agent: String,
    pub(super) waiting: Waiting,
    /// When this agent got it (for the average handle time behind wait estimates).
    pub(super) since: Instant,
}

/// Everything the desk task owns.
pub(super) struct State {
    pub(super) store: Store,
    pub(super) config: DeskConfig,
    pub(super) queue: Queue,
    pub(super) agents: HashMap<String, Agent>,
    pub(super) owners: HashMap<String, Owned>,
    /// Connected shopper sessions whose conversation is with (or waiting for) agents.
    pub(super) shoppers: HashMap<String, ShopperLink>,
    pub(super) average_handle_secs: f64,
    pub(super) resolved: u64,
}

impl State {
    pub(super) fn new(store: Store, config: DeskConfig) -> State {
        State {
            store,
            config,
            queue: Queue::default(),
            agents: HashMap::new(),
            owners: HashMap::new(),
            shoppers: HashMap::new(),
            average_handle_secs: 300.0,
            resolved: 0,
        }
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<DeskMsg>) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => self.handle(m).await,
                    None => break,
                },
                _ = tick.tick() => self.expire_grace().await,
            }
        }
    }

    pub(super) async fn handle(&mut self, m: DeskMsg) {
        match m {
            DeskMsg::Escalate { e, link, reply } => {
                let r = self.escalate(*e, link).await;
                let _ = reply.send(r);
            }
            DeskMsg::ShopperOnline { conv, link } => {
                self.shoppers.insert(conv.clone(), link);
                self.tell_owner(&conv, AgentFrame::Shopper { conversation_id: conv.clone(), online: true });
            }
            DeskMsg::ShopperOffline { conv, link } => {
                if self.shoppers.get(&conv).is_some_and(|l| l.id == link) {
                    self.shoppers.remove(&conv);
                    self.tell_owner(
                        &conv,
                        AgentFrame::Shopper { conversation_id: conv.clone(), online: false },
                    );
                }
            }
            DeskMsg::ShopperSaid { conv, id, text, at } => {
                let frame = AgentFrame::Message {
                    conversation_id: conv.clone(),
                    id,
                    from: Sender::Shopper,
                    text,
                    at,
                };
                self.tell_owner(&conv, frame);
            }
            DeskMsg::ShopperTyping { conv } => {
                self.tell_owner(&conv, AgentFrame::Typing { conversation_id: conv.clone() });
            }
            DeskMsg::ShopperEnded { conv, reply } => {
                self.shopper_ended(&conv).await;
                let _ = reply.send(());
            }
            DeskMsg::AgentHello(h) => self.agent_hello(h).await,
            DeskMsg::AgentGone { name, conn } => self.agent_gone(&name, conn),
            DeskMsg::Agent { name, conn, msg } => {
                let current =
                    self.agents.get(&name).and_then(|a| a.conn.as_ref()).is_some_and(|(c, _, _)| *c == conn);
                if current {
                    self.agent_request(&name, msg).await;
                }
            }
            DeskMsg::Snapshot { reply } => {
                let mut agents: Vec<AgentInfo> = self.agents.iter().map(|(n, a)| a.info(n)).collect();
                agents.sort_by(|a, b| a.name.cmp(&b.name));
                let _ = reply.send(Snapshot { queue: self.queue.items(Instant::now()), agents });
            }
        }
    }
}
